/** Schemas of the mesh endpoints: `POST /message` (envelope and each action's payload), `/proof`, the JWKS. */
import { COMMAND_ACTIONS, QUERY_ACTIONS } from '../../core/udc/message-actions.js';
import { MESSAGE_TYPES } from '../../core/udc/signing.js';
import type { JsonSchema } from '../validation.js';
import { operationId, providerName, serverId, workspaceName } from './common.js';
import { createServerBody } from './servers.js';

/** A droplet named by its id or its name. */
const dropletRef: JsonSchema = {
  type: ['integer', 'string'],
  minimum: 0,
  maximum: 2_147_483_647,
  minLength: 1,
  maxLength: 128,
  pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$',
  description: "A droplet's id, or its name",
};

export const messageBody: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['trace_id', 'source', 'target', 'message_type', 'payload', 'timestamp'],
  properties: {
    trace_id: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:-]+$', description: 'Names the message end to end; the same trace_id from the same source is answered once', example: '550e8400-e29b-41d4-a716-446655440000' },
    source: { ...dropletRef, description: 'The sending droplet (its id or name)' },
    target: { ...dropletRef, description: 'This droplet (its id or name)' },
    message_type: { type: 'string', enum: [...MESSAGE_TYPES] },
    payload: {
      type: 'object',
      maxProperties: 64,
      description: "What the message says. A `query` or `command` names its `action`: queries `status`, `get_operation`, `list_resources`; commands `list_resources`, `create_server`, `delete_server`, `power_action`",
      example: { action: 'list_resources', provider: 'digitalocean' },
    },
    timestamp: { type: 'string', format: 'date-time', maxLength: 64 },
    signature: { type: 'string', minLength: 1, maxLength: 8192, description: "The sender's compact RS256 JWS over the message (aud = this droplet's id, jti = trace_id, digest = base64url SHA-256 of the canonical JSON of the message without signature)" },
  },
};

const action = (name: string): JsonSchema => ({ type: 'string', const: name });

/** Each action's payload, as `{payload: …}` so a problem is named `payload.<field>`. */
export const ACTION_PAYLOADS: Record<string, JsonSchema> = {
  status: { type: 'object', additionalProperties: false, required: ['action'], properties: { action: action('status') } },
  get_operation: { type: 'object', additionalProperties: false, required: ['action', 'operation_id'], properties: { action: action('get_operation'), operation_id: operationId } },
  list_resources: {
    type: 'object',
    additionalProperties: false,
    required: ['action'],
    properties: { action: action('list_resources'), provider: providerName, workspace: workspaceName, limit: { type: 'integer', minimum: 1, maximum: 200, default: 100 } },
  },
  create_server: {
    ...createServerBody,
    required: ['action', ...(createServerBody.required as string[])],
    properties: { action: action('create_server'), ...(createServerBody.properties as Record<string, JsonSchema>) },
  },
  delete_server: { type: 'object', additionalProperties: false, required: ['action', 'server_id'], properties: { action: action('delete_server'), server_id: serverId, force: { type: 'boolean', default: false } } },
  power_action: {
    type: 'object',
    additionalProperties: false,
    required: ['action', 'server_id', 'type'],
    properties: { action: action('power_action'), server_id: serverId, type: { type: 'string', enum: ['reboot', 'power_off', 'power_on'] } },
  },
};

/** The actions a message type may name. */
export const ACTIONS_BY_TYPE: Record<string, readonly string[]> = { query: QUERY_ACTIONS, command: COMMAND_ACTIONS };

const str: JsonSchema = { type: 'string' };

export const messageReplySchema: JsonSchema = {
  type: 'object',
  required: ['received', 'trace_id', 'processed_at', 'result', 'response', 'data'],
  properties: {
    received: { type: 'boolean' },
    trace_id: str,
    processed_at: { type: 'string', format: 'date-time' },
    result: { type: 'string', enum: ['success', 'error'] },
    response: { type: 'string', enum: ['acknowledged'] },
    data: { type: 'object', description: 'What the action answered (`status`: `processed` or `failed`, with `error` {code, message} when it failed)' },
  },
};

export const proofSchema: JsonSchema = {
  type: 'object',
  required: ['action', 'timestamp', 'trace_id', 'droplet_id', 'operation_id', 'signature'],
  properties: {
    action: { type: 'string', description: "The completed operation's type and what it changed, e.g. `server.create:web-01`" },
    timestamp: { type: 'string', format: 'date-time', description: 'When it completed' },
    trace_id: str,
    droplet_id: { type: 'integer' },
    operation_id: str,
    signature: { type: 'string', description: 'Compact RS256 JWS by this droplet (verify with /.well-known/jwks.json); its claims repeat the fields above' },
  },
};

export const jwksSchema: JsonSchema = {
  type: 'object',
  required: ['keys'],
  properties: {
    keys: {
      type: 'array',
      items: { type: 'object', required: ['kty', 'kid', 'n', 'e'], properties: { kty: str, kid: str, n: str, e: str, alg: str, use: str } },
    },
  },
};
