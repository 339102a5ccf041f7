import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TestSystem } from './helpers/system.js';

describe('a server through its life: create, inventory, power actions, delete', () => {
  let sys: TestSystem;
  before(async () => {
    sys = await TestSystem.start({ workers: 1 });
  });
  after(async () => {
    await sys?.stop();
  });

  async function createdServer(hostname: string): Promise<string> {
    const op = await sys.createServer({ hostname });
    const done = await sys.waitForStatus(op.id, ['completed', 'failed']);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    return String(done.result!.server_id);
  }

  test('create goes pending → running → completed and the server is in the inventory', async () => {
    const op = await sys.createServer({ hostname: 'web-01', tags: ['web', 'production'] });
    assert.equal(op.status, 'pending');
    assert.equal(op.type, 'server.create');
    assert.equal(op.result, null);
    assert.equal(op.error, null);

    const running = await sys.waitForStatus(op.id, ['running', 'completed']);
    assert.ok(['running', 'completed'].includes(running.status));
    const done = await sys.waitForStatus(op.id, ['completed', 'failed']);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.match(String(done.result!.server_id), /^srv-[0-9a-f]{12}$/);
    assert.match(String(done.result!.ip_address), /^\d+\.\d+\.\d+\.\d+$/);
    assert.equal(done.result!.resumed, false);
    assert.ok(done.started_at && done.finished_at);
    assert.equal(done.attempt, 1);

    const status = await sys.request('GET', `/v1/servers/${done.result!.server_id}/status`);
    assert.equal(status.status, 200);
    assert.equal(status.body.hostname, 'web-01');
    assert.equal(status.body.provider, 'digitalocean');
    assert.equal(status.body.plan, 's-1vcpu-1gb');
    assert.equal(status.body.zone, 'nyc3');
    assert.equal(status.body.status, 'running');
    assert.equal(status.body.ip_address, done.result!.ip_address);
    assert.deepEqual(status.body.tags, ['web', 'production'], 'the engine marker tag stays internal');

    const list = await sys.request('GET', '/v1/servers');
    assert.equal(list.status, 200);
    assert.ok(list.body.some((s: { id: string }) => s.id === done.result!.server_id));

    const droplets = await sys.droplets(`&tag_name=pe-op:${op.id}`);
    assert.equal(droplets.length, 1);
    assert.equal(droplets[0]!.status, 'active');
    assert.ok(droplets[0]!.tags.includes('web'));
  });

  test('power_off, power_on and reboot run as operations and keep the inventory current', async () => {
    const id = await createdServer('power-01');
    for (const [action, expected] of [['power_off', 'stopped'], ['power_on', 'running'], ['reboot', 'running']] as const) {
      const res = await sys.request('POST', `/v1/servers/${id}/actions`, { body: { action } });
      assert.equal(res.status, 202, JSON.stringify(res.body));
      assert.equal(res.body.type, 'server.action');
      assert.equal(res.body.status, 'pending');
      const done = await sys.waitForStatus(res.body.id, ['completed', 'failed']);
      assert.equal(done.status, 'completed', JSON.stringify(done.error));
      assert.equal(done.result!.status, expected);
      const server = await sys.request('GET', `/v1/servers/${id}/status`);
      assert.equal(server.body.status, expected, `after ${action}`);
    }
  });

  test('delete removes the droplet and the inventory record', async () => {
    const id = await createdServer('delete-01');
    const providerId = (await sys.request('GET', `/v1/servers/${id}/status`)).body.provider_id;
    const res = await sys.request('DELETE', `/v1/servers/${id}`);
    assert.equal(res.status, 202);
    assert.equal(res.body.type, 'server.delete');
    const done = await sys.waitForStatus(res.body.id, ['completed', 'failed']);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.equal(done.result!.deleted, true);
    assert.equal((await sys.request('GET', `/v1/servers/${id}/status`)).status, 404);
    assert.ok(!(await sys.droplets()).some((d) => String(d.id) === providerId));
  });

  test('check_mode validates against the provider and creates nothing', async () => {
    const before = (await sys.droplets()).length;
    const op = await sys.createServer({ hostname: 'dry-01', check_mode: true, plan: 's-2vcpu-4gb', zone: 'fra1' });
    const done = await sys.waitForStatus(op.id, ['completed', 'failed']);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.equal(done.result!.check_mode, true);
    const plan = done.result!.would_create as Record<string, unknown>;
    assert.equal(plan.plan, 's-2vcpu-4gb');
    assert.equal(plan.zone, 'fra1');
    assert.equal(typeof plan.price_monthly, 'number');
    assert.equal((await sys.droplets()).length, before);
  });

  test('check_mode with an unknown size is a 400 naming it (the cached catalogue knows), creating nothing', async () => {
    const res = await sys.request('POST', '/v1/servers/create', {
      body: { workspace: 'production', provider: 'digitalocean', plan: 's-99vcpu-1tb', hostname: 'dry-02', zone: 'nyc3', check_mode: true, tags: [] },
    });
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.equal(res.body.error, 'VALIDATION_FAILED');
    assert.equal(res.body.details[0].field, 'plan');
    assert.match(res.body.details[0].problem, /s-99vcpu-1tb/);
  });

  test('a provider 4xx fails the operation at once with the provider message', async () => {
    // A numeric image id the catalogue (which lists images by slug) cannot rule out: the create itself is refused.
    const op = await sys.createServer({ hostname: 'bad-01', image: '999999999' });
    const done = await sys.waitForStatus(op.id, ['completed', 'failed']);
    assert.equal(done.status, 'failed');
    assert.equal(done.error!.code, 'PROVIDER_REJECTED');
    assert.match(done.error!.message, /999999999/);
    assert.equal(done.error!.retryable, false);
    assert.equal(done.attempt, 1, 'not retried');
    assert.equal((await sys.droplets(`&tag_name=pe-op:${op.id}`)).length, 0);
  });
});
