import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { TestSystem } from './helpers/system.js';
import { DO_CREATE, getWorkflow, step, submitWorkflow, waitForWorkflow } from './helpers/workflows.js';

describe('cancelling a workflow and killing its worker', () => {
  const systems: TestSystem[] = [];
  after(async () => {
    await Promise.all(systems.map((s) => s.stop()));
  });

  for (const endpoint of ['workflows', 'operations'] as const) test(`cancel in the middle (POST /v1/${endpoint}/{id}/cancel): running steps abort and clean up, the rest never start, the workflow ends cancelled`, async () => {
    // No sweep within the test: the cancel alone must carry the workflow to its end.
    const sys = await TestSystem.start({ workers: 1, doActiveDelayMs: 5000, env: { SWEEP_INTERVAL_MS: '600000' } });
    systems.push(sys);
    const { id } = await submitWorkflow(sys, {
      workflow_type: 'custom',
      parameters: { steps: [
        { id: 'a', type: 'server.create', parameters: { ...DO_CREATE, hostname: 'cancel-a' } },
        { id: 'b', type: 'server.create', parameters: { ...DO_CREATE, hostname: 'cancel-b' } },
        { id: 'c', type: 'server.action', depends_on: ['a'], parameters: { server_id: '${steps.a.result.server_id}', action: 'reboot' } },
      ] },
    });
    const running = await sys.eventually(async () => {
      const wf = await getWorkflow(sys, id);
      const ids = ['a', 'b'].map((s) => step(wf, s).operation_id);
      if (ids.some((x) => !x)) return undefined;
      for (const op of ids) if ((await sys.serversMarkedBy('digitalocean', op!)).length === 0) return undefined;
      return wf;
    }, 'both creates to have made their servers');
    assert.equal(running.status, 'running');

    const res = await sys.request('POST', `/v1/${endpoint}/${id}/cancel`);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const wf = await waitForWorkflow(sys, id);
    assert.equal(wf.status, 'cancelled');
    for (const s of ['a', 'b'].map((x) => step(wf, x))) {
      assert.equal(s.status, 'cancelled', s.id);
      assert.equal(s.result.cleaned_up.length, 1, `${s.id} deleted its half-made server`);
      assert.equal((await sys.serversMarkedBy('digitalocean', s.operation_id!)).length, 0);
    }
    assert.equal(step(wf, 'c').status, 'skipped');
    assert.equal((await sys.request('POST', `/v1/workflows/${id}/cancel`)).status, 409);
  });

  test('a worker killed mid-workflow: a new one resumes it and every step runs exactly once', async () => {
    const sys = await TestSystem.start({ workers: 1, doActiveDelayMs: 2500 });
    systems.push(sys);
    const { id } = await submitWorkflow(sys, {
      workflow_type: 'custom',
      parameters: { steps: [
        { id: 'a', type: 'server.create', parameters: { ...DO_CREATE, hostname: 'crash-a' } },
        { id: 'b', type: 'server.create', depends_on: ['a'], parameters: { ...DO_CREATE, hostname: 'crash-b' } },
        { id: 'c', type: 'server.action', depends_on: ['b'], parameters: { server_id: '${steps.b.result.server_id}', action: 'reboot' } },
      ] },
    });
    await sys.eventually(async () => {
      const a = step(await getWorkflow(sys, id), 'a').operation_id;
      return a && (await sys.serversMarkedBy('digitalocean', a)).length > 0 ? true : undefined;
    }, 'step a to have made its server');
    await sys.workers[0]!.kill('SIGKILL');
    assert.equal((await getWorkflow(sys, id)).status, 'running');
    assert.equal(step(await getWorkflow(sys, id), 'b').operation_id, null, 'b had not started');

    await sys.startWorker();
    const wf = await waitForWorkflow(sys, id, 60000);
    assert.equal(wf.status, 'completed', JSON.stringify(wf.error ?? wf.steps));
    for (const s of ['a', 'b'].map((x) => step(wf, x))) {
      assert.equal(s.status, 'completed');
      assert.equal((await sys.serversMarkedBy('digitalocean', s.operation_id!)).length, 1, `exactly one server for ${s.id}`);
    }
    // (The killed run had parked a waiting for its droplet: the next run took the create from
    // a's journal, or, killed before that was written, found the droplet by its marker.)
    assert.equal(step(wf, 'c').status, 'completed');
    const droplets = await sys.droplets();
    assert.equal(droplets.filter((d) => d.name.startsWith('crash-')).length, 2);
  });
});
