/**
 * The HTTP baseline: a bare Express app with `express.json()` and one route per measured
 * call, answering a small fixed object without touching Redis. Run as its own process so it
 * gets the same CPU share the API gets. Prints `BASELINE_HTTP_READY {"url":…}`.
 *
 * With BASELINE_QUEUE set (and BASELINE_PREFIX, and BASELINE_REDIS_URL or a cluster's
 * REDIS_CLUSTER_NODES and REDIS_PASSWORD) a create instead adds the request's body to that
 * BullMQ queue and answers with the job's id: the API of the end-to-end floor (e2e-floor.ts).
 */
import type { AddressInfo } from 'node:net';
import { Queue } from 'bullmq';
import express from 'express';
import { Redis } from 'ioredis';
import { connectRedis } from '../src/core/redis.js';
import { redisClusterSettings } from '../src/core/redis-cluster-settings.js';

function enqueuer(): ((body: unknown) => Promise<string>) | null {
  const queueName = process.env.BASELINE_QUEUE;
  if (!queueName) return null;
  const cluster = redisClusterSettings(process.env, null);
  const connection = cluster ? connectRedis(cluster, 'baseline-http') : new Redis(process.env.BASELINE_REDIS_URL ?? '', { maxRetriesPerRequest: null });
  const queue = new Queue(queueName, { connection, prefix: process.env.BASELINE_PREFIX });
  return async (body) => (await queue.add('create', body)).id ?? '';
}

const enqueue = enqueuer();
const app = express();
app.use(express.json());

app.post('/v1/servers/create', (req, res, next) => {
  const body = req.body as { hostname?: string };
  if (!enqueue) return void res.status(202).json({ id: 'baseline', status: 'pending', hostname: body.hostname ?? null });
  enqueue(body).then((id) => void res.status(202).json({ id, status: 'pending', hostname: body.hostname ?? null }), next);
});

app.get('/v1/operations/:id', (req, res) => {
  res.status(200).json({ id: req.params.id, status: 'pending' });
});

const server = app.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`BASELINE_HTTP_READY ${JSON.stringify({ url: `http://127.0.0.1:${port}` })}\n`);
});
server.keepAliveTimeout = 65000;

const stop = (): void => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
