import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { Keys } from '../src/core/keys.js';
import { expandFinished, FINISHED_EVENTS_FIELD, FINISHED_LOG_FIELD, PACKED_FIELD } from '../src/core/operations/finished-footprint.js';
import type { Operation } from '../src/core/operations/model.js';
import { REDIS_MEMORY_SETTINGS } from '../src/supervisor/redis-tuning.js';
import { openSse, type SseMessage } from './helpers/sse.js';
import { TestSystem } from './helpers/system.js';

describe('a finished operation keeps a compact footprint in Redis and answers as before', () => {
  let sys: TestSystem;
  let redis: Redis;
  let keys: Keys;
  let op: Operation;
  let liveEvents: SseMessage[] = [];

  const drain = async (url: string): Promise<SseMessage[]> => {
    const stream = await openSse(url, sys.token);
    const all: SseMessage[] = [];
    try {
      for (let m = await stream.next(20000); m; m = await stream.next(20000)) all.push(m);
    } finally {
      stream.close();
    }
    return all;
  };

  before(async () => {
    sys = await TestSystem.start({ workers: 1 });
    redis = new Redis(sys.redis.url);
    keys = new Keys(sys.config.keyPrefix);
    // The memory settings of the managed Redis (supervisor/redis-tuning.ts), under which a finished record is a listpack.
    for (const [name, value] of REDIS_MEMORY_SETTINGS) await redis.config('SET', name, value);
    op = await sys.createServer({ hostname: 'compact-01' });
    // Watched live from the start: progress notes arrive while it runs.
    liveEvents = await drain(`${sys.url}/v1/operations/${op.id}/events`);
    assert.equal((await sys.waitForStatus(op.id, ['completed', 'failed'])).status, 'completed');
  });
  after(async () => {
    redis?.disconnect();
    await sys?.stop();
  });

  test('while it ran, its watchers saw its progress notes as well as its state changes', () => {
    assert.ok(liveEvents.some((e) => e.event === 'progress'), JSON.stringify(liveEvents.map((e) => e.event)));
    assert.deepEqual(liveEvents.filter((e) => e.event === 'state').map((e) => e.data.to), ['pending', 'running', 'completed']);
  });

  test('once finished, it has no event list or lane of its own: its state changes are one field of its record', async () => {
    assert.equal(await redis.exists(keys.operationEvents(op.id)), 0, 'the list key is gone');
    const stored = await redis.hgetall(keys.operation(op.id));
    const record = expandFinished(stored);
    assert.equal(record.lane, undefined, 'a finished operation is in no lane');
    assert.equal(record.blocked_by, undefined);
    const ids = record[FINISHED_EVENTS_FIELD]!.split(',');
    const stateIds = liveEvents.filter((e) => e.event === 'state').map((e) => e.id);
    assert.deepEqual(ids, stateIds, 'exactly its state changes, oldest first');
  });

  test('its history replays its state changes, and its progress notes are still in its log', async () => {
    const history = await drain(`${sys.url}/v1/operations/${op.id}/events`);
    assert.deepEqual(
      history.map((e) => `${e.event}:${e.data.from ?? ''}>${e.data.to}`),
      ['state:>pending', 'state:pending>running', 'state:running>completed'],
    );
    assert.deepEqual(history.map((e) => e.id), liveEvents.filter((e) => e.event === 'state').map((e) => e.id), 'the same ids as live: a client resumes from them');
    const resumed = await drain(`${sys.url}/v1/operations/${op.id}/events?last_event_id=${encodeURIComponent(history[0]!.id)}`);
    assert.deepEqual(resumed.map((e) => e.data.to), ['running', 'completed']);

    const logs = await sys.request<{ entries: Array<{ index: number; source: string; stream: string; line: string; at: string }>; total: number }>('GET', `/v1/operations/${op.id}/logs`);
    assert.equal(logs.status, 200);
    const progress = liveEvents.filter((e) => e.event === 'progress').map((e) => e.data.message);
    assert.deepEqual(logs.body.entries.map((e) => e.line), progress, 'each progress note is a line of its log');
    for (const entry of logs.body.entries) {
      assert.equal(entry.source, 'engine');
      assert.equal(entry.stream, 'engine');
      assert.ok(!Number.isNaN(Date.parse(entry.at)));
    }
    // A short log is one field of the record now, its lines without the two fields that are always `engine` for the engine's own.
    assert.equal(await redis.exists(keys.operationLogs(op.id)), 0, 'the log list key is gone');
    const folded = JSON.parse(expandFinished(await redis.hgetall(keys.operation(op.id)))[FINISHED_LOG_FIELD]!) as Array<Record<string, string>>;
    assert.deepEqual(folded.map((l) => l.line), progress);
    assert.ok(folded.every((l) => !('source' in l) && !('stream' in l)), JSON.stringify(folded));
  });

  test('what nothing reads one by one is packed into one field, and the record stays small and compactly encoded', async () => {
    const stored = await redis.hgetall(keys.operation(op.id));
    assert.ok(stored[PACKED_FIELD], 'packed');
    for (const name of ['request', 'result', 'progress', 'target', 'provider', 'created_at', 'finished_at', FINISHED_LOG_FIELD, FINISHED_EVENTS_FIELD]) {
      assert.equal(stored[name], undefined, `${name} is packed, not a field of its own`);
    }
    // What scripts and workers read one by one stays readable as it was.
    assert.equal(stored.status, 'completed');
    assert.equal(stored.type, 'server.create');
    assert.ok(stored.workspace && stored.seq);
    assert.equal(await redis.object('ENCODING', keys.operation(op.id)), 'listpack');
    const bytes = Number(await redis.call('MEMORY', 'USAGE', keys.operation(op.id), 'SAMPLES', '0'));
    assert.ok(bytes <= 700, `the record takes ${bytes} bytes of Redis`);
  });

  test('the operation itself answers whole: request, result, progress and times', async () => {
    const res = await sys.request<Operation>('GET', `/v1/operations/${op.id}`);
    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'completed');
    assert.equal(res.body.request.hostname, 'compact-01');
    assert.equal((res.body.result as { server?: { hostname?: string } }).server?.hostname, 'compact-01');
    assert.ok(res.body.progress?.message);
    for (const at of [res.body.created_at, res.body.started_at, res.body.finished_at, res.body.updated_at]) assert.ok(at && !Number.isNaN(Date.parse(at)));
  });

  test('a record in the long form an older version left answers exactly as the packed one: record, listing, history and log', async () => {
    const answers = async () => {
      const one = await sys.request('GET', `/v1/operations/${op.id}`);
      const listed = await sys.request<Operation[]>('GET', `/v1/operations?workspace=${op.workspace}&limit=100`);
      const logs = await sys.request('GET', `/v1/operations/${op.id}/logs`);
      const history = await drain(`${sys.url}/v1/operations/${op.id}/events`);
      return { one: [one.status, one.body], listed: listed.body.find((o) => o.id === op.id), logs: [logs.status, logs.body], history: history.map((e) => [e.id, e.event, e.data]) };
    };
    const packed = await answers();
    const stored = await redis.hgetall(keys.operation(op.id));
    assert.ok(stored[PACKED_FIELD]);
    const { [PACKED_FIELD]: _packed, ...longForm } = expandFinished(stored);
    await redis.multi().del(keys.operation(op.id)).hset(keys.operation(op.id), longForm).exec();
    assert.equal(await redis.hexists(keys.operation(op.id), PACKED_FIELD), 0);
    assert.deepEqual(await answers(), packed);
    assert.ok(packed.listed, 'listed');
  });
});
