import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { bootingServer, DELETE_PATH, matched } from './helpers/cancel-cases.js';
import { TestSystem } from './helpers/system.js';

describe("a create's cancel cleanup the provider refuses for a while (429, 503) tries again and leaves nothing behind", () => {
  const systems: TestSystem[] = [];
  after(async () => {
    await Promise.all(systems.map((s) => s.stop()));
  });

  for (const provider of ['digitalocean', 'upcloud'] as const) {
    test(`${provider}: the cleanup's delete meets 429s and a 503, and still deletes the server`, async () => {
      const sys = await TestSystem.start({ workers: 1, doActiveDelayMs: 6000, otherDelayMs: 2500 });
      systems.push(sys);
      const { operationId, serverId } = await bootingServer(sys, provider, `refused-cleanup-${provider}`);

      const limited = sys.sandbox.faults.add({ provider, method: 'DELETE', path: DELETE_PATH[provider], kind: 'status', status: 429, retryAfterSec: 1, count: 2 });
      const broken = sys.sandbox.faults.add({ provider, method: 'DELETE', path: DELETE_PATH[provider], kind: 'status', status: 503, count: 1 });
      const cancel = await sys.request('POST', `/v1/operations/${operationId}/cancel`);
      assert.equal(cancel.status, 202, JSON.stringify(cancel.body));

      const done = await sys.waitForStatus(operationId, ['completed', 'failed', 'cancelled'], 60000);
      assert.equal(done.status, 'cancelled', JSON.stringify(done.result));
      assert.equal(done.result!.cleanup_errors, undefined, JSON.stringify(done.result));
      assert.equal(matched(sys, limited), 2, 'both 429s were met');
      assert.equal(matched(sys, broken), 1, 'the 503 was met');
      assert.deepEqual(await sys.serversMarkedBy(provider, operationId), [], 'nothing left at the provider');
      assert.equal((await sys.request('GET', `/v1/servers/${serverId}/status`)).status, 404, 'no inventory entry left');
    });
  }
});
