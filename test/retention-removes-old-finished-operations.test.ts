import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { runRetention } from '../src/core/retention/run.js';
import { operationsPerStatus } from '../src/core/operations/counts.js';
import { readRows, rowBucket, type OperationRow } from '../src/core/operations/rows.js';
import type { Operation } from '../src/core/operations/model.js';
import { stepOperationId } from '../src/core/workflows/model.js';
import { PROVIDER_REQUESTS } from './helpers/provider-requests.js';
import { keysMatching } from './helpers/redis-server.js';
import { TestSystem } from './helpers/system.js';

const DAY = 86_400_000;
const hetzner = PROVIDER_REQUESTS.hetzner;

/**
 * Keys under the prefix that name one of `ids` or hold it. Left out: what keeps its own
 * retention (BullMQ's job records, the audit log, the capped process log of GET /logs) and the
 * server inventory, whose records name the operation that made a server for as long as it exists.
 */
async function keysMentioning(redis: Redis, prefix: string, ids: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const key of await keysMatching(redis, `${prefix}:*`)) {
    if (key.startsWith(`${prefix}:bull:`) || key.startsWith(`${prefix}:srv:`) || key === `${prefix}:audit` || key === `${prefix}:udc:logs`) continue;
    const type = await redis.type(key);
    const text =
      type === 'string' ? await redis.get(key)
      : type === 'hash' ? JSON.stringify(await redis.hgetall(key))
      : type === 'list' ? JSON.stringify(await redis.lrange(key, 0, -1))
      : type === 'set' ? JSON.stringify(await redis.smembers(key))
      : type === 'zset' ? JSON.stringify(await redis.zrange(key, '0', '-1'))
      : type === 'stream' ? JSON.stringify(await redis.xrange(key, '-', '+'))
      : '';
    for (const id of ids) if (key.includes(id) || (text ?? '').includes(id)) found.push(`${key} (${id})`);
  }
  return found;
}

describe('retention removes finished operations once they are past OPERATION_RETENTION', () => {
  let sys: TestSystem;
  let redis: Redis;
  const old: Record<'completed' | 'failed' | 'cancelled' | 'workflow', Operation> = {} as never;
  let running: Operation;
  let recent: Operation;
  let stepIds: string[];

  before(async () => {
    // DigitalOcean's creates take a minute (the running one); the others a tenth of a second.
    sys = await TestSystem.start({ workers: 0, doActiveDelayMs: 120_000, env: { OPERATION_RETENTION: '30d', RETENTION_INTERVAL_MS: '86400000' } });
    redis = sys.api.ctx.redis;
    const create = async (hostname: string, extra: Record<string, unknown> = {}) => {
      const res = await sys.request('POST', '/v1/servers/create', { body: { workspace: 'production', provider: 'hetzner', plan: hetzner.plan, zone: hetzner.zone, hostname, ...extra } });
      assert.equal(res.status, 202, JSON.stringify(res.body));
      return res.body as Operation;
    };
    // Cancelled before any worker claimed it.
    const cancelled = await create('ret-cancelled');
    assert.equal((await sys.request('POST', `/v1/operations/${cancelled.id}/cancel`)).status, 200);
    // The provider refuses the create for good: failed.
    sys.sandbox.faults.add({ provider: 'hetzner', method: 'POST', path: '^/v1/servers$', kind: 'status', status: 422, count: 1 });
    const failed = await create('ret-failed');
    await sys.startWorker();
    old.failed = await sys.waitForStatus(failed.id, ['failed', 'completed'], 30_000);
    assert.equal(old.failed.status, 'failed');
    old.completed = await sys.waitForStatus((await create('ret-done')).id, ['completed', 'failed'], 30_000);
    assert.equal(old.completed.status, 'completed');
    const wf = await sys.request('POST', '/v1/workflows/submit', {
      body: { workspace: 'production', workflow_type: 'custom', parameters: { steps: [{ id: 'node', type: 'server.create', parameters: { provider: 'hetzner', plan: hetzner.plan, zone: hetzner.zone, hostname: 'ret-wf-01' } }] } },
    });
    assert.equal(wf.status, 202, JSON.stringify(wf.body));
    old.workflow = await sys.waitForStatus(wf.body.id, ['completed', 'failed'], 40_000);
    assert.equal(old.workflow.status, 'completed');
    stepIds = [stepOperationId(wf.body.id, 'node')];
    old.cancelled = (await sys.request('GET', `/v1/operations/${cancelled.id}`)).body;
    assert.equal(old.cancelled.status, 'cancelled');

    const res = await sys.request('POST', '/v1/servers/create', { body: { workspace: 'staging', provider: 'digitalocean', plan: 's-1vcpu-1gb', zone: 'nyc3', hostname: 'ret-running' } });
    assert.equal(res.status, 202);
    running = await sys.waitForStatus(res.body.id, ['running'], 30_000);
    // Finished a little later than the others: inside the retention when the clock is moved to just past theirs.
    await new Promise((r) => setTimeout(r, 20));
    recent = await sys.waitForStatus((await create('ret-recent')).id, ['completed', 'failed'], 30_000);
  });

  after(async () => {
    await sys?.stop();
  });

  const oldIds = () => [...Object.values(old).map((op) => op.id), ...stepIds];

  /** An operation's row (see src/core/operations/rows.ts), or null. */
  async function rowOf(id: string): Promise<OperationRow | null> {
    const seq = Number(await redis.hget(sys.api.ctx.keys.operation(id), 'seq'));
    return (await readRows(redis, sys.api.ctx.keys, rowBucket(seq))).find((row) => row.seq === seq) ?? null;
  }

  test('every finished operation (workflow steps aside) has when it finished in its row; running ones do not', async () => {
    for (const op of [...Object.values(old), recent]) {
      const finished = (await rowOf(op.id))?.finished;
      assert.ok(finished && Math.abs(finished - Date.parse(op.finished_at!)) < 1000, `${op.id}'s row says ${finished}, finished ${op.finished_at}`);
    }
    assert.equal((await rowOf(running.id))?.finished, null);
    assert.equal((await rowOf(stepIds[0]!))?.finished, null, 'a step goes with its workflow');
  });

  test('with the clock moved past the retention of the old ones only, they go with everything of theirs; the running and the recent one stay', async () => {
    const recentScore = (await rowOf(recent.id))!.finished!;
    const oldScores = await Promise.all(Object.values(old).map(async (op) => (await rowOf(op.id))!.finished!));
    assert.ok(Math.max(...oldScores) < recentScore, 'the recent one finished last');
    const runningBefore = await redis.hgetall(sys.api.ctx.keys.operation(running.id));
    const recentBefore = await redis.hgetall(sys.api.ctx.keys.operation(recent.id));

    // A run whose time budget is spent leaves everything for the next one.
    const spent = await runRetention(sys.api.ctx, { now: recentScore - 1 + 30 * DAY, budgetMs: 0 });
    assert.deepEqual([spent.removed, spent.budgetSpent], [[], true]);
    assert.equal((await sys.request('GET', `/v1/operations/${old.completed.id}`)).status, 200);

    // The recent one finished one millisecond inside its retention.
    const report = await runRetention(sys.api.ctx, { now: recentScore - 1 + 30 * DAY });
    assert.deepEqual([...report.removed].sort(), oldIds().sort());
    assert.ok(report.longestBatchMicros < 50_000, `a batch held Redis for ${report.longestBatchMicros} µs`);

    for (const id of oldIds()) assert.equal((await sys.request('GET', `/v1/operations/${id}`)).status, 404, id);
    assert.equal((await sys.request('GET', `/v1/workflows/${old.workflow.id}`)).status, 404);
    for (const query of ['', '?status=completed', '?status=failed', '?status=cancelled', '?workspace=production', '?provider=hetzner', '?type=server.create', '?limit=100']) {
      const list = await sys.request('GET', `/v1/operations${query}`);
      assert.equal(list.status, 200);
      const listed = list.body as Operation[];
      assert.deepEqual(listed.filter((op) => oldIds().includes(op.id)), [], `listed by ${query}`);
    }
    const overview = await sys.request('GET', '/v1/overview');
    assert.equal(overview.status, 200);
    const perStatus = await operationsPerStatus(redis, sys.api.ctx.keys);
    assert.deepEqual([perStatus.failed, perStatus.cancelled, perStatus.completed], [0, 0, 1], 'only the recent one is left finished');
    for (const status of ['failed', 'cancelled'] as const) assert.equal(await redis.zcard(sys.api.ctx.keys.operationBuckets('status', status)), 0, `no bucket holds a ${status} row`);
    assert.deepEqual(await keysMentioning(redis, sys.api.ctx.keys.prefix, oldIds()), []);
    // The job each one ran as went too (BullMQ's queues hold it as `<queue>:<operation id>`).
    const jobKeys = (await keysMatching(redis, `${sys.api.ctx.keys.prefix}:bull:*`)).filter((k) => oldIds().some((id) => k.endsWith(`:${id}`)));
    assert.deepEqual(jobKeys, []);

    // Its worker still reports progress as it waits: everything else of its record is as it was.
    const settled = ({ progress: _p, updated_at: _u, ...rest }: Record<string, string>) => rest;
    assert.deepEqual(settled(await redis.hgetall(sys.api.ctx.keys.operation(running.id))), settled(runningBefore));
    assert.deepEqual(await redis.hgetall(sys.api.ctx.keys.operation(recent.id)), recentBefore);
    assert.equal((await sys.request('GET', `/v1/operations/${running.id}`)).body.status, 'running');
    assert.equal((await sys.request('GET', `/v1/operations/${recent.id}`)).body.status, 'completed');
    // The proof names the recent one, which is still there.
    const proof = await sys.request('GET', '/proof');
    assert.equal(proof.status, 200, JSON.stringify(proof.body));
    assert.equal(proof.body.operation_id, recent.id);

    // A second run at the same time finds nothing more.
    const again = await runRetention(sys.api.ctx, { now: recentScore - 1 + 30 * DAY });
    assert.deepEqual(again.removed, []);
  });

  test('one written before operation rows is moved to them and found too; once the proof\'s operation is gone, /proof answers 404 and /health null', async () => {
    // As an older version left it: no row, but an entry in each of the sorted sets that indexed operations then.
    const k = sys.api.ctx.keys;
    const seq = await redis.hget(k.operation(recent.id), 'seq');
    const finishedMs = (await rowOf(recent.id))!.finished!;
    await redis.hdel(k.operationRows(rowBucket(Number(seq))), seq!);
    const legacy = [k.operationIndex(), k.operationIndex('status', 'completed'), k.operationIndex('type', recent.type), k.operationIndex('workspace', recent.workspace), k.operationIndex('provider', recent.provider)];
    for (const key of legacy) await redis.zadd(key, seq!, recent.id);
    await redis.zadd(k.operationsFinished(), String(finishedMs), recent.id);
    await redis.del(k.operationRowsMigration());
    assert.equal((await sys.request('GET', `/v1/operations?status=completed`)).body.length, 0, 'not listed before the move');
    const startedAt = Date.now();
    const report = await runRetention(sys.api.ctx, { now: startedAt + 31 * DAY });
    assert.deepEqual(report.removed, [recent.id]);
    for (const key of [...legacy, k.operationsFinished()]) assert.equal(await redis.exists(key), 0, `${key} is gone`);
    assert.equal(await redis.get(k.operationRowsMigration()), 'done');
    assert.equal(await redis.exists(sys.api.ctx.keys.lastCompleted()), 0);
    const proof = await sys.request('GET', '/proof');
    assert.equal(proof.status, 404, JSON.stringify(proof.body));
    assert.ok(typeof proof.body.detail === 'string', JSON.stringify(proof.body));
    const health = await sys.request('GET', '/health', { auth: false });
    assert.equal(health.status, 200);
    assert.equal(health.body.proof, null);
    assert.equal((await sys.request('GET', `/v1/operations/${running.id}`)).body.status, 'running', 'a running operation is never touched, however late the clock');
    // The events stream is trimmed by age too: what remains was written after the trim began (the running one's progress).
    const left = await redis.xrange(sys.api.ctx.keys.events(), '-', '+');
    assert.deepEqual(left.filter(([id]) => Number(id.split('-')[0]) < startedAt), []);
    // Audit entries keep their own retention (AUDIT_RETENTION_DAYS, 365 by default): still there 31 days on, gone a year on.
    const audit = sys.api.ctx.keys.audit();
    assert.ok((await redis.xrange(audit, '-', String(startedAt))).length > 0, 'the cancel was audited');
    await runRetention(sys.api.ctx, { now: startedAt + 366 * DAY });
    assert.deepEqual(await redis.xrange(audit, '-', String(startedAt)), []);
  });
});
