import { Queue, type ConnectionOptions } from 'bullmq';
import type { Config } from '../config.js';
import type { Keys } from '../keys.js';
import type { DeliveryStore } from './store.js';
import type { Delivery, NewDelivery } from './model.js';

/** The queue of HTTP deliveries (mesh messages, webhook events); named and prefixed like the engine's other queues. */
export const OUTBOX_QUEUE = 'outbox';

/** Job data names the delivery and nothing more: no secret ever sits in the queue. */
export interface OutboxJobData {
  deliveryId: string;
}

/** The backoff type the outbox's worker computes itself (exponential, jittered, Retry-After honoured). */
export const OUTBOX_BACKOFF = 'outbox';

export function outboxQueue(connection: ConnectionOptions, keys: Keys): Queue<OutboxJobData> {
  return new Queue<OutboxJobData>(OUTBOX_QUEUE, { connection, prefix: keys.bullPrefix() });
}

/** BullMQ refuses ':' in a custom job id; delivery ids never hold one, this keeps it so. */
export function outboxJobId(deliveryId: string): string {
  return deliveryId.replace(/:/g, '_');
}

/**
 * Writes the delivery and enqueues its job. Both are keyed by the delivery's deterministic id,
 * so offering the same message or event again adds nothing. A record left `queued` without a
 * job (a process died between the two writes) gets its job when it is offered again; one
 * already delivered, retrying or failed is left alone.
 */
export async function enqueueDelivery(
  store: DeliveryStore,
  queue: Queue<OutboxJobData>,
  config: Pick<Config, 'outbox'>,
  input: NewDelivery,
  /** Fewer attempts than OUTBOX_ATTEMPTS (a sender's `retry_count`), never more; a BullMQ priority (1 is first). */
  opts: { attempts?: number; priority?: number } = {},
): Promise<{ created: boolean; delivery: Delivery }> {
  const outcome = await store.create(input);
  if (outcome.created || outcome.delivery.status === 'queued') {
    await queue.add(
      outcome.delivery.kind,
      { deliveryId: outcome.delivery.id },
      {
        jobId: outboxJobId(outcome.delivery.id),
        attempts: Math.max(1, Math.min(config.outbox.attempts, opts.attempts ?? config.outbox.attempts)),
        ...(opts.priority ? { priority: opts.priority } : {}),
        backoff: { type: OUTBOX_BACKOFF },
        removeOnComplete: { age: 3600, count: 10_000 },
        removeOnFail: { age: 24 * 3600, count: 10_000 },
      },
    );
  }
  return outcome;
}
