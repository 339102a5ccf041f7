import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { newOperation } from '../src/core/operations/submit.js';
import { TestSystem } from './helpers/system.js';

describe('the sweep finds accepted operations that have no job', () => {
  const systems: TestSystem[] = [];
  after(async () => {
    await Promise.all(systems.map((s) => s.stop()));
  });

  test('an operation written but never enqueued (the API died in between) still completes', async () => {
    const sys = await TestSystem.start({ workers: 1, doActiveDelayMs: 100 });
    systems.push(sys);
    const op = newOperation(
      {
        type: 'server.create',
        workspace: 'production',
        provider: 'digitalocean',
        target: { hostname: 'orphan-01' },
        request: { workspace: 'production', provider: 'digitalocean', plan: 's-1vcpu-1gb', hostname: 'orphan-01', zone: 'nyc3', check_mode: false, tags: [] },
        requestedBy: 'admin',
        traceId: 'trace-orphan-01',
      },
      new Date(Date.now() - 10000),
    );
    assert.deepEqual(await sys.api.ctx.store.create(op), { outcome: 'created' });
    assert.equal(await sys.api.ctx.queues.for('digitalocean').getJob(op.id), undefined);

    const done = await sys.waitForStatus(op.id, ['completed', 'failed'], 20000);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.equal((await sys.droplets(`&tag_name=pe-op:${op.id}`)).length, 1);
  });

  test('a running operation whose job was lost is picked up again and finished once', async () => {
    const sys = await TestSystem.start({ workers: 1, doActiveDelayMs: 2500 });
    systems.push(sys);
    const op = await sys.createServer({ hostname: 'lost-job-01' });
    await sys.eventually(async () => (await sys.droplets(`&tag_name=pe-op:${op.id}`))[0], 'the droplet to exist');
    // The worker dies and its job vanishes with it (as when Redis loses the queue's keys).
    await sys.workers[0]!.kill('SIGKILL');
    const job = await sys.api.ctx.queues.for('digitalocean').getJob(op.id);
    await job!.remove({ removeChildren: true }).catch(async () => {
      // A locked job cannot be removed; release the dead worker's lock first.
      await sys.api.ctx.redis.del(`${sys.api.ctx.keys.bullPrefix()}:operations-digitalocean:${op.id}:lock`);
      await job!.remove();
    });
    assert.equal(await sys.api.ctx.queues.for('digitalocean').getJob(op.id), undefined);

    await sys.startWorker();
    const done = await sys.waitForStatus(op.id, ['completed', 'failed'], 30000);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    // Its new job carried on from the operation's journal (or the droplet's marker): the one droplet is its result.
    const droplets = await sys.droplets(`&tag_name=pe-op:${op.id}`);
    assert.equal(droplets.length, 1);
    assert.equal(done.result!.provider_id, String(droplets[0]!.id));
  });
});
