import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bootingServer, DELETE_PATH, matched } from './helpers/cancel-cases.js';
import { EVERY_PROVIDER } from './helpers/provider-requests.js';
import { TestSystem } from './helpers/system.js';

// Each case has its own system and mostly waits: two run side by side, each stopping its own system when done.
describe("a worker killed during a create's cancel cleanup: the next worker finishes it and leaves no inventory entry", { concurrency: 2 }, () => {
  for (const provider of EVERY_PROVIDER) {
    test(`${provider}: killed after the cleanup's delete reached the provider`, async (t) => {
      // Slow boots, so the create is still waiting when it is cancelled.
      const sys = await TestSystem.start({ workers: 1, doActiveDelayMs: 6000, otherDelayMs: 2500 });
      t.after(() => sys.stop());
      const { operationId, serverId } = await bootingServer(sys, provider, `cleanup-crash-${provider}`);

      // The cleanup's delete takes effect at once, but its answer is held until the worker is dead.
      const rule = sys.sandbox.faults.add({ provider, method: 'DELETE', path: DELETE_PATH[provider], kind: 'slow_response', latencyMs: 8000, count: 1 });
      const cancel = await sys.request('POST', `/v1/operations/${operationId}/cancel`);
      assert.equal(cancel.status, 202, JSON.stringify(cancel.body));
      await sys.eventually(async () => (matched(sys, rule) > 0 ? true : undefined), "the cleanup's delete to reach the provider", 20000);
      await sys.workers[0]!.kill('SIGKILL');
      assert.equal((await sys.request('GET', `/v1/operations/${operationId}`)).body.status, 'running', 'the cleanup did not finish');
      assert.equal((await sys.request('GET', `/v1/servers/${serverId}/status`)).status, 200, 'the entry outlived the first cleanup');

      await sys.startWorker();
      const done = await sys.waitForStatus(operationId, ['completed', 'failed', 'cancelled'], 40000);
      assert.equal(done.status, 'cancelled', JSON.stringify(done.result));
      const entry = await sys.request('GET', `/v1/servers/${serverId}/status`);
      assert.equal(entry.status, 404, `no inventory entry is left behind: ${JSON.stringify(entry.body)}`);
      assert.deepEqual((await sys.serversMarkedBy(provider, operationId)).filter((s) => s.status !== 'gone'), [], 'nothing left at the provider');
    });
  }
});
