import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { EVERY_PROVIDER, PROVIDER_REQUESTS } from './helpers/provider-requests.js';
import { TestSystem } from './helpers/system.js';

describe('one engine drives four clouds through one API', () => {
  let sys: TestSystem;
  before(async () => {
    sys = await TestSystem.start({ workers: 2, doActiveDelayMs: 100, doActionDelayMs: 100, otherDelayMs: 100 });
  });
  after(async () => {
    await sys?.stop();
  });

  for (const provider of EVERY_PROVIDER) {
    test(`${provider}: create, power off and on, resize, console, delete`, async () => {
      const { plan, zone, biggerPlan } = PROVIDER_REQUESTS[provider];
      const hostname = `api-${provider}`;
      const create = await sys.createServer({ provider, plan, zone, hostname, tags: ['web', 'env:test'] });
      const created = await sys.waitForStatus(create.id, ['completed', 'failed'], 30000);
      assert.equal(created.status, 'completed', JSON.stringify(created.error));
      const id = String(created.result!.server_id);
      let server = (await sys.request('GET', `/v1/servers/${id}/status`)).body;
      assert.equal(server.provider, provider);
      assert.equal(server.status, 'running');
      assert.equal(server.plan, plan);
      assert.equal(server.zone, zone);
      assert.match(server.ip_address, /^\d+\.\d+\.\d+\.\d+$/);
      assert.deepEqual([...server.tags].sort(), ['env:test', 'web'], 'user tags round-trip; the marker stays internal');
      assert.equal((await sys.serversMarkedBy(provider, create.id)).length, 1);

      for (const [action, expected] of [['power_off', 'stopped'], ['power_on', 'running']] as const) {
        const res = await sys.request('POST', `/v1/servers/${id}/actions`, { body: { action } });
        const done = await sys.waitForStatus(res.body.id, ['completed', 'failed'], 30000);
        assert.equal(done.status, 'completed', `${action}: ${JSON.stringify(done.error)}`);
        assert.equal(done.result!.status, expected);
      }

      const resize = await sys.request('PATCH', `/v1/servers/${id}`, { body: { plan: biggerPlan } });
      assert.equal(resize.status, 202, JSON.stringify(resize.body));
      const resized = await sys.waitForStatus(resize.body.id, ['completed', 'failed'], 30000);
      assert.equal(resized.status, 'completed', JSON.stringify(resized.error));
      server = (await sys.request('GET', `/v1/servers/${id}/status`)).body;
      assert.equal(server.plan, biggerPlan);
      assert.equal(server.status, 'running', 'running again after the resize');

      const console = await sys.request('POST', `/v1/servers/${id}/console`);
      if (provider === 'hetzner' || provider === 'vultr') {
        assert.equal(console.status, 200, JSON.stringify(console.body));
        assert.match(console.body.url, /^(wss|https?):\/\//);
        if (provider === 'hetzner') assert.ok(console.body.password);
      } else {
        assert.equal(console.status, 501);
        assert.equal(console.body.error, 'CONSOLE_UNSUPPORTED');
      }

      const del = await sys.request('DELETE', `/v1/servers/${id}`);
      const deleted = await sys.waitForStatus(del.body.id, ['completed', 'failed'], 30000);
      assert.equal(deleted.status, 'completed', JSON.stringify(deleted.error));
      assert.equal((await sys.request('GET', `/v1/servers/${id}/status`)).status, 404);
      assert.equal((await sys.serversMarkedBy(provider, create.id)).length, 0);
    });
  }

  test('the catalogue compares a 2-vCPU/4-GB server across all four providers', async () => {
    const res = await sys.request('GET', '/v1/catalog/plans?vcpus=2&memory_mb=4096');
    assert.equal(res.status, 200);
    const providers = new Set(res.body.plans.map((p: { provider: string }) => p.provider));
    for (const provider of EVERY_PROVIDER) {
      assert.ok(providers.has(provider), `${provider} offers one`);
      assert.equal(res.body.providers[provider].status, 'ok');
    }
  });
});
