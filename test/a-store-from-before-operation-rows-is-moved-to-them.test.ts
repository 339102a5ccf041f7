import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Operation, OperationStatus, OperationType } from '../src/core/operations/model.js';
import type { OperationFilters, OperationStore } from '../src/core/operations/store.js';
import { readRows, rowBucket, type OperationRow } from '../src/core/operations/rows.js';
import { migrateToRows } from '../src/core/operations/rows-migration.js';
import type { ProviderName } from '../src/common/provider.js';
import { acceptedOperation } from '../bench/accepted-operation.js';
import { keysMatching } from './helpers/redis-server.js';
import { TestSystem } from './helpers/system.js';

const STORED = 700;
const WORKSPACES = ['default', 'staging'] as const;
const PROVIDERS: ProviderName[] = ['hetzner', 'vultr'];
const TYPES: OperationType[] = ['server.create', 'server.delete'];

/** Operation i as the API accepts it, its filter fields spread over two values each. */
function accepted(i: number): Operation {
  const workspace = WORKSPACES[i % 2]!;
  const provider = PROVIDERS[(i >> 1) % 2]!;
  return acceptedOperation({ type: TYPES[(i >> 2) % 2]!, workspace, provider, target: null, request: { workspace, provider }, trace_id: '', requested_by: 'admin' });
}

/** Every operation a filter lists, newest first, page by page. */
async function listAll(store: OperationStore, filters: OperationFilters): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const page = await store.list({ ...filters }, 100, cursor);
    ids.push(...page.items.map((op) => op.id));
    cursor = page.next;
  } while (cursor !== null);
  return ids;
}

const FILTERS: OperationFilters[] = [{}, { status: 'completed' }, { status: 'pending' }, { workspace: 'staging', provider: 'vultr' }, { type: 'server.delete', status: 'failed' }];

describe('a store written before operation rows is moved to them', () => {
  let sys: TestSystem;

  before(async () => {
    sys = await TestSystem.start({ workers: 0 });
  });
  after(async () => {
    await sys?.stop();
  });

  test('a chunk at a time, newest first, with transitions in between: afterwards every listing is as it would have been and the old indexes are gone', async () => {
    const { redis, keys, store } = sys.api.ctx;
    const ops = Array.from({ length: STORED }, (_, i) => accepted(i));
    for (let i = 0; i < ops.length; i += 100) await Promise.all(ops.slice(i, i + 100).map((op) => store.create(op)));
    const finalOf = (i: number): OperationStatus => (['completed', 'failed', 'pending', 'cancelled', 'running'] as const)[i % 5]!;
    await Promise.all(
      ops.map(async (op, i) => {
        const status = finalOf(i);
        if (status === 'pending') return;
        if (status === 'cancelled') return void (await store.transition(op.id, ['pending'], 'cancelled', { finished_at: new Date().toISOString() }));
        await store.transition(op.id, ['pending'], 'running');
        if (status !== 'running') await store.transition(op.id, ['running'], status, { finished_at: new Date().toISOString() });
      }),
    );

    // Turn the store into what an older version wrote: a sorted set per filter value, no rows.
    const rows: OperationRow[] = [];
    for (const bucket of await redis.zrange(keys.operationBuckets(), '0', '-1')) rows.push(...(await readRows(redis, keys, bucket)));
    assert.equal(rows.length, STORED);
    const legacy = redis.multi();
    for (const row of rows) {
      legacy.zadd(keys.operationIndex(), row.seq, row.id);
      legacy.zadd(keys.operationIndex('status', row.status), row.seq, row.id);
      legacy.zadd(keys.operationIndex('type', row.type), row.seq, row.id);
      legacy.zadd(keys.operationIndex('workspace', row.workspace), row.seq, row.id);
      legacy.zadd(keys.operationIndex('provider', row.provider), row.seq, row.id);
      if (row.finished !== null) legacy.zadd(keys.operationsFinished(), row.finished, row.id);
    }
    await legacy.exec();
    const rowKeys = [...(await keysMatching(redis, `${keys.prefix}:ops:rows:*`)), ...(await keysMatching(redis, `${keys.prefix}:ops:in:*`))];
    await redis.del(...rowKeys);
    assert.deepEqual(await listAll(store, { status: 'completed' }), [], 'nothing is listed from the old layout');

    // Two pending ones the migration has not reached yet move on meanwhile; their transitions write their rows.
    const oldest = ops.filter((_, i) => finalOf(i) === 'pending').slice(0, 2);
    let calls = 0;
    while (!(await migrateToRows(redis, keys, 0))) {
      calls++;
      if (calls === 1) {
        assert.ok((await listAll(store, {})).length > 0, 'the newest are listed first');
        await store.transition(oldest[0]!.id, ['pending'], 'running');
        await store.transition(oldest[1]!.id, ['pending'], 'cancelled', { finished_at: new Date().toISOString() });
      }
      assert.ok(calls < 20, 'the migration ends');
    }
    assert.ok(calls >= 2, `moved a chunk at a time (${calls} calls)`);

    const now = new Map(rows.map((row) => [row.id, row.status]));
    now.set(oldest[0]!.id, 'running');
    now.set(oldest[1]!.id, 'cancelled');
    const bySeq = [...rows].sort((a, b) => b.seq - a.seq);
    for (const filters of FILTERS) {
      const expected = bySeq
        .filter((row) => (!filters.status || now.get(row.id) === filters.status) && (!filters.workspace || row.workspace === filters.workspace) && (!filters.provider || row.provider === filters.provider) && (!filters.type || row.type === filters.type))
        .map((row) => row.id);
      assert.deepEqual(await listAll(store, filters), expected, JSON.stringify(filters));
    }
    // What retention reads: the finished ones' rows say when they finished; the one cancelled during the move too.
    const moved = await readRows(redis, keys, rowBucket(rows.find((r) => r.id === oldest[1]!.id)!.seq));
    assert.ok(moved.find((r) => r.id === oldest[1]!.id)!.finished! > 0);
    for (const row of rows.filter((r) => r.finished !== null).slice(0, 50)) {
      const again = (await readRows(redis, keys, rowBucket(row.seq))).find((r) => r.id === row.id)!;
      // From the record's finished_at, which the transition wrote a moment apart from the row's time.
      assert.ok(Math.abs(again.finished! - row.finished!) < 1000, `${row.id}: ${again.finished} against ${row.finished}`);
    }
    const left = (await keysMatching(redis, `${keys.prefix}:ops:*`)).filter((k) => /:ops:(all|finished|type:|workspace:|provider:|status:(completed|failed|cancelled))/.test(k));
    assert.deepEqual(left, [], 'the old indexes are gone');
    assert.equal(await redis.zcard(keys.operationIndex('status', 'pending')), ops.filter((_, i) => finalOf(i) === 'pending').length - 2, 'the open ones stay in their status sets');
    assert.equal(await migrateToRows(redis, keys, 0), true, 'done stays done');
  });
});
