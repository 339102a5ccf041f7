/**
 * The queue baseline: a plain BullMQ worker with an async no-op processor, run as its own
 * process like an engine worker. Environment: BASELINE_REDIS_URL (or, on a Redis Cluster,
 * REDIS_CLUSTER_NODES and REDIS_PASSWORD, read as the engine reads them), BASELINE_PREFIX,
 * BASELINE_QUEUE, BASELINE_CONCURRENCY. Prints `BASELINE_WORKER_READY` once it takes jobs.
 */
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { connectRedis } from '../src/core/redis.js';
import { redisClusterSettings } from '../src/core/redis-cluster-settings.js';

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    process.stderr.write(`baseline worker: ${name} is required\n`);
    process.exit(2);
  }
  return value;
}

const cluster = redisClusterSettings(process.env, null);
const connection = cluster ? connectRedis(cluster, 'baseline-worker') : new Redis(required('BASELINE_REDIS_URL'), { maxRetriesPerRequest: null });
const worker = new Worker(required('BASELINE_QUEUE'), async () => undefined, {
  connection,
  prefix: required('BASELINE_PREFIX'),
  concurrency: Number(required('BASELINE_CONCURRENCY')),
});
worker.on('error', (err) => process.stderr.write(`baseline worker error: ${err.message}\n`));
await worker.waitUntilReady();
process.stdout.write('BASELINE_WORKER_READY\n');

const stop = (): void => {
  void worker.close().then(
    () => connection.quit(),
  ).finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
