import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import type { Operation } from '../src/core/operations/model.js';
import type { ProviderName } from '../src/common/provider.js';
import { PROVIDER_REQUESTS } from './helpers/provider-requests.js';
import { TestSystem } from './helpers/system.js';

const FINISHED = ['completed', 'failed', 'cancelled'];

// Each case has its own system and mostly waits: two run side by side, each stopping its own system when done.
describe('operations on one server run one at a time, in the order they were accepted', { concurrency: 2 }, () => {
  async function serverOn(t: TestContext, provider: ProviderName): Promise<{ sys: TestSystem; serverId: string }> {
    // Two workers, and actions slow enough that a second operation would start while the first runs.
    const sys = await TestSystem.start({ workers: 2, doActiveDelayMs: 300, doActionDelayMs: 1500, otherDelayMs: 1500 });
    t.after(() => sys.stop());
    const { plan, zone } = PROVIDER_REQUESTS[provider];
    const created = await sys.createServer({ provider, plan, zone, hostname: `lane-${provider}` });
    const done = await sys.waitForStatus(created.id, FINISHED, 40000);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    return { sys, serverId: String(done.result!.server_id) };
  }

  const act = async (sys: TestSystem, serverId: string, action: string): Promise<Operation> => {
    const res = await sys.request('POST', `/v1/servers/${serverId}/actions`, { body: { action } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    return res.body;
  };
  const get = async (sys: TestSystem, id: string): Promise<Operation> => (await sys.request('GET', `/v1/operations/${id}`)).body;

  for (const provider of ['upcloud', 'digitalocean'] as const) {
    test(`${provider}: power_off then two power_on: the later ones stay pending, name the one ahead, and run after it`, async (t) => {
      const { sys, serverId } = await serverOn(t, provider);
      const off = await act(sys, serverId, 'power_off');
      const on1 = await act(sys, serverId, 'power_on');
      const on2 = await act(sys, serverId, 'power_on');

      await sys.waitForStatus(off.id, ['running', ...FINISHED]);
      const queued = await sys.eventually(async () => {
        const op = await get(sys, on1.id);
        return op.progress?.waiting_for_operation ? op : undefined;
      }, 'the second operation to say what it waits for');
      assert.equal(queued.status, 'pending');
      assert.equal(queued.progress!.waiting_for_operation, off.id);
      assert.match(queued.progress!.message, new RegExp(`queued behind server.action operation ${off.id}`));

      const ops = await Promise.all([off, on1, on2].map((op) => sys.waitForStatus(op.id, FINISHED, 60000)));
      for (const op of ops) assert.equal(op.status, 'completed', `${op.id}: ${JSON.stringify(op.error)}`);
      const [a, b, c] = ops as [Operation, Operation, Operation];
      assert.ok(Date.parse(b.started_at!) >= Date.parse(a.finished_at!), 'the first power_on started after the power_off finished');
      assert.ok(Date.parse(c.started_at!) >= Date.parse(b.finished_at!), 'the second power_on started after the first finished');
      const server = (await sys.request('GET', `/v1/servers/${serverId}/status`)).body;
      assert.equal(server.status, 'running');
    });
  }

  test('a delete waits its turn, and a cancel of a queued operation is immediate', async (t) => {
    const { sys, serverId } = await serverOn(t, 'hetzner');
    const reboot = await act(sys, serverId, 'reboot');
    const del = await sys.request('DELETE', `/v1/servers/${serverId}`);
    assert.equal(del.status, 202, JSON.stringify(del.body));
    const off = await act(sys, serverId, 'power_off');

    await sys.eventually(async () => ((await get(sys, off.id)).progress?.waiting_for_operation ? true : undefined), 'the power_off to be queued');
    const cancelled = await sys.request('POST', `/v1/operations/${off.id}/cancel`);
    assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
    assert.equal(cancelled.body.status, 'cancelled', 'cancelled at once, not after the operations ahead');

    // Once a worker has looked at the delete while the reboot runs, it names the reboot as the
    // one ahead. Until then it is pending with no progress, so a single read could catch neither.
    const whileRebooting = await sys.eventually(async () => {
      const queued = await get(sys, del.body.id);
      if (queued.progress?.waiting_for_operation) return queued;
      return FINISHED.includes((await get(sys, reboot.id)).status) ? queued : undefined;
    }, 'the delete to queue behind the reboot, or the reboot to end');
    const rebooted = await sys.waitForStatus(reboot.id, FINISHED, 30000);
    assert.equal(rebooted.status, 'completed', JSON.stringify(rebooted.error));
    if (whileRebooting.progress?.waiting_for_operation) assert.equal(whileRebooting.progress.waiting_for_operation, reboot.id);
    const deleted = await sys.waitForStatus(del.body.id, FINISHED, 30000);
    assert.equal(deleted.status, 'completed', JSON.stringify(deleted.error));
    assert.ok(Date.parse(deleted.started_at!) >= Date.parse(rebooted.finished_at!), 'the delete started after the reboot finished');
    assert.equal((await sys.request('GET', `/v1/servers/${serverId}/status`)).status, 404);
  });
});
