import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TestSystem } from './helpers/system.js';
import { DO_CREATE, step, submitWorkflow, waitForWorkflow } from './helpers/workflows.js';

describe('a custom workflow runs its graph', () => {
  let sys: TestSystem;
  before(async () => {
    sys = await TestSystem.start({ workers: 1, doActiveDelayMs: 1000, doActionDelayMs: 300 });
  });
  after(async () => {
    await sys.stop();
  });

  test('independent steps run in parallel, dependants after, results flow through references', async () => {
    const submitted = await submitWorkflow(sys, {
      workflow_type: 'custom',
      parameters: {
        steps: [
          { id: 'a', type: 'server.create', parameters: { ...DO_CREATE, hostname: 'dag-a' } },
          { id: 'b', type: 'server.create', parameters: { ...DO_CREATE, hostname: 'dag-b' } },
          { id: 'c', type: 'server.action', depends_on: ['a'], parameters: { server_id: '${steps.a.result.server_id}', action: 'power_off' } },
          { id: 'd', type: 'server.resize', depends_on: ['c'], parameters: { server_id: '${steps.a.result.server_id}', plan: 's-2vcpu-4gb' } },
        ],
      },
    });
    assert.equal(submitted.status, 'pending');
    const wf = await waitForWorkflow(sys, submitted.id);
    assert.equal(wf.status, 'completed', JSON.stringify(wf.error ?? wf.steps));
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((id) => step(wf, id));
    for (const s of [a, b, c, d]) assert.equal(s!.status, 'completed', `${s!.id}: ${JSON.stringify(s!.error)}`);

    const t = (x: string | null) => Date.parse(x!);
    // Parallel: each create started before the other finished.
    assert.ok(t(a!.started_at) < t(b!.finished_at) && t(b!.started_at) < t(a!.finished_at), `a ${a!.started_at}–${a!.finished_at}, b ${b!.started_at}–${b!.finished_at}`);
    assert.ok(t(c!.started_at) >= t(a!.finished_at), 'c waited for a');
    assert.ok(t(d!.started_at) >= t(c!.finished_at), 'd waited for c');

    // The reference resolved to a's server, on which c and d acted.
    const serverId = a!.result.server_id as string;
    assert.match(serverId, /^srv-/);
    const cOp = (await sys.request('GET', `/v1/operations/${c!.operation_id}`)).body;
    assert.equal(cOp.request.server_id, serverId);
    assert.equal(cOp.parent_id, wf.id);
    const server = (await sys.request('GET', `/v1/servers/${serverId}/status`)).body;
    assert.equal(server.plan, 's-2vcpu-4gb');
    assert.equal(wf.result.steps.a.server_id, serverId);

    // Listed among workflows.
    const list = await sys.request('GET', '/v1/workflows?limit=10');
    assert.equal(list.status, 200);
    assert.ok(list.body.some((w: { id: string }) => w.id === wf.id));
    assert.ok(list.body.every((w: { type: string }) => w.type.startsWith('workflow.')));
  });

  const bad: Array<[string, Record<string, unknown>, string]> = [
    ['a cycle', { workflow_type: 'custom', parameters: { steps: [
      { id: 'x', type: 'server.create', depends_on: ['y'], parameters: { ...DO_CREATE, hostname: 'x' } },
      { id: 'y', type: 'server.create', depends_on: ['x'], parameters: { ...DO_CREATE, hostname: 'y' } },
    ] } }, 'parameters.steps[0].depends_on'],
    ['an unknown dependency', { workflow_type: 'custom', parameters: { steps: [
      { id: 'x', type: 'server.create', depends_on: ['nope'], parameters: { ...DO_CREATE, hostname: 'x' } },
    ] } }, 'parameters.steps[0].depends_on[0]'],
    ['a reference to a step it does not depend on', { workflow_type: 'custom', parameters: { steps: [
      { id: 'x', type: 'server.create', parameters: { ...DO_CREATE, hostname: 'x' } },
      { id: 'y', type: 'server.action', parameters: { server_id: '${steps.x.result.server_id}', action: 'reboot' } },
    ] } }, 'parameters.steps[1].parameters.server_id'],
    ['an unknown step type', { workflow_type: 'custom', parameters: { steps: [
      { id: 'x', type: 'server.explode', parameters: {} },
    ] } }, 'parameters.steps[0].type'],
    ['an unknown server', { workflow_type: 'custom', parameters: { steps: [
      { id: 'x', type: 'server.action', parameters: { server_id: 'srv-000000000000', action: 'reboot' } },
    ] } }, 'parameters.steps[0].parameters.server_id'],
    ['an unknown workflow type', { workflow_type: 'cluster_explode', parameters: {} }, 'workflow_type'],
    ['node_count 0', { workflow_type: 'cluster_create', parameters: { cluster_name: 'k', node_count: 0, ...DO_CREATE } }, 'parameters.node_count'],
    ['node_count 1000', { workflow_type: 'cluster_create', parameters: { cluster_name: 'k', node_count: 1000, ...DO_CREATE } }, 'parameters.node_count'],
    ['a bad step parameter', { workflow_type: 'custom', parameters: { steps: [
      { id: 'x', type: 'server.create', parameters: { ...DO_CREATE } },
    ] } }, 'parameters.steps[0].parameters.hostname'],
  ];
  for (const [what, body, field] of bad) {
    test(`rejects ${what} with a 400 naming ${field}, starting nothing`, async () => {
      const before = (await sys.request('GET', '/v1/operations?limit=200')).body.length;
      const res = await sys.request('POST', '/v1/workflows/submit', { body: { workspace: 'production', ...body } });
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.ok(res.body.details.some((d: { field: string }) => d.field === field), JSON.stringify(res.body.details));
      assert.equal((await sys.request('GET', '/v1/operations?limit=200')).body.length, before);
    });
  }
});
