/**
 * The engine's own series, read from Redis at scrape time (in `collect()`), so every API
 * replica answers the same shared truth rather than what its own process happened to see.
 */
import { Gauge, type Registry } from 'prom-client';
import type { CoreContext } from '../context.js';
import { readHeartbeats } from '../heartbeats.js';
import { OPERATION_STATUSES, OPERATION_TYPES } from '../operations/model.js';
import { readOperationCounts } from '../operations/counts.js';
import { queueDepths, rateBudgets, throughput } from '../overview.js';
import { configuredProviders } from '../config.js';

const FINAL_STATES = ['completed', 'failed', 'cancelled'] as const;

/** Operations held, by type and status: the counters the operation scripts keep (the intersection of the `type` and `status` indexes until they are backfilled). */
function operations(ctx: CoreContext, registry: Registry): void {
  new Gauge({
    name: 'engine_operations',
    help: 'Operations the engine holds, by type and current status',
    labelNames: ['type', 'status'],
    registers: [registry],
    async collect() {
      const counted = await readOperationCounts(ctx.redis, ctx.keys, OPERATION_TYPES.map((t) => `t|${t}`));
      if (counted) {
        this.reset();
        for (const type of OPERATION_TYPES) for (const status of OPERATION_STATUSES) this.set({ type, status }, counted.get(`t|${type}`)![status]);
        return;
      }
      const pipeline = ctx.redis.pipeline();
      for (const type of OPERATION_TYPES) {
        for (const status of OPERATION_STATUSES) pipeline.zintercard(2, ctx.keys.operationIndex('type', type), ctx.keys.operationIndex('status', status));
      }
      const replies = (await pipeline.exec()) ?? [];
      this.reset();
      let i = 0;
      for (const type of OPERATION_TYPES) {
        for (const status of OPERATION_STATUSES) {
          const [err, n] = replies[i++] ?? [null, 0];
          this.set({ type, status }, err ? 0 : Number(n));
        }
      }
    },
  });
}

/** Finishes per final state over the last hour, from the per-minute counters the transition script keeps (the overview's figures). */
function finishedLastHour(ctx: CoreContext, registry: Registry): void {
  new Gauge({
    name: 'engine_operations_finished_last_hour',
    help: 'Operations that reached a final state in the last 60 minutes, by state',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const hour = await throughput(ctx, null, Date.now());
      for (const state of FINAL_STATES) this.set({ state }, hour[state]);
    },
  });
}

/** Each configured provider's job queue, plus the workflows queue (provider `none`). */
function queues(ctx: CoreContext, registry: Registry): void {
  const all = () => [...configuredProviders(ctx.config).map((p) => ({ provider: p as string, queue: ctx.queues.for(p) })), { provider: 'none', queue: ctx.queues.workflows() }];
  new Gauge({
    name: 'engine_queue_jobs',
    help: 'Jobs in each queue by state (waiting includes prioritized); provider "none" is the workflows queue',
    labelNames: ['provider', 'queue', 'state'],
    registers: [registry],
    async collect() {
      const depths = await queueDepths(ctx);
      this.reset();
      for (const d of depths) {
        const labels = { provider: d.provider ?? 'none', queue: d.queue };
        this.set({ ...labels, state: 'waiting' }, d.waiting);
        this.set({ ...labels, state: 'active' }, d.active);
        this.set({ ...labels, state: 'delayed' }, d.delayed);
        this.set({ ...labels, state: 'failed' }, d.failed);
      }
    },
  });
  new Gauge({
    name: 'engine_queue_oldest_waiting_seconds',
    help: 'Age of the oldest job in each queue\'s wait list (0 when it is empty)',
    labelNames: ['provider', 'queue'],
    registers: [registry],
    async collect() {
      const now = Date.now();
      const oldest = await Promise.all(all().map(async (q) => ({ ...q, job: (await q.queue.getWaiting(0, 0))[0] })));
      this.reset();
      for (const { provider, queue, job } of oldest) this.set({ provider, queue: queue.name }, job ? Math.max(0, (now - job.timestamp) / 1000) : 0);
    },
  });
}

/** What each provider account may still spend: per window, or the token bucket's tokens (the overview's figures). */
function rateBudgetSeries(ctx: CoreContext, registry: Registry): void {
  new Gauge({
    name: 'engine_rate_budget_remaining',
    help: 'Requests a provider account may still make: per sliding window (window_seconds), or tokens left in its bucket (window_seconds="bucket")',
    labelNames: ['provider', 'account', 'window_seconds'],
    registers: [registry],
    async collect() {
      const views = await rateBudgets(ctx);
      this.reset();
      for (const { provider, account, windows, bucket } of views) {
        for (const w of windows) this.set({ provider, account, window_seconds: String(w.window_ms / 1000) }, w.remaining);
        if (bucket) this.set({ provider, account, window_seconds: 'bucket' }, bucket.tokens);
      }
    },
  });
  new Gauge({
    name: 'engine_rate_budget_paused',
    help: '1 while a 429 has paused a provider account everywhere, else 0',
    labelNames: ['provider', 'account'],
    registers: [registry],
    async collect() {
      const views = await rateBudgets(ctx);
      this.reset();
      for (const { provider, account, paused_until } of views) this.set({ provider, account }, paused_until === null ? 0 : 1);
    },
  });
}

function workers(ctx: CoreContext, registry: Registry): void {
  new Gauge({
    name: 'engine_workers_alive',
    help: 'Worker processes whose heartbeat has not lapsed',
    registers: [registry],
    async collect() {
      this.set((await readHeartbeats(ctx.redis, ctx.keys)).length);
    },
  });
  new Gauge({
    name: 'engine_worker_active_jobs',
    help: 'Jobs the live workers report running, summed',
    registers: [registry],
    async collect() {
      this.set((await readHeartbeats(ctx.redis, ctx.keys)).reduce((sum, hb) => sum + (hb.active_jobs ?? 0), 0));
    },
  });
}

export function registerEngineMetrics(ctx: CoreContext, registry: Registry): void {
  operations(ctx, registry);
  finishedLastHour(ctx, registry);
  queues(ctx, registry);
  rateBudgetSeries(ctx, registry);
  workers(ctx, registry);
}
