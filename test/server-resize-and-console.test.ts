import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TestSystem } from './helpers/system.js';

// The cases share one system but each works on its own server: they run side by side.
describe('resizing a server and asking for its console', { concurrency: 4 }, () => {
  let sys: TestSystem;
  before(async () => {
    sys = await TestSystem.start({ workers: 1, doActiveDelayMs: 50, doActionDelayMs: 50 });
  });
  after(async () => {
    await sys?.stop();
  });

  async function runningServer(hostname: string): Promise<string> {
    const op = await sys.createServer({ hostname });
    const done = await sys.waitForStatus(op.id, ['completed', 'failed']);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    return String(done.result!.server_id);
  }

  test('PATCH with a new plan powers off, resizes, powers on, and says so in progress', async () => {
    const id = await runningServer('grow-01');
    const res = await sys.request('PATCH', `/v1/servers/${id}`, { body: { plan: 's-2vcpu-4gb' } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.body.type, 'server.resize');
    assert.equal(res.body.request.previous_plan, 's-1vcpu-1gb');
    const done = await sys.waitForStatus(res.body.id, ['completed', 'failed']);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.equal(done.result!.plan, 's-2vcpu-4gb');
    assert.equal(done.result!.status, 'running');
    const server = await sys.request('GET', `/v1/servers/${id}/status`);
    assert.equal(server.body.plan, 's-2vcpu-4gb');
    assert.equal(server.body.status, 'running');

    const events = await sys.api.ctx.redis.xrange(sys.api.ctx.keys.events(), '-', '+');
    const said = events.map(([, f]) => f).filter((f) => f.includes(res.body.id)).map((f) => f[f.indexOf('message') + 1] ?? '');
    const steps = ['powering off', 'resizing droplet', 'back on'].map((w) => said.findIndex((m) => m.includes(w)));
    assert.ok(steps.every((i) => i >= 0), said.join(' | '));
    assert.deepEqual([...steps].sort((a, b) => a - b), steps);
  });

  test('a stopped server stays stopped after its resize', async () => {
    const id = await runningServer('grow-02');
    const off = await sys.request('POST', `/v1/servers/${id}/actions`, { body: { action: 'power_off' } });
    await sys.waitForStatus(off.body.id, ['completed']);
    const res = await sys.request('PATCH', `/v1/servers/${id}`, { body: { plan: 's-2vcpu-2gb' } });
    const done = await sys.waitForStatus(res.body.id, ['completed', 'failed']);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.equal(done.result!.status, 'stopped');
  });

  test('a resize the provider refuses fails with its message; the same plan or a bad body is a 400', async () => {
    const id = await runningServer('shrink-01');
    const same = await sys.request('PATCH', `/v1/servers/${id}`, { body: { plan: 's-1vcpu-1gb' } });
    assert.equal(same.status, 400);
    assert.equal(same.body.details[0].field, 'plan');
    const missing = await sys.request('PATCH', `/v1/servers/${id}`, { body: {} });
    assert.equal(missing.status, 400);
    assert.equal(missing.body.details[0].field, 'plan');
    const shrink = await sys.request('PATCH', `/v1/servers/${id}`, { body: { plan: 's-1vcpu-512mb-10gb' } });
    const done = await sys.waitForStatus(shrink.body.id, ['completed', 'failed']);
    assert.equal(done.status, 'failed');
    assert.equal(done.error!.code, 'PROVIDER_REJECTED');
    assert.match(done.error!.message, /disk/i);
  });

  test('DigitalOcean has no console: 501 naming the provider; an unknown server 404', async () => {
    const id = await runningServer('console-01');
    const res = await sys.request('POST', `/v1/servers/${id}/console`);
    assert.equal(res.status, 501);
    assert.equal(res.body.error, 'CONSOLE_UNSUPPORTED');
    assert.match(res.body.message, /digitalocean/);
    assert.equal((await sys.request('POST', '/v1/servers/srv-000000000000/console')).status, 404);
  });
});
