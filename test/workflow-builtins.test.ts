import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TestSystem } from './helpers/system.js';
import { DO_CREATE, submitWorkflow, waitForWorkflow } from './helpers/workflows.js';

describe('built-in workflows', () => {
  let sys: TestSystem;
  before(async () => {
    sys = await TestSystem.start({ workers: 1 });
  });
  after(async () => {
    await sys.stop();
  });

  test('cluster_create makes the nodes and returns the cluster; cluster_delete removes them', async () => {
    const { id } = await submitWorkflow(sys, { workflow_type: 'cluster_create', parameters: { cluster_name: 'k8s', node_count: 3, ...DO_CREATE, taskservs: [] } });
    const wf = await waitForWorkflow(sys, id);
    assert.equal(wf.status, 'completed', JSON.stringify(wf.error));
    assert.equal(wf.workflow_type, 'cluster_create');
    assert.equal(wf.result.cluster_name, 'k8s');
    assert.equal(wf.result.servers.length, 3);
    assert.deepEqual(wf.result.servers.map((s: { hostname: string }) => s.hostname).sort(), ['k8s-1', 'k8s-2', 'k8s-3']);
    for (const s of wf.result.servers) assert.ok(s.tags.includes('cluster:k8s'));

    const del = await submitWorkflow(sys, { workflow_type: 'cluster_delete', parameters: { cluster_name: 'k8s' } });
    const deleted = await waitForWorkflow(sys, del.id);
    assert.equal(deleted.status, 'completed', JSON.stringify(deleted.error));
    assert.equal(deleted.steps.length, 3);
    for (const s of wf.result.servers) assert.equal((await sys.request('GET', `/v1/servers/${s.id}/status`)).status, 404);
    assert.equal((await sys.droplets()).filter((d) => d.name.startsWith('k8s-')).length, 0);

    const none = await sys.request('POST', '/v1/workflows/submit', { body: { workspace: 'production', workflow_type: 'cluster_delete', parameters: { cluster_name: 'k8s' } } });
    assert.equal(none.status, 400);
    assert.equal(none.body.details[0].field, 'parameters.cluster_name');
  });

  test('a 3-node cluster_create installs kubernetes on every node over SSH', async () => {
    const before = sys.sandbox.ssh!.commands().length;
    const { id } = await submitWorkflow(sys, { workflow_type: 'cluster_create', parameters: { cluster_name: 'kube', node_count: 3, ...DO_CREATE, taskservs: ['kubernetes'] } });
    const wf = await waitForWorkflow(sys, id, 60000);
    assert.equal(wf.status, 'completed', JSON.stringify(wf.error));
    assert.equal(wf.result.servers.length, 3);
    const creates = wf.steps.filter((s) => s.type === 'server.create');
    const installs = wf.steps.filter((s) => s.type === 'taskserv.create');
    assert.equal(creates.length, 3);
    assert.ok(installs.length >= 1);
    // The install starts only after every node exists.
    const lastCreate = Math.max(...creates.map((s) => Date.parse(String(s.finished_at))));
    for (const step of installs) assert.ok(Date.parse(String(step.started_at)) >= lastCreate);

    const ran = sys.sandbox.ssh!.commands().slice(before).filter((c) => c.script.includes('kubelet'));
    const addresses = wf.result.servers.map((s: { ip_address: string }) => s.ip_address).sort();
    assert.deepEqual([...new Set(ran.map((c) => c.server))].sort(), addresses, 'the kubernetes install ran on each node');
    const listed = await sys.request('GET', '/v1/taskservs');
    const k8s = listed.body.find((t: { name: string; servers: string[] }) => t.name === 'kubernetes');
    assert.ok(k8s);
    assert.equal(k8s.servers.length, 3);
  });

  test('server_batch_create makes every server', async () => {
    const { id } = await submitWorkflow(sys, { workflow_type: 'server_batch_create', parameters: { ...DO_CREATE, hostname_prefix: 'batch', count: 4 } });
    const wf = await waitForWorkflow(sys, id);
    assert.equal(wf.status, 'completed', JSON.stringify(wf.error));
    assert.equal(wf.result.servers.length, 4);
    assert.equal(new Set(wf.result.servers.map((s: { id: string }) => s.id)).size, 4);
  });

  test('the workflow list filters by workflow type', async () => {
    const list = await sys.request('GET', '/v1/workflows?workflow_type=server_batch_create');
    assert.equal(list.status, 200);
    assert.ok(list.body.every((w: { type: string }) => w.type === 'workflow.server_batch_create'));
  });
});
