import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EVERY_PROVIDER } from './helpers/provider-requests.js';
import { configureSandbox, createdServer, DELETE_PATH, matched } from './helpers/cancel-cases.js';
import { TestSystem } from './helpers/system.js';

// Each case has its own system and mostly waits: two run side by side, each stopping its own system when done.
describe('a delete cancelled after the provider carried it out ends completed, and the server leaves the inventory', { concurrency: 2 }, () => {
  test('hetzner: cancelled while the server was still deleting, it is followed until gone', async (t) => {
    const sys = await TestSystem.start({ workers: 1, otherDelayMs: 200 });
    t.after(() => sys.stop());
    const { serverId, providerId } = await createdServer(sys, 'hetzner', 'too-late-deleting');
    await configureSandbox(sys, 'hetzner', { deleteDelayMs: 3000 });

    const del = await sys.request('DELETE', `/v1/servers/${serverId}`);
    assert.equal(del.status, 202, JSON.stringify(del.body));
    // Hetzner accepted the delete; the server reads `deleting` while the operation waits.
    await sys.eventually(async () => ((await sys.request('GET', `/v1/operations/${del.body.id}`)).body.progress?.waiting_for ? true : undefined), 'the operation to wait on the delete', 10000);
    const cancel = await sys.request('POST', `/v1/operations/${del.body.id}/cancel`);
    assert.equal(cancel.status, 202, JSON.stringify(cancel.body));

    const done = await sys.waitForStatus(del.body.id, ['completed', 'failed', 'cancelled'], 20000);
    assert.equal((await sys.request('GET', `/v1/servers/${serverId}/status`)).status, 404, `no entry left for the deleted server: ${JSON.stringify(done.result)}`);
    assert.equal(await sys.adapters.get('hetzner')!.getServer(providerId, {}), null);
    assert.equal(done.status, 'completed');
    assert.equal(done.result!.cancel_too_late, true);
  });

  for (const provider of EVERY_PROVIDER) {
    test(`${provider}: cancelled while the delete's answer was on the wire`, async (t) => {
      const sys = await TestSystem.start({ workers: 1, doActiveDelayMs: 200, doActionDelayMs: 200, otherDelayMs: 200 });
      t.after(() => sys.stop());
      const { serverId, providerId } = await createdServer(sys, provider, `too-late-${provider}`);

      // The provider deletes the server at once but holds its answer for 5 s: the cancel
      // arrives while the worker still waits for it.
      const rule = sys.sandbox.faults.add({ provider, method: 'DELETE', path: DELETE_PATH[provider], kind: 'slow_response', latencyMs: 5000, count: 1 });
      const del = await sys.request('DELETE', `/v1/servers/${serverId}`);
      assert.equal(del.status, 202, JSON.stringify(del.body));
      await sys.eventually(async () => (matched(sys, rule) > 0 ? true : undefined), 'the delete to reach the provider', 15000);
      const cancel = await sys.request('POST', `/v1/operations/${del.body.id}/cancel`);
      assert.equal(cancel.status, 202, JSON.stringify(cancel.body));

      const done = await sys.waitForStatus(del.body.id, ['completed', 'failed', 'cancelled'], 20000);
      assert.equal(done.status, 'completed', `the delete happened; the operation says so: ${JSON.stringify(done.result)}`);
      assert.equal(done.error, null);
      assert.equal(done.result!.server_id, serverId);
      assert.equal(done.result!.deleted, true);
      assert.equal(done.result!.cancel_too_late, true);
      assert.equal(await sys.adapters.get(provider)!.getServer(providerId, {}), null, 'gone at the provider');
      assert.equal((await sys.request('GET', `/v1/servers/${serverId}/status`)).status, 404, 'gone from the inventory');
    });
  }
});
