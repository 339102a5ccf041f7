/**
 * Liveness and readiness of this API process, for orchestrators' probes (`GET /health/live`,
 * `GET /health/ready`, in thecloud's shapes: `{status: "ok"}`, and `{status: "UP"|"DEGRADED",
 * checks: {<name>: "CONNECTED"|"DISCONNECTED"}, time}`).
 *
 * Ready means: Redis answers PING within a short timeout, at least one worker process is alive
 * by its heartbeat (core/heartbeats.ts), and every configured provider's API answers at its
 * base URL. Provider looks are cached per process (PROVIDER_CACHE_MS) and shared by concurrent
 * probes, so probing every second costs each provider one request per cache period at most.
 *
 * A provider look is an unauthenticated GET of the base URL: any HTTP answer below 500 (a 401
 * or 404 included) proves the API is there. It carries no credential, so it is not counted in
 * an account's limit where the provider counts per token or project (DigitalOcean, Hetzner,
 * UpCloud) and does not go through the adapters' HTTP client. Where the provider counts every
 * request of a client (Vultr), the look first draws one request from the account's shared
 * budget (core/rate-budget/) at poll priority and reports the answer back to it; when the
 * budget says wait, nothing is sent and the last result stands (a busy account is not a
 * missing one). The answer names no URL, host or worker id: the route is public.
 */
import type { RequestBudget } from '../providers/request-budget.js';
import { RequestBudgetExhaustedError } from '../providers/request-budget.js';
import { accountIdFor } from '../providers/registry.js';
import type { ProviderName } from '../common/provider.js';
import { configuredProviders } from './config.js';
import type { CoreContext } from './context.js';
import { readHeartbeats } from './heartbeats.js';
import { pingRedis } from './redis.js';
import { createRequestBudgets } from './rate-budget/index.js';

export type CheckState = 'CONNECTED' | 'DISCONNECTED';

export interface ProviderCheck {
  status: CheckState;
  /** The HTTP status the base URL answered, when it answered. */
  http_status?: number;
  latency_ms?: number;
  error?: string;
  checked_at: string;
  /** The result was taken from this process's cache rather than looked up for this probe. */
  cached: boolean;
  /** Not looked up this time: the account's request budget said wait; the last result (if any) stands. */
  skipped?: string;
}

export interface Readiness {
  status: 'UP' | 'DEGRADED';
  /** One word per check: `redis`, `workers` and each configured provider by name. */
  checks: Record<string, CheckState>;
  /** The checks that failed, by the names used in `checks` (empty when UP). */
  failing: string[];
  details: {
    redis: { status: CheckState; latency_ms?: number; error?: string };
    workers: { status: CheckState; alive: number; error?: string };
    providers: Record<string, ProviderCheck>;
  };
  time: string;
}

export interface ProbeOptions {
  redisTimeoutMs?: number;
  workersTimeoutMs?: number;
  providerTimeoutMs?: number;
  providerCacheMs?: number;
}

const REDIS_TIMEOUT_MS = 1000;
const PROVIDER_TIMEOUT_MS = 2000;
const PROVIDER_CACHE_MS = 12_000;

/** Providers whose limit counts every request of a client, credential or not (model.ts: "Vultr a sliding second per client"). */
const COUNTS_ANONYMOUS_REQUESTS: ReadonlySet<ProviderName> = new Set(['vultr']);

class TimeoutError extends Error {}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what}: no answer within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function message(err: unknown): string {
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  const cause = e?.cause?.code ?? e?.cause?.message;
  return cause ? `${e.message ?? String(err)} (${cause})` : (e?.message ?? String(err));
}

export class Probes {
  private readonly cache = new Map<ProviderName, { at: number; result: ProviderCheck }>();
  private readonly inflight = new Map<ProviderName, Promise<ProviderCheck>>();
  private readonly opts: Required<ProbeOptions>;
  private readonly budgetFor: (provider: ProviderName) => RequestBudget | undefined;

  constructor(private readonly ctx: CoreContext, opts: ProbeOptions = {}) {
    this.opts = {
      redisTimeoutMs: opts.redisTimeoutMs ?? REDIS_TIMEOUT_MS,
      workersTimeoutMs: opts.workersTimeoutMs ?? REDIS_TIMEOUT_MS,
      providerTimeoutMs: opts.providerTimeoutMs ?? PROVIDER_TIMEOUT_MS,
      providerCacheMs: opts.providerCacheMs ?? PROVIDER_CACHE_MS,
    };
    // A probe never waits for the budget: when it says wait, the look is skipped.
    const budgets = createRequestBudgets(ctx.redis, ctx.keys, ctx.config, { maxWaitMs: 0 });
    this.budgetFor = (provider) => {
      const account = accountIdFor(provider, ctx.config.providers);
      return account ? budgets(provider, account) : undefined;
    };
  }

  /** The process is serving. */
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  async ready(): Promise<Readiness> {
    const providers = configuredProviders(this.ctx.config);
    const [redis, workers, looks] = await Promise.all([
      this.redisCheck(),
      this.workersCheck(),
      Promise.all(providers.map((p) => this.providerCheck(p))),
    ]);
    const checks: Record<string, CheckState> = { redis: redis.status, workers: workers.status };
    const details: Readiness['details'] = { redis, workers, providers: {} };
    providers.forEach((p, i) => {
      checks[p] = looks[i]!.status;
      details.providers[p] = looks[i]!;
    });
    const failing = Object.entries(checks).filter(([, s]) => s !== 'CONNECTED').map(([name]) => name);
    return { status: failing.length === 0 ? 'UP' : 'DEGRADED', checks, failing, details, time: new Date().toISOString() };
  }

  private async redisCheck(): Promise<Readiness['details']['redis']> {
    const ping = await pingRedis(this.ctx.redis, this.opts.redisTimeoutMs);
    return ping.ok ? { status: 'CONNECTED', latency_ms: ping.latencyMs } : { status: 'DISCONNECTED', error: ping.error };
  }

  private async workersCheck(): Promise<Readiness['details']['workers']> {
    try {
      const beats = await withTimeout(readHeartbeats(this.ctx.redis, this.ctx.keys), this.opts.workersTimeoutMs, 'worker heartbeats');
      return beats.length > 0
        ? { status: 'CONNECTED', alive: beats.length }
        : { status: 'DISCONNECTED', alive: 0, error: 'no worker process has a live heartbeat' };
    } catch (err) {
      return { status: 'DISCONNECTED', alive: 0, error: message(err) };
    }
  }

  /** The cached look when it is fresh, else one look shared by every probe asking meanwhile. */
  private providerCheck(provider: ProviderName): Promise<ProviderCheck> {
    const hit = this.cache.get(provider);
    if (hit && Date.now() - hit.at < this.opts.providerCacheMs) return Promise.resolve({ ...hit.result, cached: true });
    let pending = this.inflight.get(provider);
    if (!pending) {
      pending = this.look(provider, hit?.result).finally(() => this.inflight.delete(provider));
      this.inflight.set(provider, pending);
    }
    return pending;
  }

  private async look(provider: ProviderName, previous: ProviderCheck | undefined): Promise<ProviderCheck> {
    const url = this.ctx.config.providers[provider]!.baseUrl;
    const budget = COUNTS_ANONYMOUS_REQUESTS.has(provider) ? this.budgetFor(provider) : undefined;
    if (budget) {
      try {
        await withTimeout(budget.take('poll'), this.opts.providerTimeoutMs, 'request budget');
      } catch (err) {
        if (err instanceof RequestBudgetExhaustedError) {
          const skipped = "the account's request budget said wait; not sent";
          const result: ProviderCheck = previous
            ? { ...previous, cached: true, skipped }
            : { status: 'CONNECTED', checked_at: new Date().toISOString(), cached: false, skipped };
          this.cache.set(provider, { at: Date.now(), result: { ...result, cached: false } });
          return result;
        }
        // The budget could not be read (Redis away, which fails readiness on its own): look anyway.
      }
    }
    const started = Date.now();
    let result: ProviderCheck;
    try {
      const res = await fetch(url, { method: 'GET', redirect: 'manual', headers: { accept: 'application/json' }, signal: AbortSignal.timeout(this.opts.providerTimeoutMs) });
      await res.body?.cancel().catch(() => undefined);
      if (budget) await withTimeout(budget.settle(res.status, res.headers), this.opts.providerTimeoutMs, 'request budget').catch(() => undefined);
      const latency = Date.now() - started;
      result = res.status < 500
        ? { status: 'CONNECTED', http_status: res.status, latency_ms: latency, checked_at: new Date().toISOString(), cached: false }
        : { status: 'DISCONNECTED', http_status: res.status, latency_ms: latency, error: `answered ${res.status}`, checked_at: new Date().toISOString(), cached: false };
    } catch (err) {
      const timedOut = (err as Error)?.name === 'TimeoutError';
      result = {
        status: 'DISCONNECTED',
        error: timedOut ? `no answer within ${this.opts.providerTimeoutMs} ms` : message(err),
        checked_at: new Date().toISOString(),
        cached: false,
      };
    }
    this.cache.set(provider, { at: Date.now(), result });
    return result;
  }
}
