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
import { runWithConcurrency, timeCompletions, type CompletionResult, type CompletionRun } from './completion-throughput.js';
import { createServerBody, ENGINE_QUEUE, engineBullPrefix, prepareSandbox, startApi, startEngineWorker, waitForQueueWorkers, type EngineEnv } from './engine.js';
import { sendExactly } from './http-load.js';
import { freePort, type BenchRedis } from './redis-server.js';
import type { BenchSettings } from './settings.js';

const log = (message: string): void => void process.stderr.write(`bench: ${message}\n`);

/** Generous: even a slow engine moves well over 10 operations a second here. */
const timeoutMs = (count: number): number => 60000 + count * 100;

export interface E2eResult extends CompletionResult {
  /** CPU per process during the measured round. */
  cpu: CpuUse;
  /** Redis commands per unit of work during the measured round (the count polls included). */
  redisCommandsPerUnit: number;
}

/** Commands Redis has run since its stats were last reset. */
async function redisCommandCount(redis: BenchRedis): Promise<number> {
  const stats = await redis.client.info('commandstats');
  return [...stats.matchAll(/^cmdstat_[^:]+:calls=(\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

/** Times a warm-up round (not reported) then the measured round. */
async function warmThenTime(run: CompletionRun, redis: BenchRedis, procs: BenchChild[], settings: BenchSettings): Promise<E2eResult> {
  const common = { concurrency: settings.e2eSubmitConcurrency };
  await timeCompletions(run, { ...common, firstIndex: 0, count: settings.e2eWarmupCount, timeoutMs: timeoutMs(settings.e2eWarmupCount) });
  await redis.client.config('RESETSTAT');
  const meter = startCpuMeter(procs);
  const result = await timeCompletions(run, { ...common, firstIndex: settings.e2eWarmupCount, count: settings.e2eCount, timeoutMs: timeoutMs(settings.e2eCount) });
  const cpu = meter();
  return { ...result, cpu, redisCommandsPerUnit: (await redisCommandCount(redis)) / result.count };
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
        submitAll: (first, count, concurrency) =>
          runWithConcurrency(count, concurrency, async (i) => void (await queue.add('noop', { i: first + i }))),
        completed: async () => (await queue.getJobCounts('completed')).completed ?? 0,
        failed: async () => (await queue.getJobCounts('failed')).failed ?? 0,
      },
      redis,
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
        submitAll: (first, count, concurrency) =>
          sendExactly(
            {
              url: api.url,
              method: 'POST',
              headers: { authorization: `Bearer ${api.token}` },
              path: () => '/v1/servers/create',
              body: (n) => createServerBody(first + n),
            },
            count,
            concurrency,
          ),
        completed: () => redis.client.zcard(statusIndex('completed')),
        failed: () => redis.client.zcard(statusIndex('failed')),
        describeFailure: async () => {
          const [id] = await redis.client.zrange(statusIndex('failed'), '0', '0');
          return id === undefined ? 'none found' : JSON.stringify(await redis.client.hgetall(`${env.keyPrefix}:op:${id}`));
        },
      },
      redis,
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
