import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { TestSystem } from './helpers/system.js';
import { createMember } from './helpers/tenants.js';
import { DO_CREATE, submitWorkflow } from './helpers/workflows.js';

describe('retrying a failed or cancelled operation makes a new, linked one', () => {
  const systems: TestSystem[] = [];
  after(async () => {
    await Promise.all(systems.map((s) => s.stop()));
  });
  async function system(workers = 0): Promise<TestSystem> {
    const sys = await TestSystem.start({ workers });
    systems.push(sys);
    return sys;
  }
  async function cancelled(sys: TestSystem, overrides: Record<string, unknown> = {}) {
    const op = await sys.createServer(overrides);
    const res = await sys.request('POST', `/v1/operations/${op.id}/cancel`);
    assert.equal(res.body.status, 'cancelled');
    return op;
  }

  test('the new operation has the same request and names the original; the original names it; it runs to the end', async () => {
    const sys = await system();
    const original = await cancelled(sys, { hostname: 'retry-01' });
    const res = await sys.request('POST', `/v1/operations/${original.id}/retry`);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const made = res.body;
    assert.notEqual(made.id, original.id);
    assert.equal(made.status, 'pending');
    assert.equal(made.retry_of, original.id);
    assert.equal(made.retried_by, null);
    assert.deepEqual([made.type, made.workspace, made.provider], [original.type, original.workspace, original.provider]);
    assert.deepEqual(made.request, original.request);
    assert.deepEqual(made.actions, { cancel: true, force_cancel: false, retry: false });
    assert.equal(res.headers.get('location'), `/v1/operations/${made.id}`);

    const old = (await sys.request('GET', `/v1/operations/${original.id}`)).body;
    assert.equal(old.retried_by, made.id);
    assert.equal(old.actions.retry, false);
    const again = await sys.request('POST', `/v1/operations/${original.id}/retry`);
    assert.equal(again.status, 409);
    assert.equal(again.body.error, 'OPERATION_ALREADY_RETRIED');
    assert.equal(again.body.details.retried_by, made.id);

    await sys.startWorker();
    const done = await sys.waitForStatus(made.id, ['completed', 'failed', 'cancelled']);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.equal((await sys.droplets(`&tag_name=pe-op:${made.id}`)).length, 1, 'one server, made by the retry');
    assert.equal((await sys.droplets(`&tag_name=pe-op:${original.id}`)).length, 0);
  });

  test('two retries at once make one operation; the same Idempotency-Key answers the same one', async () => {
    const sys = await system();
    const a = await cancelled(sys, { hostname: 'retry-02' });
    const both = await Promise.all([1, 2].map(() => sys.request('POST', `/v1/operations/${a.id}/retry`)));
    assert.deepEqual(both.map((r) => r.status).sort(), [202, 409], JSON.stringify(both.map((r) => r.body)));

    const b = await cancelled(sys, { hostname: 'retry-03' });
    const headers = { 'Idempotency-Key': 'retry-b-once' };
    const keyed = await Promise.all([1, 2].map(() => sys.request('POST', `/v1/operations/${b.id}/retry`, { headers })));
    assert.deepEqual(keyed.map((r) => r.status), [202, 202], JSON.stringify(keyed.map((r) => r.body)));
    assert.equal(keyed[0]!.body.id, keyed[1]!.body.id);
    const later = await sys.request('POST', `/v1/operations/${b.id}/retry`, { headers });
    assert.equal(later.status, 202);
    assert.equal(later.body.id, keyed[0]!.body.id);
    assert.equal(later.headers.get('idempotent-replayed'), 'true');
    const made = (await sys.request('GET', '/v1/operations?limit=200')).body.filter((o: { retry_of: string | null }) => o.retry_of === b.id);
    assert.equal(made.length, 1);
  });

  test('refusals: not failed or cancelled, secret inputs gone, no permission to submit it (and the refusal leaves no link)', async () => {
    const sys = await system();
    const pending = await sys.createServer({ hostname: 'retry-04' });
    const notYet = await sys.request('POST', `/v1/operations/${pending.id}/retry`);
    assert.equal(notYet.status, 409);
    assert.equal(notYet.body.error, 'OPERATION_NOT_RETRYABLE');
    assert.equal(notYet.body.details.status, 'pending');

    const secret = await cancelled(sys, { hostname: 'retry-05', user_data: '#!/bin/sh\necho hi' });
    const gone = await sys.request('POST', `/v1/operations/${secret.id}/retry`);
    assert.equal(gone.status, 409);
    assert.equal(gone.body.error, 'RETRY_INPUTS_GONE');
    assert.match(gone.body.message, /user_data/);

    const viewer = await createMember(sys, 'retryviewer', 'viewer', ['production']);
    const plain = await cancelled(sys, { hostname: 'retry-06' });
    const refused = await viewer.request('POST', `/v1/operations/${plain.id}/retry`);
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
    const after = (await sys.request('GET', `/v1/operations/${plain.id}`)).body;
    assert.equal(after.retried_by, null, 'a refused retry leaves no link');
    assert.equal(after.actions.retry, true);

    const unknown = await sys.request('POST', '/v1/operations/7d444840-9dc0-11d1-b245-5ffdce74fad2/retry');
    assert.equal(unknown.status, 404);
  });

  test('a workflow is retried by submitting it again', async () => {
    const sys = await system();
    const wf = await submitWorkflow(sys, { workflow_type: 'custom', parameters: { steps: [{ id: 'web', type: 'server.create', parameters: { ...DO_CREATE, hostname: 'retry-wf-01' } }] } });
    assert.equal((await sys.request('POST', `/v1/operations/${wf.id}/cancel`)).body.status, 'cancelled');
    const res = await sys.request('POST', `/v1/operations/${wf.id}/retry`);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.body.type, 'workflow.custom');
    assert.equal(res.body.retry_of, wf.id);
    assert.equal(res.headers.get('location'), `/v1/workflows/${res.body.id}`);
    assert.deepEqual(res.body.request.steps, (await sys.request('GET', `/v1/operations/${wf.id}`)).body.request.steps);
    await sys.startWorker();
    const done = await sys.waitForStatus(res.body.id, ['completed', 'failed', 'cancelled'], 30000);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
  });
});
