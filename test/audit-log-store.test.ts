import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { AuditLog, scrubSecrets, type AuditEntry, type AuditEntryInput, type AuditFilter } from '../src/core/audit.js';
import { ValidationError } from '../src/common/errors.js';
import { Keys } from '../src/core/keys.js';
import { rejectsWith } from './helpers/rejects-with.js';
import { startTestRedis, type TestRedis } from './helpers/redis-server.js';

const DAY = 24 * 3600;

function entry(overrides: Partial<AuditEntryInput> = {}): AuditEntryInput {
  return { actor: 'alice', actor_kind: 'user', action: 'POST /v1/servers/create', result: 'success', status: 202, ...overrides };
}

/** Every page of a listing, following cursors until `next` is null. */
async function allPages(log: AuditLog, filter: AuditFilter, limit: number): Promise<{ pages: AuditEntry[][]; ids: string[] }> {
  const pages: AuditEntry[][] = [];
  let cursor: string | null = null;
  for (;;) {
    const page = await log.list(filter, limit, cursor);
    pages.push(page.items);
    assert.ok(page.items.length <= limit);
    if (page.next === null) break;
    assert.equal(page.items.length, limit, 'only the last page may be short');
    assert.equal(page.next, page.items[page.items.length - 1]!.id);
    cursor = page.next;
    assert.ok(pages.length < 1000, 'pagination does not end');
  }
  return { pages, ids: pages.flat().map((e) => e.id) };
}

function newestFirst(ids: string[]): boolean {
  const key = (id: string) => id.split('-').map(BigInt) as [bigint, bigint];
  return ids.every((id, i) => {
    if (i === 0) return true;
    const [am, as] = key(ids[i - 1]!);
    const [bm, bs] = key(id);
    return am > bm || (am === bm && as > bs);
  });
}

describe('the audit log store', () => {
  let server: TestRedis;
  let redis: Redis;
  const fresh = () => new Keys('t' + randomBytes(4).toString('hex'));

  before(async () => {
    server = await startTestRedis();
    redis = new Redis(server.url);
  });
  after(async () => {
    await redis?.quit();
    await server?.stop();
  });

  test('entries come back newest first with every field, and one append is one XADD', async () => {
    const keys = fresh();
    const log = new AuditLog(redis, keys, DAY);
    const full: AuditEntryInput = {
      actor: 'bob',
      actor_kind: 'api_key',
      key_id: 'k_123',
      action: 'POST /v1/servers/create',
      resource_type: 'server',
      resource_id: 'srv-9',
      workspace: 'production',
      result: 'denied',
      status: 403,
      ip: '203.0.113.7',
      trace_id: 'trace-abc',
      detail: { hostname: 'web-01', tags: ['a', 'b'], nested: { n: 1, ok: true, none: null } },
    };
    const before = Date.now();
    await log.append(entry({ actor: 'first' }));
    await log.append(entry({ actor: 'second', actor_kind: 'anonymous', result: 'failed', status: 500 }));

    await redis.config('RESETSTAT');
    await log.append(full);
    const stats = await redis.info('commandstats');
    const calls = [...stats.matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)].filter(([, cmd]) => cmd !== 'config' && cmd !== 'info');
    assert.deepEqual(calls.map(([, cmd, n]) => [cmd, n]), [['xadd', '1']]);
    const afterAppend = Date.now();

    const { items, next } = await log.list({}, 10, null);
    assert.equal(next, null);
    assert.deepEqual(items.map((e) => e.actor), ['bob', 'second', 'first']);
    assert.ok(newestFirst(items.map((e) => e.id)));
    const { id, at, ...rest } = items[0]!;
    assert.deepEqual(rest, full);
    assert.match(id, /^\d+-\d+$/);
    assert.equal(new Date(at).toISOString(), at);
    assert.ok(Date.parse(at) >= before - 1000 && Date.parse(at) <= afterAppend + 1000, 'at is the append time');
    assert.equal(Date.parse(at), Number(id.split('-')[0]));
    assert.deepEqual(
      { ...items[1], id: undefined, at: undefined },
      { ...entry({ actor: 'second', actor_kind: 'anonymous', result: 'failed', status: 500 }), id: undefined, at: undefined },
    );

    // Stored compactly, as one JSON field, absent fields left out.
    const raw = await redis.xrange(keys.audit(), '-', '+');
    assert.equal(raw.length, 3);
    for (const [, fields] of raw) {
      assert.equal(fields.length, 2);
      assert.equal(fields[0], 'e');
      assert.equal(fields[1], JSON.stringify(JSON.parse(fields[1]!)));
    }
    assert.deepEqual(Object.keys(JSON.parse(raw[0]![1][1]!)).sort(), ['action', 'actor', 'actor_kind', 'result', 'status']);
  });

  test('cursors visit every entry exactly once, across many read batches', async () => {
    const log = new AuditLog(redis, fresh(), DAY);
    const n = 457;
    for (let i = 0; i < n; i++) {
      await log.append(entry({ actor: `u${i % 10}`, resource_id: String(i), workspace: i % 3 === 0 ? 'ws-a' : 'ws-b' }));
    }

    for (const limit of [1, 7, 50, 200, 456, 457, 1000]) {
      const { ids, pages } = await allPages(log, {}, limit);
      assert.equal(ids.length, n, `limit ${limit}`);
      assert.equal(new Set(ids).size, n);
      assert.ok(newestFirst(ids));
      assert.equal(pages.length, Math.ceil(n / limit), `limit ${limit}: no empty last page`);
      assert.deepEqual(pages.flat().map((e) => Number(e.resource_id)), [...Array(n).keys()].reverse());
    }

    // A selective filter: its matches are spread over several 200-entry batches.
    const expected = [...Array(n).keys()].filter((i) => i % 10 === 3).reverse().map(String);
    for (const limit of [1, 5, 46, 100]) {
      const { pages } = await allPages(log, { actor: 'u3' }, limit);
      assert.deepEqual(pages.flat().map((e) => e.resource_id), expected, `limit ${limit}`);
      assert.equal(pages.length, Math.ceil(expected.length / limit), `limit ${limit}: next is null when nothing older matches`);
    }

    // The bound of a page is the cursor, so entries appended meanwhile do not shift the pages.
    const first = await log.list({ workspace: 'ws-a' }, 10, null);
    await log.append(entry({ workspace: 'ws-a', resource_id: 'late' }));
    const second = await log.list({ workspace: 'ws-a' }, 10, first.next);
    const seen = [...first.items, ...second.items].map((e) => e.resource_id);
    assert.equal(new Set(seen).size, 20);
    assert.ok(!seen.includes('late'));
    assert.deepEqual(seen, [...Array(n).keys()].filter((i) => i % 3 === 0).reverse().slice(0, 20).map(String));
  });

  test('each filter, and filters together', async () => {
    const log = new AuditLog(redis, fresh(), DAY);
    const rows: AuditEntryInput[] = [
      entry({ resource_id: '0', workspace: 'a', actor: 'alice', action: 'POST /v1/servers/create', result: 'success' }),
      entry({ resource_id: '1', workspace: 'b', actor: 'bob', action: 'DELETE /v1/servers/x', result: 'denied', status: 403 }),
      entry({ resource_id: '2', workspace: 'c', actor: 'alice', action: 'DELETE /v1/servers/x', result: 'failed', status: 500 }),
      entry({ resource_id: '3', actor: 'anonymous', actor_kind: 'anonymous', action: 'auth.login_failed', result: 'denied', status: 401 }),
      entry({ resource_id: '4', workspace: 'a', actor: 'bob', action: 'POST /v1/servers/create', result: 'success' }),
      entry({ resource_id: '5', workspace: 'b', actor: 'alice', action: 'auth.login_failed', result: 'denied', status: 401 }),
    ];
    for (const r of rows) {
      await log.append(r);
      // Distinct milliseconds, so since/until can tell every entry apart.
      await sleep(3);
    }
    const got = async (filter: AuditFilter) => {
      const { items, next } = await log.list(filter, 100, null);
      assert.equal(next, null);
      return items.map((e) => e.resource_id).join(',');
    };

    assert.equal(await got({}), '5,4,3,2,1,0');
    assert.equal(await got({ workspaces: null }), '5,4,3,2,1,0');
    assert.equal(await got({ workspaces: ['a', 'b'] }), '5,4,1,0', 'an entry without a workspace is outside every list');
    assert.equal(await got({ workspaces: ['c'] }), '2');
    assert.equal(await got({ workspaces: [] }), '');
    assert.equal(await got({ workspaces: ['zzz'] }), '');
    assert.equal(await got({ workspace: 'a' }), '4,0');
    assert.equal(await got({ workspaces: ['a', 'b'], workspace: 'b' }), '5,1');
    assert.equal(await got({ workspaces: ['a'], workspace: 'b' }), '', 'a workspace outside the allowed list shows nothing');
    assert.equal(await got({ actor: 'alice' }), '5,2,0');
    assert.equal(await got({ action: 'auth.login_failed' }), '5,3');
    assert.equal(await got({ action: 'DELETE /v1/servers/x' }), '2,1');
    assert.equal(await got({ result: 'denied' }), '5,3,1');
    assert.equal(await got({ result: 'failed' }), '2');
    assert.equal(await got({ result: 'success' }), '4,0');
    assert.equal(await got({ actor: 'alice', result: 'denied' }), '5');

    const all = (await log.list({}, 100, null)).items.reverse();
    const at = (i: number) => all[i]!.at;
    assert.equal(await got({ since: at(2) }), '5,4,3,2', 'since is inclusive');
    assert.equal(await got({ until: at(2) }), '2,1,0', 'until is inclusive');
    assert.equal(await got({ since: at(1), until: at(4) }), '4,3,2,1');
    assert.equal(await got({ since: at(1), until: at(4), actor: 'bob' }), '4,1');
    assert.equal(await got({ since: at(3), until: at(1) }), '');
    assert.equal(await got({ since: new Date(Date.parse(at(5)) + 1).toISOString() }), '');
    // Other ISO spellings of the same instant.
    assert.equal(await got({ since: new Date(at(3)).toISOString().replace('Z', '+00:00') }), '5,4,3');

    // since/until with pagination.
    const { pages } = await allPages(log, { since: at(1), until: at(4) }, 3);
    assert.deepEqual(pages.map((p) => p.map((e) => e.resource_id)), [['4', '3', '2'], ['1']]);
    const filtered = await allPages(log, { workspaces: ['a', 'b'] }, 1);
    assert.deepEqual(filtered.ids.map((id) => all.find((e) => e.id === id)!.resource_id), ['5', '4', '1', '0']);
  });

  test('no secret reaches the log, and long strings are cut', async () => {
    const keys = fresh();
    const log = new AuditLog(redis, keys, DAY);
    const long = 'x'.repeat(5000);
    await log.append(
      entry({
        trace_id: 't'.repeat(2000),
        detail: {
          user: { name: 'carol', password: 'hunter2-pw', profile: { token: 'tok-SECRET-1', theme: 'dark' } },
          body: { hostname: 'web-01', user_data: '#cloud-config\nsecret: ud-SECRET-2', tags: ['x'] },
          headers: { Authorization: 'Bearer jwt-SECRET-3', 'x-api-key': 'apikey-SECRET-4', accept: 'json' },
          keys: [{ key: 'raw-SECRET-5', id: 'k1' }, { private_key: '-----BEGIN SECRET-6' }],
          clientSecret: 'cs-SECRET-7',
          passphrase: 'pp-SECRET-8',
          apiKey: { nested: 'ak-SECRET-9' },
          script: long,
        },
      }),
    );

    const raw = JSON.stringify(await redis.xrange(keys.audit(), '-', '+'));
    for (let i = 1; i <= 9; i++) assert.ok(!raw.includes(`SECRET-${i}`), `secret ${i} is stored`);
    assert.ok(!raw.includes('hunter2-pw'));
    assert.ok(!raw.includes('x'.repeat(513)));

    const [stored] = (await log.list({}, 1, null)).items;
    assert.deepEqual(stored!.detail, {
      user: { name: 'carol', password: '[redacted]', profile: { token: '[redacted]', theme: 'dark' } },
      body: { hostname: 'web-01', user_data: '[redacted]', tags: ['x'] },
      headers: { Authorization: '[redacted]', 'x-api-key': '[redacted]', accept: 'json' },
      keys: [{ key: '[redacted]', id: 'k1' }, { private_key: '[redacted]' }],
      clientSecret: '[redacted]',
      passphrase: '[redacted]',
      apiKey: '[redacted]',
      script: 'x'.repeat(512) + '…',
    });
    assert.equal(stored!.trace_id, 't'.repeat(512) + '…', 'top-level strings are cut too');
  });

  test('scrubSecrets on its own: depth limit, cycles, odd values', () => {
    assert.deepEqual(scrubSecrets({ a: { b: { c: { d: { e: { f: { g: 1 } } } } } } }), { a: { b: { c: { d: { e: { f: '[too deep]' } } } } } });
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    assert.doesNotThrow(() => JSON.stringify(scrubSecrets(cyclic)));
    assert.deepEqual(scrubSecrets(['a', { Password: 'p' }, undefined]), ['a', { Password: '[redacted]' }, null]);
    assert.deepEqual(scrubSecrets({ when: new Date(0), n: 10n, f: () => 1, u: undefined, buf: Buffer.from('secret bytes') }), {
      when: '1970-01-01T00:00:00.000Z',
      n: '10',
      buf: '[binary 12 bytes]',
    });
    assert.deepEqual(scrubSecrets({ keyboard: 'k', monkey: 'm', key_id: 'id' }), { keyboard: 'k', monkey: 'm', key_id: 'id' }, 'only a key named exactly "key" is a key');
    assert.equal(scrubSecrets('y'.repeat(512)), 'y'.repeat(512));
    const input = { token: 't', inner: { ok: 1 } };
    scrubSecrets(input);
    assert.deepEqual(input, { token: 't', inner: { ok: 1 } }, 'the input is not changed');
  });

  test('bad arguments are refused as validation errors', async () => {
    const log = new AuditLog(redis, fresh(), DAY);
    for (const cursor of ['nope', '123', '(1-0', '1-0 ']) {
      assert.ok((await rejectsWith(log.list({}, 10, cursor))) instanceof ValidationError, cursor);
    }
    assert.ok((await rejectsWith(log.list({ since: 'yesterday' }, 10, null))) instanceof ValidationError);
    assert.ok((await rejectsWith(log.list({ until: '2024-13-45T00:00:00Z' }, 10, null))) instanceof ValidationError);
    assert.ok((await rejectsWith(log.list({}, 0, null))) instanceof ValidationError);
    assert.ok((await rejectsWith(log.list({}, 1.5, null))) instanceof ValidationError);
    assert.throws(() => new AuditLog(redis, fresh(), 0), RangeError);
    assert.deepEqual(await log.list({}, 10, null), { items: [], next: null }, 'an empty log');
  });

  test('entries older than the retention are trimmed by later appends', async () => {
    const original = (await redis.config('GET', 'stream-node-max-entries')) as string[];
    // MINID ~ drops whole stream nodes only; one entry per node makes the trim exact.
    await redis.config('SET', 'stream-node-max-entries', '1');
    try {
      const keys = fresh();
      const log = new AuditLog(redis, keys, 1);
      for (let i = 0; i < 5; i++) await log.append(entry({ resource_id: `old${i}` }));
      assert.equal(await redis.xlen(keys.audit()), 5);
      await sleep(1300);
      await log.append(entry({ resource_id: 'new' }));
      assert.equal(await redis.xlen(keys.audit()), 1);
      assert.deepEqual((await log.list({}, 10, null)).items.map((e) => e.resource_id), ['new']);
    } finally {
      await redis.config('SET', 'stream-node-max-entries', original[1]!);
    }
  });

  test('list never shows entries past the retention, even ones the trim left behind', async () => {
    assert.equal(((await redis.config('GET', 'stream-node-max-entries')) as string[])[1], '100');
    const keys = fresh();
    const log = new AuditLog(redis, keys, 1);
    for (let i = 0; i < 5; i++) await log.append(entry({ resource_id: `old${i}`, actor: 'x' }));
    await sleep(1300);
    await log.append(entry({ resource_id: 'new', actor: 'x' }));
    // The old entries share a node with the new one, so the approximate trim keeps them all.
    assert.equal(await redis.xlen(keys.audit()), 6);
    assert.deepEqual((await log.list({}, 10, null)).items.map((e) => e.resource_id), ['new']);
    assert.deepEqual((await log.list({ actor: 'x' }, 1, null)), { items: (await log.list({}, 1, null)).items, next: null });
    assert.deepEqual((await log.list({ since: new Date(0).toISOString() }, 10, null)).items.map((e) => e.resource_id), ['new']);
    // A longer retention over the same stream still sees them: they are hidden, not lost.
    const longer = new AuditLog(redis, keys, DAY);
    assert.equal((await longer.list({}, 10, null)).items.length, 6);
  });
});
