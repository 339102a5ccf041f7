import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { http } from './helpers/http.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { TestSystem } from './helpers/system.js';
import { DO_CREATE, submitWorkflow, waitForWorkflow } from './helpers/workflows.js';

describe('webhooks report finished workflows and drift found by the reconcile', () => {
  let sys: TestSystem;
  let receiver: Receiver;

  before(async () => {
    receiver = await startReceiver();
    sys = await TestSystem.start({ doActiveDelayMs: 50, doActionDelayMs: 0, env: { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true', RECONCILE_INTERVAL_MS: '700' } });
    const made = await sys.request('POST', '/v1/workspaces/production/webhooks', { body: { url: `${receiver.url}/events`, events: ['workflow.finished', 'drift.found'] } });
    assert.equal(made.status, 201, JSON.stringify(made.body));
  });
  after(async () => {
    await sys?.stop();
    await receiver?.close();
  });

  const received = (type: string) => receiver.requests.map((r) => JSON.parse(r.body)).filter((b) => b.type === type);

  test('a workflow reaching its end is one workflow.finished event, with the workflow', async () => {
    const { id } = await submitWorkflow(sys, { workflow_type: 'cluster_create', parameters: { cluster_name: 'hooked', node_count: 2, ...DO_CREATE, taskservs: [] } });
    const wf = await waitForWorkflow(sys, id);
    assert.equal(wf.status, 'completed');
    const [event] = await sys.eventually(async () => {
      const found = received('workflow.finished').filter((b) => b.data.workflow?.id === id);
      return found.length ? found : undefined;
    }, 'workflow.finished');
    assert.equal(event.data.to, 'completed');
    assert.equal(event.workspace, 'production');
    // Its steps are operations, not workflows: they make no workflow.finished of their own.
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(received('workflow.finished').length, 1);
    assert.ok(receiver.requests.every((r) => r.headers['x-pe-event'] !== 'operation.completed'), 'unsubscribed types are not sent');
  });

  test('a server deleted behind the engine is one drift.found event', async () => {
    const op = await sys.createServer({ hostname: 'drifter-01' });
    const done = await sys.waitForStatus(op.id, ['completed']);
    const providerId = String(done.result!.provider_id);
    const serverId = String(done.result!.server_id);
    assert.equal((await http(sys.sandbox.digitaloceanBaseUrl, 'DELETE', `/droplets/${providerId}`, { token: sys.sandbox.token })).status, 204);
    const [event] = await sys.eventually(async () => {
      const found = received('drift.found').filter((b) => b.data.drift?.server_id === serverId);
      return found.length ? found : undefined;
    }, 'drift.found', 30000);
    assert.match(event.data.drift.message, /no longer exists/);
    assert.equal(event.data.drift.provider, 'digitalocean');
    await new Promise((r) => setTimeout(r, 1600));
    assert.equal(received('drift.found').filter((b) => b.data.drift?.server_id === serverId).length, 1);
  });
});
