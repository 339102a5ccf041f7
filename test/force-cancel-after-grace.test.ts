import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { loadConfig } from '../src/core/config.js';
import { markerTag } from '../src/common/provider.js';
import { DELETE_PATH } from './helpers/cancel-cases.js';
import { TestSystem } from './helpers/system.js';
import { DO_CREATE, getWorkflow, submitWorkflow } from './helpers/workflows.js';

const GRACE_MS = 1500;

describe('a cancel its worker cannot finish may be forced once its grace is over', () => {
  const systems: TestSystem[] = [];
  after(async () => {
    await Promise.all(systems.map((s) => s.stop()));
  });
  async function system(): Promise<TestSystem> {
    // Slow boots keep the create running; the cleanup's deletes are refused until the test lets them through.
    const sys = await TestSystem.start({ workers: 1, doActiveDelayMs: 10000, env: { FORCE_CANCEL_GRACE_MS: String(GRACE_MS) } });
    systems.push(sys);
    return sys;
  }
  test('FORCE_CANCEL_GRACE_MS defaults to 30 s and is checked at boot, naming itself', () => {
    assert.equal(loadConfig({}).forceCancelGraceMs, 30000);
    assert.equal(loadConfig({ FORCE_CANCEL_GRACE_MS: '0' }).forceCancelGraceMs, 0);
    assert.throws(() => loadConfig({ FORCE_CANCEL_GRACE_MS: 'soon' }), /FORCE_CANCEL_GRACE_MS/);
    assert.throws(() => loadConfig({ FORCE_CANCEL_GRACE_MS: '999999999999' }), /FORCE_CANCEL_GRACE_MS/);
  });

  const stuckCleanup = (sys: TestSystem) => sys.sandbox.faults.add({ provider: 'digitalocean', method: 'DELETE', path: DELETE_PATH.digitalocean, kind: 'status', status: 503 });

  test('refused before a cancel and during the grace (409 FORCE_CANCEL_NOT_YET, saying when); then it ends cancelled at once with a ledger, and the worker overwrites nothing', async () => {
    const sys = await system();
    const op = await sys.createServer({ hostname: 'forced-01' });
    const droplet = await sys.eventually(async () => (await sys.droplets(`&tag_name=pe-op:${op.id}`))[0], 'the droplet to exist');

    const early = await sys.request('POST', `/v1/operations/${op.id}/cancel`, { body: { force: true } });
    assert.equal(early.status, 409, JSON.stringify(early.body));
    assert.equal(early.body.error, 'FORCE_CANCEL_NOT_YET');
    assert.equal(early.body.details.allowed_at, null);

    const refuse = stuckCleanup(sys);
    const asked = await sys.request('POST', `/v1/operations/${op.id}/cancel`);
    assert.equal(asked.status, 202);
    const during = await sys.request('POST', `/v1/operations/${op.id}/cancel`, { body: { force: true } });
    assert.equal(during.status, 409);
    assert.equal(during.body.error, 'FORCE_CANCEL_NOT_YET');
    assert.equal(Date.parse(during.body.details.allowed_at), Date.parse(asked.body.cancel_requested_at) + GRACE_MS);

    await sys.eventually(async () => (Date.now() >= Date.parse(during.body.details.allowed_at) + 50 ? true : undefined), 'the grace to pass');
    assert.equal((await sys.request('GET', `/v1/operations/${op.id}`)).body.status, 'running', 'its cleanup is still stuck');
    const forced = await sys.request('POST', `/v1/operations/${op.id}/cancel`, { body: { force: true } });
    assert.equal(forced.status, 200, JSON.stringify(forced.body));
    assert.equal(forced.body.status, 'cancelled');
    assert.equal(forced.body.result.forced, true);
    assert.deepEqual(forced.body.result.cleaned_up, []);
    const remains = forced.body.result.may_remain as Array<Record<string, unknown>>;
    assert.equal(remains.length, 1, JSON.stringify(remains));
    assert.equal(remains[0]!.provider, 'digitalocean');
    assert.equal(remains[0]!.provider_id, String(droplet.id));
    assert.equal(remains[0]!.marker, markerTag(op.id));
    assert.match(String(remains[0]!.server_id), /^srv-/);
    assert.deepEqual(forced.body.actions, { cancel: false, force_cancel: false, retry: true });

    // Forcing again, or cancelling again, is a 409: it is finished.
    const again = await sys.request('POST', `/v1/operations/${op.id}/cancel`, { body: { force: true } });
    assert.equal(again.status, 409);
    assert.equal(again.body.error, 'OPERATION_FINISHED');

    // The worker still holding the job goes on with its cleanup once the provider lets it, and
    // removes the droplet, but the forced record stands as it was written.
    sys.sandbox.faults.remove(refuse);
    await sys.eventually(async () => ((await sys.droplets(`&tag_name=pe-op:${op.id}`)).length === 0 ? true : undefined), 'the worker to finish its cleanup', 30000);
    await sys.eventually(async () => ((await sys.api.ctx.redis.exists(sys.api.ctx.keys.lock(`run:${op.id}`))) === 0 ? true : undefined), 'the worker to let go of the run', 30000);
    const final = await sys.request('GET', `/v1/operations/${op.id}`);
    assert.equal(final.body.status, 'cancelled');
    assert.deepEqual(final.body.result, forced.body.result, 'the worker overwrote nothing');
    assert.equal((await sys.request('GET', `/v1/servers/${remains[0]!.server_id}/status`)).status, 404, 'the inventory follows what the worker removed');
  });

  test('forcing a workflow forces its running step with it', async () => {
    const sys = await system();
    const wf = await submitWorkflow(sys, { workflow_type: 'custom', parameters: { steps: [{ id: 'web', type: 'server.create', parameters: { ...DO_CREATE, hostname: 'forced-wf-01' } }] } });
    const stepId = await sys.eventually(async () => {
      const view = await getWorkflow(sys, wf.id);
      const web = view.steps[0]!;
      return web.operation_id && web.status === 'running' ? web.operation_id : undefined;
    }, 'the step to run');
    await sys.eventually(async () => (await sys.droplets(`&tag_name=pe-op:${stepId}`))[0], 'the droplet to exist');
    const refuse = stuckCleanup(sys);
    const asked = await sys.request('POST', `/v1/operations/${wf.id}/cancel`);
    assert.equal(asked.status, 202, JSON.stringify(asked.body));
    await new Promise((r) => setTimeout(r, GRACE_MS + 100));
    const forced = await sys.request('POST', `/v1/operations/${wf.id}/cancel`, { body: { force: true } });
    assert.equal(forced.status, 200, JSON.stringify(forced.body));
    assert.equal(forced.body.status, 'cancelled');
    assert.equal(forced.body.result.forced, true);
    assert.deepEqual(forced.body.result.forced_steps, [stepId]);
    assert.equal(forced.body.result.may_remain[0].operation_id, stepId);
    assert.equal(forced.body.result.may_remain[0].marker, markerTag(stepId));
    const step = await sys.request('GET', `/v1/operations/${stepId}`);
    assert.equal(step.body.status, 'cancelled');
    assert.equal(step.body.result.forced, true);
    const view = await getWorkflow(sys, wf.id);
    assert.equal(view.status, 'cancelled');
    assert.equal(view.steps[0]!.status, 'cancelled');
    sys.sandbox.faults.remove(refuse);
    await sys.eventually(async () => ((await sys.droplets(`&tag_name=pe-op:${stepId}`)).length === 0 ? true : undefined), 'the worker to finish its cleanup', 30000);
    assert.equal((await getWorkflow(sys, wf.id)).status, 'cancelled', 'nothing reopened it');
  });

  test('forcing one step of a workflow on its own tells the workflow, which ends at once', async () => {
    const sys = await system();
    const wf = await submitWorkflow(sys, { workflow_type: 'custom', parameters: { steps: [{ id: 'web', type: 'server.create', parameters: { ...DO_CREATE, hostname: 'forced-step-01' } }] } });
    const stepId = await sys.eventually(async () => {
      const web = (await getWorkflow(sys, wf.id)).steps[0]!;
      return web.operation_id && web.status === 'running' ? web.operation_id : undefined;
    }, 'the step to run');
    await sys.eventually(async () => (await sys.droplets(`&tag_name=pe-op:${stepId}`))[0], 'the droplet to exist');
    const refuse = stuckCleanup(sys);
    assert.equal((await sys.request('POST', `/v1/operations/${stepId}/cancel`)).status, 202);
    await new Promise((r) => setTimeout(r, GRACE_MS + 100));
    const forced = await sys.request('POST', `/v1/operations/${stepId}/cancel`, { body: { force: true } });
    assert.equal(forced.status, 200, JSON.stringify(forced.body));
    // A step cancelled on its own fails its workflow (on_failure: stop): the workflow heard of it.
    const view = await sys.eventually(async () => {
      const v = await getWorkflow(sys, wf.id);
      return v.status !== 'running' && v.status !== 'pending' ? v : undefined;
    }, 'the workflow to end', 10000);
    assert.equal(view.status, 'failed', JSON.stringify(view));
    assert.equal(view.steps[0]!.status, 'cancelled');
    sys.sandbox.faults.remove(refuse);
  });
});
