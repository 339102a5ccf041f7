import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { CoreContext } from '../core/context.js';
import { OUTBOX_QUEUE, outboxQueue, type OutboxJobData } from '../core/outbox/queue.js';
import { DeliveryStore } from '../core/outbox/store.js';
import type { RedisAddress } from '../core/redis.js';
import { secretBox } from '../core/secrets/secret-key.js';
import { WebhookStore } from '../core/webhooks/store.js';
import { outboxBackoff, outboxProcessor } from './outbox-processor.js';
import { WebhookDispatcher } from './webhook-dispatcher.js';

export interface RunningOutbox {
  worker: Worker<OutboxJobData>;
  /** Stops reading the event stream and taking deliveries; attempts in hand finish first. */
  close(): Promise<void>;
}

/**
 * The outbox in a worker process: a BullMQ worker making the deliveries, and the dispatcher
 * turning the event stream into webhook deliveries. `wrap` counts active jobs with the others.
 */
export async function startOutbox(
  ctx: CoreContext,
  redisUrl: RedisAddress,
  blocking: Redis,
  name: string,
  wrap: (run: (job: Job<OutboxJobData>) => Promise<string>) => (job: Job<OutboxJobData>) => Promise<string>,
  onError: (err: Error) => void,
): Promise<RunningOutbox> {
  const deliveries = new DeliveryStore(ctx.redis, ctx.keys);
  const webhooks = new WebhookStore(ctx.redis, ctx.keys, secretBox(ctx.config));
  const queue = outboxQueue(ctx.redis, ctx.keys);
  queue.on('error', onError);
  const worker = new Worker<OutboxJobData>(OUTBOX_QUEUE, wrap(outboxProcessor({ ctx, deliveries, webhooks })), {
    connection: blocking,
    prefix: ctx.keys.bullPrefix(),
    concurrency: ctx.config.worker.concurrency,
    lockDuration: ctx.config.worker.lockDurationMs,
    stalledInterval: ctx.config.worker.lockDurationMs,
    // A worker that died mid-attempt: the attempt is made again (a receiver dedupes by X-PE-Delivery).
    maxStalledCount: 10,
    autorun: false,
    settings: { backoffStrategy: outboxBackoff(ctx.config.outbox.backoffMs) },
  });
  worker.on('error', onError);
  const dispatcher = new WebhookDispatcher(ctx, redisUrl, name, webhooks, deliveries, queue);
  void worker.run();
  await worker.waitUntilReady();
  await dispatcher.start();
  return {
    worker,
    close: async () => {
      await dispatcher.stop();
      await worker.close();
      await queue.close();
    },
  };
}
