/**
 * Starts the engine under test from its real entry points, each in its own process: the
 * sandbox cloud, the API and the workers.
 */
import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { spawnTsChild, type BenchChild } from './children.js';
import { operationsQueueName } from '../src/core/queue.js';

export interface Sandbox {
  child: BenchChild;
  /** Root URL; the admin API lives under `/_sandbox`. */
  url: string;
  digitaloceanUrl: string;
  token: string;
}

/** Environment every engine process of one system shares. */
export interface EngineEnv {
  /** Where Redis is: REDIS_URL, or REDIS_CLUSTER_NODES and REDIS_PASSWORD. */
  redis: Record<string, string>;
  keyPrefix: string;
  adminPassword: string;
  jwtSecret: string;
  sandbox: Sandbox;
  /**
   * The bench's tuned settings; null leaves the engine's own default (what the start command
   * runs with). `providerBudget` false turns the engine's own provider request budget off
   * (RATE_LIMIT_DIGITALOCEAN=off), for a sandbox that does not limit either.
   */
  tuning: { workerConcurrency: number | null; providerPollMs: number | null; providerBudget: boolean };
}

export interface Api {
  child: BenchChild;
  url: string;
  token: string;
}

/** The queue name and BullMQ prefix the engine uses; see src/core/queue.ts and keys.ts. */
export const ENGINE_QUEUE = operationsQueueName('digitalocean');
export const engineBullPrefix = (keyPrefix: string): string => `${keyPrefix}:bull`;

/** The body of one create request; the hostname varies so no two requests are the same. */
export function createServerBody(n: number): string {
  return JSON.stringify({ workspace: 'bench', provider: 'digitalocean', plan: 's-1vcpu-1gb', hostname: `bench-${n}`, zone: 'nyc3', tags: [] });
}

/** How the simulated DigitalOcean behaves; the default answers at once and never limits. */
export interface SandboxBehaviour {
  /** Milliseconds a new droplet stays `new` before it is `active`. */
  activeDelayMs: number;
  /** The sandbox's DigitalOcean rate limit: off, or requests per hour and per minute per token. */
  rateLimit: 'off' | { perHour: number; perMinute: number };
}

// Zero delays and no limit: the provider answers at once, so the figures are the engine's own cost.
const INSTANT: SandboxBehaviour = { activeDelayMs: 0, rateLimit: 'off' };

export async function startSandbox(behaviour: SandboxBehaviour = INSTANT, name = 'sandbox'): Promise<Sandbox> {
  const child = spawnTsChild(name, 'src/sandbox/main.ts', {
    SANDBOX_PORT: '0',
    SANDBOX_HOST: '127.0.0.1',
    SANDBOX_DO_ACTIVE_DELAY_MS: String(behaviour.activeDelayMs),
    SANDBOX_DO_ACTION_DELAY_MS: '0',
    SANDBOX_DO_RATE_LIMIT: behaviour.rateLimit === 'off' ? 'off' : `${behaviour.rateLimit.perHour}/${behaviour.rateLimit.perMinute}`,
    // Always start empty, whatever the caller's environment says.
    SANDBOX_STATE_FILE: '',
  });
  const line = await child.waitForLine('SANDBOX_READY ', 30000);
  const ready = JSON.parse(line.slice('SANDBOX_READY '.length)) as { url: string; token: string; digitalocean: string };
  return { child, url: ready.url, digitaloceanUrl: ready.digitalocean, token: ready.token };
}

/**
 * Empties the sandbox and lifts its account droplet limit (1000 by default, like a real
 * account) so that `droplets` creates all succeed.
 */
export async function prepareSandbox(sandbox: Sandbox, droplets: number): Promise<void> {
  const admin = async (path: string, body: unknown): Promise<void> => {
    const res = await fetch(`${sandbox.url}/_sandbox${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${sandbox.token}` },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`sandbox ${path} answered ${res.status}: ${await res.text()}`);
  };
  await admin('/reset', {});
  await admin('/digitalocean/config', { dropletLimit: droplets });
}

/**
 * The environment of the throughput phases: `workerConcurrency` per worker, providers polled
 * every 20 ms and no provider budget, since their sandbox answers at once and never limits.
 */
export function newEngineEnv(redis: string | Record<string, string>, sandbox: Sandbox, workerConcurrency: number): EngineEnv {
  return newEngineEnvWith(redis, sandbox, { workerConcurrency, providerPollMs: 20, providerBudget: false });
}

/** The start command's defaults for every worker and provider setting. */
export const START_COMMAND_DEFAULTS: EngineEnv['tuning'] = { workerConcurrency: null, providerPollMs: null, providerBudget: true };

/** `redis`: a URL, or the settings of a cluster (see E2eRedis.env). */
export function newEngineEnvWith(redis: string | Record<string, string>, sandbox: Sandbox, tuning: EngineEnv['tuning']): EngineEnv {
  return {
    redis: typeof redis === 'string' ? { REDIS_URL: redis } : redis,
    keyPrefix: 'bench' + randomBytes(4).toString('hex'),
    adminPassword: randomBytes(12).toString('hex'),
    jwtSecret: randomBytes(32).toString('hex'),
    sandbox,
    tuning,
  };
}

/** Worker and provider settings the bench either sets or leaves at the engine's default. */
const TUNABLE = ['WORKER_CONCURRENCY', 'PROVIDER_POLL_MS', 'WATCH_MIN_INTERVAL_MS', 'RATE_LIMIT_DIGITALOCEAN'] as const;

function processEnv(env: EngineEnv): Record<string, string | undefined> {
  const { workerConcurrency, providerPollMs, providerBudget } = env.tuning;
  // Unset, so that a value in the caller's environment cannot stand in for the default.
  const tuned: Record<string, string | undefined> = Object.fromEntries(TUNABLE.map((name) => [name, undefined]));
  if (workerConcurrency !== null) tuned.WORKER_CONCURRENCY = String(workerConcurrency);
  if (providerPollMs !== null) {
    // Both ways the engine looks at the provider: in process (cleanup) and the account's watcher.
    tuned.PROVIDER_POLL_MS = String(providerPollMs);
    tuned.WATCH_MIN_INTERVAL_MS = String(providerPollMs);
  }
  if (!providerBudget) tuned.RATE_LIMIT_DIGITALOCEAN = 'off';
  return {
    // One way to Redis only: a REDIS_URL in the caller's environment must not join a cluster's settings.
    REDIS_URL: undefined,
    REDIS_CLUSTER_NODES: undefined,
    REDIS_PASSWORD: undefined,
    ...env.redis,
    KEY_PREFIX: env.keyPrefix,
    WORKSPACES: 'bench',
    ACCESS_TOKEN_TTL_SECONDS: '7200',
    HOST: '127.0.0.1',
    ADMIN_PASSWORD: env.adminPassword,
    JWT_SECRET: env.jwtSecret,
    DIGITALOCEAN_API_URL: env.sandbox.digitaloceanUrl,
    DIGITALOCEAN_TOKEN: env.sandbox.token,
    // Logging every request would make the figures measure the logger.
    LOG_LEVEL: 'warn',
    // The bench is one admin sending thousands of requests a second: the API's per-identity
    // budget stays on (its cost is measured) but far above that.
    RATE_LIMIT_API: '1000000000/1s',
    ...tuned,
  };
}

/** Starts the API and logs in as admin. `nodeArgs` lets a caller add e.g. `--cpu-prof`. */
export async function startApi(env: EngineEnv, port: number, nodeArgs: string[] = []): Promise<Api> {
  const child = spawnTsChild('api', 'src/api/main.ts', { ...processEnv(env), PORT: String(port) }, nodeArgs);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30000;
  for (;;) {
    if (!child.running) throw new Error(`api exited before answering /health${child.describeTail()}`);
    const ok = await fetch(`${url}/health`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`api did not answer /health within 30 s${child.describeTail()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const login = await fetch(`${url}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: env.adminPassword }),
  });
  if (login.status !== 200) throw new Error(`login answered ${login.status}: ${await login.text()}`);
  const { token } = (await login.json()) as { token: string };
  return { child, url, token };
}

export function startEngineWorker(env: EngineEnv, name: string, nodeArgs: string[] = []): BenchChild {
  return spawnTsChild(name, 'src/workers/main.ts', { ...processEnv(env), WORKER_NAME: name }, nodeArgs);
}

/** Waits until `count` workers are connected to the queue (BullMQ names their connections). */
export async function waitForQueueWorkers(queue: Queue, count: number, children: BenchChild[], timeoutMs = 30000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await queue.getWorkersCount()) < count) {
    const dead = children.find((c) => !c.running);
    if (dead) throw new Error(`${dead.name} exited while starting${dead.describeTail()}`);
    if (Date.now() > deadline) throw new Error(`only ${await queue.getWorkersCount()} of ${count} workers connected within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Submits one create through the API and returns the operation id. */
export async function submitCreate(api: Api, n: number): Promise<string> {
  const res = await fetch(`${api.url}/v1/servers/create`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${api.token}` },
    body: createServerBody(n),
  });
  const text = await res.text();
  if (res.status !== 202) throw new Error(`create answered ${res.status}: ${text}`);
  return (JSON.parse(text) as { id: string }).id;
}
