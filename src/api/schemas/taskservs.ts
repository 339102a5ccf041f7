import { TASKSERV_NAMES } from '../../core/taskservs/catalog.js';
import type { JsonSchema } from '../validation.js';
import { pageQuery, serverId, workspaceName } from './common.js';

export const taskservId: JsonSchema = { type: 'string', pattern: '^tsk-[0-9a-f]{12}$', description: 'Task service id', example: 'tsk-1a2b3c4d5e6f' };

const hostname: JsonSchema = {
  type: 'string',
  maxLength: 253,
  pattern: '^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$',
  description: 'A hostname, or an engine server id (srv-…), of a server in the workspace',
  example: 'web-01',
};

export const createTaskservBody: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['workspace', 'name', 'servers'],
  properties: {
    workspace: workspaceName,
    name: { type: 'string', enum: [...TASKSERV_NAMES], description: 'A service from GET /v1/taskservs/catalog', example: 'kubernetes' },
    servers: { type: 'array', minItems: 1, maxItems: 100, items: hostname, example: ['web-01', 'web-02'] },
    config: {
      type: 'object',
      default: {},
      description: "The service's parameters (see its `parameters` schema in the catalogue); omitted ones take their defaults",
      example: { version: '1.28.0' },
    },
    check_mode: { type: 'boolean', default: false, description: 'Render the script and check the engine can log in to every server, running nothing' },
  },
};

export const deleteTaskservBody: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { workspace: workspaceName, taskserv_id: taskservId },
};

export const taskservIdParams: JsonSchema = {
  type: 'object',
  required: ['id'],
  properties: { id: taskservId },
};

export const listTaskservsQuery: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { ...pageQuery, workspace: workspaceName },
};

export const taskservSchema: JsonSchema = {
  type: 'object',
  properties: {
    id: taskservId,
    name: { type: 'string' },
    version: { type: 'string' },
    servers: { type: 'array', items: { type: 'string' }, description: 'Hostnames' },
    server_ids: { type: 'array', items: serverId },
    status: { type: 'string', enum: ['installing', 'running', 'failed', 'removing'] },
    workspace: { type: 'string' },
    provider: { type: 'string' },
    config: { type: 'object' },
    operation_id: { type: 'string', description: 'The last operation that changed it' },
    created_at: { type: 'string', format: 'date-time' },
    updated_at: { type: 'string', format: 'date-time' },
  },
};

export const catalogEntrySchema: JsonSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    description: { type: 'string' },
    version: { type: 'string', description: 'Installed when the config names no version' },
    parameters: { type: 'object', description: "JSON Schema of the service's config" },
  },
};
