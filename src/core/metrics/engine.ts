/**
 * The engine's own series, read from Redis at scrape time (in `collect()`), so every API
 * replica answers the same shared truth rather than what its own process happened to see.
 */
import { Gauge, type Registry } from 'prom-client';
import type { CoreContext } from '../context.js';
import { readHeartbeats } from '../heartbeats.js';
import { OPERATION_STATUSES, OPERATION_TYPES } from '../operations/model.js';
import { finishedCounterKey } from '../overview.js';
import { budgetKeyBase, budgetModel, providerAccountId } from '../rate-budget/index.js';
import { countedSpanMs } from '../rate-budget/model.js';
import type { ProviderName } from '../../providers/types.js';

const PROVIDERS: readonly ProviderName[] = ['digitalocean', 'hetzner', 'vultr', 'upcloud'];
const FINAL_STATES = ['completed', 'failed', 'cancelled'] as const;
const HOUR_MINUTES = 60;

function configuredProviders(ctx: CoreContext): ProviderName[] {
  return PROVIDERS.filter((p) => ctx.config.providers[p]);
}

/** Operations held, by type and status: the intersection of the `type` and `status` indexes. */
function operations(ctx: CoreContext, registry: Registry): void {
  new Gauge({
    name: 'engine_operations',
    help: 'Operations the engine holds, by type and current status',
    labelNames: ['type', 'status'],
    registers: [registry],
    async collect() {
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

/** Finishes per final state over the last hour, from the per-minute counters the transition script keeps. */
function finishedLastHour(ctx: CoreContext, registry: Registry): void {
  new Gauge({
    name: 'engine_operations_finished_last_hour',
    help: 'Operations that reached a final state in the last 60 minutes, by state',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const start = Math.floor(Date.now() / 60000) * 60000 - (HOUR_MINUTES - 1) * 60000;
      const pipeline = ctx.redis.pipeline();
      for (let i = 0; i < HOUR_MINUTES; i++) pipeline.hmget(finishedCounterKey(ctx.keys.prefix, new Date(start + i * 60000).toISOString().slice(0, 16)), ...FINAL_STATES);
      const replies = (await pipeline.exec()) ?? [];
      const totals = { completed: 0, failed: 0, cancelled: 0 };
      for (const [err, values] of replies) {
        if (err) continue;
        FINAL_STATES.forEach((state, j) => (totals[state] += Number((values as Array<string | null>)[j] ?? 0)));
      }
      for (const state of FINAL_STATES) this.set({ state }, totals[state]);
    },
  });
}

/** Each configured provider's job queue, plus the workflows queue (provider `none`). */
function queues(ctx: CoreContext, registry: Registry): void {
  const all = () => [...configuredProviders(ctx).map((p) => ({ provider: p as string, queue: ctx.queues.for(p) })), { provider: 'none', queue: ctx.queues.workflows() }];
  new Gauge({
    name: 'engine_queue_jobs',
    help: 'Jobs in each queue by state (waiting includes prioritized); provider "none" is the workflows queue',
    labelNames: ['provider', 'queue', 'state'],
    registers: [registry],
    async collect() {
      const counts = await Promise.all(all().map(async (q) => ({ ...q, c: await q.queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed') })));
      this.reset();
      for (const { provider, queue, c } of counts) {
        const labels = { provider, queue: queue.name };
        this.set({ ...labels, state: 'waiting' }, (c.waiting ?? 0) + (c.prioritized ?? 0));
        this.set({ ...labels, state: 'active' }, c.active ?? 0);
        this.set({ ...labels, state: 'delayed' }, c.delayed ?? 0);
        this.set({ ...labels, state: 'failed' }, c.failed ?? 0);
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

/** What each provider account may still spend: per window, or the token bucket's tokens. */
function rateBudgets(ctx: CoreContext, registry: Registry): void {
  new Gauge({
    name: 'engine_rate_budget_remaining',
    help: 'Requests a provider account may still make: per sliding window (window_seconds), or tokens left in its bucket (window_seconds="bucket")',
    labelNames: ['provider', 'account', 'window_seconds'],
    registers: [registry],
    async collect() {
      const [secs, micros] = await ctx.redis.time();
      const now = Number(secs) * 1000 + Math.floor(Number(micros) / 1000);
      this.reset();
      for (const provider of configuredProviders(ctx)) {
        const account = providerAccountId(provider, ctx.config.providers[provider]!);
        const base = budgetKeyBase(ctx.keys, account);
        const model = budgetModel(provider, ctx.config.rateLimits[provider]);
        if (model.kind === 'windows') {
          for (const w of model.windows) {
            const used = await ctx.redis.zcount(`${base}:w:${w.windowMs}`, now - countedSpanMs(w.windowMs), '+inf');
            this.set({ provider, account, window_seconds: String(w.windowMs / 1000) }, Math.max(0, w.limit - used));
          }
        } else if (model.kind === 'bucket') {
          const state = await ctx.redis.hgetall(`${base}:state`);
          const stored = state.tokens === undefined ? model.capacity : Number(state.tokens);
          const at = state.at === undefined ? now : Number(state.at);
          this.set({ provider, account, window_seconds: 'bucket' }, Math.floor(Math.min(model.capacity, stored + (Math.max(0, now - at) * model.refillPerSecond) / 1000)));
        }
      }
    },
  });
  new Gauge({
    name: 'engine_rate_budget_paused',
    help: '1 while a 429 has paused a provider account everywhere, else 0',
    labelNames: ['provider', 'account'],
    registers: [registry],
    async collect() {
      const [secs] = await ctx.redis.time();
      this.reset();
      for (const provider of configuredProviders(ctx)) {
        const account = providerAccountId(provider, ctx.config.providers[provider]!);
        const paused = Number((await ctx.redis.hget(`${budgetKeyBase(ctx.keys, account)}:state`, 'paused_until')) ?? 0);
        this.set({ provider, account }, paused > Number(secs) * 1000 ? 1 : 0);
      }
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
  rateBudgets(ctx, registry);
  workers(ctx, registry);
}
