/**
 * The dashboard's overview: what the engine is doing now and did in the last hour.
 *
 * Counts and throughput cover the caller's own workspaces (all of them for a global admin).
 * Queue depths, provider rate budgets and worker heartbeats are about the whole system, not
 * one workspace, and say how busy the other tenants are: they are answered only to callers
 * holding `system_metrics` (global admins) and are null for everyone else.
 */
import type { Access } from './auth/access.js';
import { configuredProviders } from './config.js';
import type { CoreContext } from './context.js';
import { readHeartbeats, type WorkerHeartbeat } from './heartbeats.js';
import { OPERATION_STATUSES, type OperationStatus } from './operations/model.js';
import { operationsPerStatus, readOperationCounts } from './operations/counts.js';
import { WORKFLOWS_QUEUE } from './queue.js';
import { budgetKeyBase, budgetModel, providerAccountId } from './rate-budget/index.js';
import { countedSpanMs } from './rate-budget/model.js';
import type { ProviderName } from '../common/provider.js';

const FINAL_STATES = ['completed', 'failed', 'cancelled'] as const;
type FinalState = (typeof FINAL_STATES)[number];
const MINUTES = 60;

export interface ThroughputMinute {
  /** The minute's start, ISO (`2026-11-28T16:34:00.000Z`). */
  minute: string;
  completed: number;
  failed: number;
  cancelled: number;
}

export interface QueueDepth {
  queue: string;
  provider: ProviderName | null;
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
}

export interface BudgetWindowUse {
  window_ms: number;
  limit: number;
  used: number;
  remaining: number;
}

export interface RateBudgetView {
  provider: ProviderName;
  account: string;
  model: 'windows' | 'bucket' | 'none';
  windows: BudgetWindowUse[];
  /** Token bucket (Hetzner): tokens left of the capacity. */
  bucket: { capacity: number; tokens: number; refill_per_second: number } | null;
  /** A 429 paused the account everywhere until then. */
  paused_until: string | null;
}

export interface Overview {
  generated_at: string;
  /** null: every workspace (a global admin); else the workspaces counted. */
  workspaces: string[] | null;
  counts: Record<OperationStatus, number> & { total: number };
  throughput: {
    minutes: ThroughputMinute[];
    finished: number;
    completed: number;
    failed: number;
    cancelled: number;
    /** failed ÷ finished over the hour; null when nothing finished. */
    failure_rate: number | null;
  };
  /** Whole-system sections: null unless the caller holds `system_metrics`. */
  queues: QueueDepth[] | null;
  rate_budgets: RateBudgetView[] | null;
  workers: WorkerHeartbeat[] | null;
}

/** `2026-11-28T16:34`: the field the transition script counts a finish under (see operations/scripts.ts). */
function minuteKey(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16);
}

export function finishedCounterKey(prefix: string, minute: string): string {
  return `${prefix}:stats:finished:${minute}`;
}

async function counts(ctx: CoreContext, workspaces: string[] | null): Promise<Overview['counts']> {
  // A caller's own workspaces: the counters the operation scripts keep (one read); intersecting the indexes only until they are backfilled.
  const counted = workspaces === null ? null : await readOperationCounts(ctx.redis, ctx.keys, workspaces.map((ws) => `w|${ws}`));
  if (counted) {
    const result = { total: 0 } as Overview['counts'];
    for (const s of OPERATION_STATUSES) {
      result[s] = [...counted.values()].reduce((sum, row) => sum + row[s], 0);
      result.total += result[s];
    }
    return result;
  }
  if (workspaces === null) {
    const perStatus = await operationsPerStatus(ctx.redis, ctx.keys);
    return { ...perStatus, total: Object.values(perStatus).reduce((a, b) => a + b, 0) };
  }
  // The counters are still being backfilled: the indexes of the layout before operation rows are still there (see rows-migration.ts).
  const pipeline = ctx.redis.pipeline();
  for (const s of OPERATION_STATUSES) {
    for (const ws of workspaces) pipeline.zintercard(2, ctx.keys.operationIndex('status', s), ctx.keys.operationIndex('workspace', ws));
  }
  const replies = ((await pipeline.exec()) ?? []).map(([err, n]) => (err ? 0 : Number(n)));
  const per = workspaces === null ? 1 : workspaces.length;
  const result = { total: 0 } as Overview['counts'];
  OPERATION_STATUSES.forEach((s, i) => {
    const n = replies.slice(i * per, (i + 1) * per).reduce((a, b) => a + b, 0);
    result[s] = n;
    result.total += n;
  });
  return result;
}

export async function throughput(ctx: CoreContext, workspaces: string[] | null, nowMs: number): Promise<Overview['throughput']> {
  const start = Math.floor(nowMs / 60000) * 60000 - (MINUTES - 1) * 60000;
  const minutes = Array.from({ length: MINUTES }, (_, i) => start + i * 60000);
  const pipeline = ctx.redis.pipeline();
  for (const m of minutes) pipeline.hgetall(finishedCounterKey(ctx.keys.prefix, minuteKey(m)));
  const replies = (await pipeline.exec()) ?? [];
  const totals = { completed: 0, failed: 0, cancelled: 0 };
  const series = minutes.map((m, i) => {
    const hash = (replies[i]?.[1] ?? {}) as Record<string, string>;
    const row: ThroughputMinute = { minute: new Date(m).toISOString(), completed: 0, failed: 0, cancelled: 0 };
    for (const state of FINAL_STATES) {
      const n = workspaces === null ? Number(hash[state] ?? 0) : workspaces.reduce((sum, ws) => sum + Number(hash[`${ws}|${state}`] ?? 0), 0);
      row[state as FinalState] = n;
      totals[state] += n;
    }
    return row;
  });
  const finished = totals.completed + totals.failed + totals.cancelled;
  return { minutes: series, finished, ...totals, failure_rate: finished === 0 ? null : totals.failed / finished };
}

export async function queueDepths(ctx: CoreContext): Promise<QueueDepth[]> {
  const queues = [...configuredProviders(ctx.config).map((p) => ({ provider: p as ProviderName | null, queue: ctx.queues.for(p) })), { provider: null, queue: ctx.queues.workflows() }];
  return Promise.all(
    queues.map(async ({ provider, queue }) => {
      const c = await queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed');
      return {
        queue: provider ? queue.name : WORKFLOWS_QUEUE,
        provider,
        waiting: (c.waiting ?? 0) + (c.prioritized ?? 0),
        active: c.active ?? 0,
        delayed: c.delayed ?? 0,
        failed: c.failed ?? 0,
      };
    }),
  );
}

export async function rateBudgets(ctx: CoreContext): Promise<RateBudgetView[]> {
  const [secs, micros] = await ctx.redis.time();
  const now = Number(secs) * 1000 + Math.floor(Number(micros) / 1000);
  const views: RateBudgetView[] = [];
  for (const provider of configuredProviders(ctx.config)) {
    const account = providerAccountId(provider, ctx.config.providers[provider]!);
    const base = budgetKeyBase(ctx.keys, account);
    const model = budgetModel(provider, ctx.config.rateLimits[provider]);
    const state = await ctx.redis.hgetall(`${base}:state`);
    const paused = Number(state.paused_until ?? 0);
    const view: RateBudgetView = { provider, account, model: model.kind, windows: [], bucket: null, paused_until: paused > now ? new Date(paused).toISOString() : null };
    if (model.kind === 'windows') {
      for (const w of model.windows) {
        const used = await ctx.redis.zcount(`${base}:w:${w.windowMs}`, now - countedSpanMs(w.windowMs), '+inf');
        view.windows.push({ window_ms: w.windowMs, limit: w.limit, used, remaining: Math.max(0, w.limit - used) });
      }
    } else if (model.kind === 'bucket') {
      const stored = state.tokens === undefined ? model.capacity : Number(state.tokens);
      const at = state.at === undefined ? now : Number(state.at);
      const tokens = Math.min(model.capacity, stored + (Math.max(0, now - at) * model.refillPerSecond) / 1000);
      view.bucket = { capacity: model.capacity, tokens: Math.floor(tokens), refill_per_second: model.refillPerSecond };
    }
    views.push(view);
  }
  return views;
}

export async function readOverview(ctx: CoreContext, access: Access): Promise<Overview> {
  const workspaces = access.workspacesWith('operation_read');
  const system = access.can('system_metrics');
  const nowMs = Date.now();
  const [c, t, q, b, w] = await Promise.all([
    counts(ctx, workspaces),
    throughput(ctx, workspaces, nowMs),
    system ? queueDepths(ctx) : null,
    system ? rateBudgets(ctx) : null,
    system ? readHeartbeats(ctx.redis, ctx.keys) : null,
  ]);
  return { generated_at: new Date(nowMs).toISOString(), workspaces, counts: c, throughput: t, queues: q, rate_budgets: b, workers: w };
}
