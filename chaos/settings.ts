/**
 * The two sizes of a chaos run, and the environment that adjusts them.
 *
 *   compact (default)  a few hundred operations, every scenario, about two minutes
 *   long (--long)      thousands of operations, every scenario, longer storms
 *
 *   CHAOS_OPERATIONS   accepted operations to aim for (1000 or more selects the long profile's timings)
 *   CHAOS_WORKERS      worker processes (compact 3, long 4)
 *   CHAOS_RATE         operations submitted per second (compact 5, long 8)
 *   CHAOS_SEED         seed of the scenario mix (random by default; printed)
 *   CHAOS_KEEP         1 keeps the run's directory (logs of every process, Redis AOF) and prints where
 *   CHAOS_LOG_LEVEL    LOG_LEVEL of the API and workers (info)
 */

export interface Interval {
  /** Mean pause between two events; each pause is drawn from 0.5–1.5 times this. */
  everyMs: number;
}

export interface ChaosSettings {
  profile: 'compact' | 'long';
  /** Accepted operations to aim for. */
  operations: number;
  /** Requests submitted per second, across all clients. */
  ratePerSecond: number;
  /** Concurrent clients; each waits for its answer before taking the next request. */
  clients: number;
  workers: number;
  seed: number;
  keepDir: boolean;
  logLevel: string;
  /** Nothing is disrupted during the first moments of the load, so there is something to disrupt. */
  warmupMs: number;
  /** The load stops after this even if fewer operations were accepted. */
  maxLoadMs: number;
  /** How long to wait for every operation to finish once the load and the chaos stop. */
  quiescenceTimeoutMs: number;
  /** A client gives up a request (same key) after retrying it this long. */
  requestPatienceMs: number;
  workerStorm: Interval & { killEveryMs: number; stormMs: number };
  redisKill: Interval & { downMs: number };
  apiKill: Interval & { downMs: number };
  providerFaults: Interval & { durationMs: number };
  cancels: Interval & { batch: number };
  /** Operation mix: relative weights. */
  mix: { create: number; action: number; resize: number; delete: number; workflow: number };
  sandbox: { doActiveDelayMs: number; doActionDelayMs: number; stepDelayMs: number };
  /** Engine settings for the API and the workers (beside connection settings). */
  engineEnv: Record<string, string>;
}

const ENGINE_ENV: Record<string, string> = {
  // A killed worker's job is taken over after about this long.
  WORKER_LOCK_MS: '5000',
  SWEEP_INTERVAL_MS: '2000',
  JOB_BACKOFF_MS: '300',
  // A request held by a `timeout` fault is given up after this.
  PROVIDER_TIMEOUT_MS: '4000',
  PROVIDER_POLL_MS: '250',
  WATCH_MIN_INTERVAL_MS: '250',
  WATCH_MAX_INTERVAL_MS: '2000',
  // Hetzner's published budget (3600 an hour, refilled evenly) leaves the watcher a look every
  // few seconds, which would make this run mostly waiting. The sandbox keeps its own limit.
  RATE_LIMIT_HETZNER: 'off',
};

function positiveInt(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

export function chaosSettings(args: readonly string[], env: NodeJS.ProcessEnv = process.env): ChaosSettings {
  const unknown = args.filter((a) => a !== '--long' && a !== '--compact');
  if (unknown.length > 0) throw new Error(`unknown argument ${unknown[0]}; use --long or --compact`);
  const operations = positiveInt(env, 'CHAOS_OPERATIONS');
  const long = args.includes('--long') || (!args.includes('--compact') && operations !== undefined && operations >= 1000);
  const seed = positiveInt(env, 'CHAOS_SEED') ?? Math.floor(Math.random() * 2 ** 31) + 1;
  const common = {
    seed,
    keepDir: env.CHAOS_KEEP === '1',
    logLevel: env.CHAOS_LOG_LEVEL?.trim() || 'info',
    requestPatienceMs: 120_000,
    mix: { create: 34, action: 26, resize: 8, delete: 20, workflow: 8 },
    engineEnv: ENGINE_ENV,
  };
  if (!long) {
    const ops = operations ?? 300;
    const rate = positiveInt(env, 'CHAOS_RATE') ?? 5;
    return {
      ...common,
      profile: 'compact',
      operations: ops,
      ratePerSecond: rate,
      clients: 12,
      workers: positiveInt(env, 'CHAOS_WORKERS') ?? 3,
      warmupMs: 4000,
      maxLoadMs: Math.max(90_000, (ops / rate) * 1000 * 1.6),
      quiescenceTimeoutMs: 90_000,
      workerStorm: { everyMs: 20_000, killEveryMs: 1000, stormMs: 6000 },
      redisKill: { everyMs: 25_000, downMs: 1000 },
      apiKill: { everyMs: 12_000, downMs: 800 },
      providerFaults: { everyMs: 5000, durationMs: 4000 },
      cancels: { everyMs: 5000, batch: 4 },
      sandbox: { doActiveDelayMs: 1500, doActionDelayMs: 800, stepDelayMs: 400 },
    };
  }
  const ops = operations ?? 3000;
  const rate = positiveInt(env, 'CHAOS_RATE') ?? 8;
  return {
    ...common,
    profile: 'long',
    operations: ops,
    ratePerSecond: rate,
    clients: 24,
    workers: positiveInt(env, 'CHAOS_WORKERS') ?? 4,
    warmupMs: 5000,
    maxLoadMs: (ops / rate) * 1000 * 1.6,
    quiescenceTimeoutMs: 300_000,
    workerStorm: { everyMs: 30_000, killEveryMs: 1000, stormMs: 10_000 },
    redisKill: { everyMs: 60_000, downMs: 2000 },
    apiKill: { everyMs: 20_000, downMs: 1500 },
    providerFaults: { everyMs: 8000, durationMs: 5000 },
    cancels: { everyMs: 4000, batch: 6 },
    sandbox: { doActiveDelayMs: 3000, doActionDelayMs: 2000, stepDelayMs: 1000 },
  };
}

/** A small seeded generator (mulberry32), so a run's mix of scenarios can be repeated. */
export class Random {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    let t = (this.state += 0x6d2b79f5);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
  /** A pause around `mean`: 0.5 to 1.5 times it. */
  jitter(mean: number): number {
    return Math.round(mean * (0.5 + this.next()));
  }
  weighted<K extends string>(weights: Record<K, number>): K {
    const entries = Object.entries(weights) as Array<[K, number]>;
    let roll = this.next() * entries.reduce((sum, [, w]) => sum + w, 0);
    for (const [key, w] of entries) {
      if ((roll -= w) < 0) return key;
    }
    return entries[entries.length - 1]![0];
  }
}
