import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Operation, OperationStatus, OperationType } from '../src/core/operations/model.js';
import type { OperationFilters, OperationStore } from '../src/core/operations/store.js';
import type { ProviderName } from '../src/common/provider.js';
import { readRows, ROWS_PER_BUCKET } from '../src/core/operations/rows.js';
import { CliHome } from './helpers/cli.js';
import { TestSystem } from './helpers/system.js';
import { acceptedOperation } from '../bench/accepted-operation.js';

/** Rows one page may read here: far fewer than the operations stored. */
const BUDGET = 250;
const STORED = 5000;
const WORKSPACES = ['default', 'production', 'staging', 'w'] as const;
const PROVIDERS: ProviderName[] = ['digitalocean', 'hetzner', 'vultr', 'upcloud'];
const TYPES: OperationType[] = ['server.create', 'server.delete', 'server.action', 'workflow.cluster_create'];

function accepted(workspace: string, provider: ProviderName, type: OperationType): Operation {
  return acceptedOperation({ type, workspace, provider, target: null, request: { workspace, provider }, trace_id: '', requested_by: 'admin' });
}

/** Writes an operation through the store and moves it to `status` as a worker (or a cancel) would. */
async function write(store: OperationStore, op: Operation, status: OperationStatus): Promise<void> {
  assert.equal((await store.create(op)).outcome, 'created');
  if (status === 'pending') return;
  if (status === 'cancelled') {
    assert.equal((await store.transition(op.id, ['pending'], 'cancelled')).outcome, 'ok');
    return;
  }
  assert.equal((await store.transition(op.id, ['pending'], 'running')).outcome, 'ok');
  if (status !== 'running') assert.equal((await store.transition(op.id, ['running'], status)).outcome, 'ok');
}

describe('a rare filter is answered in bounded pages that together hold exactly its operations', () => {
  let sys: TestSystem;
  let store: OperationStore;
  /** Every stored operation's filter fields, by id. */
  const stored = new Map<string, { status: OperationStatus; workspace: string; provider: ProviderName; type: OperationType }>();

  before(async () => {
    sys = await TestSystem.start({ workers: 0, env: { OPERATIONS_LIST_SCAN_BUDGET: String(BUDGET) } });
    store = sys.api.ctx.store;
    // The rare combination (failed in staging on hetzner) is one operation in 150; failed ones
    // are common elsewhere, so even the smallest index the filter names is many budgets long.
    const plan = Array.from({ length: STORED }, (_, i) => {
      const rare = i % 150 === 7;
      const status: OperationStatus = rare ? 'failed' : (['failed', 'completed', 'failed', 'pending', 'cancelled', 'running'] as const)[i % 6]!;
      const workspace = rare ? 'staging' : WORKSPACES[(i >> 1) % 4]!;
      const provider = rare ? 'hetzner' : workspace === 'staging' && status === 'failed' ? 'digitalocean' : PROVIDERS[(i >> 3) % 4]!;
      return { status, op: accepted(workspace, provider, TYPES[(i >> 2) % 4]!) };
    });
    for (let i = 0; i < plan.length; i += 100) {
      await Promise.all(plan.slice(i, i + 100).map(({ op, status }) => write(store, op, status)));
    }
    for (const { op, status } of plan) stored.set(op.id, { status, workspace: op.workspace, provider: op.provider, type: op.type });
  });
  after(async () => {
    await sys?.stop();
  });

  /** Ids newest first (by creation sequence) of the stored operations `keep` picks. */
  async function newestFirst(keep: (o: { status: OperationStatus; workspace: string; provider: ProviderName; type: OperationType }) => boolean): Promise<string[]> {
    const ids = [...stored].filter(([, o]) => keep(o)).map(([id]) => id);
    if (ids.length === 0) return [];
    const reads = sys.api.ctx.redis.pipeline();
    for (const id of ids) reads.hget(sys.api.ctx.keys.operation(id), 'seq');
    const seqs = ((await reads.exec()) ?? []).map(([, seq]) => Number(seq));
    return ids.map((id, i) => ({ id, seq: seqs[i]! })).sort((a, b) => b.seq - a.seq).map((x) => x.id);
  }

  /** The rows with `field` = `value` and a sequence above `low` and below `high`: what a page that walks that value between those cursors reads. */
  async function rowsBetween([field, value]: [field: 'status' | 'workspace' | 'provider', value: string], low: number, high: number): Promise<number> {
    const redis = sys.api.ctx.redis;
    let n = 0;
    for (const bucket of await redis.zrange(sys.api.ctx.keys.operationBuckets(field, value), '0', '-1')) {
      n += (await readRows(redis, sys.api.ctx.keys, bucket)).filter((r) => r[field] === value && r.seq > low && r.seq < high).length;
    }
    return n;
  }

  test('the CLI fills a short page from the pages after it: --limit 10 shows the 10 newest matches', async () => {
    const expected = await newestFirst((o) => o.status === 'failed' && o.workspace === 'staging' && o.provider === 'hetzner');
    const first = await sys.request<Operation[]>('GET', '/v1/operations?status=failed&workspace=staging&provider=hetzner&limit=10');
    assert.ok(first.body.length < 10 && first.headers.get('x-next-cursor'), 'the API answers a short page here');
    const home = new CliHome(sys.url, { PE_TOKEN: sys.token });
    try {
      const r = await home.run(['ops', 'list', '--status', 'failed', '--workspace', 'staging', '--provider', 'hetzner', '--limit', '10', '-o', 'json']);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual((JSON.parse(r.stdout) as Operation[]).map((o) => o.id), expected.slice(0, 10));
    } finally {
      home.remove();
    }
  });

  test('over HTTP, with new matching operations arriving between pages: each page reads at most the budget, none is repeated or skipped', async () => {
    const expected = await newestFirst((o) => o.status === 'failed' && o.workspace === 'staging' && o.provider === 'hetzner');
    assert.equal(expected.length, 34);
    // The page script walks the buckets of the rarest value the filter names and matches the others by their masks.
    const k = sys.api.ctx.keys;
    const named: Array<['status' | 'workspace' | 'provider', string]> = [['status', 'failed'], ['workspace', 'staging'], ['provider', 'hetzner']];
    const sizes = await Promise.all(named.map(([field, value]) => sys.api.ctx.redis.zcard(k.operationBuckets(field, value))));
    const walked = named[sizes.indexOf(Math.min(...sizes))]!;
    assert.ok((await rowsBetween(walked, 0, Infinity)) > 4 * BUDGET, 'the rows the filter walks are many budgets long');

    const seen: string[] = [];
    const arrived: string[] = [];
    let path: string | null = '/v1/operations?status=failed&workspace=staging&provider=hetzner&limit=10';
    let before = Infinity;
    let pages = 0;
    let shortWithCursor = 0;
    while (path) {
      const res: { status: number; body: Operation[]; headers: Headers } = await sys.request<Operation[]>('GET', path);
      assert.equal(res.status, 200);
      assert.ok(res.body.length <= 10);
      for (const op of res.body) assert.deepEqual([op.status, op.workspace, op.provider], ['failed', 'staging', 'hetzner']);
      seen.push(...res.body.map((o) => o.id));
      pages++;
      const next = res.headers.get('x-next-cursor');
      // The work of a page: the rows of the walked value between the cursors. It reads whole
      // buckets and stops once it has read its budget, so at most a bucket's rows beyond it.
      const read = await rowsBetween(walked, next === null ? -1 : Number(next) - 1, before);
      assert.ok(read < BUDGET + ROWS_PER_BUCKET, `page ${pages} read ${read} rows, more than the budget ${BUDGET} and a bucket`);
      if (next !== null && res.body.length < 10) shortWithCursor++;
      if (next !== null) before = Number(next);
      path = res.headers.get('link') ? /^<([^>]+)>; rel="next"$/.exec(res.headers.get('link')!)![1]! : null;
      assert.equal(path === null, next === null);
      // Newer operations arrive between pages, some matching the filter: they belong to a later first page, not to this walk.
      const newcomer = accepted('staging', 'hetzner', 'server.create');
      await write(store, newcomer, 'failed');
      arrived.push(newcomer.id);
      assert.ok(pages < 100, 'the walk ends');
    }
    assert.ok(shortWithCursor > 0, 'a rare filter gets short pages that carry a cursor');
    assert.equal(new Set(seen).size, seen.length, 'no operation twice');
    assert.deepEqual(seen, expected, 'exactly the matching operations, newest first');

    // A new first page starts with what arrived meanwhile, newest first.
    const fresh = await sys.request<Operation[]>('GET', '/v1/operations?status=failed&workspace=staging&provider=hetzner&limit=10');
    assert.deepEqual(fresh.body.map((o) => o.id), [...[...arrived].reverse(), ...expected].slice(0, 10));
    for (const id of arrived) stored.set(id, { status: 'failed', workspace: 'staging', provider: 'hetzner', type: 'server.create' });
  });

  test('through the store, every kind of filter pages to exactly what a full read would pick', async () => {
    const cases: Array<{ filters: OperationFilters; keep: (o: { status: string; workspace: string; provider: string; type: string }) => boolean }> = [
      { filters: {}, keep: () => true },
      { filters: { status: 'cancelled' }, keep: (o) => o.status === 'cancelled' },
      { filters: { type: 'workflow.cluster_create', provider: 'upcloud' }, keep: (o) => o.type === 'workflow.cluster_create' && o.provider === 'upcloud' },
      { filters: { typePrefix: 'workflow.', status: 'running' }, keep: (o) => o.type.startsWith('workflow.') && o.status === 'running' },
      { filters: { status: 'pending', workspaces: ['w', 'default'] }, keep: (o) => o.status === 'pending' && ['w', 'default'].includes(o.workspace) },
      // A caller of many workspaces: checked on the rows rather than by the masks.
      { filters: { status: 'failed', workspaces: ['staging', 'w', ...Array.from({ length: 18 }, (_, i) => `none-${i}`)] }, keep: (o) => o.status === 'failed' && ['staging', 'w'].includes(o.workspace) },
      { filters: { workspaces: ['default', ...Array.from({ length: 20 }, (_, i) => `none-${i}`)] }, keep: (o) => o.workspace === 'default' },
      { filters: { provider: 'vultr', workspace: 'production', workspaces: ['staging'] }, keep: () => false },
      { filters: { status: 'failed', workspace: 'staging', provider: 'upcloud' }, keep: (o) => o.status === 'failed' && o.workspace === 'staging' && o.provider === 'upcloud' },
    ];
    for (const { filters, keep } of cases) {
      const expected = await newestFirst(keep);
      const got: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page = await store.list({ ...filters }, 37, cursor);
        assert.ok(page.items.length <= 37);
        got.push(...page.items.map((o) => o.id));
        cursor = page.next;
        assert.ok(++pages < 500, `paging ${JSON.stringify(filters)} ends`);
      } while (cursor !== null);
      assert.deepEqual(got, expected, `pages of ${JSON.stringify(filters)}`);
    }
  });
});
