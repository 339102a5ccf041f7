/**
 * The capacity figures: how many creates the engine carries at once while their servers
 * boot, and what they cost, on one DigitalOcean account in the sandbox with the provider's
 * real rate limit on (250/minute + 5000/hour per token) and the start command's default
 * worker settings (2 worker processes, default WORKER_CONCURRENCY, PROVIDER_POLL_MS and
 * provider request budget). Unlike the throughput phases these are absolute figures judged
 * against the physics of the case: a batch cannot finish before its servers have booted,
 * nor before the provider's rate limit has let its requests through.
 *
 * - Batch: N creates submitted at once, droplets active B seconds after they are made.
 *   Judged: batch time ÷ B, failures, 429s the sandbox answered, provider requests per
 *   create. Reported: Redis memory and worker RSS per operation while all of them wait.
 * - cluster_create: one workflow of M nodes (its limit is 100) on the same system as the
 *   batch. Judged: seconds from the submit until the workflow finished ÷ B (about as long
 *   as one node takes to boot), nodes not completed. Reported: its steps by status and
 *   the provider requests.
 * - Large batch (informational): the same with more creates than one minute's budget
 *   carries, against its own physical limit.
 * - check_mode: many dry-run creates with bounded concurrency; judged on seconds.
 *
 * Every batch starts from a flushed Redis, a reset sandbox and fresh engine processes. The
 * batch is watched through the API's operation list (two one-item pages per look, about
 * once a second) and, until all are parked, a ZCARD of the engine's wait schedule every
 * 100 ms (three more of its status indexes at each new peak, with INFO memory and the
 * workers' RSS); completion time is read from the operations' own `finished_at`, so how
 * often the bench looks does not change the figure. The workflow is watched the same way:
 * its operation about once a second, its steps once it is over.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/core/config.js';
import type { BenchChild } from './children.js';
import { runWithConcurrency } from './completion-throughput.js';
import {
  ENGINE_QUEUE,
  engineBullPrefix,
  newEngineEnvWith,
  prepareSandbox,
  START_COMMAND_DEFAULTS,
  startApi,
  startEngineWorker,
  startSandbox,
  waitForQueueWorkers,
  type Api,
  type EngineEnv,
  type Sandbox,
} from './engine.js';
import { freePort, type BenchRedis } from './redis-server.js';
import type { CeilingRow, InfoRow } from './report.js';
import type { CapacitySettings } from './settings.js';
import { Keys } from '../src/core/keys.js';
import { operationsPerStatus } from '../src/core/operations/counts.js';

const log = (message: string): void => void process.stderr.write(`bench: ${message}\n`);

/** DigitalOcean's documented limit per token, which the sandbox enforces here. */
const DO_LIMIT = { perHour: 5000, perMinute: 250 };
/** The start command's WORKER_PROCESSES default (src/main.ts). */
const START_COMMAND_WORKERS = 2;

/** Targets. */
const MAX_BATCH_OVER_BOOT = 1.5;
/** A 100-node cluster_create should take about as long as one node takes to boot. */
const MAX_CLUSTER_OVER_BOOT = 1.5;
const MAX_REQUESTS_PER_CREATE = 1.5;
const MAX_CHECK_MODE_SECONDS = 30;

/** Creates in flight while submitting a batch "at once". */
const BATCH_SUBMIT_CONCURRENCY = 200;
/** How often the API is asked whether a batch is done. */
const CREATE_LOOK_MS = 1000;
const CHECK_MODE_LOOK_MS = 250;
/** How often the wait schedule is counted (one ZCARD). */
const PARKED_LOOK_MS = 100;

function createBody(hostname: string, checkMode: boolean): string {
  return JSON.stringify({ workspace: 'bench', provider: 'digitalocean', plan: 's-1vcpu-1gb', zone: 'nyc3', hostname, tags: [], check_mode: checkMode });
}

function clusterBody(clusterName: string, nodes: number): string {
  return JSON.stringify({
    workspace: 'bench',
    workflow_type: 'cluster_create',
    parameters: { cluster_name: clusterName, node_count: nodes, provider: 'digitalocean', plan: 's-1vcpu-1gb', zone: 'nyc3' },
  });
}

/** The time DigitalOcean's sliding one-minute window needs to let `requests` through, plus the boot. */
export function physicalLimitSeconds(requests: number, bootS: number): number {
  return Math.max(0, Math.ceil(requests / DO_LIMIT.perMinute) - 1) * 60 + bootS;
}

// ---------------------------------------------------------------- sandbox and Redis readings

interface RequestCount {
  requests: number;
  rateLimited: number;
  maxPerMinute: number;
}

/** What the sandbox's DigitalOcean has received since its last reset, all tokens together. */
async function digitaloceanRequests(sandbox: Sandbox): Promise<RequestCount> {
  const res = await fetch(`${sandbox.url}/_sandbox/requests`, { headers: { authorization: `Bearer ${sandbox.token}` } });
  if (!res.ok) throw new Error(`sandbox GET /_sandbox/requests answered ${res.status}: ${await res.text()}`);
  const report = (await res.json()) as Record<string, Record<string, { requests: number; rate_limited: number; max_per_minute?: number }>>;
  const byToken = Object.values(report.digitalocean ?? {});
  return {
    requests: byToken.reduce((sum, c) => sum + c.requests, 0),
    rateLimited: byToken.reduce((sum, c) => sum + c.rate_limited, 0),
    maxPerMinute: Math.max(0, ...byToken.map((c) => c.max_per_minute ?? 0)),
  };
}

async function usedMemory(redis: BenchRedis): Promise<number> {
  const info = await redis.client.info('memory');
  const match = /^used_memory:(\d+)/m.exec(info);
  if (!match) throw new Error('INFO memory has no used_memory');
  return Number(match[1]);
}

const sumRss = (children: BenchChild[]): number | null => {
  const all = children.map((c) => c.rssBytes());
  return all.some((r) => r === null) ? null : all.reduce<number>((sum, r) => sum + r!, 0);
};

/**
 * Counts parked operations: the engine's wait schedule `<prefix>:waits:<account>` (see
 * src/core/keys.ts), found once it exists; there is one account here.
 */
class ParkedCounter {
  private key: string | null = null;

  constructor(
    private readonly redis: BenchRedis,
    private readonly keyPrefix: string,
  ) {}

  async count(): Promise<number> {
    if (this.key === null) {
      const keys = (await this.redis.client.keys(`${this.keyPrefix}:waits:*`)).filter((k) => !k.endsWith(':spec'));
      if (keys.length === 0) return 0;
      this.key = keys[0]!;
    }
    return this.redis.client.zcard(this.key);
  }
}

// ---------------------------------------------------------------- the system under test

interface System {
  env: EngineEnv;
  api: Api;
  workers: BenchChild[];
  stop(): Promise<void>;
}

/** Flushed Redis, reset sandbox, then an API and the start command's workers with its defaults. */
async function startSystem(redis: BenchRedis, sandbox: Sandbox, droplets: number, nodeArgs: string[]): Promise<System> {
  await redis.client.flushall();
  await prepareSandbox(sandbox, droplets);
  const env = newEngineEnvWith(redis.url, sandbox, START_COMMAND_DEFAULTS);
  const api = await startApi(env, await freePort(), nodeArgs);
  const workers = Array.from({ length: START_COMMAND_WORKERS }, (_, i) => startEngineWorker(env, `worker-${i + 1}`, nodeArgs));
  const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
  const queue = new Queue(ENGINE_QUEUE, { connection, prefix: engineBullPrefix(env.keyPrefix) });
  const stop = async (): Promise<void> => {
    await Promise.all(workers.map((w) => w.stop()));
    await api.child.stop();
  };
  try {
    await waitForQueueWorkers(queue, workers.length, workers);
  } catch (err) {
    await stop();
    throw err;
  } finally {
    await queue.close();
    connection.disconnect();
  }
  return { env, api, workers, stop };
}

interface OperationSummary {
  status: string;
  finished_at: string | null;
  error: { code: string; message: string } | null;
}

async function apiGet(api: Api, path: string): Promise<Response> {
  const res = await fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${api.token}` } });
  if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}: ${await res.text()}`);
  return res;
}

/** Whether any create is in `status`: one one-item page. */
async function anyIn(api: Api, status: string): Promise<boolean> {
  const page = (await (await apiGet(api, `/v1/operations?type=server.create&status=${status}&limit=1`)).json()) as unknown[];
  return page.length > 0;
}

/** Every create in `status`, a page of 200 at a time. */
async function allIn(api: Api, status: string): Promise<OperationSummary[]> {
  const all: OperationSummary[] = [];
  let cursor: string | null = null;
  do {
    const res = await apiGet(api, `/v1/operations?type=server.create&status=${status}&limit=200${cursor === null ? '' : `&cursor=${cursor}`}`);
    all.push(...((await res.json()) as OperationSummary[]));
    cursor = res.headers.get('x-next-cursor');
  } while (cursor !== null);
  return all;
}

// ---------------------------------------------------------------- one batch

interface BatchSpec {
  label: string;
  count: number;
  hostname: (i: number) => string;
  checkMode: boolean;
  submitConcurrency: number;
  lookMs: number;
  timeoutMs: number;
  /** Count parked operations and sample memory at their peak. */
  watchParking: boolean;
}

interface MemorySample {
  /** Seconds after the first submit. */
  atSeconds: number;
  parked: number;
  /** Accepted and not finished. */
  inFlight: number;
  redisBytes: number;
  workerRssBytes: number | null;
}

export interface BatchFigures {
  count: number;
  /** From the first submit until every create was accepted. */
  submitSeconds: number;
  /** From the first submit until the last create finished (its `finished_at`). */
  seconds: number;
  completed: number;
  failed: number;
  cancelled: number;
  /** Not accepted by the API, or not finished when the bench gave up. */
  notAccepted: number;
  unfinished: number;
  firstProblem: string | null;
  /** Provider requests during the batch (from the first submit on), and before it. */
  requests: RequestCount;
  startupRequests: number;
  /** Memory before the first submit and when the most operations were parked at once. */
  before: MemorySample;
  peak: MemorySample;
}

/** Not finished: failed, cancelled, refused or still running when the bench gave up. */
export const notCompleted = (f: BatchFigures): number => f.failed + f.cancelled + f.notAccepted + f.unfinished;

async function runBatch(system: System, redis: BenchRedis, sandbox: Sandbox, spec: BatchSpec): Promise<BatchFigures> {
  const { api } = system;
  const processes = [api.child, ...system.workers];
  const startup = await digitaloceanRequests(sandbox);
  const before: MemorySample = { atSeconds: 0, parked: 0, inFlight: 0, redisBytes: await usedMemory(redis), workerRssBytes: sumRss(system.workers) };

  let accepted = 0;
  let notAccepted = 0;
  let firstProblem: string | null = null;
  const started = Date.now();
  log(`${spec.label}: submitting ${spec.count} creates, ${spec.submitConcurrency} in flight`);
  const submitting = runWithConcurrency(spec.count, spec.submitConcurrency, async (i) => {
    const res = await fetch(`${api.url}/v1/servers/create`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${api.token}` },
      body: createBody(spec.hostname(i), spec.checkMode),
    });
    const text = await res.text();
    if (res.status === 202) accepted++;
    else {
      notAccepted++;
      firstProblem ??= `create answered ${res.status}: ${text.slice(0, 300)}`;
    }
  }).then(() => (Date.now() - started) / 1000);

  // Parked operations, counted until the batch is over; memory is sampled at each new peak.
  let peak: MemorySample = { ...before };
  let batchOver = false;
  const parking = (async () => {
    if (!spec.watchParking) return;
    const counter = new ParkedCounter(redis, system.env.keyPrefix);
    const finished = async (): Promise<number> => {
      const perStatus = await operationsPerStatus(redis.client, new Keys(system.env.keyPrefix));
      return perStatus.completed + perStatus.failed + perStatus.cancelled;
    };
    while (!batchOver && peak.parked < spec.count) {
      const parked = await counter.count();
      if (parked > peak.parked) {
        const atSeconds = (Date.now() - started) / 1000;
        const inFlight = accepted - (await finished());
        peak = { atSeconds, parked, inFlight, redisBytes: await usedMemory(redis), workerRssBytes: sumRss(system.workers) };
      }
      await new Promise((r) => setTimeout(r, PARKED_LOOK_MS));
    }
    if (peak.parked === spec.count) log(`${spec.label}: all ${spec.count} parked ${peak.atSeconds.toFixed(1)} s after the first submit`);
    else log(`${spec.label}: at most ${peak.parked} of ${spec.count} parked at once (${peak.atSeconds.toFixed(1)} s after the first submit)`);
  })();

  let unfinishedAtTimeout = 0;
  try {
    const submitSeconds = await submitting;
    log(`${spec.label}: all submitted in ${submitSeconds.toFixed(1)} s; waiting for them to finish`);
    let lastReport = Date.now();
    for (;;) {
      const dead = processes.find((c) => !c.running);
      if (dead) throw new Error(`${dead.name} exited during ${spec.label}${dead.describeTail()}`);
      if (!(await anyIn(api, 'pending')) && !(await anyIn(api, 'running'))) break;
      if (Date.now() - started > spec.timeoutMs) {
        unfinishedAtTimeout = (await allIn(api, 'pending')).length + (await allIn(api, 'running')).length;
        log(`${spec.label}: giving up after ${Math.round(spec.timeoutMs / 1000)} s with ${unfinishedAtTimeout} unfinished`);
        break;
      }
      if (Date.now() - lastReport > 30000) {
        lastReport = Date.now();
        const r = await digitaloceanRequests(sandbox);
        log(`${spec.label}: ${Math.round((Date.now() - started) / 1000)} s, ${r.requests - startup.requests} provider requests so far, ${r.rateLimited - startup.rateLimited} answered 429`);
      }
      await new Promise((r) => setTimeout(r, spec.lookMs));
    }
    batchOver = true;
    await parking;

    const [completed, failed, cancelled] = await Promise.all(['completed', 'failed', 'cancelled'].map((s) => allIn(api, s)));
    const finishedAt = [...completed!, ...failed!, ...cancelled!].map((op) => Date.parse(op.finished_at ?? '')).filter(Number.isFinite);
    const lastFinished = unfinishedAtTimeout > 0 || finishedAt.length === 0 ? Date.now() : Math.max(...finishedAt);
    const problem = failed![0] ?? cancelled![0];
    if (problem) firstProblem ??= `${problem.status}: ${problem.error ? `${problem.error.code}: ${problem.error.message}` : 'no error recorded'}`;
    const after = await digitaloceanRequests(sandbox);
    return {
      count: spec.count,
      submitSeconds,
      seconds: (lastFinished - started) / 1000,
      completed: completed!.length,
      failed: failed!.length,
      cancelled: cancelled!.length,
      notAccepted,
      unfinished: unfinishedAtTimeout,
      firstProblem,
      requests: {
        requests: after.requests - startup.requests,
        rateLimited: after.rateLimited - startup.rateLimited,
        maxPerMinute: after.maxPerMinute,
      },
      startupRequests: startup.requests,
      before,
      peak,
    };
  } finally {
    batchOver = true;
    await parking.catch(() => undefined);
  }
}

/** Creates that wait for their servers: generous, so that a slow engine is measured rather than cut off. */
function createBatchTimeoutMs(count: number, bootS: number): number {
  return (physicalLimitSeconds(3 * count, bootS) * 2 + 60) * 1000;
}

async function createBatch(redis: BenchRedis, sandbox: Sandbox, label: string, count: number, bootS: number, nodeArgs: string[]): Promise<BatchFigures> {
  const system = await startSystem(redis, sandbox, count, nodeArgs);
  try {
    return await runBatch(system, redis, sandbox, {
      label,
      count,
      hostname: (i) => `cap-${i}`,
      checkMode: false,
      submitConcurrency: Math.min(count, BATCH_SUBMIT_CONCURRENCY),
      lookMs: CREATE_LOOK_MS,
      timeoutMs: createBatchTimeoutMs(count, bootS),
      watchParking: true,
    });
  } finally {
    await system.stop();
  }
}

// ---------------------------------------------------------------- one cluster_create workflow

interface WorkflowSummary extends OperationSummary {
  steps: { id: string; status: string; error: { code: string; message: string } | null }[];
}

export interface ClusterFigures {
  /** Nodes, one `server.create` step each. */
  count: number;
  /** From the submit until the workflow finished (its `finished_at`), or until the bench gave up. */
  seconds: number;
  /** The workflow's status when the bench stopped looking: `running` if it gave up. */
  status: string;
  /** Its steps by status: completed, failed, and any other (cancelled, skipped, waiting, …). */
  steps: Record<string, number>;
  firstProblem: string | null;
  /** Provider requests during the workflow (from the submit on), and before it. */
  requests: RequestCount;
  startupRequests: number;
}

/** Nodes whose step did not complete. */
export const clusterNotCompleted = (f: ClusterFigures): number => f.count - (f.steps.completed ?? 0);

function countSteps(workflow: WorkflowSummary): Record<string, number> {
  const steps: Record<string, number> = {};
  for (const step of workflow.steps) steps[step.status] = (steps[step.status] ?? 0) + 1;
  return steps;
}

function firstWorkflowProblem(workflow: WorkflowSummary): string | null {
  const step = workflow.steps.find((s) => s.error !== null);
  if (step) return `step ${step.id} ${step.status}: ${step.error!.code}: ${step.error!.message}`;
  if (workflow.error) return `workflow ${workflow.status}: ${workflow.error.code}: ${workflow.error.message}`;
  return workflow.status === 'completed' ? null : `workflow ${workflow.status}`;
}

async function clusterCreate(redis: BenchRedis, sandbox: Sandbox, nodes: number, bootS: number, nodeArgs: string[]): Promise<ClusterFigures> {
  const label = `cluster_create ${nodes} nodes`;
  const system = await startSystem(redis, sandbox, nodes, nodeArgs);
  try {
    const { api } = system;
    const processes = [api.child, ...system.workers];
    const startup = await digitaloceanRequests(sandbox);
    const timeoutMs = createBatchTimeoutMs(nodes, bootS);
    const workflowOf = async (id: string): Promise<WorkflowSummary> => (await apiGet(api, `/v1/workflows/${id}`)).json() as Promise<WorkflowSummary>;

    log(`${label}: submitting the workflow`);
    const started = Date.now();
    const res = await fetch(`${api.url}/v1/workflows/submit`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${api.token}` },
      body: clusterBody('bench', nodes),
    });
    const text = await res.text();
    if (res.status !== 202) throw new Error(`workflow submit answered ${res.status}: ${text.slice(0, 300)}`);
    const { id } = JSON.parse(text) as { id: string };
    log(`${label}: accepted in ${((Date.now() - started) / 1000).toFixed(1)} s; waiting for it to finish`);

    let gaveUp = false;
    let lastReport = Date.now();
    for (;;) {
      const dead = processes.find((c) => !c.running);
      if (dead) throw new Error(`${dead.name} exited during ${label}${dead.describeTail()}`);
      const op = (await (await apiGet(api, `/v1/operations/${id}`)).json()) as OperationSummary;
      if (op.status !== 'pending' && op.status !== 'running') break;
      if (Date.now() - started > timeoutMs) {
        gaveUp = true;
        log(`${label}: giving up after ${Math.round(timeoutMs / 1000)} s with the workflow ${op.status}`);
        break;
      }
      if (Date.now() - lastReport > 30000) {
        lastReport = Date.now();
        const [r, workflow] = await Promise.all([digitaloceanRequests(sandbox), workflowOf(id)]);
        const steps = Object.entries(countSteps(workflow)).map(([status, n]) => `${n} ${status}`).join(', ');
        log(`${label}: ${Math.round((Date.now() - started) / 1000)} s, steps ${steps}; ${r.requests - startup.requests} provider requests so far, ${r.rateLimited - startup.rateLimited} answered 429`);
      }
      await new Promise((r) => setTimeout(r, CREATE_LOOK_MS));
    }

    const workflow = await workflowOf(id);
    const finishedAt = Date.parse(workflow.finished_at ?? '');
    const after = await digitaloceanRequests(sandbox);
    return {
      count: nodes,
      seconds: ((gaveUp || !Number.isFinite(finishedAt) ? Date.now() : finishedAt) - started) / 1000,
      status: workflow.status,
      steps: countSteps(workflow),
      firstProblem: firstWorkflowProblem(workflow),
      requests: {
        requests: after.requests - startup.requests,
        rateLimited: after.rateLimited - startup.rateLimited,
        maxPerMinute: after.maxPerMinute,
      },
      startupRequests: startup.requests,
    };
  } finally {
    await system.stop();
  }
}

async function checkModeBatch(redis: BenchRedis, sandbox: Sandbox, settings: CapacitySettings, nodeArgs: string[]): Promise<BatchFigures> {
  const system = await startSystem(redis, sandbox, settings.checkModeCount, nodeArgs);
  try {
    return await runBatch(system, redis, sandbox, {
      label: 'check_mode',
      count: settings.checkModeCount,
      hostname: (i) => `check-${i}`,
      checkMode: true,
      submitConcurrency: settings.checkModeConcurrency,
      lookMs: CHECK_MODE_LOOK_MS,
      timeoutMs: Math.max(120, 4 * MAX_CHECK_MODE_SECONDS) * 1000,
      watchParking: false,
    });
  } finally {
    await system.stop();
  }
}

// ---------------------------------------------------------------- the phases and their rows

export interface CapacityFigures {
  batch: BatchFigures;
  cluster: ClusterFigures | null;
  large: BatchFigures | null;
  checkMode: BatchFigures | null;
}

export async function measureCapacity(redis: BenchRedis, settings: CapacitySettings, nodeArgs: string[]): Promise<CapacityFigures> {
  const sandbox = await startSandbox({ activeDelayMs: settings.bootS * 1000, rateLimit: DO_LIMIT }, 'sandbox-capacity');
  try {
    log(`capacity: ${settings.count} creates at once, boot ${settings.bootS} s, DigitalOcean limit ${DO_LIMIT.perMinute}/min + ${DO_LIMIT.perHour}/h`);
    const batch = await createBatch(redis, sandbox, `capacity N=${settings.count}`, settings.count, settings.bootS, nodeArgs);
    let cluster: ClusterFigures | null = null;
    if (settings.clusterNodes > 0) {
      log(`cluster_create: one workflow of ${settings.clusterNodes} nodes, boot ${settings.bootS} s`);
      cluster = await clusterCreate(redis, sandbox, settings.clusterNodes, settings.bootS, nodeArgs);
    }
    let large: BatchFigures | null = null;
    if (settings.largeCount > 0) {
      log(`capacity: ${settings.largeCount} creates at once (takes minutes: the rate limit carries 250 requests a minute)`);
      large = await createBatch(redis, sandbox, `capacity N=${settings.largeCount}`, settings.largeCount, settings.bootS, nodeArgs);
    }
    let checkMode: BatchFigures | null = null;
    if (settings.checkModeCount > 0) {
      log(`check_mode: ${settings.checkModeCount} dry-run creates, ${settings.checkModeConcurrency} in flight`);
      checkMode = await checkModeBatch(redis, sandbox, settings, nodeArgs);
    }
    return { batch, cluster, large, checkMode };
  } finally {
    await sandbox.child.stop();
  }
}

const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;
const mib = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MiB`;

function outcomes(f: BatchFigures): string {
  const extra = [
    f.notAccepted > 0 ? `not accepted ${f.notAccepted}` : '',
    f.unfinished > 0 ? `unfinished ${f.unfinished}` : '',
    f.firstProblem ? `first problem: ${f.firstProblem}` : '',
  ].filter(Boolean);
  return `completed ${f.completed}, failed ${f.failed}, cancelled ${f.cancelled}${extra.length ? `, ${extra.join(', ')}` : ''}`;
}

function requestDetail(f: Pick<BatchFigures, 'count' | 'requests' | 'startupRequests'>): string {
  return (
    `${f.requests.requests} provider requests (${(f.requests.requests / f.count).toFixed(2)} per create; +${f.startupRequests} while the engine started), ` +
    `${f.requests.rateLimited} answered 429, most in any 60 s ${f.requests.maxPerMinute}`
  );
}

/** Per operation in flight (accepted, not finished) when the most were parked at once. */
function memoryDetail(f: BatchFigures): string {
  const { before, peak } = f;
  if (peak.parked === 0 || peak.inFlight <= 0) return 'no operation was seen parked';
  const rss =
    before.workerRssBytes === null || peak.workerRssBytes === null
      ? 'worker RSS n/a'
      : `worker RSS ${kib((peak.workerRssBytes - before.workerRssBytes) / peak.inFlight)} (sum of ${START_COMMAND_WORKERS} ${mib(before.workerRssBytes)} → ${mib(peak.workerRssBytes)})`;
  return (
    `Redis ${kib((peak.redisBytes - before.redisBytes) / peak.inFlight)} (used_memory ${mib(before.redisBytes)} → ${mib(peak.redisBytes)}), ${rss}; ` +
    `sampled with ${peak.inFlight} in flight, ${peak.parked} of them parked (the most at once), ${peak.atSeconds.toFixed(1)} s after the first submit`
  );
}

export function capacityRows(figures: CapacityFigures, settings: CapacitySettings): { ceilings: CeilingRow[]; info: InfoRow[] } {
  const { batch, cluster, large, checkMode } = figures;
  const n = `N=${batch.count}`;
  const defaults = loadConfig({});
  const ceilings: CeilingRow[] = [
    { metric: `capacity batch s ÷ boot s (${n})`, value: batch.seconds, per: settings.bootS, max: MAX_BATCH_OVER_BOOT },
    { metric: `capacity not completed (${n})`, value: notCompleted(batch), max: 0 },
    { metric: `capacity 429s answered (${n})`, value: batch.requests.rateLimited, max: 0 },
    { metric: `capacity requests ÷ creates (${n})`, value: batch.requests.requests, per: batch.count, max: MAX_REQUESTS_PER_CREATE },
  ];
  if (cluster) {
    ceilings.push(
      { metric: `cluster_create s ÷ boot s (${cluster.count} nodes)`, value: cluster.seconds, per: settings.bootS, max: MAX_CLUSTER_OVER_BOOT },
      { metric: `cluster_create nodes not completed`, value: clusterNotCompleted(cluster), max: 0 },
    );
  }
  if (checkMode) {
    ceilings.push(
      { metric: `check_mode seconds (N=${checkMode.count})`, value: checkMode.seconds, max: MAX_CHECK_MODE_SECONDS },
      { metric: `check_mode not completed`, value: notCompleted(checkMode), max: 0 },
    );
  }
  const info: InfoRow[] = [
    {
      metric: 'capacity detail',
      value:
        `${n} at once, boot ${settings.bootS} s: accepted in ${batch.submitSeconds.toFixed(1)} s, last finished ${batch.seconds.toFixed(1)} s after the first submit; ` +
        `${outcomes(batch)}; physical limit ${physicalLimitSeconds(batch.requests.requests, settings.bootS)} s`,
    },
    { metric: 'capacity requests', value: requestDetail(batch) },
    { metric: 'capacity memory per op', value: memoryDetail(batch) },
  ];
  if (cluster) {
    const others = Object.entries(cluster.steps).filter(([status]) => status !== 'completed' && status !== 'failed');
    info.push({
      metric: `cluster_create (${cluster.count} nodes)`,
      value:
        `boot ${settings.bootS} s: workflow ${cluster.status} ${cluster.seconds.toFixed(1)} s after the submit; ` +
        `steps completed ${cluster.steps.completed ?? 0}, failed ${cluster.steps.failed ?? 0}${others.map(([status, count]) => `, ${status} ${count}`).join('')}` +
        `${cluster.firstProblem ? `, first problem: ${cluster.firstProblem}` : ''}; ${requestDetail(cluster)}; ` +
        `physical limit ${physicalLimitSeconds(cluster.requests.requests, settings.bootS)} s`,
    });
  } else {
    info.push({ metric: 'cluster_create', value: 'skipped (BENCH_CLUSTER_NODES=0)' });
  }
  if (large) {
    const limit = physicalLimitSeconds(large.requests.requests, settings.bootS);
    info.push(
      {
        metric: `capacity large (N=${large.count})`,
        value:
          `batch ${large.seconds.toFixed(0)} s vs physical limit ${limit} s ((ceil(${large.requests.requests}/${DO_LIMIT.perMinute}) − 1) × 60 + ${settings.bootS}), ` +
          `ratio ${(large.seconds / limit).toFixed(2)} (with one request per create the limit would be ${physicalLimitSeconds(large.count, settings.bootS)} s); ` +
          `accepted in ${large.submitSeconds.toFixed(1)} s; ${outcomes(large)}`,
      },
      { metric: 'capacity large requests', value: requestDetail(large) },
      { metric: 'capacity large memory', value: memoryDetail(large) },
    );
  } else {
    info.push({ metric: 'capacity large', value: 'skipped (BENCH_CAPACITY_LARGE_N=0)' });
  }
  info.push(
    checkMode
      ? {
          metric: 'check_mode detail',
          value:
            `${checkMode.count} with ${settings.checkModeConcurrency} in flight: accepted in ${checkMode.submitSeconds.toFixed(1)} s, ` +
            `last finished ${checkMode.seconds.toFixed(1)} s after the first submit; ${outcomes(checkMode)}; ` +
            `${checkMode.requests.requests} provider requests (+${checkMode.startupRequests} while the engine started), ${checkMode.requests.rateLimited} answered 429`,
        }
      : { metric: 'check_mode', value: 'skipped (BENCH_CHECK_MODE_N=0)' },
    {
      metric: 'capacity settings',
      value:
        `start command defaults: ${START_COMMAND_WORKERS} workers, WORKER_CONCURRENCY ${defaults.worker.concurrency}, ` +
        `PROVIDER_POLL_MS ${defaults.worker.pollIntervalMs}, engine DigitalOcean budget ` +
        `${(defaults.rateLimits.digitalocean ?? []).map((w) => `${w.limit}/${w.windowMs / 1000}s`).join(' + ') || 'off'}; ` +
        `sandbox DigitalOcean limit ${DO_LIMIT.perMinute}/min + ${DO_LIMIT.perHour}/h, boot ${settings.bootS} s; ` +
        `fresh Redis, sandbox and engine processes per batch and workflow`,
    },
  );
  return { ceilings, info };
}
