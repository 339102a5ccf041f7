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

export const cancelOperationBody: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    force: {
      type: 'boolean',
      default: false,
      description: 'End a running operation `cancelled` at once, without waiting for its worker. Allowed once a normal cancel has had `FORCE_CANCEL_GRACE_MS` (see `actions.force_cancel`); the result lists what may remain at the provider (`may_remain`).',
    },
  },
};

export const bulkCancelBody: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    status: { type: 'string', enum: ['pending', 'running'], description: 'Which open operations: pending or running; both when absent' },
    type: { type: 'string', enum: [...OPERATION_TYPES] },
    workspace: workspaceName,
    provider: providerName,
    created_before: { type: 'string', format: 'date-time', description: 'Only operations created before this time' },
    dry_run: { type: 'boolean', default: false, description: 'Count what would be cancelled and change nothing' },
  },
};

export const bulkCancelReply: JsonSchema = {
  type: 'object',
  required: ['dry_run', 'matched', 'ids', 'cancelled', 'requested', 'skipped', 'truncated'],
  properties: {
    dry_run: { type: 'boolean' },
    matched: { type: 'integer', description: 'Open operations that matched and that you may cancel (at most 1000)' },
    ids: { type: 'array', items: { type: 'string' }, description: 'The first 100 matched ids, oldest first' },
    cancelled: { type: 'array', items: { type: 'string' }, description: 'Cancelled at once (they had not started)' },
    requested: { type: 'array', items: { type: 'string' }, description: 'Running: their workers were asked to stop' },
    skipped: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' }, reason: { type: 'string' } } } },
    truncated: { type: 'boolean', description: 'More than 1000 matched: send the request again for the rest' },
  },
};
