import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, beforeEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { ApiKeyStore, narrowTo, type ApiKeyRecord } from '../src/core/auth/api-keys.js';
import type { Identity } from '../src/core/auth/identity.js';
import { ForbiddenError, ValidationError } from '../src/common/errors.js';
import { Keys } from '../src/core/keys.js';
import { startTestRedis, type TestRedis } from './helpers/redis-server.js';

const KEY_SHAPE = /^pe_k[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/;

const root: Identity = { kind: 'user', username: 'root', admin: true, workspaces: {} };
const alice: Identity = { kind: 'user', username: 'alice', admin: false, workspaces: { dev: 'operator', prod: 'viewer' } };
const bob: Identity = { kind: 'user', username: 'bob', admin: false, workspaces: { dev: 'admin' } };

const secretOf = (key: string) => key.slice(key.indexOf('_', 3) + 1);

async function eventually<T>(read: () => Promise<T>, done: (v: T) => boolean, ms = 2000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (done(v) || Date.now() > until) return v;
    await sleep(10);
  }
}

describe('API key store', () => {
  let server: TestRedis;
  let redis: Redis;
  let keys: Keys;
  let store: ApiKeyStore;

  before(async () => {
    server = await startTestRedis();
    redis = new Redis(server.url);
  });
  after(async () => {
    redis?.disconnect();
    await server?.stop();
  });
  beforeEach(() => {
    keys = new Keys('t' + randomBytes(4).toString('hex'));
    store = new ApiKeyStore(redis, keys);
  });

  /** Every value under this test's prefix: hashes, sorted sets and strings. */
  async function everythingStored(): Promise<string> {
    const out: string[] = [];
    let cursor = '0';
    do {
      const [next, names] = await redis.scan(cursor, 'MATCH', `${keys.prefix}:*`, 'COUNT', 100);
      cursor = next;
      for (const name of names) {
        out.push(name);
        const type = await redis.type(name);
        if (type === 'hash') out.push(...Object.entries(await redis.hgetall(name)).flat());
        else if (type === 'zset') out.push(...(await redis.zrange(name, '0', '-1')));
        else if (type === 'string') out.push((await redis.get(name)) ?? '');
      }
    } while (cursor !== '0');
    return out.join('\n');
  }

  test('create shows the key once; Redis holds only its SHA-256', async () => {
    const { record, key } = await store.create(alice, { name: 'ci' });
    assert.match(key, KEY_SHAPE);
    assert.ok(key.startsWith(record.prefix), 'the prefix is the start of the key');
    assert.equal(record.prefix.length, `pe_${record.id}_`.length + 4);
    assert.equal(record.user_id, 'alice');
    assert.equal(record.last_used, null);
    assert.equal(record.revoked_at, null);
    assert.ok(!JSON.stringify(record).includes(secretOf(key)));

    const raw = await redis.hgetall(keys.apiKey(record.id));
    assert.equal(raw.hash, createHash('sha256').update(key).digest('hex'));
    assert.notEqual(raw.hash, key);
    const stored = await everythingStored();
    assert.ok(!stored.includes(secretOf(key)), 'the secret is nowhere in Redis');
    assert.ok(!stored.includes(key));

    const got = await store.get(record.id);
    assert.deepEqual(got, record);
    assert.ok(!('hash' in got!));
  });

  test('authenticate accepts the key and refuses wrong secrets and malformed input', async () => {
    const { record, key } = await store.create(alice, { name: 'ci' });
    assert.deepEqual((await store.authenticate(key))?.id, record.id);

    const secret = secretOf(key);
    const flipped = secret[0] === 'A' ? 'B' + secret.slice(1) : 'A' + secret.slice(1);
    const other = await store.create(bob, { name: 'other' });
    const bad: unknown[] = [
      `pe_${record.id}_${flipped}`,
      `pe_${record.id}_${secretOf(other.key)}`, // another key's secret under this id
      `pe_k000000000000_${secret}`, // unknown id
      '',
      'pe_',
      'pe_x_y_z',
      `pe_${record.id}_`,
      `${key}\n`,
      ` ${key}`,
      key.toUpperCase(),
      key.slice(0, -1),
      `${key}A`,
      'x'.repeat(10 * 1024),
      `pe_${record.id}_${'x'.repeat(10 * 1024)}`,
      `pe_${record.id}_${'é'.repeat(43)}`,
      '🔑'.repeat(30),
      `pe_${record.id}_${secret.slice(0, 41)}🔑`,
      `pe_${record.id}_${secret.slice(0, 42)}\u0000`,
      undefined,
      null,
      42,
      { toString: () => key },
    ];
    for (const candidate of bad) {
      assert.equal(await store.authenticate(candidate as string), null, `refused: ${JSON.stringify(candidate)?.slice(0, 60)}`);
    }
    assert.equal((await store.authenticate(key))?.id, record.id, 'still valid after the failures');
  });

  test('list shows the owner\'s keys newest first, revoked ones included, never a secret', async () => {
    const a = await store.create(alice, { name: 'first' });
    await sleep(5);
    const b = await store.create(alice, { name: 'second' });
    await sleep(5);
    const c = await store.create(alice, { name: 'third' });
    await store.create(bob, { name: 'bobs' });
    await store.revoke(b.record.id);

    const listed = await store.list('alice');
    assert.deepEqual(listed.map((r) => r.name), ['third', 'second', 'first']);
    assert.ok(listed[1]!.revoked_at);
    assert.equal(listed[0]!.revoked_at, null);
    const text = JSON.stringify(listed);
    for (const { key } of [a, b, c]) assert.ok(!text.includes(secretOf(key)));
    assert.ok(!text.includes('"hash"'));
    assert.deepEqual(Object.keys(listed[0]!).sort(), ['admin', 'created_at', 'id', 'last_used', 'name', 'prefix', 'revoked_at', 'user_id', 'workspaces']);
    assert.deepEqual((await store.list('bob')).map((r) => r.name), ['bobs']);
    assert.deepEqual(await store.list('nobody'), []);
  });

  test('revoke makes the key useless and keeps the first revocation time', async () => {
    const { record, key } = await store.create(alice, { name: 'ci' });
    const first = await store.revoke(record.id);
    assert.ok(first?.revoked_at);
    assert.equal(await store.authenticate(key), null);
    await sleep(5);
    const second = await store.revoke(record.id);
    assert.equal(second?.revoked_at, first.revoked_at);
    assert.equal(await store.revoke('k000000000000'), null);
    assert.equal(await store.revoke('../../etc'), null);
    assert.equal(await redis.exists(keys.apiKey('k000000000000')), 0, 'revoking an unknown id creates nothing');
    assert.equal(await store.rotate(record.id), null, 'a revoked key cannot be rotated back to life');
  });

  test('rotate replaces the key: the old one is refused, the new one keeps name and grants', async () => {
    const { record, key } = await store.create(alice, { name: 'deploy', workspaces: ['dev'], role: 'developer' });
    const rotated = await store.rotate(record.id);
    assert.ok(rotated);
    assert.match(rotated.key, KEY_SHAPE);
    assert.notEqual(rotated.record.id, record.id);
    assert.equal(rotated.record.name, 'deploy');
    assert.deepEqual(rotated.record.workspaces, { dev: 'developer' });
    assert.equal(rotated.record.user_id, 'alice');
    assert.equal(await store.authenticate(key), null);
    assert.equal((await store.authenticate(rotated.key))?.id, rotated.record.id);
    assert.equal(await store.get(record.id), null);
    assert.deepEqual((await store.list('alice')).map((r) => r.id), [rotated.record.id]);
    assert.ok(!(await everythingStored()).includes(secretOf(rotated.key)));
    assert.equal(await store.rotate(record.id), null, 'the old id is gone');
    assert.equal(await store.rotate('k000000000000'), null);

    const again = await store.regenerate(rotated.record.id);
    assert.ok(again);
    assert.equal(await store.authenticate(rotated.key), null);
    assert.equal((await store.authenticate(again.key))?.name, 'deploy');
  });

  test('concurrent rotations of one key leave exactly one usable key', async () => {
    const { record } = await store.create(alice, { name: 'race' });
    const results = await Promise.all(Array.from({ length: 8 }, () => store.rotate(record.id)));
    const winners = results.filter((r) => r !== null);
    assert.equal(winners.length, 1);
    assert.deepEqual((await store.list('alice')).map((r) => r.id), [winners[0]!.record.id]);
    assert.ok(await store.authenticate(winners[0]!.key));
  });

  test('a rotation racing a revoke never leaves a usable key behind a revoke that succeeded', async () => {
    for (let i = 0; i < 10; i++) {
      const { record, key } = await store.create(alice, { name: `r${i}` });
      const [rotated, revoked] = await Promise.all([store.rotate(record.id), store.revoke(record.id)]);
      if (revoked) {
        assert.equal(rotated, null);
        assert.equal(await store.authenticate(key), null);
      } else {
        assert.ok(rotated);
      }
    }
  });

  test('grants never exceed the creator\'s', async () => {
    await assert.rejects(store.create(alice, { name: 'x', workspaces: ['staging'] }), (err) => err instanceof ForbiddenError && /staging/.test(err.message));
    await assert.rejects(store.create(alice, { name: 'x', workspaces: ['dev', 'staging'] }), ForbiddenError);
    await assert.rejects(store.create(alice, { name: 'x', workspaces: ['constructor'] }), ForbiddenError);
    await assert.rejects(store.create(alice, { name: 'x', role: 'admin' }), ForbiddenError, 'no global admin from a non-admin');
    assert.equal((await store.list('alice')).length, 0, 'a refused create stores nothing');

    const clipped = await store.create(alice, { name: 'x', workspaces: ['dev'], role: 'admin' });
    assert.deepEqual(clipped.record.workspaces, { dev: 'operator' });
    assert.equal(clipped.record.admin, false);
    const all = await store.create(alice, { name: 'x' });
    assert.deepEqual(all.record.workspaces, { dev: 'operator', prod: 'viewer' });
    const lowered = await store.create(alice, { name: 'x', role: 'developer' });
    assert.deepEqual(lowered.record.workspaces, { dev: 'developer', prod: 'viewer' });

    const global = await store.create(root, { name: 'g' });
    assert.equal(global.record.admin, true);
    assert.deepEqual(global.record.workspaces, {});
    assert.equal((await store.create(root, { name: 'g', role: 'admin' })).record.admin, true);
    const scoped = await store.create(root, { name: 's', workspaces: ['dev', 'ops'] });
    assert.equal(scoped.record.admin, false);
    assert.deepEqual(scoped.record.workspaces, { dev: 'admin', ops: 'admin' });
    const scopedViewer = await store.create(root, { name: 's', workspaces: ['dev'], role: 'viewer' });
    assert.deepEqual(scopedViewer.record.workspaces, { dev: 'viewer' });
    await assert.rejects(store.create(root, { name: 's', role: 'viewer' }), ValidationError);
  });

  test('a key may create keys for its owner, bounded by what the key may do', async () => {
    const parent = await store.create(alice, { name: 'parent', role: 'developer' });
    const asKey = narrowTo(alice, parent.record);
    const child = await store.create(asKey, { name: 'child', role: 'operator' });
    assert.equal(child.record.user_id, 'alice');
    assert.deepEqual(child.record.workspaces, { dev: 'developer', prod: 'viewer' });
    await assert.rejects(store.create(asKey, { name: 'x', role: 'admin' }), ForbiddenError);
    const scopedParent = await store.create(alice, { name: 'p2', workspaces: ['prod'] });
    await assert.rejects(store.create(narrowTo(alice, scopedParent.record), { name: 'x', workspaces: ['dev'] }), ForbiddenError);
    assert.deepEqual((await store.list('alice')).map((r) => r.name).sort(), ['child', 'p2', 'parent']);

    const rootKey = narrowTo(root, (await store.create(root, { name: 'rk' })).record);
    assert.equal((await store.create(rootKey, { name: 'rk2' })).record.admin, true);
  });

  test('names and inputs are validated', async () => {
    for (const name of ['', '   ', 'x'.repeat(101), undefined, 7]) {
      await assert.rejects(store.create(alice, { name } as never), ValidationError, `name ${JSON.stringify(name)}`);
    }
    assert.equal((await store.create(alice, { name: 'x'.repeat(100) })).record.name.length, 100);
    await assert.rejects(store.create(alice, { name: 'x', role: 'owner' } as never), ValidationError);
    await assert.rejects(store.create(alice, { name: 'x', workspaces: [] }), ValidationError);
    await assert.rejects(store.create(root, { name: 'x', workspaces: ['Bad Name'] }), ValidationError);
  });

  test('narrowTo clips a key to what its owner holds now', async () => {
    const { record } = await store.create(alice, { name: 'k' });
    const now = narrowTo(alice, record);
    assert.deepEqual(now, { kind: 'api_key', username: 'alice', keyId: record.id, admin: false, workspaces: { dev: 'operator', prod: 'viewer' } });

    const demoted: Identity = { ...alice, workspaces: { dev: 'viewer' } };
    assert.deepEqual(narrowTo(demoted, record).workspaces, { dev: 'viewer' });
    const promoted: Identity = { ...alice, workspaces: { dev: 'admin', prod: 'admin', staging: 'admin' } };
    assert.deepEqual(narrowTo(promoted, record).workspaces, { dev: 'operator', prod: 'viewer' }, 'a promotion does not widen the key');
    const madeAdmin: Identity = { ...alice, admin: true };
    assert.deepEqual(narrowTo(madeAdmin, record), { kind: 'api_key', username: 'alice', keyId: record.id, admin: false, workspaces: { dev: 'operator', prod: 'viewer' } });

    const global = (await store.create(root, { name: 'g' })).record;
    assert.equal(narrowTo(root, global).admin, true);
    const rootDemoted: Identity = { kind: 'user', username: 'root', admin: false, workspaces: { dev: 'developer' } };
    assert.deepEqual(narrowTo(rootDemoted, global), { kind: 'api_key', username: 'root', keyId: global.id, admin: false, workspaces: { dev: 'developer' } });

    const stray: ApiKeyRecord = { ...record, workspaces: { constructor: 'admin', __proto__: 'admin' } as never };
    assert.deepEqual(narrowTo({ ...alice, workspaces: {} }, stray).workspaces, {});

    const revoked = (await store.revoke(record.id))!;
    assert.deepEqual(narrowTo(alice, revoked).workspaces, {});
    assert.throws(() => narrowTo(bob, global));
  });

  test('last_used is written on use, at most once a minute', async () => {
    const { record, key } = await store.create(alice, { name: 'k' });
    const lastUsed = () => redis.hget(keys.apiKey(record.id), 'last_used');
    const before = Date.now();
    assert.ok(await store.authenticate(key));
    const first = await eventually(lastUsed, (v) => v !== null);
    assert.ok(first && Date.parse(first) >= before - 5);
    assert.equal((await store.get(record.id))?.last_used, first);

    await sleep(20);
    await Promise.all(Array.from({ length: 10 }, () => store.authenticate(key)));
    await redis.ping();
    assert.equal(await lastUsed(), first, 'within a minute nothing is written');

    // Count the writes Redis sees while many requests use a key whose last_used is stale.
    await redis.config('SET', 'notify-keyspace-events', 'Kh');
    const watcher = new Redis(server.url);
    try {
      let writes = 0;
      const channel = `__keyspace@0__:${keys.apiKey(record.id)}`;
      watcher.on('message', (ch: string, event: string) => {
        if (ch === channel && event === 'hset') writes++;
      });
      await watcher.subscribe(channel);
      const stale = new Date(Date.now() - 2 * 60_000).toISOString();
      await redis.hset(keys.apiKey(record.id), 'last_used', stale);
      await eventually(async () => writes, (n) => n === 1);
      writes = 0;

      const started = Date.now();
      const answers = await Promise.all(Array.from({ length: 30 }, () => store.authenticate(key)));
      assert.ok(answers.every((a) => a?.id === record.id));
      const refreshed = await eventually(lastUsed, (v) => v !== stale);
      assert.ok(refreshed && Date.parse(refreshed) >= started - 5);
      await sleep(100);
      assert.equal(writes, 1, 'thirty concurrent uses write last_used once');
    } finally {
      watcher.disconnect();
      await redis.config('SET', 'notify-keyspace-events', '');
    }
  });

  test('last_used never revives a key deleted meanwhile', async () => {
    const { record, key } = await store.create(alice, { name: 'k' });
    const rotated = await Promise.all([store.authenticate(key), store.rotate(record.id)]);
    assert.ok(rotated[1]);
    await sleep(50);
    assert.equal(await redis.exists(keys.apiKey(record.id)), 0);
  });

  test('deleteAllOf removes every key of the user and no one else\'s', async () => {
    const made = await Promise.all([1, 2, 3].map((i) => store.create(alice, { name: `a${i}` })));
    const bobs = await store.create(bob, { name: 'b' });
    await store.deleteAllOf('alice');
    assert.deepEqual(await store.list('alice'), []);
    for (const { key, record } of made) {
      assert.equal(await store.authenticate(key), null);
      assert.equal(await redis.exists(keys.apiKey(record.id)), 0);
    }
    assert.equal(await redis.exists(keys.apiKeysOf('alice')), 0);
    assert.ok(await store.authenticate(bobs.key));
    await store.deleteAllOf('nobody');
  });
});
