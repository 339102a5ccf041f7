import { OPERATION_STATUSES, OPERATION_TYPES } from '../../core/operations/model.js';
import type { JsonSchema } from '../validation.js';
import { operationId, pageQuery, providerName, workspaceName } from './common.js';

export const operationIdParams: JsonSchema = {
  type: 'object',
  required: ['id'],
  properties: { id: operationId },
};

export const listOperationsQuery: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...pageQuery,
    status: { type: 'string', enum: [...OPERATION_STATUSES] },
    type: { type: 'string', enum: [...OPERATION_TYPES] },
    workspace: workspaceName,
    provider: providerName,
  },
};

export const getOperationQuery: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    wait: { type: 'string', pattern: '^[0-9]{1,6}(ms|s)?$', description: 'Long-poll: answer once the operation is finished or after this long (e.g. 30s, 500ms; at most 60s)' },
  },
};

export const operationEventsQuery: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { last_event_id: { type: 'string', description: 'Resume after this event id (or send the Last-Event-ID header)' } },
};

export const operationLogsQuery: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    from: { type: 'integer', minimum: 0, default: 0, description: 'Position of the first line (the `next` of the previous read)' },
    limit: { type: 'integer', minimum: 1, maximum: 5000, default: 1000 },
  },
};
