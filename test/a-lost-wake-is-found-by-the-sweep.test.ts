import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { accountIdFor } from '../src/providers/registry.js';
import { WaitRegistry } from '../src/workers/waiting/registry.js';
import { TestSystem } from './helpers/system.js';

const systems: TestSystem[] = [];
after(async () => {
  await Promise.all(systems.map((s) => s.stop()));
});

/**
 * The watcher writes a wait's outcome, then promotes the sleeping job. Should it die, or
 * Redis restart, in between, the job would sleep on to its deadline (15 minutes for a create)
 * with its outcome long there. The sweep finds such a job and runs it.
 */
test('a job whose wait is over but whose wake was lost runs within a sweep, not at its deadline', async () => {
  const sys = await TestSystem.start({ workers: 1, doActiveDelayMs: 1500 });
  systems.push(sys);
  const op = await sys.createServer({ hostname: 'lost-wake-01' });
  await sys.eventually(async () => ((await sys.request('GET', `/v1/operations/${op.id}`)).body.progress?.waiting_for ? true : undefined), 'the create to wait');
  await sys.workers[0]!.kill('SIGKILL');

  // What the watcher does, up to the wake: the droplet is active by now; its outcome is written.
  const account = accountIdFor('digitalocean', sys.config.providers)!;
  const registry = new WaitRegistry(sys.api.ctx.redis, sys.api.ctx.keys);
  const [entry] = (await registry.all(account)).filter((e) => e.operationId === op.id);
  assert.ok(entry, 'the create is registered as waiting');
  const check = await sys.eventually(async () => {
    const [c] = await sys.adapters.get('digitalocean')!.checkWaits([entry.wait], {});
    return c?.state === 'done' ? c : undefined;
  }, 'the droplet to be active');
  assert.deepEqual([...(await registry.record(account, [{ entry, check }], []))], [op.id]);
  const job = await sys.api.ctx.queues.for('digitalocean').getJob(op.id);
  assert.equal(await job?.getState(), 'delayed', 'the job sleeps on: nobody woke it');

  await sys.startWorker();
  const done = await sys.waitForStatus(op.id, ['completed', 'failed', 'cancelled'], 15000);
  assert.equal(done.status, 'completed', JSON.stringify(done.error));
  assert.ok(sys.workers[1]!.logs.some((l) => l.includes('sweep woke an operation whose wake was lost')), 'the sweep woke it');
});
