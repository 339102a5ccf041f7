import type { NewDelivery } from '../outbox/model.js';
import type { WebhookSubscription } from './model.js';

/** One event as a webhook body carries it. */
export interface WebhookEventBody {
  id: string;
  type: string;
  workspace: string;
  traceId: string;
  /** The JSON body sent, signed at each attempt. */
  body: string;
}

/**
 * The outbox delivery of one event to one subscription: the dispatcher's, a ping's and a
 * redelivery's are the same but for their id (`<subscription>.<event id>` unless given, so an
 * event handled twice is one delivery) and what a redelivery repeats.
 */
export function webhookDelivery(sub: Pick<WebhookSubscription, 'id' | 'url'>, event: WebhookEventBody, opts: { id?: string; redeliveryOf?: string } = {}): NewDelivery {
  return {
    id: opts.id ?? `${sub.id}.${event.id}`,
    kind: 'webhook',
    target: sub.id,
    url: sub.url,
    trace_id: event.traceId,
    body: event.body,
    subscription_id: sub.id,
    workspace: event.workspace,
    event_type: event.type,
    event_id: event.id,
    ...(opts.redeliveryOf !== undefined ? { redelivery_of: opts.redeliveryOf } : {}),
  };
}
