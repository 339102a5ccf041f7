/**
 * The queue baseline: a plain BullMQ worker run as its own process like an engine worker.
 * Environment: BASELINE_REDIS_URL (or, on a Redis Cluster, REDIS_CLUSTER_NODES and
 * REDIS_PASSWORD, read as the engine reads them), BASELINE_PREFIX, BASELINE_QUEUE,
 * BASELINE_CONCURRENCY. Its processor is an async no-op; with BASELINE_PROVIDER_URL and
 * BASELINE_PROVIDER_TOKEN set it instead makes the one call a create needs of the provider
 * (POST /droplets, as the sandbox's DigitalOcean takes it) and reads the answer: the end-to-end
 * floor (e2e-floor.ts). Prints `BASELINE_WORKER_READY` once it takes jobs.
 */
import http from 'node:http';
import { Worker, type Job } from 'bullmq';
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

/** The create a floor job stands for, as the floor's API enqueued it. */
interface FloorCreate {
  hostname: string;
  plan: string;
  zone: string;
}

/**
 * One POST over node:http with a keep-alive agent, as the engine's provider client makes it
 * (global fetch costs several times the CPU per call, and a floor must be the cheapest way).
 */
function providerCall(url: string, token: string): (job: Job<FloorCreate>) => Promise<void> {
  const agent = new http.Agent({ keepAlive: true });
  const target = new URL(`${url}/droplets`);
  return (job) =>
    new Promise((resolve, reject) => {
      const body = JSON.stringify({ name: job.data.hostname, region: job.data.zone, size: job.data.plan, image: 'ubuntu-24-04-x64' });
      const req = http.request(target, { method: 'POST', agent, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if ((res.statusCode ?? 0) >= 300) return reject(new Error(`provider answered ${res.statusCode}: ${text}`));
          JSON.parse(text);
          resolve();
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
}

const cluster = redisClusterSettings(process.env, null);
const connection = cluster ? connectRedis(cluster, 'baseline-worker') : new Redis(required('BASELINE_REDIS_URL'), { maxRetriesPerRequest: null });
const providerUrl = process.env.BASELINE_PROVIDER_URL;
const processor = providerUrl ? providerCall(providerUrl, required('BASELINE_PROVIDER_TOKEN')) : async () => undefined;
const worker = new Worker(required('BASELINE_QUEUE'), processor, {
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
