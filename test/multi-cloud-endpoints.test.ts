import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { http } from './helpers/http.js';
import { TestSystem } from './helpers/system.js';

describe('the multi-cloud manager endpoints (/do/*, /multi/list) in that contract\'s shapes', () => {
  let sys: TestSystem;
  before(async () => {
    // Hetzner is left unconfigured to see the 503.
    sys = await TestSystem.start({ workers: 1, doActiveDelayMs: 50, doActionDelayMs: 50, env: { HCLOUD_TOKEN: '' } });
  });
  after(async () => {
    await sys?.stop();
  });

  test('register with ?wait=true answers with the droplet once the engine made it; the defaults are the contract\'s', async () => {
    const res = await sys.request('POST', '/do/register?wait=true', { body: { name: 'seed-web-1' } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.droplet.name, 'seed-web-1');
    assert.equal(res.body.droplet.status, 'active');
    assert.equal(res.body.droplet.region, 'sfo3');
    assert.equal(res.body.droplet.size, 's-1vcpu-1gb');
    assert.match(res.body.droplet.ip, /^\d+\.\d+\.\d+\.\d+$/);
    const op = await sys.request('GET', `/v1/operations/${res.body.operation_id}`);
    assert.equal(op.body.type, 'server.create');
    assert.equal(op.body.request.image, 'ubuntu-22-04-x64');
  });

  test('without wait, a mutation answers 202 with the operation', async () => {
    const res = await sys.request('POST', '/do/register', { body: { name: 'seed-web-2', region: 'ams3', size: 's-2vcpu-2gb' } });
    assert.equal(res.status, 202);
    assert.equal(res.body.status, 'pending');
    const done = await sys.waitForStatus(res.body.id, ['completed', 'failed']);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
  });

  test('list asks the provider and answers {provider, count, droplets}', async () => {
    const res = await sys.request('GET', '/do/list');
    assert.equal(res.status, 200);
    assert.equal(res.body.provider, 'digitalocean');
    assert.equal(res.body.count, res.body.droplets.length);
    const droplet = res.body.droplets.find((d: { name: string }) => d.name === 'seed-web-1');
    assert.ok(droplet);
    assert.deepEqual(Object.keys(droplet).sort(), ['created_at', 'id', 'ip', 'name', 'region', 'size', 'status']);
  });

  test('action and delete work on a droplet made outside the engine too', async () => {
    const made = await http(sys.sandbox.digitaloceanBaseUrl, 'POST', '/droplets', { token: sys.sandbox.token, body: { name: 'made-elsewhere', size: 's-1vcpu-1gb', image: 'ubuntu-24-04-x64', region: 'nyc3' } });
    assert.equal(made.status, 202);
    const id = String(made.body.droplet.id);
    await new Promise((r) => setTimeout(r, 200));
    const off = await sys.request('POST', `/do/action/${id}?wait=true`, { body: { action: 'power_off' } });
    assert.equal(off.status, 200, JSON.stringify(off.body));
    assert.equal(off.body.droplet.status, 'off');
    const gone = await sys.request('DELETE', `/do/delete/${id}?wait=true`);
    assert.equal(gone.status, 200, JSON.stringify(gone.body));
    assert.deepEqual(gone.body, { status: 'deleted', droplet_id: id });
    assert.equal((await http(sys.sandbox.digitaloceanBaseUrl, 'GET', `/droplets/${id}`, { token: sys.sandbox.token })).status, 404);
  });

  test('errors come as {"detail": …}: 422 with loc for bad input, 401, 404, 503', async () => {
    const missing = await sys.request('POST', '/do/register', { body: { region: 'nyc3' } });
    assert.equal(missing.status, 422);
    assert.deepEqual(missing.body.detail[0], { type: 'missing', loc: ['body', 'name'], msg: 'is required' });
    const badJson = await sys.request('POST', '/do/register', { body: '{"name":' });
    assert.equal(badJson.status, 422);
    assert.equal(badJson.body.detail[0].type, 'json_invalid');
    const badAction = await sys.request('POST', '/do/action/123', { body: { action: 'explode' } });
    assert.equal(badAction.status, 422);
    assert.deepEqual(badAction.body.detail[0].loc, ['body', 'action']);
    const noToken = await sys.request('GET', '/do/list', { auth: false });
    assert.equal(noToken.status, 401);
    assert.deepEqual(noToken.body, { detail: 'Could not validate credentials' });
    const unknown = await sys.request('POST', '/do/action/999999999', { body: { action: 'reboot' } });
    assert.equal(unknown.status, 404);
    assert.match(unknown.body.detail, /999999999/);
    const unconfigured = await sys.request('GET', '/hetzner/list');
    assert.equal(unconfigured.status, 503);
    assert.match(unconfigured.body.detail, /HCLOUD_TOKEN/);
    const failed = await sys.request('POST', '/do/register?wait=true', { body: { name: 'seed-bad-1', size: 's-99vcpu' } });
    assert.equal(failed.status, 422);
    assert.match(failed.body.detail, /s-99vcpu/);
  });

  test('/multi/list answers for every configured provider and reports one that fails beside the others', async () => {
    const ok = await sys.request('GET', '/multi/list');
    assert.equal(ok.status, 200);
    assert.ok(Array.isArray(ok.body.do));
    assert.ok(ok.body.do.some((d: { name: string }) => d.name === 'seed-web-1'));
    assert.equal(ok.body.hetzner, undefined, 'an unconfigured provider is not listed');
    assert.equal(ok.body.errors, undefined);

    sys.sandbox.faults.add({ provider: 'digitalocean', method: 'GET', path: '^/v2/droplets$', kind: 'status', status: 401 });
    try {
      const partial = await sys.request('GET', '/multi/list');
      assert.equal(partial.status, 200);
      assert.equal(partial.body.do, undefined);
      assert.match(partial.body.errors.do, /401/);
      for (const key of Object.keys(ok.body).filter((k) => k !== 'do')) assert.ok(Array.isArray(partial.body[key]), `${key} still answers`);
    } finally {
      sys.sandbox.faults.clear();
    }
  });
});
