import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { DELETE_PATH, matched } from './helpers/cancel-cases.js';
import { PROVIDER_REQUESTS } from './helpers/provider-requests.js';
import { TestSystem } from './helpers/system.js';

/**
 * A create cancelled while its request is still out: the server exists at the provider, but
 * the engine never heard its id, so only the marker finds it. The cleanup's delete takes
 * effect and its answer never comes back (every try times out); the cleanup's next try then
 * finds no server by marker and none in the inventory. The server is still this create's,
 * and the result must still say it was deleted.
 */
test('a cancelled create whose cleanup deleted the server without hearing back still reports that server deleted', async () => {
  const sys = await TestSystem.start({ workers: 1, otherDelayMs: 500, env: { PROVIDER_TIMEOUT_MS: '1500' } });
  after(() => sys.stop());
  const provider = 'upcloud';
  // The create takes effect at once; its answer is held, so the cancel lands while it is out.
  const heldCreate = sys.sandbox.faults.add({ provider, method: 'POST', path: '^/1\\.3/server$', kind: 'slow_response', latencyMs: 1200, count: 1 });
  const unheardDelete = sys.sandbox.faults.add({ provider, method: 'DELETE', path: DELETE_PATH[provider], kind: 'slow_response', latencyMs: 2500 });

  const { plan, zone } = PROVIDER_REQUESTS[provider];
  const op = await sys.createServer({ provider, plan, zone, hostname: 'cleanup-unheard' });
  const [made] = await sys.eventually(async () => {
    const marked = await sys.serversMarkedBy(provider, op.id);
    return marked.length > 0 ? marked : undefined;
  }, 'the server to exist', 10000);
  const cancel = await sys.request('POST', `/v1/operations/${op.id}/cancel`);
  assert.equal(cancel.status, 202, JSON.stringify(cancel.body));

  const done = await sys.waitForStatus(op.id, ['completed', 'failed', 'cancelled'], 60000);
  assert.equal(matched(sys, heldCreate), 1);
  assert.ok(matched(sys, unheardDelete) >= 1, 'the cleanup sent its delete');
  assert.equal(done.status, 'cancelled', JSON.stringify(done.result));
  assert.equal(done.result!.cleanup_errors, undefined, JSON.stringify(done.result));
  const cleaned = done.result!.cleaned_up as Array<Record<string, unknown>>;
  assert.deepEqual(
    cleaned.map((c) => [c.provider_id, c.action]),
    [[made!.providerId, 'deleted']],
    `the result names the server the cleanup deleted: ${JSON.stringify(done.result)}`,
  );
  assert.deepEqual(await sys.serversMarkedBy(provider, op.id), [], 'nothing left at the provider');
  const servers = await sys.request('GET', '/v1/servers');
  assert.equal(JSON.stringify(servers.body).includes(made!.providerId), false, 'no inventory entry');
});
