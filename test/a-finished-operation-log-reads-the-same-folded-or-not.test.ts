import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { Keys } from '../src/core/keys.js';
import { expandFinished, FINISHED_LOG_FIELD, FOLDED_LOG_LINES } from '../src/core/operations/finished-footprint.js';
import { OperationLog } from '../src/core/operations/log.js';
import { OperationStore } from '../src/core/operations/store.js';
import { SecretBox } from '../src/core/secrets/secret-box.js';
import { startTestRedis, type TestRedis } from './helpers/redis-server.js';
import { acceptedOperation } from '../bench/accepted-operation.js';

describe("a finished operation's log reads the same whether its record holds it or its list does", () => {
  let server: TestRedis;
  let redis: Redis;
  let keys: Keys;
  let store: OperationStore;

  before(async () => {
    server = await startTestRedis();
    redis = new Redis(server.url);
    keys = new Keys(`t${randomBytes(4).toString('hex')}`);
    store = new OperationStore(redis, keys, new SecretBox(randomBytes(32), 'TEST'));
  });
  after(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  /** A running task service operation with `lines` lines of output from one server. */
  async function runningWithLog(lines: number): Promise<{ id: string; log: OperationLog; written: string[] }> {
    const op = acceptedOperation({ type: 'taskserv.create', workspace: 'production', provider: 'digitalocean', target: null, request: { name: 'nginx' }, trace_id: randomUUID(), requested_by: 'admin' });
    assert.equal((await store.create(op)).outcome, 'created');
    assert.equal((await store.transition(op.id, ['pending'], 'running', {}, { countAttempt: true, markStarted: true })).outcome, 'ok');
    const log = new OperationLog(redis, keys, op.id);
    const written = Array.from({ length: lines }, (_, i) => `line ${i} of ${lines}`);
    await log.append(written.map((line, i) => (i % 2 === 0 ? line : { source: 'web-1', stream: 'stdout' as const, line })));
    return { id: op.id, log, written };
  }

  const finish = (id: string) => store.transition(id, ['running'], 'completed', { result: { ok: true }, finished_at: new Date().toISOString() });

  test('a short log folds into the record and every page reads as before, with output written after it at the end', async () => {
    const { id, log, written } = await runningWithLog(5);
    const before = await log.read(0, 100);
    assert.equal((await finish(id)).outcome, 'ok');
    assert.equal(await redis.exists(keys.operationLogs(id)), 0);
    // Folded, then packed with the record's other fields (see finished-footprint.ts).
    assert.ok(expandFinished(await redis.hgetall(keys.operation(id)))[FINISHED_LOG_FIELD]);
    const afterFold = await log.read(0, 100);
    assert.deepEqual(afterFold, before);
    assert.deepEqual(afterFold.entries.map((e) => [e.index, e.line, e.source, e.stream]), written.map((line, i) => [i, line, i % 2 === 0 ? 'engine' : 'web-1', i % 2 === 0 ? 'engine' : 'stdout']));
    // Pages across the folded lines.
    assert.deepEqual((await log.read(3, 2)).entries.map((e) => e.index), [3, 4]);
    assert.deepEqual(await log.read(5, 10), { entries: [], next: 5, total: 5 });
    assert.deepEqual((await log.read(2, 0)).entries, []);
    // Output that arrives after the end (a late batch) follows the folded lines.
    await log.append(['late line']);
    const page = await log.read(4, 10);
    assert.deepEqual(page.entries.map((e) => [e.index, e.line]), [[4, written[4]], [5, 'late line']]);
    assert.equal(page.total, 6);
    assert.equal(page.next, 6);
  });

  test('a long log stays a list and reads as before', async () => {
    const { id, log, written } = await runningWithLog(FOLDED_LOG_LINES + 1);
    assert.equal((await finish(id)).outcome, 'ok');
    assert.equal(expandFinished(await redis.hgetall(keys.operation(id)))[FINISHED_LOG_FIELD], undefined);
    const page = await log.read(0, 1000);
    assert.equal(page.total, written.length);
    assert.deepEqual(page.entries.map((e) => e.line), written);
  });
});
