import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { ProviderName } from '../src/common/provider.js';
import { EVERY_PROVIDER, PROVIDER_REQUESTS } from './helpers/provider-requests.js';
import { TestSystem } from './helpers/system.js';

/** Each provider's reboot request, as the sandbox's fault rules see it. */
const REBOOT_PATH: Record<ProviderName, string> = {
  digitalocean: '^/v2/droplets/\\d+/actions$',
  hetzner: '^/v1/servers/\\d+/actions/reboot$',
  vultr: '^/v2/instances/[^/]+/reboot$',
  upcloud: '^/1\\.3/server/[^/]+/restart$',
};

// Each case has its own system: two run side by side, since most of a case is waiting.
describe('a worker killed while its reboot was on the wire: the rerun does not reboot again', { concurrency: 2 }, () => {
  const systems: TestSystem[] = [];
  after(async () => {
    await Promise.all(systems.map((s) => s.stop()));
  });

  for (const provider of EVERY_PROVIDER) {
    const { plan, zone } = PROVIDER_REQUESTS[provider];
    test(`${provider}: one reboot operation, one reboot at the provider`, async () => {
      const sys = await TestSystem.start({ workers: 1, doActiveDelayMs: 300, doActionDelayMs: 300, otherDelayMs: 300 });
      systems.push(sys);
      const created = await sys.createServer({ provider, plan, zone, hostname: `reboot-once-${provider}` });
      const server = await sys.waitForStatus(created.id, ['completed', 'failed']);
      assert.equal(server.status, 'completed', JSON.stringify(server.error));

      // The provider carries out the reboot but takes 5 s to say so; the worker dies meanwhile.
      // A second rule only counts the reboots the provider receives.
      sys.sandbox.faults.add({ provider, method: 'POST', path: REBOOT_PATH[provider], kind: 'slow_response', latencyMs: 5000, count: 1 });
      const counter = sys.sandbox.faults.add({ provider, method: 'POST', path: REBOOT_PATH[provider], kind: 'latency', latencyMs: 0 });
      const sent = () => sys.sandbox.faults.list().find((r) => r.id === counter)!.matched;

      const res = await sys.request('POST', `/v1/servers/${server.result!.server_id}/actions`, { body: { action: 'reboot' } });
      assert.equal(res.status, 202, JSON.stringify(res.body));
      await sys.eventually(async () => (sent() > 0 ? true : undefined), 'the reboot to reach the provider', 10000);
      await sys.workers[0]!.kill('SIGKILL');

      await sys.startWorker();
      const done = await sys.waitForStatus(res.body.id, ['completed', 'failed', 'cancelled'], 40000);
      assert.equal(done.status, 'completed', JSON.stringify(done.error));
      assert.equal(sent(), 1, 'the provider received one reboot');
      const logs = await sys.request('GET', `/v1/operations/${res.body.id}/logs?limit=200`);
      assert.match(JSON.stringify(logs.body), /earlier attempt/, 'the rerun says why it sent nothing');
    });
  }
});

describe('a reboot of a halted server that the provider refused (5xx) is sent again on the rerun', () => {
  const systems: TestSystem[] = [];
  after(async () => {
    await Promise.all(systems.map((s) => s.stop()));
  });

  // Neither records actions the engine could look for; the server's state tells instead.
  // UpCloud restarts only a started server: a halted one's reboot is a start.
  const HALTED_REBOOT_PATH = { vultr: REBOOT_PATH.vultr, upcloud: '^/1\\.3/server/[^/]+/start$' };
  for (const provider of ['vultr', 'upcloud'] as const) {
    const { plan, zone } = PROVIDER_REQUESTS[provider];
    test(`${provider}: the halted server boots, and the operation completes`, async () => {
      const sys = await TestSystem.start({ workers: 1, otherDelayMs: 300 });
      systems.push(sys);
      const created = await sys.createServer({ provider, plan, zone, hostname: `refused-reboot-${provider}` });
      const server = await sys.waitForStatus(created.id, ['completed', 'failed']);
      assert.equal(server.status, 'completed', JSON.stringify(server.error));
      const id = server.result!.server_id as string;
      const off = await sys.request('POST', `/v1/servers/${id}/actions`, { body: { action: 'power_off' } });
      assert.equal((await sys.waitForStatus(off.body.id, ['completed', 'failed'])).status, 'completed');

      // Refused without effect; the first run cannot know that, the rerun sees the server still halted.
      const refused = sys.sandbox.faults.add({ provider, method: 'POST', path: HALTED_REBOOT_PATH[provider], kind: 'status', status: 503, count: 1 });
      const res = await sys.request('POST', `/v1/servers/${id}/actions`, { body: { action: 'reboot' } });
      assert.equal(res.status, 202, JSON.stringify(res.body));
      const done = await sys.waitForStatus(res.body.id, ['completed', 'failed', 'cancelled'], 40000);
      assert.equal(done.status, 'completed', JSON.stringify(done.error));
      assert.equal(sys.sandbox.faults.list().find((r) => r.id === refused)!.matched, 1, 'the first reboot was refused');
      const status = await sys.request('GET', `/v1/servers/${id}/status`);
      assert.equal(status.body.status, 'running');
    });
  }
});
