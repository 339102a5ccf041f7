import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { TestSystem } from './helpers/system.js';

// Each case has its own system and mostly waits: two run side by side, each stopping its own system when done.
describe('cancelling operations', { concurrency: 2 }, () => {
  async function system(t: TestContext, opts: Parameters<typeof TestSystem.start>[0]): Promise<TestSystem> {
    const sys = await TestSystem.start(opts);
    t.after(() => sys.stop());
    return sys;
  }

  test('a pending operation is cancelled at once and its job removed', async (t) => {
    const sys = await system(t, { workers: 0 });
    const op = await sys.createServer({ hostname: 'never-01' });
    const res = await sys.request('POST', `/v1/operations/${op.id}/cancel`);
    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'cancelled');
    assert.equal(res.body.result.cancelled_before_start, true);
    assert.ok(res.body.finished_at);
    assert.equal(await sys.api.ctx.queues.for('digitalocean').getJob(op.id), undefined, 'job removed from the queue');
    // A worker arriving later finds nothing to do and creates nothing.
    await sys.startWorker();
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await sys.request('GET', `/v1/operations/${op.id}`)).body.status, 'cancelled');
    assert.equal((await sys.droplets(`&tag_name=pe-op:${op.id}`)).length, 0);
  });

  test('a running create is aborted, its droplet deleted, and it ends cancelled', async (t) => {
    const sys = await system(t, { workers: 1, doActiveDelayMs: 8000 });
    const op = await sys.createServer({ hostname: 'half-made-01' });
    const droplet = await sys.eventually(async () => (await sys.droplets(`&tag_name=pe-op:${op.id}`))[0], 'the droplet to exist');
    assert.equal(droplet.status, 'new', 'still provisioning when cancelled');
    const started = Date.now();

    const res = await sys.request('POST', `/v1/operations/${op.id}/cancel`);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.body.status, 'running');
    assert.ok(res.body.cancel_requested_at);
    assert.equal(res.body.cancel_requested_by, 'admin');

    const done = await sys.waitForStatus(op.id, ['cancelled', 'completed', 'failed']);
    assert.equal(done.status, 'cancelled');
    assert.ok(Date.now() - started < 5000, 'aborted well before the droplet would have become active');
    const cleaned = done.result!.cleaned_up as Array<Record<string, unknown>>;
    assert.equal(cleaned.length, 1);
    assert.equal(cleaned[0]!.action, 'deleted');
    assert.equal(cleaned[0]!.provider_id, String(droplet.id));
    assert.equal((await sys.droplets(`&tag_name=pe-op:${op.id}`)).length, 0, 'no droplet left behind');
    const servers = await sys.request('GET', '/v1/servers');
    assert.ok(!servers.body.some((s: { provider_id: string }) => s.provider_id === String(droplet.id)), 'not in the inventory');
  });

  test('a running power action the provider already has completes, saying the cancel came too late', async (t) => {
    const sys = await system(t, { workers: 1, doActiveDelayMs: 50, doActionDelayMs: 8000 });
    const create = await sys.createServer({ hostname: 'slow-power-01' });
    const serverId = (await sys.waitForStatus(create.id, ['completed'])).result!.server_id;
    const action = await sys.request('POST', `/v1/servers/${serverId}/actions`, { body: { action: 'power_off' } });
    assert.equal(action.status, 202);
    // The droplet is locked while its power_off runs at the provider.
    await sys.eventually(async () => ((await sys.droplets()).some((d) => d.name === 'slow-power-01' && (d as { locked?: boolean }).locked) ? true : undefined), 'the action to start');
    const res = await sys.request('POST', `/v1/operations/${action.body.id}/cancel`);
    assert.equal(res.status, 202);
    const done = await sys.waitForStatus(action.body.id, ['cancelled', 'completed', 'failed']);
    // The provider had the power_off and carried it out: the operation says so.
    assert.equal(done.status, 'completed', JSON.stringify(done.result));
    assert.equal(done.result!.cancel_too_late, true);
    assert.equal(done.result!.status, 'stopped');
    const cleaned = done.result!.cleaned_up as Array<{ action: string }>;
    assert.match(cleaned[0]!.action, /inventory refreshed: stopped/);
    const server = await sys.request('GET', `/v1/servers/${serverId}/status`);
    assert.equal(server.status, 200, 'the server is still known');
    assert.equal(server.body.status, 'stopped');
  });

  test('cancelling a finished operation answers 409 with its status, twice the same', async (t) => {
    const sys = await system(t, { workers: 1, doActiveDelayMs: 50 });
    const op = await sys.createServer({ hostname: 'done-01' });
    await sys.waitForStatus(op.id, ['completed']);
    for (let i = 0; i < 2; i++) {
      const res = await sys.request('POST', `/v1/operations/${op.id}/cancel`);
      assert.equal(res.status, 409);
      assert.equal(res.body.error, 'OPERATION_FINISHED');
      assert.equal(res.body.code, '409');
      assert.equal(res.body.details.status, 'completed');
      assert.match(res.body.message, /already completed/);
    }
    assert.equal((await sys.request('GET', `/v1/operations/${op.id}`)).body.status, 'completed');
  });

  test('cancelling an unknown operation is 404, a malformed id 400', async (t) => {
    const sys = await system(t, { workers: 0 });
    const unknown = await sys.request('POST', '/v1/operations/7d444840-9dc0-11d1-b245-5ffdce74fad2/cancel');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error, 'OPERATION_NOT_FOUND');
    const bad = await sys.request('POST', '/v1/operations/not-an-id/cancel');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.details[0].field, 'path.id');
  });
});
