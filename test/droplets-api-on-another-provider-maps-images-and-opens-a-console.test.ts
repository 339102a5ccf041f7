import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TestSystem } from './helpers/system.js';

describe('with DROPLETS_PROVIDER=hetzner, droplets are Hetzner servers: images mapped, console opened', () => {
  let sys: TestSystem;

  before(async () => {
    sys = await TestSystem.start({ workers: 1, env: { DROPLETS_PROVIDER: 'hetzner', DROPLETS_DEFAULT_PROJECT: 'staging' } });
  });

  after(async () => {
    await sys?.stop();
  });

  test('ubuntu-22-04 becomes Hetzner\'s ubuntu-22.04, the droplet runs, and its console is a VNC WebSocket', async () => {
    const res = await sys.request('POST', '/api/v1/droplets', { body: { name: 'hz-01', image: 'ubuntu-22-04', plan_id: 'cx23', region: 'fsn1', tags: ['web'] } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.provider, 'hetzner');
    assert.equal(res.body.project_id, 'staging');
    assert.equal(res.body.image, 'ubuntu-22-04');
    const op = await sys.waitForStatus(res.body.operation_id, ['completed', 'failed']);
    assert.equal(op.status, 'completed', JSON.stringify(op.error));
    assert.equal(op.provider, 'hetzner');
    assert.equal(op.request.image, 'ubuntu-22.04');

    const d = await sys.request('GET', `/api/v1/droplets/${res.body.id}`);
    assert.equal(d.body.status, 'running');
    assert.equal(d.body.image, 'ubuntu-22-04', 'answered in the API\'s own slug');

    const console = await sys.request('POST', `/api/v1/droplets/${res.body.id}/console`);
    assert.equal(console.status, 200, JSON.stringify(console.body));
    assert.equal(console.body.droplet_id, res.body.id);
    assert.equal(console.body.type, 'vnc-websocket');
    assert.match(console.body.websocket_url, /^wss?:\/\//);
    assert.equal(typeof console.body.password, 'string');
    assert.equal(console.headers.get('cache-control'), 'no-store');

    const metrics = await sys.request('GET', `/api/v1/droplets/${res.body.id}/metrics`);
    assert.equal(metrics.status, 200);
    assert.equal(metrics.body.memory_total_bytes, 4 * 1024 * 1024 * 1024);
  });

  test('a DigitalOcean plan on Hetzner is refused naming plan_id', async () => {
    const res = await sys.request('POST', '/api/v1/droplets', { body: { name: 'hz-02', image: 'ubuntu-22-04', plan_id: 's-2vcpu-2gb', region: 'fsn1' } });
    assert.equal(res.status, 422);
    assert.deepEqual(res.body.detail.map((d: { loc: string[] }) => d.loc.join('.')), ['body.plan_id']);
    assert.match(res.body.detail[0].msg, /hetzner/);
  });
});
