import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PROVIDER_REQUESTS } from './helpers/provider-requests.js';
import { TestSystem } from './helpers/system.js';
import { createMember } from './helpers/tenants.js';
import { DO_CREATE, submitWorkflow } from './helpers/workflows.js';

// Each case has its own system and mostly waits: two run side by side, each stopping its own system when done.
describe('pausing intake holds new operations pending until it is resumed', { concurrency: 2 }, () => {
  const hetzner = (hostname: string, workspace = 'production') => ({ provider: 'hetzner', plan: PROVIDER_REQUESTS.hetzner.plan, zone: PROVIDER_REQUESTS.hetzner.zone, hostname, workspace });

  test("a provider's pause: new operations wait pending and say why, running ones go on, other providers go on; resume releases them at once", async (t) => {
    const sys = await TestSystem.start({ workers: 1, otherDelayMs: 1500 });
    t.after(() => sys.stop());
    const running = await sys.createServer(hetzner('paused-01'));
    await sys.eventually(async () => ((await sys.request('GET', `/v1/operations/${running.id}`)).body.status === 'running' ? true : undefined), 'the first create to run');

    const paused = await sys.request('POST', '/v1/intake/pauses', { body: { scope: 'provider', name: 'hetzner', reason: 'maintenance window' } });
    assert.equal(paused.status, 201, JSON.stringify(paused.body));
    assert.equal(paused.body.paused_by, 'admin');
    const twice = await sys.request('POST', '/v1/intake/pauses', { body: { scope: 'provider', name: 'hetzner', reason: 'something else' } });
    assert.equal(twice.status, 200, 'pausing again is harmless');
    assert.equal(twice.body.reason, 'maintenance window');

    const held = await sys.createServer(hetzner('paused-02'));
    assert.equal(held.status, 'pending', 'still accepted');
    const waiting = await sys.eventually(async () => {
      const op = (await sys.request('GET', `/v1/operations/${held.id}`)).body;
      return op.progress?.step === 'paused' ? op : undefined;
    }, 'the create to be held');
    assert.equal(waiting.status, 'pending');
    assert.equal(waiting.progress.message, 'intake paused for provider hetzner: maintenance window');
    const listed = await sys.request('GET', '/v1/intake/pauses');
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.body.map((p: { scope: string; name: string; held: number }) => [p.scope, p.name, p.held]), [['provider', 'hetzner', 1]]);

    // Other providers are not paused; what was running when the pause came goes on.
    const other = await sys.createServer({ hostname: 'not-paused-01' });
    assert.equal((await sys.waitForStatus(other.id, ['completed', 'failed', 'cancelled'])).status, 'completed');
    assert.equal((await sys.waitForStatus(running.id, ['completed', 'failed', 'cancelled'])).status, 'completed');
    assert.equal((await sys.request('GET', `/v1/operations/${held.id}`)).body.status, 'pending', 'still held');
    assert.equal((await sys.serversMarkedBy('hetzner', held.id)).length, 0, 'nothing made while paused');

    const resumedAt = Date.now();
    const resumed = await sys.request('DELETE', '/v1/intake/pauses/provider/hetzner');
    assert.equal(resumed.status, 200, JSON.stringify(resumed.body));
    assert.deepEqual(resumed.body, { scope: 'provider', name: 'hetzner', was_paused: true, released: [held.id] });
    await sys.eventually(async () => ((await sys.request('GET', `/v1/operations/${held.id}`)).body.status !== 'pending' ? true : undefined), 'the held create to start', 10000);
    assert.ok(Date.now() - resumedAt < 10000, 'released at once, not at the next recheck');
    assert.equal((await sys.waitForStatus(held.id, ['completed', 'failed', 'cancelled'])).status, 'completed');
    assert.equal((await sys.serversMarkedBy('hetzner', held.id)).length, 1, 'exactly one server');

    const again = await sys.request('DELETE', '/v1/intake/pauses/provider/hetzner');
    assert.equal(again.status, 200);
    assert.equal(again.body.was_paused, false, 'resuming again is harmless');
    assert.deepEqual((await sys.request('GET', '/v1/intake/pauses')).body, []);

    const audit = await sys.request('GET', `/v1/audit?action=${encodeURIComponent('POST /v1/intake/pauses')}`);
    assert.equal(audit.body[0].actor, 'admin');
    assert.equal(audit.body[0].resource_id, 'provider:hetzner');
  });

  test("a workspace's pause: its operators may pause it, developers may not, a provider's needs a global admin; a held operation can still be cancelled", async (t) => {
    const sys = await TestSystem.start({ workers: 1 });
    t.after(() => sys.stop());
    const operator = await createMember(sys, 'intakeop', 'operator', ['staging']);
    const developer = await createMember(sys, 'intakedev', 'developer', ['staging']);

    const denied = await developer.request('POST', '/v1/intake/pauses', { body: { scope: 'workspace', name: 'staging', reason: 'no' } });
    assert.equal(denied.status, 403);
    const notAdmin = await operator.request('POST', '/v1/intake/pauses', { body: { scope: 'provider', name: 'digitalocean' } });
    assert.equal(notAdmin.status, 403);
    const elsewhere = await operator.request('POST', '/v1/intake/pauses', { body: { scope: 'workspace', name: 'production' } });
    assert.equal(elsewhere.status, 403);
    const badScope = await operator.request('POST', '/v1/intake/pauses', { body: { scope: 'planet', name: 'staging' } });
    assert.equal(badScope.status, 400);
    assert.equal(badScope.body.details[0].field, 'scope');
    const badProvider = await sys.request('POST', '/v1/intake/pauses', { body: { scope: 'provider', name: 'nimbus' } });
    assert.equal(badProvider.status, 400);
    assert.equal(badProvider.body.details[0].field, 'name');

    const paused = await operator.request('POST', '/v1/intake/pauses', { body: { scope: 'workspace', name: 'staging', reason: 'audit' } });
    assert.equal(paused.status, 201, JSON.stringify(paused.body));
    const held = await sys.createServer({ workspace: 'staging', hostname: 'held-ws-01' });
    const free = await sys.createServer({ workspace: 'production', hostname: 'free-ws-01' });
    assert.equal((await sys.waitForStatus(free.id, ['completed', 'failed', 'cancelled'])).status, 'completed');
    const waiting = await sys.eventually(async () => {
      const op = (await sys.request('GET', `/v1/operations/${held.id}`)).body;
      return op.progress?.step === 'paused' ? op : undefined;
    }, 'the staging create to be held');
    assert.equal(waiting.progress.message, 'intake paused for workspace staging: audit');
    // The developer sees the pause of its workspace.
    assert.equal((await developer.request('GET', '/v1/intake/pauses')).body.length, 1);
    // A workflow waits too, before it starts any step.
    const wf = await submitWorkflow(sys, { workspace: 'staging', workflow_type: 'custom', parameters: { steps: [{ id: 'web', type: 'server.create', parameters: { ...DO_CREATE, hostname: 'held-wf-01' } }] } });
    const wfWaiting = await sys.eventually(async () => {
      const op = (await sys.request('GET', `/v1/operations/${wf.id}`)).body;
      return op.progress?.step === 'paused' ? op : undefined;
    }, 'the workflow to be held');
    assert.equal(wfWaiting.status, 'pending');

    const cancelled = await sys.request('POST', `/v1/operations/${held.id}/cancel`);
    assert.equal(cancelled.status, 200);
    assert.equal(cancelled.body.status, 'cancelled');
    const resumed = await operator.request('DELETE', '/v1/intake/pauses/workspace/staging');
    assert.equal(resumed.status, 200);
    assert.deepEqual(resumed.body.released, [wf.id], 'the cancelled one is not released');
    assert.equal((await sys.waitForStatus(wf.id, ['completed', 'failed', 'cancelled'], 15000)).status, 'completed');
    assert.equal((await sys.request('GET', `/v1/operations/${held.id}`)).body.status, 'cancelled');
    assert.equal((await sys.droplets(`&tag_name=pe-op:${held.id}`)).length, 0);
  });
});
