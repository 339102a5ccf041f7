/**
 * The end-to-end figure: completed creates per second through the whole engine (API, queue,
 * workers, provider over HTTP) against bare BullMQ moving the same number of no-op jobs
 * through the same number of worker processes. Both systems run side by side on their own
 * Redis servers and take turns (baseline, engine, baseline, …, baseline), so a change in the
 * machine's load falls on both alike; the idle one only waits on Redis meanwhile. A third
 * system, the floor (e2e-floor.ts), takes its turn after each engine round: it shows how much
 * of the gap is the HTTP and queue work every create needs, and how much the engine's own.
 */
import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import type { E2eRedis } from './e2e-redis.js';
import { spawnTsChild, type BenchChild } from './children.js';
import { runWithConcurrency, timeCompletions, type CompletionRun } from './completion-throughput.js';
import { startCpuMeter, sumCpuUse, type CpuUse } from './cpu-meter.js';
import { startFloor } from './e2e-floor.js';
import { createServerBody, ENGINE_QUEUE, engineBullPrefix, prepareSandbox, startApi, startEngineWorker, waitForQueueWorkers, type EngineEnv } from './engine.js';
import { sendExactly } from './http-load.js';
import { freePort } from './redis-server.js';
import type { BenchSettings } from './settings.js';
import { Keys } from '../src/core/keys.js';
import { operationsPerStatus } from '../src/core/operations/counts.js';
import { readRows } from '../src/core/operations/rows.js';

const log = (message: string): void => void process.stderr.write(`bench: ${message}\n`);

/** Generous: even a slow engine moves well over 10 operations a second here. */
const timeoutMs = (count: number): number => 60000 + count * 100;

/** Baseline rounds; the engine gets one fewer, each between two baseline rounds. */
const BASELINE_ROUNDS = 3;

/** A system ready to take work, and what to watch while it does. */
export interface RunningSystem {
  run: CompletionRun;
  redis: E2eRedis;
  /** Processes whose CPU use is reported. */
  procs: BenchChild[];
  workers: BenchChild[];
  stop(): Promise<void>;
}

export interface SystemFigures {
  count: number;
  seconds: number;
  perSecond: number;
  roundSeconds: number[];
  /** CPU per process over all measured rounds. */
  cpu: CpuUse;
  /** Redis commands per unit of work (those inside scripts and the count polls included). */
  redisCommandsPerUnit: number;
  /** Worker resident memory after the last round. */
  workerRssBytes: Array<number | null>;
}

export interface E2eComparison {
  engine: SystemFigures;
  baseline: SystemFigures;
  /** The least a create can cost here: see e2e-floor.ts. */
  floor: SystemFigures;
}

/** Commands Redis (every node of a cluster) has run since it started. */
async function redisCommandCount(redis: E2eRedis): Promise<number> {
  let sum = 0;
  for (const calls of (await redisCommandCalls(redis)).values()) sum += calls;
  return sum;
}

/** Calls per command (scripts by their sha) since Redis started. */
async function redisCommandCalls(redis: E2eRedis): Promise<Map<string, number>> {
  const calls = new Map<string, number>();
  for (const node of redis.nodes) {
    const stats = await node.info('commandstats');
    for (const m of stats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(m[1]!, (calls.get(m[1]!) ?? 0) + Number(m[2]));
  }
  return calls;
}

/** With BENCH_E2E_COMMANDSTATS set, which commands one unit of work costs, most first (to find where the round trips go). */
async function logCommandsPerUnit(redis: E2eRedis, before: Map<string, number>, count: number, name: string): Promise<void> {
  const after = await redisCommandCalls(redis);
  const perUnit = [...after].map(([cmd, calls]) => [cmd, (calls - (before.get(cmd) ?? 0)) / count] as const).filter(([, n]) => n > 0);
  perUnit.sort((a, b) => b[1] - a[1]);
  log(`${name} Redis commands per unit: ${perUnit.map(([cmd, n]) => `${cmd} ${n.toFixed(2)}`).join(', ')}`);
}

/** Numbers units across rounds, so every engine create has its own hostname. */
class Rounds {
  private submitted = 0;
  private readonly seconds: number[] = [];
  private readonly cpu: CpuUse[] = [];
  private commands = 0;

  constructor(
    private readonly system: RunningSystem,
    private readonly name: string,
  ) {}

  /** One round of `count` units; `measured` false for a warm-up. */
  async round(count: number, concurrency: number, measured: boolean): Promise<void> {
    const commandsBefore = await redisCommandCount(this.system.redis);
    const callsBefore = process.env.BENCH_E2E_COMMANDSTATS && measured ? await redisCommandCalls(this.system.redis) : null;
    const meter = startCpuMeter(this.system.procs);
    const result = await timeCompletions(this.system.run, { firstIndex: this.submitted, count, concurrency, timeoutMs: timeoutMs(count) });
    const cpu = meter();
    this.submitted += count;
    if (!measured) return;
    this.seconds.push(result.seconds);
    this.cpu.push(cpu);
    this.commands += (await redisCommandCount(this.system.redis)) - commandsBefore;
    if (callsBefore) await logCommandsPerUnit(this.system.redis, callsBefore, count, this.name);
  }

  figures(countPerRound: number): SystemFigures {
    const count = countPerRound * this.seconds.length;
    const seconds = this.seconds.reduce((a, b) => a + b, 0);
    return {
      count,
      seconds,
      perSecond: count / seconds,
      roundSeconds: this.seconds,
      cpu: sumCpuUse(this.cpu),
      redisCommandsPerUnit: this.commands / count,
      workerRssBytes: this.system.workers.map((w) => w.rssBytes()),
    };
  }
}

/** Plain BullMQ workers on their own Redis, under a fresh prefix. */
async function startBullmqBaseline(redis: E2eRedis, settings: BenchSettings): Promise<RunningSystem> {
  // On a cluster the prefix is a hash tag, as BullMQ asks: all of a queue's keys in one slot.
  const prefix = redis.keyed('baseline' + randomBytes(4).toString('hex'));
  const queueName = 'noop';
  const connection = redis.connect();
  const queue = new Queue(queueName, { connection, prefix });
  const workers = Array.from({ length: settings.workers }, (_, i) =>
    spawnTsChild(`baseline-worker-${i + 1}`, 'bench/baseline-bullmq-worker.ts', {
      ...(redis.env.REDIS_URL ? { BASELINE_REDIS_URL: redis.env.REDIS_URL } : redis.env),
      BASELINE_PREFIX: prefix,
      BASELINE_QUEUE: queueName,
      BASELINE_CONCURRENCY: String(settings.workerConcurrency),
    }),
  );
  const stop = async (): Promise<void> => {
    await Promise.all(workers.map((w) => w.stop()));
    await queue.close();
    connection.disconnect();
  };
  try {
    await Promise.all(workers.map((w) => w.waitForLine('BASELINE_WORKER_READY', 30000)));
    await waitForQueueWorkers(queue, settings.workers, workers);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    run: {
      submitAll: (first, count, concurrency) =>
        runWithConcurrency(count, concurrency, async (i) => void (await queue.add('noop', { i: first + i }))),
      completed: async () => (await queue.getJobCounts('completed')).completed ?? 0,
      failed: async () => (await queue.getJobCounts('failed')).failed ?? 0,
    },
    redis,
    procs: [...workers, ...redis.procs],
    workers,
    stop,
  };
}

/** A fresh API and fresh workers under `env`'s (fresh) key prefix, and a sandbox with room for `droplets`. */
async function startEngine(redis: E2eRedis, env: EngineEnv, droplets: number, settings: BenchSettings, nodeArgs: string[]): Promise<RunningSystem> {
  await prepareSandbox(env.sandbox, droplets);
  const api = await startApi(env, await freePort(), nodeArgs);
  const workers = Array.from({ length: settings.workers }, (_, i) => startEngineWorker(env, `worker-${i + 1}`, nodeArgs));
  const connection = redis.connect();
  const keyPrefix = redis.keyed(env.keyPrefix);
  const queue = new Queue(ENGINE_QUEUE, { connection, prefix: engineBullPrefix(keyPrefix) });
  const keys = new Keys(keyPrefix);
  const stop = async (): Promise<void> => {
    await queue.close();
    connection.disconnect();
    await Promise.all(workers.map((w) => w.stop()));
    await api.child.stop();
  };
  try {
    await waitForQueueWorkers(queue, settings.workers, workers);
  } catch (err) {
    await stop();
    throw err;
  }
  const createSpec = (first: number) => ({
    url: api.url,
    method: 'POST' as const,
    headers: { authorization: `Bearer ${api.token}` },
    path: () => '/v1/servers/create',
    body: (n: number) => createServerBody(first + n),
  });
  return {
    run: {
      submitAll: (first, count, concurrency) => sendExactly(createSpec(first), count, concurrency),
      completed: async () => (await operationsPerStatus(redis.client, keys)).completed,
      failed: async () => (await operationsPerStatus(redis.client, keys)).failed,
      describeFailure: async () => {
        const [bucket] = await redis.client.zrange(keys.operationBuckets('status', 'failed'), '0', '0');
        const rows = bucket === undefined ? [] : await readRows(redis.client, keys, bucket);
        const id = rows.find((row) => row.status === 'failed')?.id;
        return id === undefined ? 'none found' : JSON.stringify(await redis.client.hgetall(keys.operation(id)));
      },
    },
    redis,
    procs: [api.child, ...workers, ...redis.procs, env.sandbox.child],
    workers,
    stop,
  };
}

export async function compareEndToEnd(
  engineRedis: E2eRedis,
  engineEnv: EngineEnv,
  baselineRedis: E2eRedis,
  settings: BenchSettings,
  nodeArgs: string[],
): Promise<E2eComparison> {
  const engineRounds = BASELINE_ROUNDS - 1;
  const droplets = settings.e2eWarmupCount + engineRounds * settings.e2eCount;
  const baseline = await startBullmqBaseline(baselineRedis, settings);
  try {
    // The floor shares the baseline's Redis (under its own prefix): both are idle while the other runs.
    const floor = await startFloor(baselineRedis, droplets, settings);
    try {
      const engine = await startEngine(engineRedis, engineEnv, droplets, settings, nodeArgs);
      try {
        const engineSide = new Rounds(engine, 'engine');
        const baselineSide = new Rounds(baseline, 'bare BullMQ');
        const floorSide = new Rounds(floor, 'floor');
        const concurrency = settings.e2eSubmitConcurrency;
        log(`e2e: warming up`);
        await baselineSide.round(settings.e2eWarmupCount, concurrency, false);
        await engineSide.round(settings.e2eWarmupCount, concurrency, false);
        await floorSide.round(settings.e2eWarmupCount, concurrency, false);
        log(`e2e: ${engineRounds} × (bare BullMQ, engine, floor) then bare BullMQ, ${settings.e2eCount} units each`);
        for (let i = 0; i < engineRounds; i++) {
          await baselineSide.round(settings.e2eCount, concurrency, true);
          await engineSide.round(settings.e2eCount, concurrency, true);
          await floorSide.round(settings.e2eCount, concurrency, true);
        }
        await baselineSide.round(settings.e2eCount, concurrency, true);
        return { engine: engineSide.figures(settings.e2eCount), baseline: baselineSide.figures(settings.e2eCount), floor: floorSide.figures(settings.e2eCount) };
      } finally {
        await engine.stop();
      }
    } finally {
      await floor.stop();
    }
  } finally {
    await baseline.stop();
  }
}
