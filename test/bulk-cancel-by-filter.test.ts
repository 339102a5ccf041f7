import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TestSystem } from './helpers/system.js';
import { createMember } from './helpers/tenants.js';

// Each case has its own system and mostly waits: two run side by side, each stopping its own system when done.
describe('cancelling every open operation that matches a filter', { concurrency: 2 }, () => {

  const status = async (sys: TestSystem, id: string) => (await sys.request('GET', `/v1/operations/${id}`)).body.status as string;

  test("a dry run changes nothing; a caller cancels only in its own workspaces, each cancel audited on its own", async (t) => {
    const sys = await TestSystem.start({ workers: 0 });
    t.after(() => sys.stop());
    const prod = [await sys.createServer({ hostname: 'bulk-p1' }), await sys.createServer({ hostname: 'bulk-p2' })];
    const staging = [await sys.createServer({ workspace: 'staging', hostname: 'bulk-s1' }), await sys.createServer({ workspace: 'staging', hostname: 'bulk-s2' })];
    const dev = await createMember(sys, 'bulkdev', 'developer', ['staging']);

    const dry = await dev.request('POST', '/v1/operations/cancel', { body: { dry_run: true } });
    assert.equal(dry.status, 200, JSON.stringify(dry.body));
    assert.equal(dry.body.dry_run, true);
    assert.equal(dry.body.matched, 2);
    assert.deepEqual(dry.body.ids, staging.map((o) => o.id), 'oldest first, only its workspace');
    assert.deepEqual([dry.body.cancelled, dry.body.requested, dry.body.skipped, dry.body.truncated], [[], [], [], false]);
    for (const op of [...prod, ...staging]) assert.equal(await status(sys, op.id), 'pending', 'a dry run changes nothing');

    const res = await dev.request('POST', '/v1/operations/cancel', { body: {} });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.dry_run, false);
    assert.deepEqual(res.body.cancelled.sort(), staging.map((o) => o.id).sort());
    assert.deepEqual(res.body.requested, []);
    for (const op of staging) assert.equal(await status(sys, op.id), 'cancelled');
    for (const op of prod) assert.equal(await status(sys, op.id), 'pending', "another workspace's operations are untouched");

    const audit = await sys.request('GET', `/v1/audit?actor=bulkdev&action=${encodeURIComponent('POST /v1/operations/cancel')}&limit=50`);
    assert.equal(audit.status, 200);
    const perOp = audit.body.filter((e: { resource_id?: string }) => e.resource_id !== undefined);
    assert.deepEqual(perOp.map((e: { resource_id: string }) => e.resource_id).sort(), staging.map((o) => o.id).sort(), JSON.stringify(audit.body));
    for (const entry of perOp) {
      assert.equal(entry.actor, 'bulkdev');
      assert.equal(entry.resource_type, 'operation');
      assert.equal(entry.workspace, 'staging');
      assert.equal(entry.result, 'success');
      assert.equal(entry.detail.outcome, 'cancelled');
    }
  });

  test('filters: workspace, type, provider and created_before pick exactly what they name; bad input is a 400 naming the field', async (t) => {
    const sys = await TestSystem.start({ workers: 0 });
    t.after(() => sys.stop());
    const first = await sys.createServer({ hostname: 'bulk-f1' });
    await new Promise((r) => setTimeout(r, 20));
    const cut = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 20));
    const second = await sys.createServer({ hostname: 'bulk-f2' });
    const elsewhere = await sys.createServer({ workspace: 'staging', hostname: 'bulk-f3' });

    const none = await sys.request('POST', '/v1/operations/cancel', { body: { provider: 'hetzner', dry_run: true } });
    assert.equal(none.body.matched, 0);
    const wrongType = await sys.request('POST', '/v1/operations/cancel', { body: { type: 'server.delete', dry_run: true } });
    assert.equal(wrongType.body.matched, 0);
    const running = await sys.request('POST', '/v1/operations/cancel', { body: { status: 'running', dry_run: true } });
    assert.equal(running.body.matched, 0);

    const res = await sys.request('POST', '/v1/operations/cancel', { body: { workspace: 'production', type: 'server.create', provider: 'digitalocean', created_before: cut } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.cancelled, [first.id]);
    assert.equal(await status(sys, first.id), 'cancelled');
    assert.equal(await status(sys, second.id), 'pending');
    assert.equal(await status(sys, elsewhere.id), 'pending');

    const bad = await sys.request('POST', '/v1/operations/cancel', { body: { status: 'completed' } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.details[0].field, 'status');
    const badTime = await sys.request('POST', '/v1/operations/cancel', { body: { created_before: 'yesterday' } });
    assert.equal(badTime.status, 400);
    assert.equal(badTime.body.details[0].field, 'created_before');
    // The single-operation routes are unaffected by the bulk one beside them.
    assert.equal((await sys.request('GET', `/v1/operations/${second.id}`)).status, 200);
    assert.equal((await sys.request('POST', `/v1/operations/${second.id}/cancel`)).status, 200);
  });

  test('a running operation is asked to stop (requested) and ends cancelled', async (t) => {
    const sys = await TestSystem.start({ workers: 1, doActiveDelayMs: 8000 });
    t.after(() => sys.stop());
    const op = await sys.createServer({ hostname: 'bulk-r1' });
    await sys.eventually(async () => ((await status(sys, op.id)) === 'running' ? true : undefined), 'the create to run');
    const res = await sys.request('POST', '/v1/operations/cancel', { body: { status: 'running' } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.requested, [op.id]);
    assert.deepEqual(res.body.cancelled, []);
    const done = await sys.waitForStatus(op.id, ['cancelled', 'completed', 'failed']);
    assert.equal(done.status, 'cancelled');
    assert.equal((await sys.droplets(`&tag_name=pe-op:${op.id}`)).length, 0);
  });
});
