/**
 * The end-to-end floor: the least any engine of this shape can do per create on this machine.
 * A bare Express API adds each request's body to a BullMQ queue and answers 202; bare BullMQ
 * workers, as many as the engine has, make the create's one provider call to a sandbox of its
 * own (the same simulator the engine calls) and read the answer. No checks, no records, no
 * events: only the two HTTP exchanges and the queue every create needs. Its rate against bare
 * BullMQ's is the highest end-to-end ratio this machine allows, and the engine's rate against
 * it is what the engine's own work costs.
 */
import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { spawnTsChild } from './children.js';
import type { E2eRedis } from './e2e-redis.js';
import type { RunningSystem } from './e2e-phases.js';
import { createServerBody, prepareSandbox, startSandbox, waitForQueueWorkers } from './engine.js';
import { sendExactly } from './http-load.js';
import type { BenchSettings } from './settings.js';

export async function startFloor(redis: E2eRedis, droplets: number, settings: BenchSettings): Promise<RunningSystem> {
  const prefix = redis.keyed('floor' + randomBytes(4).toString('hex'));
  const queueName = 'create';
  // Where the floor's processes find Redis and their queue, as the baseline's find theirs.
  const queueEnv = { ...(redis.env.REDIS_URL ? { BASELINE_REDIS_URL: redis.env.REDIS_URL } : redis.env), BASELINE_PREFIX: prefix, BASELINE_QUEUE: queueName };
  const sandbox = await startSandbox(undefined, 'sandbox-floor');
  await prepareSandbox(sandbox, droplets);
  const api = spawnTsChild('floor-api', 'bench/baseline-http-server.ts', queueEnv);
  const workers = Array.from({ length: settings.workers }, (_, i) =>
    spawnTsChild(`floor-worker-${i + 1}`, 'bench/baseline-bullmq-worker.ts', {
      ...queueEnv,
      BASELINE_CONCURRENCY: String(settings.workerConcurrency),
      BASELINE_PROVIDER_URL: sandbox.digitaloceanUrl,
      BASELINE_PROVIDER_TOKEN: sandbox.token,
    }),
  );
  const connection = redis.connect();
  const queue = new Queue(queueName, { connection, prefix });
  // A ready line is only seen by a wait already listening: listen to all of them from the start.
  const apiReady = api.waitForLine('BASELINE_HTTP_READY ', 30000);
  const workersReady = Promise.all(workers.map((w) => w.waitForLine('BASELINE_WORKER_READY', 30000)));
  const stop = async (): Promise<void> => {
    await queue.close();
    connection.disconnect();
    await Promise.all(workers.map((w) => w.stop()));
    await api.stop();
    await sandbox.child.stop();
  };
  try {
    const [ready] = await Promise.all([apiReady, workersReady]);
    const url = (JSON.parse(ready.slice('BASELINE_HTTP_READY '.length)) as { url: string }).url;
    await waitForQueueWorkers(queue, settings.workers, workers);
    const createSpec = (first: number) => ({ url, method: 'POST' as const, path: () => '/v1/servers/create', body: (n: number) => createServerBody(first + n) });
    return {
      run: {
        submitAll: (first, count, concurrency) => sendExactly(createSpec(first), count, concurrency),
        completed: async () => (await queue.getJobCounts('completed')).completed ?? 0,
        failed: async () => (await queue.getJobCounts('failed')).failed ?? 0,
      },
      redis,
      procs: [api, ...workers, ...redis.procs, sandbox.child],
      workers,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

