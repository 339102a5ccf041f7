import { ROLES } from '../../core/config.js';
import { USERNAME_PATTERN } from '../../core/auth/users.js';
import type { JsonSchema } from '../validation.js';
import { pageQuery, workspaceName } from './common.js';
import { passwordSchema } from './auth.js';

export const roleSchema: JsonSchema = { type: 'string', enum: [...ROLES] };
const username: JsonSchema = { type: 'string', pattern: USERNAME_PATTERN, description: 'Letters, digits, _ . - (at most 64)' };

/** A list of names (each with the user's role) or a map of name → role. */
const memberships: JsonSchema = {
  oneOf: [
    { type: 'array', maxItems: 100, uniqueItems: true, items: workspaceName },
    { type: 'object', maxProperties: 100, propertyNames: workspaceName, additionalProperties: roleSchema },
  ],
  description: 'Workspaces the user is a member of: names (each with `role`) or `{name: role}`',
};

export const userSchema: JsonSchema = {
  type: 'object',
  properties: {
    username: { type: 'string' },
    role: roleSchema,
    workspaces: { type: 'object', additionalProperties: roleSchema },
    disabled: { type: 'boolean' },
    source: { type: 'string', enum: ['config', 'bootstrap', 'api'] },
    created_at: { type: 'string' },
    updated_at: { type: 'string' },
  },
};

export const createUserBody: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['username', 'password', 'role'],
  properties: { username, password: passwordSchema, role: roleSchema, workspaces: memberships },
};

export const changeUserBody: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: { role: roleSchema, workspaces: memberships, disabled: { type: 'boolean' } },
};

export const usernameParams: JsonSchema = { type: 'object', required: ['username'], properties: { username } };

export const resetPasswordBody: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['new_password'],
  properties: { new_password: passwordSchema },
};

const quotasSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    max_servers: { type: 'integer', minimum: 0, maximum: 1000000 },
    max_vcpus: { type: 'integer', minimum: 0, maximum: 100000000 },
    max_monthly_cost: {
      type: 'object',
      maxProperties: 10,
      propertyNames: { type: 'string', pattern: '^[A-Z]{3}$' },
      additionalProperties: { type: 'number', minimum: 0, maximum: 1e12 },
      description: 'Per currency (ISO 4217), from the catalogue\'s monthly prices',
    },
  },
};

export const workspaceSchema: JsonSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    path: { type: ['string', 'null'] },
    active: { type: 'boolean' },
    last_used: { type: ['string', 'null'] },
    created_at: { type: 'string' },
    quotas: quotasSchema,
  },
};

const workspacePath: JsonSchema = { type: 'string', minLength: 1, maxLength: 1024, pattern: '^/[^\\u0000]*$', description: 'An absolute path' };

export const createWorkspaceBody: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: { name: workspaceName, path: workspacePath, activate: { type: 'boolean', default: true }, quotas: quotasSchema },
};

export const changeWorkspaceBody: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: { path: workspacePath, active: { type: 'boolean' }, quotas: quotasSchema },
};

export const workspaceParams: JsonSchema = { type: 'object', required: ['name'], properties: { name: workspaceName } };

export const apiKeySchema: JsonSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    user_id: { type: 'string' },
    name: { type: 'string' },
    prefix: { type: 'string' },
    admin: { type: 'boolean' },
    workspaces: { type: 'object', additionalProperties: roleSchema },
    created_at: { type: 'string' },
    last_used: { type: ['string', 'null'] },
    revoked_at: { type: ['string', 'null'] },
    key: { type: 'string', description: 'The key itself: shown once, when it is made' },
  },
};

export const createApiKeyBody: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 100 },
    role: roleSchema,
    workspaces: { type: 'array', maxItems: 100, uniqueItems: true, items: workspaceName },
  },
};

export const apiKeyParams: JsonSchema = { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: '^k[0-9a-f]{12}$' } } };

export const auditQuery: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...pageQuery,
    cursor: { type: 'string', maxLength: 64, pattern: '^[0-9]+-[0-9]+$' },
    workspace: workspaceName,
    actor: { type: 'string', maxLength: 64 },
    action: { type: 'string', maxLength: 200 },
    result: { type: 'string', enum: ['success', 'denied', 'failed'] },
    since: { type: 'string', format: 'date-time' },
    until: { type: 'string', format: 'date-time' },
  },
};

export const auditEntrySchema: JsonSchema = {
  type: 'object',
  required: ['id', 'at', 'actor', 'actor_kind', 'action', 'result', 'status'],
  properties: {
    id: { type: 'string', description: "The entry's id in the log, e.g. 1732300000000-0" },
    at: { type: 'string', format: 'date-time' },
    actor: { type: 'string', description: 'The user, API key or external subject; `anonymous` when authentication failed' },
    actor_kind: { type: 'string', enum: ['user', 'api_key', 'external', 'anonymous'] },
    key_id: { type: 'string' },
    action: { type: 'string', description: "The request, e.g. 'POST /v1/servers/create', or an event such as 'auth.login_failed'" },
    resource_type: { type: 'string' },
    resource_id: { type: 'string' },
    workspace: { type: 'string' },
    result: { type: 'string', enum: ['success', 'denied', 'failed'] },
    status: { type: 'integer', description: 'The HTTP status answered' },
    ip: { type: 'string' },
    trace_id: { type: 'string' },
    detail: { type: 'object', description: 'What else there is to say; secrets redacted' },
  },
};

const usageSchema: JsonSchema = {
  type: 'object',
  properties: {
    servers: { type: 'integer' },
    vcpus: { type: 'integer' },
    monthly_cost: { type: 'object', additionalProperties: { type: 'number' }, description: 'Per currency (ISO 4217)' },
    unpriced: { type: 'array', items: { type: 'string' }, description: 'Plans the catalogue could not price or size right now: counted as servers only' },
  },
};

export const workspaceUsageSchema: JsonSchema = {
  type: 'object',
  required: ['workspace', 'usage'],
  properties: { workspace: { type: 'string' }, usage: usageSchema, limits: quotasSchema },
};
