import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { TestSystem } from './helpers/system.js';

describe('a worker killed with SIGKILL in the middle of a create', () => {
  const systems: TestSystem[] = [];
  after(async () => {
    await Promise.all(systems.map((s) => s.stop()));
  });

  test('after the droplet was created: another worker resumes it and there is exactly one droplet', async () => {
    const sys = await TestSystem.start({ workers: 1, doActiveDelayMs: 2500 });
    systems.push(sys);
    const op = await sys.createServer({ hostname: 'crash-01' });
    await sys.eventually(async () => (await sys.droplets(`&tag_name=pe-op:${op.id}`))[0], 'the droplet to exist');
    await sys.workers[0]!.kill('SIGKILL');
    assert.equal((await sys.request('GET', `/v1/operations/${op.id}`)).body.status, 'running');

    await sys.startWorker();
    const done = await sys.waitForStatus(op.id, ['completed', 'failed', 'cancelled'], 30000);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.equal(done.attempt, 2, 'the second attempt finished it');
    assert.equal(done.result!.resumed, true, 'it found the earlier droplet instead of creating one');
    const droplets = await sys.droplets(`&tag_name=pe-op:${op.id}`);
    assert.equal(droplets.length, 1);
    assert.equal((await sys.droplets('&name=crash-01')).length, 1);
    assert.equal(String(droplets[0]!.id), done.result!.provider_id);
  });

  test('while the create request was in flight: the rerun finds the droplet the lost answer named', async () => {
    const sys = await TestSystem.start({ workers: 1, doActiveDelayMs: 300 });
    systems.push(sys);
    // The provider makes the droplet but takes 5 s to answer; the worker dies waiting for the answer.
    sys.sandbox.faults.add({ provider: 'digitalocean', method: 'POST', path: '^/v2/droplets$', kind: 'slow_response', latencyMs: 5000, count: 1 });
    const op = await sys.createServer({ hostname: 'crash-02' });
    await sys.eventually(async () => (await sys.droplets(`&tag_name=pe-op:${op.id}`))[0], 'the droplet to exist', 5000);
    assert.ok(!sys.workers[0]!.logs.some((l) => l.includes('waiting for digitalocean server')), 'the worker has not seen the answer');
    await sys.workers[0]!.kill('SIGKILL');

    await sys.startWorker();
    const done = await sys.waitForStatus(op.id, ['completed', 'failed', 'cancelled'], 30000);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.equal(done.result!.resumed, true);
    assert.equal((await sys.droplets(`&tag_name=pe-op:${op.id}`)).length, 1);
  });
});
