import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ProviderName } from '../src/common/provider.js';
import { configureSandbox, createdServer } from './helpers/cancel-cases.js';
import { EVERY_PROVIDER } from './helpers/provider-requests.js';
import { TestSystem } from './helpers/system.js';

/** The setting that makes each simulated provider take its time over a power-off. */
const SLOW_POWER_OFF: Record<ProviderName, Record<string, number>> = {
  digitalocean: { actionDelayMs: 3000 },
  hetzner: { actionDelayMs: 3000 },
  vultr: { actionDelayMs: 3000 },
  upcloud: { stopDelayMs: 3000 },
};

// Each case has its own system and mostly waits: two run side by side, each stopping its own system when done.
describe('a power action cancelled mid-transition leaves the inventory at the status the provider settles in', { concurrency: 2 }, () => {
  for (const provider of EVERY_PROVIDER) {
    test(`${provider}: power_off cancelled while the server is stopping`, async (t) => {
      const sys = await TestSystem.start({ workers: 1, doActiveDelayMs: 200, doActionDelayMs: 200, otherDelayMs: 200 });
      t.after(() => sys.stop());
      const { serverId, providerId } = await createdServer(sys, provider, `half-off-${provider}`);
      await configureSandbox(sys, provider, SLOW_POWER_OFF[provider]);

      const action = await sys.request('POST', `/v1/servers/${serverId}/actions`, { body: { action: 'power_off' } });
      assert.equal(action.status, 202, JSON.stringify(action.body));
      // The provider accepted the power-off and the operation waits for it to finish.
      await sys.eventually(async () => ((await sys.request('GET', `/v1/operations/${action.body.id}`)).body.progress?.waiting_for ? true : undefined), 'the operation to wait on the power-off', 10000);
      const cancel = await sys.request('POST', `/v1/operations/${action.body.id}/cancel`);
      assert.equal(cancel.status, 202, JSON.stringify(cancel.body));

      const done = await sys.waitForStatus(action.body.id, ['completed', 'failed', 'cancelled'], 20000);
      const record = (await sys.request('GET', `/v1/servers/${serverId}/status`)).body;
      assert.equal(record.status, 'stopped', `the inventory says what the provider settled in, not the moment of the cancel (${JSON.stringify(done.result)})`);
      const atProvider = await sys.adapters.get(provider)!.getServer(providerId, {});
      assert.equal(atProvider?.status, 'stopped', 'the provider finished the power-off');
      // The power-off happened all the same: the operation says so rather than `cancelled`.
      assert.equal(done.status, 'completed', JSON.stringify(done.result));
      assert.equal(done.result!.cancel_too_late, true);
      assert.equal(done.result!.status, 'stopped');
      assert.deepEqual(done.result!.cleaned_up, [{ resource: 'server', provider_id: providerId, action: 'inventory refreshed: stopped' }]);
    });
  }
});
