import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TestSystem } from './helpers/system.js';

describe('the droplets API powers, resizes, reads figures and events of, and deletes a droplet, all through engine operations', () => {
  let sys: TestSystem;
  let id: string;
  let serverId: string;
  let createOp: string;

  before(async () => {
    sys = await TestSystem.start({ workers: 1 });
    const res = await sys.request('POST', '/api/v1/droplets', { body: { name: 'ops-01', image: 'ubuntu-22-04', plan_id: 's-2vcpu-2gb', region: 'nyc1' } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    id = res.body.id;
    createOp = res.body.operation_id;
    await sys.waitForStatus(createOp, ['completed']);
    serverId = (await sys.request('GET', `/api/v1/droplets/${id}`)).body.server_id;
  });

  after(async () => {
    await sys?.stop();
  });

  test('power_off, power_on and reboot are server.action operations that change the droplet at its provider', async () => {
    const off = await sys.request('POST', `/api/v1/droplets/${id}/actions`, { body: { type: 'power_off' } });
    assert.equal(off.status, 202, JSON.stringify(off.body));
    assert.equal(off.body.type, 'power_off');
    assert.equal(off.body.droplet_id, id);
    assert.ok(['pending', 'in-progress'].includes(off.body.status));
    assert.equal(off.body.operation.type, 'server.action');
    assert.equal(off.headers.get('location'), `/v1/operations/${off.body.id}`);
    await sys.waitForStatus(off.body.id, ['completed']);
    const stopped = await sys.request('GET', `/api/v1/droplets/${id}`);
    assert.equal(stopped.body.status, 'stopped');
    const atProvider = (await sys.droplets()).find((d) => d.name === 'ops-01');
    assert.equal(atProvider?.status, 'off');

    const on = await sys.request('POST', `/api/v1/droplets/${id}/actions`, { body: { type: 'power_on' } });
    assert.equal(on.status, 202);
    await sys.waitForStatus(on.body.id, ['completed']);
    assert.equal((await sys.request('GET', `/api/v1/droplets/${id}`)).body.status, 'running');

    // A resend with the same Idempotency-Key is the same reboot, not a second one.
    const headers = { 'Idempotency-Key': 'reboot-ops-01' };
    const reboot = await sys.request('POST', `/api/v1/droplets/${id}/actions`, { body: { type: 'reboot' }, headers });
    const again = await sys.request('POST', `/api/v1/droplets/${id}/actions`, { body: { type: 'reboot' }, headers });
    assert.equal(reboot.status, 202);
    assert.equal(again.body.id, reboot.body.id);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    await sys.waitForStatus(reboot.body.id, ['completed']);
    const reboots = await sys.request('GET', '/v1/operations?type=server.action&limit=200');
    assert.equal(reboots.body.filter((o: { request: { action: string } }) => o.request.action === 'reboot').length, 1);
  });

  test('PATCH with plan_id resizes through a server.resize operation', async () => {
    const res = await sys.request('PATCH', `/api/v1/droplets/${id}`, { body: { plan_id: 's-4vcpu-8gb' } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.body.id, id);
    assert.equal(res.body.status, 'resizing');
    const op = await sys.waitForStatus(res.body.operation_id, ['completed', 'failed']);
    assert.equal(op.status, 'completed', JSON.stringify(op.error));
    assert.equal(op.type, 'server.resize');
    const after = await sys.request('GET', `/api/v1/droplets/${id}`);
    assert.equal(after.body.plan_id, 's-4vcpu-8gb');
    assert.equal(after.body.status, 'running');

    // The same plan again is refused, naming plan_id.
    const same = await sys.request('PATCH', `/api/v1/droplets/${id}`, { body: { plan_id: 's-4vcpu-8gb' } });
    assert.equal(same.status, 422);
    assert.deepEqual(same.body.detail[0].loc, ['body', 'plan_id']);
  });

  test("metrics answer the seed fields: plan figures, CPU and memory from DigitalOcean's monitoring, disk I/O said to be unavailable", async () => {
    const res = await sys.request('GET', `/api/v1/droplets/${id}/metrics`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    for (const field of ['cpu_usage_percent', 'memory_usage_bytes', 'memory_total_bytes', 'disk_read_bytes', 'disk_write_bytes']) assert.ok(field in res.body, field);
    assert.equal(res.body.memory_total_bytes, 8192 * 1024 * 1024);
    assert.equal(res.body.vcpus, 4);
    assert.equal(res.body.sources.memory_total_bytes, 'plan');
    // Read from the droplet's metrics agent over DigitalOcean's monitoring API.
    assert.equal(typeof res.body.cpu_usage_percent, 'number', JSON.stringify(res.body));
    assert.ok(res.body.cpu_usage_percent >= 0 && res.body.cpu_usage_percent <= 100);
    assert.equal(res.body.sources.cpu_usage_percent, 'provider');
    assert.ok(res.body.memory_usage_bytes > 0 && res.body.memory_usage_bytes < res.body.memory_total_bytes, JSON.stringify(res.body));
    assert.equal(res.body.sources.memory_usage_bytes, 'provider');
    // DigitalOcean's monitoring gives no disk I/O: null, and said so.
    assert.equal(res.body.disk_read_bytes, null);
    assert.equal(res.body.sources.disk_read_bytes, 'unavailable');
  });

  test('events list what touched the droplet, newest first, page by page', async () => {
    const res = await sys.request('GET', `/api/v1/droplets/${id}/events`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const ops = new Set(res.body.map((e: { operation_id: string }) => e.operation_id));
    assert.ok(ops.has(createOp), 'the create is there');
    const types = new Set(res.body.map((e: { operation_type: string }) => e.operation_type));
    assert.deepEqual([...types].sort(), ['server.action', 'server.create', 'server.resize']);
    assert.ok(res.body.some((e: { reason: string }) => e.reason === 'server.create completed'));
    for (const e of res.body) {
      assert.ok(e.type === 'Normal' || e.type === 'Warning');
      assert.ok(!Number.isNaN(Date.parse(e.timestamp)));
    }
    assert.equal(res.body[0].operation_type, 'server.resize', 'newest first');

    // A page of one operation, then the rest.
    const first = await sys.request('GET', `/api/v1/droplets/${id}/events?limit=1`);
    assert.equal(new Set(first.body.map((e: { operation_id: string }) => e.operation_id)).size, 1);
    const link = first.headers.get('link');
    assert.ok(link, 'a next link');
    const next = await sys.request('GET', /<([^>]+)>/.exec(link)![1]!);
    assert.equal(next.status, 200);
    assert.ok(next.body.length > 0);
    assert.notEqual(next.body[0].operation_id, first.body[0].operation_id);

    // Another droplet's operations are not among them.
    const other = await sys.request('POST', '/api/v1/droplets', { body: { name: 'ops-02', image: 'ubuntu-22-04', plan_id: 's-1vcpu-1gb', region: 'nyc1' } });
    const again = await sys.request('GET', `/api/v1/droplets/${id}/events`);
    assert.ok(!again.body.some((e: { operation_id: string }) => e.operation_id === other.body.operation_id));
    await sys.waitForStatus(other.body.operation_id, ['completed']);
  });

  test('the console of a DigitalOcean droplet is a 501 in the detail shape', async () => {
    const res = await sys.request('POST', `/api/v1/droplets/${id}/console`);
    assert.equal(res.status, 501);
    assert.match(res.body.detail, /digitalocean/);
  });

  test('DELETE destroys it through a server.delete operation; then it is gone', async () => {
    const res = await sys.request('DELETE', `/api/v1/droplets/${id}`);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.body.status, 'deleting');
    const op = await sys.waitForStatus(res.body.operation_id, ['completed']);
    assert.equal(op.type, 'server.delete');
    assert.equal(op.target?.server_id, serverId);
    assert.equal((await sys.droplets()).filter((d) => d.name === 'ops-01').length, 0);
    const gone = await sys.request('GET', `/api/v1/droplets/${id}`);
    assert.equal(gone.status, 404);
    assert.match(gone.body.detail, /not found/);
    const list = await sys.request('GET', '/api/v1/droplets');
    assert.ok(!list.body.some((d: { id: string }) => d.id === id));
  });

  test('deleting a droplet still being made cancels its create, and it never appears', async () => {
    const res = await sys.request('POST', '/api/v1/droplets', { body: { name: 'short-lived', image: 'ubuntu-22-04', plan_id: 's-1vcpu-1gb', region: 'nyc1' } });
    assert.equal(res.status, 201);
    const del = await sys.request('DELETE', `/api/v1/droplets/${res.body.id}`);
    assert.equal(del.status, 202, JSON.stringify(del.body));
    assert.equal(del.body.operation_id, res.body.operation_id);
    const op = await sys.waitForStatus(res.body.operation_id, ['cancelled']);
    assert.equal(op.status, 'cancelled');
    await sys.eventually(async () => ((await sys.droplets()).some((d) => d.name === 'short-lived') ? undefined : true), 'the half-made droplet removed');
    assert.equal((await sys.request('GET', `/api/v1/droplets/${res.body.id}`)).status, 404);
  });
});
