/**
 * The end-to-end figure: completed creates per second through the whole engine (API, queue,
 * workers, provider over HTTP) against bare BullMQ moving the same number of no-op jobs
 * through the same number of worker processes.
 */
import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { spawnTsChild, type BenchChild } from './children.js';
import { startCpuMeter, type CpuUse } from './cpu-meter.js';
import { timeCompletions, type CompletionResult, type CompletionRun } from './completion-throughput.js';
import { ENGINE_QUEUE, engineBullPrefix, prepareSandbox, startApi, startEngineWorker, submitCreate, waitForQueueWorkers, type EngineEnv } from './engine.js';
import { freePort, type BenchRedis } from './redis-server.js';
import type { BenchSettings } from './settings.js';

const log = (message: string): void => void process.stderr.write(`bench: ${message}\n`);

/** Generous: even a slow engine moves well over 10 operations a second here. */
const timeoutMs = (count: number): number => 60000 + count * 100;

export interface E2eResult extends CompletionResult {
  /** CPU per process during the measured round. */
  cpu: CpuUse;
}

/** Times a warm-up round (not reported) then the measured round. */
async function warmThenTime(run: CompletionRun, procs: BenchChild[], settings: BenchSettings): Promise<E2eResult> {
  const common = { concurrency: settings.e2eSubmitConcurrency };
  await timeCompletions(run, { ...common, firstIndex: 0, count: settings.e2eWarmupCount, timeoutMs: timeoutMs(settings.e2eWarmupCount) });
  const meter = startCpuMeter(procs);
  const result = await timeCompletions(run, { ...common, firstIndex: settings.e2eWarmupCount, count: settings.e2eCount, timeoutMs: timeoutMs(settings.e2eCount) });
  return { ...result, cpu: meter() };
}

/** One round of the baseline, on its own Redis under a fresh prefix, with fresh worker processes. */
export async function measureBullmqBaseline(redis: BenchRedis, settings: BenchSettings): Promise<E2eResult> {
  const prefix = 'baseline' + randomBytes(4).toString('hex');
  const queueName = 'noop';
  const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
  const queue = new Queue(queueName, { connection, prefix });
  const workers = Array.from({ length: settings.workers }, (_, i) =>
    spawnTsChild(`baseline-worker-${i + 1}`, 'bench/baseline-bullmq-worker.ts', {
      BASELINE_REDIS_URL: redis.url,
      BASELINE_PREFIX: prefix,
      BASELINE_QUEUE: queueName,
      BASELINE_CONCURRENCY: String(settings.workerConcurrency),
    }),
  );
  try {
    await Promise.all(workers.map((w) => w.waitForLine('BASELINE_WORKER_READY', 30000)));
    await waitForQueueWorkers(queue, settings.workers, workers);
    log(`e2e baseline: ${settings.e2eCount} no-op jobs through ${settings.workers} bare BullMQ workers`);
    return await warmThenTime(
      {
        submit: async (i) => void (await queue.add('noop', { i })),
        completed: async () => (await queue.getJobCounts('completed')).completed ?? 0,
        failed: async () => (await queue.getJobCounts('failed')).failed ?? 0,
      },
      [...workers, redis.child],
      settings,
    );
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await queue.close();
    connection.disconnect();
  }
}

export interface EngineE2eResult extends E2eResult {
  workerRssBytes: Array<number | null>;
}

/** One round through the engine: a fresh API and fresh workers under `env`'s (fresh) key prefix. */
export async function measureEngineE2e(redis: BenchRedis, env: EngineEnv, settings: BenchSettings, nodeArgs: string[]): Promise<EngineE2eResult> {
  await prepareSandbox(env.sandbox, settings.e2eWarmupCount + settings.e2eCount);
  const api = await startApi(env, await freePort(), nodeArgs);
  const workers = Array.from({ length: settings.workers }, (_, i) => startEngineWorker(env, `worker-${i + 1}`, nodeArgs));
  const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
  const queue = new Queue(ENGINE_QUEUE, { connection, prefix: engineBullPrefix(env.keyPrefix) });
  const statusIndex = (status: string): string => `${env.keyPrefix}:ops:status:${status}`;
  try {
    await waitForQueueWorkers(queue, settings.workers, workers);
    log(`e2e engine: ${settings.e2eCount} creates through the API and ${settings.workers} workers`);
    const result = await warmThenTime(
      {
        submit: async (i) => void (await submitCreate(api, i)),
        completed: () => redis.client.zcard(statusIndex('completed')),
        failed: () => redis.client.zcard(statusIndex('failed')),
        describeFailure: async () => {
          const [id] = await redis.client.zrange(statusIndex('failed'), '0', '0');
          return id === undefined ? 'none found' : JSON.stringify(await redis.client.hgetall(`${env.keyPrefix}:op:${id}`));
        },
      },
      [api.child, ...workers, redis.child, env.sandbox.child],
      settings,
    );
    return { ...result, workerRssBytes: workers.map((w) => w.rssBytes()) };
  } finally {
    await queue.close();
    connection.disconnect();
    await Promise.all(workers.map((w) => w.stop()));
    await api.child.stop();
  }
}
