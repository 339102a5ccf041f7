/**
 * One HTTP delivery the engine owes someone: a mesh message to another droplet (`POST /send`)
 * or a webhook event to a workspace's subscriber. The record says what is to be sent and how
 * the attempts went; the job on the `outbox` queue only names it, so nothing secret (webhook
 * secrets, signatures, bearer tokens) sits in the queue: each attempt signs afresh.
 */
export type DeliveryKind = 'mesh' | 'webhook';

export type DeliveryStatus = 'queued' | 'delivered' | 'retrying' | 'failed';

export const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['queued', 'delivered', 'retrying', 'failed'];

export interface Delivery {
  id: string;
  kind: DeliveryKind;
  /** Mesh: the peer's id; webhook: the subscription's id. */
  target: string;
  url: string;
  status: DeliveryStatus;
  attempts: number;
  last_status_code: number | null;
  /** Short, and never holding a secret: what the last failed attempt ran into. */
  last_error: string | null;
  trace_id: string;
  created_at: string;
  delivered_at: string | null;
  /** When the next attempt is due while `retrying`. */
  next_attempt_at: string | null;
  /** Webhooks: the subscription, the workspace, the event type and id. */
  subscription_id: string | null;
  workspace: string | null;
  event_type: string | null;
  event_id: string | null;
  /** Mesh: the message type. */
  message_type: string | null;
  /** A redelivery names the delivery it repeats. */
  redelivery_of: string | null;
  /** What is sent: the webhook body or the mesh message without its signature (JSON). */
  body: string;
}

/** The fields a new delivery is made with; the rest start empty. */
export type NewDelivery = Pick<Delivery, 'id' | 'kind' | 'target' | 'url' | 'trace_id' | 'body'> &
  Partial<Pick<Delivery, 'subscription_id' | 'workspace' | 'event_type' | 'event_id' | 'message_type' | 'redelivery_of'>>;

/** How one attempt ended, as the processor records it. */
export type AttemptOutcome =
  | { result: 'delivered'; statusCode: number }
  /** Worth trying again later (5xx, 408, 429, a timeout, no connection); `retryAfterMs` when the target said. */
  | { result: 'retry'; statusCode: number | null; error: string; retryAfterMs?: number }
  /** Final: the target refused it (another 4xx), or it may not be reached at all. */
  | { result: 'failed'; statusCode: number | null; error: string };
