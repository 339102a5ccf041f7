import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { holdLease, releaseLease } from '../src/core/lease.js';
import { TestSystem } from './helpers/system.js';

const systems: TestSystem[] = [];
after(async () => {
  await Promise.all(systems.map((s) => s.stop()));
});

/**
 * A worker that lost its BullMQ lock (Redis restarting under it) runs on while the job is
 * handed to another worker; two runs of one operation would send its provider calls twice.
 * The run lease fences them: while one run holds it (here the test, standing in for the run
 * that lost its lock), no other run of the operation starts; once it is free, one does.
 */
test('while a run of an operation holds its lease, no other run of it starts', async () => {
  const sys = await TestSystem.start({ workers: 0 });
  systems.push(sys);
  const op = await sys.createServer({ hostname: 'fenced-01' });
  const lease = sys.api.ctx.keys.lock(`run:${op.id}`);
  assert.ok(await holdLease(sys.api.ctx.redis, lease, 'the-other-run', 30_000));

  const worker = await sys.startWorker();
  await sys.eventually(async () => (worker.logs.some((l) => l.includes('another run of this operation is still going')) ? true : undefined), 'the worker to find the run lease taken');
  const during = (await sys.request('GET', `/v1/operations/${op.id}`)).body;
  assert.equal(during.status, 'pending', 'no run claimed it while the lease was held');
  assert.equal(during.attempt, 0);

  await releaseLease(sys.api.ctx.redis, lease, 'the-other-run');
  const done = await sys.waitForStatus(op.id, ['completed', 'failed', 'cancelled'], 30000);
  assert.equal(done.status, 'completed', JSON.stringify(done.error));
  assert.equal(done.attempt, 1);
});
