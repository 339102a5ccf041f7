import { OPERATION_STATUSES, OPERATION_TYPES } from '../../core/operations/model.js';
import { PROVIDER_NAMES } from '../../common/provider.js';
import type { JsonSchema } from '../validation.js';

export const workspaceName: JsonSchema = {
  type: 'string',
  pattern: '^[a-z0-9][a-z0-9_-]{0,62}$',
  description: 'Lower-case letters, digits, - and _ (at most 63)',
  example: 'production',
};

export const providerName: JsonSchema = { type: 'string', enum: [...PROVIDER_NAMES] };

export const operationId: JsonSchema = { type: 'string', format: 'uuid', description: 'Operation id' };

export const serverId: JsonSchema = { type: 'string', pattern: '^srv-[0-9a-f]{12}$', description: 'Engine server id', example: 'srv-1a2b3c4d5e6f' };

export const pageQuery = {
  limit: { type: 'integer', minimum: 1, maximum: 200, default: 50, description: 'Items per page' },
  cursor: { type: 'string', pattern: '^[0-9]{1,18}$', description: 'Opaque cursor from the previous page\'s `Link: rel="next"` / `X-Next-Cursor`' },
} satisfies Record<string, JsonSchema>;

export const operationSchema: JsonSchema = {
  type: 'object',
  description: 'One accepted request and what the engine did about it: `pending` → `running` → `completed`, `failed` or `cancelled`',
  // Every operation record has these (null when they do not apply).
  required: [
    'id', 'type', 'status', 'workspace', 'provider', 'target', 'request', 'progress', 'attempt', 'result', 'error', 'parent_id',
    'trace_id', 'requested_by', 'cancel_requested_at', 'cancel_requested_by', 'created_at', 'updated_at', 'started_at', 'finished_at',
  ],
  properties: {
    id: { type: 'string', format: 'uuid' },
    type: { type: 'string', enum: [...OPERATION_TYPES] },
    status: { type: 'string', enum: [...OPERATION_STATUSES] },
    workspace: { type: 'string' },
    provider: { type: 'string' },
    target: { type: ['object', 'null'] },
    request: { type: 'object' },
    progress: { type: ['object', 'null'], properties: { step: { type: 'string' }, message: { type: 'string' }, at: { type: 'string' } } },
    attempt: { type: 'integer' },
    result: { type: ['object', 'null'] },
    error: { type: ['object', 'null'], properties: { code: { type: 'string' }, message: { type: 'string' }, retryable: { type: 'boolean' } } },
    parent_id: { type: ['string', 'null'] },
    trace_id: { type: 'string' },
    requested_by: { type: 'string' },
    cancel_requested_at: { type: ['string', 'null'] },
    cancel_requested_by: { type: ['string', 'null'] },
    retry_of: { type: ['string', 'null'], description: 'The operation this one retries (`POST /v1/operations/{id}/retry`)' },
    retried_by: { type: ['string', 'null'], description: 'The operation that retries this one, once retried' },
    created_at: { type: 'string', format: 'date-time' },
    updated_at: { type: 'string', format: 'date-time' },
    started_at: { type: ['string', 'null'] },
    finished_at: { type: ['string', 'null'] },
    actions: {
      type: 'object',
      description:
        'What may be done with the operation now. `cancel`: pending, or running with no cancel requested yet (asking again is harmless but changes nothing). ' +
        '`force_cancel`: running, a cancel was requested and `FORCE_CANCEL_GRACE_MS` has passed since `cancel_requested_at`. ' +
        '`retry`: failed or cancelled, not retried yet, not a workflow step, and no secret input (user_data) it needs has been dropped.',
      required: ['cancel', 'force_cancel', 'retry'],
      properties: { cancel: { type: 'boolean' }, force_cancel: { type: 'boolean' }, retry: { type: 'boolean' } },
    },
  },
};

export const serverSchema: JsonSchema = {
  type: 'object',
  properties: {
    id: serverId,
    hostname: { type: 'string' },
    provider: { type: 'string' },
    provider_id: { type: 'string' },
    plan: { type: 'string' },
    zone: { type: 'string' },
    image: { type: ['string', 'null'] },
    ip_address: { type: ['string', 'null'] },
    status: { type: 'string' },
    provider_status: { type: ['string', 'null'] },
    tags: { type: 'array', items: { type: 'string' } },
    workspace: { type: 'string' },
    operation_id: { type: 'string' },
    created_at: { type: 'string' },
    updated_at: { type: 'string' },
  },
};

export const errorRef: JsonSchema = { $ref: '#/components/schemas/Error' };

/** Body for paginated list answers: the page is an array (as the API reference has it); the next page is in `Link`. */
export function pageHeaders(path: string, next: string | null): Record<string, string> {
  if (next === null) return {};
  const url = new URL(path, 'http://x');
  url.searchParams.set('cursor', next);
  const link = `${url.pathname}${url.search}`;
  return { Link: `<${link}>; rel="next"`, 'X-Next-Cursor': next };
}
