import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { CoreContext } from '../core/context.js';
import { toEvent } from '../core/events/event.js';
import type { Operation } from '../core/operations/model.js';
import type { OutboxJobData } from '../core/outbox/queue.js';
import { enqueueDelivery } from '../core/outbox/queue.js';
import { webhookDelivery } from '../core/webhooks/delivery.js';
import type { DeliveryStore } from '../core/outbox/store.js';
import { connectRedis, type RedisAddress } from '../core/redis.js';
import { webhookEventsOf, type WebhookEvent } from '../core/webhooks/events.js';
import { subscribes, type WebhookSubscription } from '../core/webhooks/model.js';
import type { WebhookStore } from '../core/webhooks/store.js';

/** The consumer group every worker's dispatcher reads the event stream in: each entry goes to one of them. */
export const WEBHOOK_GROUP = 'webhooks';
const BATCH = 100;
const BLOCK_MS = 2000;
/** How often a dispatcher looks for entries another read and did not acknowledge for WEBHOOK_CLAIM_IDLE_MS (it died, or its Redis call failed). */
const CLAIM_EVERY_MS = 5_000;
/** A workspace's subscriptions are read again at the latest after this long, and at once when any subscription changes. */
const CACHE_MS = 30_000;

/**
 * Turns the engine's event stream into webhook deliveries. Every worker process runs one; they
 * share a consumer group, so each entry is handled by one of them (XREADGROUP), acknowledged
 * once its deliveries are enqueued (XACK), and taken over by another (XAUTOCLAIM) when the one
 * that read it died first. A delivery's id is `<subscription>.<event id>`: an entry handled
 * twice enqueues nothing twice.
 */
export class WebhookDispatcher {
  private readonly reader: Redis;
  private readonly consumer: string;
  private readonly cache = new Map<string, { subs: WebhookSubscription[]; at: number }>();
  private cacheVersion = '';
  private stopped = false;
  private busy = false;
  private loop: Promise<void> | null = null;
  private lastClaim = 0;

  constructor(
    private readonly ctx: CoreContext,
    redisUrl: RedisAddress,
    consumerName: string,
    private readonly webhooks: WebhookStore,
    private readonly deliveries: DeliveryStore,
    private readonly queue: Queue<OutboxJobData>,
  ) {
    this.reader = connectRedis(redisUrl, 'webhook-dispatcher');
    this.reader.on('error', () => undefined);
    this.consumer = `${consumerName}-${process.pid}`;
  }

  async start(): Promise<void> {
    try {
      // From now on: a new group does not replay the stream's history to every subscriber.
      await this.ctx.redis.xgroup('CREATE', this.ctx.keys.events(), WEBHOOK_GROUP, '$', 'MKSTREAM');
    } catch (err) {
      if (!/BUSYGROUP/.test((err as Error).message)) throw err;
    }
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    // Blocked in XREADGROUP with nothing in hand: nothing is lost by cutting the wait short.
    if (!this.busy) this.reader.disconnect();
    await this.loop;
    this.reader.disconnect();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        if (Date.now() - this.lastClaim >= Math.min(CLAIM_EVERY_MS, this.ctx.config.webhooks.claimIdleMs)) await this.claimAbandoned();
        const reply = (await this.reader.xreadgroup('GROUP', WEBHOOK_GROUP, this.consumer, 'COUNT', BATCH, 'BLOCK', BLOCK_MS, 'STREAMS', this.ctx.keys.events(), '>')) as Array<[string, Array<[string, string[]]>]> | null;
        const entries = reply?.[0]?.[1] ?? [];
        if (entries.length > 0) await this.handle(entries);
      } catch (err) {
        if (this.stopped) return;
        this.ctx.logger.warn('webhook dispatcher could not read the event stream; retrying', { error: (err as Error).message });
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  private async claimAbandoned(): Promise<void> {
    this.lastClaim = Date.now();
    let cursor = '0-0';
    do {
      const [next, entries] = (await this.ctx.redis.xautoclaim(this.ctx.keys.events(), WEBHOOK_GROUP, this.consumer, this.ctx.config.webhooks.claimIdleMs, cursor, 'COUNT', BATCH)) as [string, Array<[string, string[]] | null>];
      const live = entries.filter((e): e is [string, string[]] => e !== null);
      if (live.length > 0) await this.handle(live);
      cursor = next;
    } while (cursor !== '0-0' && !this.stopped);
  }

  private async handle(entries: Array<[string, string[]]>): Promise<void> {
    this.busy = true;
    try {
      await this.refreshCache();
      const handled: string[] = [];
      for (const [id, fields] of entries) {
        // One failing entry stays pending (not acknowledged) for a later claim; the rest go on.
        try {
          for (const event of webhookEventsOf(toEvent(id, fields))) await this.dispatch(event);
          handled.push(id);
        } catch (err) {
          this.ctx.logger.warn('webhook dispatch failed; the entry is retried later', { event_id: id, error: (err as Error).message });
        }
      }
      // One acknowledgement for the batch: the stream carries every state change, so a round
      // trip per entry would cost every operation several. Entries handled but not yet
      // acknowledged when this process dies are handled again by a claim, enqueuing nothing twice.
      if (handled.length > 0) await this.ctx.redis.xack(this.ctx.keys.events(), WEBHOOK_GROUP, ...handled);
    } finally {
      this.busy = false;
    }
  }

  /** One read of the version per batch; a change anywhere drops every cached workspace. */
  private async refreshCache(): Promise<void> {
    const version = await this.webhooks.version();
    if (version !== this.cacheVersion) {
      this.cache.clear();
      this.cacheVersion = version;
    }
  }

  private async subscriptionsOf(workspace: string): Promise<WebhookSubscription[]> {
    const hit = this.cache.get(workspace);
    if (hit && Date.now() - hit.at < CACHE_MS) return hit.subs;
    const subs = (await this.webhooks.list(workspace)).filter((s) => s.active);
    this.cache.set(workspace, { subs, at: Date.now() });
    return subs;
  }

  private async dispatch(event: WebhookEvent): Promise<void> {
    const subs = (await this.subscriptionsOf(event.workspace)).filter((s) => subscribes(s, event.type));
    if (subs.length === 0) return;
    const op: Operation | null = event.operationId ? await this.ctx.store.get(event.operationId) : null;
    const data = event.type === 'drift.found' ? { drift: event.drift } : event.type === 'workflow.finished' ? { workflow: op, from: event.from, to: event.to } : { operation: op, from: event.from, to: event.to };
    const traceId = op?.trace_id ?? event.traceId ?? `evt-${event.id}`;
    const body = JSON.stringify({ id: event.id, type: event.type, created_at: event.created_at, workspace: event.workspace, trace_id: traceId, data });
    for (const sub of subs) {
      await enqueueDelivery(this.deliveries, this.queue, this.ctx.config, webhookDelivery(sub, { id: event.id, type: event.type, workspace: event.workspace, traceId, body }));
    }
  }
}
