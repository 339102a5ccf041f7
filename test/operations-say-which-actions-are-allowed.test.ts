import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TestSystem } from './helpers/system.js';

// Each case has its own system and mostly waits: two run side by side, each stopping its own system when done.
describe('every operation record says which actions are allowed now', { concurrency: 2 }, () => {

  test('pending: cancel only; cancelled: retry only; the same in the single read, the list, the wait and the cancel reply', async (t) => {
    const sys = await TestSystem.start({ workers: 0 });
    t.after(() => sys.stop());
    const op = await sys.createServer({ hostname: 'actions-01' });
    assert.deepEqual((op as any).actions, { cancel: true, force_cancel: false, retry: false }, 'the 202 of the create');
    assert.equal(op.retry_of, null);
    assert.equal(op.retried_by, null);

    const got = await sys.request('GET', `/v1/operations/${op.id}`);
    assert.deepEqual(got.body.actions, { cancel: true, force_cancel: false, retry: false });
    const listed = await sys.request('GET', '/v1/operations');
    assert.deepEqual(listed.body.find((o: { id: string }) => o.id === op.id).actions, { cancel: true, force_cancel: false, retry: false });

    const cancelled = await sys.request('POST', `/v1/operations/${op.id}/cancel`);
    assert.equal(cancelled.status, 200);
    assert.deepEqual(cancelled.body.actions, { cancel: false, force_cancel: false, retry: true });
    const waited = await sys.request('GET', `/v1/operations/${op.id}?wait=1s`);
    assert.deepEqual(waited.body.actions, { cancel: false, force_cancel: false, retry: true });
  });

  test('a create given user_data cannot be retried once it ended (the secret is gone), and says so', async (t) => {
    const sys = await TestSystem.start({ workers: 0 });
    t.after(() => sys.stop());
    const op = await sys.createServer({ hostname: 'actions-02', user_data: '#!/bin/sh\necho secret' });
    const cancelled = await sys.request('POST', `/v1/operations/${op.id}/cancel`);
    assert.equal(cancelled.body.status, 'cancelled');
    assert.deepEqual(cancelled.body.actions, { cancel: false, force_cancel: false, retry: false });
  });

  test('running: cancel until a cancel is requested, then force_cancel once the grace has passed', async (t) => {
    const sys = await TestSystem.start({ workers: 1, doActiveDelayMs: 8000, env: { FORCE_CANCEL_GRACE_MS: '1500' } });
    t.after(() => sys.stop());
    const op = await sys.createServer({ hostname: 'actions-03' });
    const running = await sys.eventually(async () => {
      const r = await sys.request('GET', `/v1/operations/${op.id}`);
      return r.body.status === 'running' ? r.body : undefined;
    }, 'the create to run');
    assert.deepEqual(running.actions, { cancel: true, force_cancel: false, retry: false });
    // Its droplet exists, so its cleanup has something to delete.
    await sys.eventually(async () => (await sys.droplets(`&tag_name=pe-op:${op.id}`))[0], 'the droplet to exist');
    // The cleanup cannot delete the droplet for now: the operation stays running, cancel requested.
    const refuse = sys.sandbox.faults.add({ provider: 'digitalocean', method: 'DELETE', path: '^/v2/droplets/\\d+$', kind: 'status', status: 503 });
    const asked = await sys.request('POST', `/v1/operations/${op.id}/cancel`);
    assert.equal(asked.status, 202);
    assert.deepEqual(asked.body.actions, { cancel: false, force_cancel: false, retry: false });
    await new Promise((r) => setTimeout(r, 1700));
    const later = await sys.request('GET', `/v1/operations/${op.id}`);
    assert.equal(later.body.status, 'running', JSON.stringify(later.body.result));
    assert.deepEqual(later.body.actions, { cancel: false, force_cancel: true, retry: false });
    sys.sandbox.faults.remove(refuse);
    const done = await sys.waitForStatus(op.id, ['cancelled', 'completed', 'failed'], 30000);
    assert.equal(done.status, 'cancelled');
  });
});
