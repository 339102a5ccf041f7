import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { Keys } from '../src/core/keys.js';
import { WaitRegistry, type WaitEntry } from '../src/workers/waiting/registry.js';
import { startTestRedis, type TestRedis } from './helpers/redis-server.js';

let server: TestRedis;
let redis: Redis;
before(async () => {
  server = await startTestRedis();
  redis = new Redis(server.url);
});
after(async () => {
  redis?.disconnect();
  await server?.stop();
});

const entry = (operationId: string, name: string, until: 'stopped' | 'gone'): WaitEntry => ({
  operationId,
  name,
  provider: 'upcloud',
  account: 'upcloud-account',
  wait: { providerId: 'server-1', until, label: `server-1 ${until}`, since: Date.now() },
  deadline: Date.now() + 60_000,
});

/**
 * Two watchers' rounds can overlap when one outlives its lease. The slow one comes back after
 * the other has ended the wait and the operation has moved on to its next wait (a delete's
 * stop is over, the delete is sent, now it waits for the server to be gone). It must not
 * write the outcome it found for the finished wait (the server gone "while waiting for it to
 * stop" would fail the delete), nor bring back the old wait's schedule or spec.
 */
test('a round that comes back after its wait was ended and replaced writes nothing', async () => {
  const keys = new Keys('t' + randomBytes(4).toString('hex'));
  const registry = new WaitRegistry(redis, keys);
  const op = 'op-1';
  const stop = entry(op, 'delete#0', 'stopped');
  await registry.register(stop, Date.now());
  const slowRoundSaw = await registry.all('upcloud-account');

  // The other watcher's round: the stop is over; the operation sends the delete and waits again.
  const done = { state: 'done' as const, server: null };
  assert.deepEqual([...(await registry.record('upcloud-account', [{ entry: stop, check: done }], []))], [op]);
  const gone = entry(op, 'delete#1', 'gone');
  await registry.register(gone, Date.now() + 1000);

  // The slow round comes back: it saw the old wait, and the server is gone by now.
  const stale = { state: 'failed' as const, code: 'PROVIDER_NOT_FOUND', message: 'the server disappeared while waiting for server-1 to stop' };
  const written = await registry.record('upcloud-account', [{ entry: slowRoundSaw[0]!, check: stale }], []);
  assert.equal(written.size, 0, 'no outcome written');
  assert.deepEqual(JSON.parse((await redis.hget(keys.journal(op), 'w:delete#0'))!), done, 'the first outcome stands');
  assert.equal(await redis.hexists(keys.journal(op), 'w:delete#1'), 0);
  const [still] = await registry.all('upcloud-account');
  assert.equal(still?.name, 'delete#1', 'the new wait is still registered');

  // Nor does a stale "still waiting" bring the old spec back.
  await registry.record('upcloud-account', [], [{ entry: { ...slowRoundSaw[0]!, lastStatus: 'started' }, nextLookAt: Date.now() + 5000, changed: true }]);
  const [after] = await registry.all('upcloud-account');
  assert.equal(after?.name, 'delete#1');
  assert.equal(after?.lastStatus, undefined);
});
