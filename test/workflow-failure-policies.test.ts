import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TestSystem } from './helpers/system.js';
import { DO_CREATE, step, submitWorkflow, waitForWorkflow } from './helpers/workflows.js';

const BAD_PLAN = { ...DO_CREATE, plan: 's-no-such-plan' };

describe('a failed step and the workflow failure policies', () => {
  let sys: TestSystem;
  before(async () => {
    sys = await TestSystem.start({ workers: 1, doActiveDelayMs: 1000, doActionDelayMs: 200 });
  });
  after(async () => {
    await sys.stop();
  });

  test('rollback deletes the servers the completed steps created, last first, and records it', async () => {
    const { id } = await submitWorkflow(sys, {
      workflow_type: 'custom',
      on_failure: 'rollback',
      parameters: { steps: [
        { id: 'a', type: 'server.create', parameters: { ...DO_CREATE, hostname: 'rb-a' } },
        { id: 'c', type: 'server.create', parameters: { ...DO_CREATE, hostname: 'rb-c' } },
        { id: 'bad', type: 'server.create', depends_on: ['a'], parameters: { ...BAD_PLAN, hostname: 'rb-bad' } },
      ] },
    });
    const wf = await waitForWorkflow(sys, id);
    assert.equal(wf.status, 'failed');
    assert.match(wf.error.message, /step 'bad'/);
    assert.equal(step(wf, 'bad').status, 'failed');
    const created = ['a', 'c'].map((s) => step(wf, s));
    for (const s of created) assert.equal(s.status, 'completed');
    assert.deepEqual(wf.rollback.map((r) => r.status), ['completed', 'completed']);
    assert.deepEqual(new Set(wf.result.rollback.map((r: { server_id: string }) => r.server_id)), new Set(created.map((s) => s.result.server_id)));
    // Last finished is undone first.
    const byFinish = [...created].sort((x, y) => Date.parse(y.finished_at!) - Date.parse(x.finished_at!)).map((s) => `rollback:${s.id}`);
    assert.deepEqual(wf.rollback.map((r) => r.id), byFinish);
    for (const s of created) {
      assert.equal((await sys.serversMarkedBy('digitalocean', s.operation_id!)).length, 0, `${s.id}'s server is gone at the provider`);
      assert.equal((await sys.request('GET', `/v1/servers/${s.result.server_id}/status`)).status, 404);
    }
  });

  const shape = (policy: string) => ({
    workflow_type: 'custom',
    on_failure: policy,
    parameters: { steps: [
      { id: 'bad', type: 'server.create', parameters: { ...BAD_PLAN, hostname: `${policy}-bad` } },
      { id: 'after-bad', type: 'server.create', depends_on: ['bad'], parameters: { ...DO_CREATE, hostname: `${policy}-after` } },
      { id: 'slow', type: 'server.create', parameters: { ...DO_CREATE, hostname: `${policy}-slow` } },
      { id: 'after-slow', type: 'server.action', depends_on: ['slow'], parameters: { server_id: '${steps.slow.result.server_id}', action: 'reboot' } },
    ] },
  });

  test('stop: once a step failed nothing new starts, and its dependants never do', async () => {
    const { id } = await submitWorkflow(sys, shape('stop'));
    const wf = await waitForWorkflow(sys, id);
    assert.equal(wf.status, 'failed');
    assert.equal(step(wf, 'bad').status, 'failed');
    assert.equal(step(wf, 'after-bad').status, 'skipped');
    assert.equal(step(wf, 'after-bad').operation_id, null);
    // Already running when the failure came: it finishes, but what depends on it does not start.
    assert.equal(step(wf, 'slow').status, 'completed');
    assert.equal(step(wf, 'after-slow').status, 'skipped');
    assert.deepEqual(wf.rollback, []);
  });

  test('continue: independent branches still run to the end', async () => {
    const { id } = await submitWorkflow(sys, shape('continue'));
    const wf = await waitForWorkflow(sys, id);
    assert.equal(wf.status, 'failed');
    assert.equal(step(wf, 'after-bad').status, 'skipped');
    assert.equal(step(wf, 'slow').status, 'completed');
    assert.equal(step(wf, 'after-slow').status, 'completed');
  });
});
