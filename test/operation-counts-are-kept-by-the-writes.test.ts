import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Operation, OperationStatus, OperationType } from '../src/core/operations/model.js';
import { OPERATION_STATUSES, OPERATION_TYPES } from '../src/core/operations/model.js';
import { backfillOperationCounts, readOperationCounts } from '../src/core/operations/counts.js';
import { runRetention } from '../src/core/retention/run.js';
import type { ProviderName } from '../src/common/provider.js';
import { http } from './helpers/http.js';
import { storedOperationIds } from './helpers/stored-operations.js';
import { TestSystem } from './helpers/system.js';
import { acceptedOperation } from '../bench/accepted-operation.js';

const WORKSPACES = ['default', 'production', 'staging', 'w'];
const TYPES: OperationType[] = ['server.create', 'server.delete', 'server.action', 'taskserv.create'];
const PROVIDERS: ProviderName[] = ['digitalocean', 'hetzner'];
const DAY = 86_400_000;

function accepted(i: number): Operation {
  const workspace = WORKSPACES[i % 4]!;
  return acceptedOperation({ type: TYPES[(i >> 2) % 4]!, workspace, provider: PROVIDERS[i % 2]!, target: null, request: { workspace }, trace_id: '', requested_by: 'admin' });
}

describe('operation counts per type and per workspace are kept by the writes themselves', () => {
  let sys: TestSystem;
  const ops: Operation[] = [];

  before(async () => {
    sys = await TestSystem.start({ workers: 0, env: { OPERATION_RETENTION: '30d', RETENTION_INTERVAL_MS: '86400000' } });
  });
  after(async () => {
    await sys?.stop();
  });

  /** What the records say: each stored operation's status, counted one by one, per group (`t|<type>`, `w|<workspace>`). */
  async function truths(groups: string[]): Promise<Map<string, Record<OperationStatus, number>>> {
    const { redis, keys, store } = sys.api.ctx;
    const rows = new Map(groups.map((g) => [g, Object.fromEntries(OPERATION_STATUSES.map((s) => [s, 0])) as Record<OperationStatus, number>]));
    for (const op of await store.getMany(await storedOperationIds(redis, keys))) {
      for (const g of [`t|${op.type}`, `w|${op.workspace}`]) {
        const row = rows.get(g);
        if (row) row[op.status]++;
      }
    }
    return rows;
  }
  const truth = async (group: string) => (await truths([group])).get(group)!;

  async function assertExact(when: string): Promise<void> {
    const groups = [...OPERATION_TYPES.map((t) => `t|${t}`), ...WORKSPACES.map((w) => `w|${w}`)];
    const counted = await readOperationCounts(sys.api.ctx.redis, sys.api.ctx.keys, groups);
    assert.ok(counted, `counters readable ${when}`);
    const expected = await truths(groups);
    for (const g of groups) assert.deepEqual(counted.get(g), expected.get(g), `${g} ${when}`);
  }

  /** Moves operation i on by one step of its life: pending → running → completed or failed, or pending → cancelled. */
  async function step(i: number): Promise<void> {
    const op = ops[i]!;
    const store = sys.api.ctx.store;
    const now = await store.get(op.id);
    if (!now) return;
    if (now.status === 'pending') await store.transition(op.id, ['pending'], i % 5 === 0 ? 'cancelled' : 'running');
    else if (now.status === 'running') await store.transition(op.id, ['running'], i % 3 === 0 ? 'failed' : 'completed');
  }

  test('created, moved and removed operations leave exact counters; older ones are counted by the backfill while they move', async () => {
    const { redis, keys, store } = sys.api.ctx;
    for (let i = 0; i < 1500; i++) ops.push(accepted(i));
    await Promise.all(ops.map((op) => store.create(op)));
    await Promise.all(ops.map((_, i) => (i % 2 ? step(i) : undefined)));
    await assertExact('after creates and transitions');

    // A store written before the counters: none of these are in them.
    await redis.del(keys.operationCounts());
    assert.equal(await readOperationCounts(redis, keys, ['w|staging']), null, 'nothing to read before counting begins');
    // Counting begins with the next create; the older ones wait for the backfill, and keep moving meanwhile.
    ops.push(accepted(1500));
    await store.create(ops[1500]!);
    assert.equal(await readOperationCounts(redis, keys, ['w|staging']), null, 'not readable until the older ones are counted');
    let done = false;
    let chunks = 0;
    while (!done) {
      await Promise.all(ops.map((_, i) => (i % 7 === chunks % 7 ? step(i) : undefined)));
      done = await backfillOperationCounts(redis, keys, 0);
      chunks++;
      assert.ok(chunks < 20, 'the backfill ends');
    }
    assert.ok(chunks >= 2, 'the backfill went a chunk at a time');
    await assertExact('after the backfill, with transitions between its chunks');

    for (let i = 0; i < ops.length; i++) await step(i);
    for (let i = 0; i < ops.length; i++) await step(i);
    await assertExact('after every operation finished');

    // Retention removes the finished ones a month later: they leave the counters in the same write.
    const report = await runRetention(sys.api.ctx, { now: Date.now() + 31 * DAY });
    assert.ok(report.removed.length > 1000, `removed ${report.removed.length}`);
    await assertExact('after retention removed finished operations');
    const counted = await readOperationCounts(redis, keys, WORKSPACES.map((w) => `w|${w}`));
    const left = [...counted!.values()].reduce((sum, row) => sum + OPERATION_STATUSES.reduce((a, s) => a + row[s], 0), 0);
    assert.equal(left, (await storedOperationIds(redis, keys)).length);
  });

  test("a viewer's overview counts its workspaces from the counters, in one read", async () => {
    const { redis, keys } = sys.api.ctx;
    const made = await sys.request('POST', '/v1/users', { body: { username: 'counter', password: 'counter-password-123', role: 'viewer', workspaces: ['staging'] } });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const login = await http(sys.url, 'POST', '/v1/auth/login', { body: { username: 'counter', password: 'counter-password-123' } });
    const overview = async () => (await http(sys.url, 'GET', '/v1/overview', { token: login.body.token })).body.counts as Record<string, number>;
    const staging = await truth('w|staging');
    assert.deepEqual(await overview(), { ...staging, total: Object.values(staging).reduce((a, b) => a + b, 0) });
    // A counter moved by hand (and only the counter) shows up: the overview reads the counters, not the indexes.
    await redis.hincrby(keys.operationCounts(), 'w|staging|pending', 1000);
    try {
      assert.equal((await overview()).pending, staging.pending + 1000);
    } finally {
      await redis.hincrby(keys.operationCounts(), 'w|staging|pending', -1000);
    }
  });
});
