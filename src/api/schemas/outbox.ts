import { DELIVERY_STATUSES } from '../../core/outbox/model.js';
import type { JsonSchema } from '../validation.js';

const nullableString: JsonSchema = { type: ['string', 'null'] };

/** One outbox delivery (a mesh message or a webhook event) and how its attempts went. */
export const deliverySchema: JsonSchema = {
  type: 'object',
  required: ['id', 'kind', 'target', 'url', 'status', 'attempts', 'last_status_code', 'last_error', 'trace_id', 'created_at', 'delivered_at'],
  properties: {
    id: { type: 'string', description: 'Deterministic: the same message or event is never enqueued twice (`<subscription>.<event id>` for webhooks)' },
    kind: { type: 'string', enum: ['mesh', 'webhook'] },
    target: { type: 'string', description: "The peer's id (mesh) or the subscription's id (webhook)" },
    url: { type: 'string' },
    status: { type: 'string', enum: [...DELIVERY_STATUSES], description: '`queued` until the first attempt, `retrying` between attempts, then `delivered` or `failed`' },
    attempts: { type: 'integer' },
    last_status_code: { type: ['integer', 'null'], description: "The target's last HTTP status; null when it did not answer" },
    last_error: nullableString,
    trace_id: { type: 'string' },
    created_at: { type: 'string', format: 'date-time' },
    delivered_at: { type: ['string', 'null'] },
    next_attempt_at: { type: ['string', 'null'], description: 'When the next attempt is due, while retrying' },
    subscription_id: nullableString,
    workspace: nullableString,
    event_type: nullableString,
    event_id: nullableString,
    message_type: nullableString,
    redelivery_of: { type: ['string', 'null'], description: 'The delivery this one repeats' },
    body: { description: 'What is sent (one delivery only): the webhook event, or the mesh message without its signature' },
  },
};

export const deliveryStatusQuery: JsonSchema = { type: 'string', enum: [...DELIVERY_STATUSES], description: 'Only deliveries in this status' };
export const deliveryLimitQuery: JsonSchema = { type: 'integer', minimum: 1, maximum: 200, default: 50, description: 'At most this many, newest first' };
export const deliveryIdParam: JsonSchema = { type: 'string', pattern: '^[A-Za-z0-9._-]{1,200}$', description: 'Delivery id' };
