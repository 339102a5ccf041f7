/**
 * The footprint figure (issue 13): how many bytes of Redis one finished operation keeps once
 * its BullMQ job is gone. A fresh redis-server is filled with BENCH_FOOTPRINT_N operations
 * through the store's own write path, each one living the life a server.create does
 * (accepted, claimed, three progress notes that also become engine log lines, completed with
 * the result the processor writes), many in flight at once. The judged figure is the growth
 * of `used_memory` ÷ N, so everything the engine keeps counts: record, its row and its share
 * of the bucket lists (see src/core/operations/rows.ts), its event list, its share of the shared
 * event stream (capped by count, so its share shrinks as N grows), logs, the per-minute
 * statistics. Then MEMORY USAGE per kind of key says where the bytes went. The Redis is
 * stopped afterwards.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { Keys } from '../src/core/keys.js';
import { OperationStore } from '../src/core/operations/store.js';
import { acceptedOperation } from './accepted-operation.js';
import type { Operation } from '../src/core/operations/model.js';
import { SecretBox } from '../src/core/secrets/secret-box.js';
import { REDIS_MEMORY_SETTINGS } from '../src/supervisor/redis-tuning.js';
import { startRedis } from './redis-server.js';
import type { CeilingRow, InfoRow } from './report.js';

const log = (message: string): void => void process.stderr.write(`bench: ${message}\n`);

/** The target: at most this many bytes of Redis per finished operation. */
export const MAX_BYTES_PER_FINISHED_OPERATION = 1024;
/** Operations written at once (each one's steps stay in order). */
const IN_FLIGHT = 256;
/** Records whose own keys are measured one by one for the breakdown. */
const SAMPLE = 500;

export interface FootprintFigures {
  ceilings: CeilingRow[];
  info: InfoRow[];
}

/** An accepted server.create as the API writes it. */
function acceptedCreate(i: number): Operation {
  return acceptedOperation({
    type: 'server.create',
    workspace: 'production',
    provider: 'digitalocean',
    target: { hostname: `web-${i}` },
    request: { workspace: 'production', provider: 'digitalocean', plan: 's-1vcpu-1gb', zone: 'nyc3', check_mode: false, tags: ['web'], hostname: `web-${i}` },
    trace_id: randomUUID(),
    requested_by: 'admin',
  });
}

/** What the server.create processor returns (run-operation.ts stores it as the result). */
function createResult(op: Operation, i: number): Record<string, unknown> {
  const serverId = `srv-${randomBytes(6).toString('hex')}`;
  const ip = `198.18.${(i >> 8) & 255}.${i & 255}`;
  const providerId = String(100000000 + i);
  const at = new Date().toISOString();
  return {
    server_id: serverId,
    ip_address: ip,
    provider_id: providerId,
    resumed: false,
    server: {
      id: serverId,
      hostname: `web-${i}`,
      provider: 'digitalocean',
      provider_id: providerId,
      plan: 's-1vcpu-1gb',
      zone: 'nyc3',
      image: 'ubuntu-24-04-x64',
      ip_address: ip,
      status: 'running',
      provider_status: 'active',
      tags: ['web'],
      workspace: 'production',
      operation_id: op.id,
      created_at: at.slice(0, 19) + 'Z',
      updated_at: at,
    },
  };
}

/** One operation's life, as the API and a worker write it. */
async function finishOne(store: OperationStore, i: number): Promise<string> {
  const op = acceptedCreate(i);
  const created = await store.create(op);
  if (created.outcome !== 'created') throw new Error(`create of ${op.id}: ${created.outcome}`);
  const claim = await store.transition(op.id, ['pending', 'running'], 'running', {}, { countAttempt: true, markStarted: true, laneCheck: true });
  if (claim.outcome !== 'ok') throw new Error(`claim of ${op.id}: ${claim.outcome}`);
  const host = `web-${i}`;
  await store.recordProgress(op.id, 'create', `creating ${host} (s-1vcpu-1gb in nyc3) on digitalocean`);
  await store.recordProgress(op.id, 'wait', `waiting for droplet ${100000000 + i} to become active`, { waiting_for: `droplet ${100000000 + i} active`, waiting_since: new Date().toISOString() });
  await store.recordProgress(op.id, 'running', `digitalocean server ${100000000 + i} is running at 198.18.0.${i & 255}`);
  const done = await store.transition(op.id, ['running'], 'completed', { result: createResult(op, i), finished_at: new Date().toISOString(), error: null });
  if (done.outcome !== 'ok') throw new Error(`completion of ${op.id}: ${done.outcome}`);
  return op.id;
}

/** Runs `count` operations' lives, IN_FLIGHT at a time; returns their ids. */
async function fill(store: OperationStore, count: number): Promise<string[]> {
  const ids: string[] = new Array(count);
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      ids[i] = await finishOne(store, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, count) }, lane));
  return ids;
}

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? NaN);
}

/** MEMORY USAGE of every key, all of its elements sampled (SAMPLES 0). */
async function usage(redis: Redis, keys: string[]): Promise<number> {
  const pipeline = redis.pipeline();
  for (const key of keys) pipeline.call('MEMORY', 'USAGE', key, 'SAMPLES', '0');
  const replies = (await pipeline.exec()) ?? [];
  return replies.reduce((sum, [err, bytes]) => sum + (err ? 0 : Number(bytes ?? 0)), 0);
}

const perOp = (bytes: number, n: number): string => `${(bytes / n).toFixed(0)} B`;

export async function measureFootprint(count: number): Promise<FootprintFigures> {
  log(`footprint: filling a fresh redis-server with ${count} finished operations`);
  const redis = await startRedis('redis-footprint');
  const connection = new Redis(redis.url, { enableAutoPipelining: true, maxRetriesPerRequest: 1 });
  connection.on('error', () => undefined);
  try {
    // The memory settings the managed redis-server runs with, so the figure is the one the start command gets.
    for (const [name, value] of REDIS_MEMORY_SETTINGS) await redis.client.config('SET', name, value);
    const box = new SecretBox(randomBytes(32), 'BENCH');
    // A few operations under another prefix first, so the scripts are loaded before the measure starts.
    await fill(new OperationStore(connection, new Keys('warm'), box), 10);
    await connection.flushall();
    const keys = new Keys('fp');
    const store = new OperationStore(connection, keys, box);
    const before = await usedMemory(redis.client);
    const started = Date.now();
    const ids = await fill(store, count);
    const seconds = (Date.now() - started) / 1000;
    const after = await usedMemory(redis.client);
    const bytesPerOp = (after - before) / count;
    log(`footprint: ${count} operations in ${seconds.toFixed(1)} s, ${bytesPerOp.toFixed(0)} bytes each`);

    const sample = ids.slice(0, Math.min(SAMPLE, ids.length));
    const scale = count / sample.length;
    const [records, eventLists, logs, rows, stream, stats, bucketLists] = await Promise.all([
      usage(redis.client, sample.map((id) => keys.operation(id))),
      usage(redis.client, sample.map((id) => keys.operationEvents(id))),
      usage(redis.client, sample.map((id) => keys.operationLogs(id))),
      redis.client.keys(`${keys.prefix}:ops:rows:*`).then((found) => usage(redis.client, found)),
      usage(redis.client, [keys.events()]),
      redis.client.keys(`${keys.prefix}:stats:*`).then((found) => usage(redis.client, found)),
      redis.client.keys(`${keys.prefix}:ops:in:*`).then((found) => usage(redis.client, found)),
    ]);
    const buckets = await redis.client.zcard(keys.operationBuckets());
    const streamEntries = await redis.client.xlen(keys.events());
    const encoding = await redis.client.object('ENCODING', keys.operation(ids[0]!));
    const breakdown =
      `record ${perOp(records * scale, count)} (${String(encoding)}), row ${perOp(rows, count)} (${buckets} buckets of rows), ` +
      `bucket lists ${perOp(bucketLists, count)}, ` +
      `own event list ${perOp(eventLists * scale, count)}, event stream ${perOp(stream, count)} (${streamEntries} entries kept), ` +
      `logs ${perOp(logs * scale, count)}, statistics ${perOp(stats, count)}`;
    return {
      ceilings: [{ metric: 'footprint (B per finished op)', value: Math.round(bytesPerOp), max: MAX_BYTES_PER_FINISHED_OPERATION }],
      info: [
        {
          metric: 'footprint detail',
          value:
            `${count} finished server.create operations, no BullMQ jobs, filled in ${seconds.toFixed(1)} s; ` +
            `${REDIS_MEMORY_SETTINGS.map(([n, v]) => `${n} ${v}`).join(', ')}; MEMORY USAGE per operation: ${breakdown}`,
        },
      ],
    };
  } finally {
    connection.disconnect();
    await redis.client.flushall().catch(() => undefined);
    await redis.stop();
  }
}
