import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { ProviderName } from '../src/common/provider.js';
import { EVERY_PROVIDER, PROVIDER_REQUESTS } from './helpers/provider-requests.js';
import { TestSystem } from './helpers/system.js';

/** Each provider's create endpoint, as the sandbox's fault rules see it. */
const CREATE_PATH: Record<ProviderName, string> = {
  digitalocean: '^/v2/droplets$',
  hetzner: '^/v1/servers$',
  vultr: '^/v2/instances$',
  upcloud: '^/1.3/server$',
};

// Each case has its own system: two run side by side, since most of a case is waiting.
describe('a worker killed with SIGKILL in the middle of a create leaves at most one server', { concurrency: 2 }, () => {
  const systems: TestSystem[] = [];
  after(async () => {
    await Promise.all(systems.map((s) => s.stop()));
  });

  for (const provider of EVERY_PROVIDER) {
    const { plan, zone } = PROVIDER_REQUESTS[provider];

    test(`${provider}: killed after the server was made, another worker carries it on`, async () => {
      const sys = await TestSystem.start({ workers: 1, doActiveDelayMs: 2500, otherDelayMs: 1500 });
      systems.push(sys);
      const op = await sys.createServer({ provider, plan, zone, hostname: `crash-${provider}` });
      await sys.eventually(async () => ((await sys.serversMarkedBy(provider, op.id)).length > 0 ? true : undefined), 'the server to exist');
      await sys.workers[0]!.kill('SIGKILL');
      assert.equal((await sys.request('GET', `/v1/operations/${op.id}`)).body.status, 'running');

      await sys.startWorker();
      const done = await sys.waitForStatus(op.id, ['completed', 'failed', 'cancelled'], 40000);
      assert.equal(done.status, 'completed', JSON.stringify(done.error));
      // Killed while the operation waited (parked, its job in the delayed set), the create's
      // result is in its journal and the run the watcher wakes goes on from there: still its
      // first attempt. Killed after the journal kept the create but before the park, the
      // second attempt replays the kept result (resumed: false); killed between the create and
      // the journal, it finds the server by its marker (resumed: true). One server either way.
      if (done.attempt === 1) assert.equal(done.result!.resumed, false);
      else assert.equal(done.attempt, 2);
      const servers = await sys.serversMarkedBy(provider, op.id);
      assert.equal(servers.length, 1);
      assert.equal(servers[0]!.providerId, done.result!.provider_id);
    });

    test(`${provider}: killed while the create request was in flight, the rerun finds the server the lost answer named`, async () => {
      const sys = await TestSystem.start({ workers: 1, doActiveDelayMs: 300, otherDelayMs: 300 });
      systems.push(sys);
      // The provider makes the server but takes 5 s to answer; the worker dies waiting for the answer.
      sys.sandbox.faults.add({ provider, method: 'POST', path: CREATE_PATH[provider], kind: 'slow_response', latencyMs: 5000, count: 1 });
      const op = await sys.createServer({ provider, plan, zone, hostname: `inflight-${provider}` });
      await sys.eventually(async () => ((await sys.serversMarkedBy(provider, op.id)).length > 0 ? true : undefined), 'the server to exist', 5000);
      assert.ok(!sys.workers[0]!.logs.some((l) => l.includes('to be running')), 'the worker has not seen the answer');
      await sys.workers[0]!.kill('SIGKILL');

      await sys.startWorker();
      const done = await sys.waitForStatus(op.id, ['completed', 'failed', 'cancelled'], 40000);
      assert.equal(done.status, 'completed', JSON.stringify(done.error));
      assert.equal(done.result!.resumed, true);
      assert.equal((await sys.serversMarkedBy(provider, op.id)).length, 1);
    });
  }
});
