import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TestSystem } from './helpers/system.js';

/** The create request of droplets-kubevirt-api.md, exactly as the document shows it. */
const SEED_REQUEST = {
  name: 'web-server-01',
  image: 'ubuntu-22-04',
  plan_id: 's-2vcpu-2gb',
  region: 'nyc1',
  ssh_key_ids: ['sk_abc123'],
  tags: ['web', 'production'],
};

describe('the droplets API creates a droplet from the seed request and reads it back', () => {
  let sys: TestSystem;

  before(async () => {
    sys = await TestSystem.start({ workers: 1 });
  });

  after(async () => {
    await sys?.stop();
  });

  test('the seed example answers 201 provisioning, backed by a server.create operation, and becomes a running DigitalOcean droplet', async () => {
    const res = await sys.request('POST', '/api/v1/droplets', { body: SEED_REQUEST });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const d = res.body;
    assert.match(d.id, /^dpl_[0-9a-f]{32}$/);
    assert.equal(d.name, 'web-server-01');
    assert.equal(d.status, 'provisioning');
    assert.equal(d.image, 'ubuntu-22-04');
    assert.equal(d.plan_id, 's-2vcpu-2gb');
    assert.equal(d.region, 'nyc1');
    assert.equal(d.project_id, 'default');
    assert.deepEqual(d.tags, ['web', 'production']);
    assert.ok(!Number.isNaN(Date.parse(d.created_at)));
    assert.equal(res.headers.get('location'), `/api/v1/droplets/${d.id}`);
    assert.equal(res.headers.get('link'), `</v1/operations/${d.operation_id}>; rel="operation"`);

    // The operation is the engine's own, on the default provider, with the image mapped to DigitalOcean's slug.
    const op = await sys.request('GET', `/v1/operations/${d.operation_id}`);
    assert.equal(op.status, 200);
    assert.equal(op.body.type, 'server.create');
    assert.equal(op.body.provider, 'digitalocean');
    assert.equal(op.body.workspace, 'default');
    assert.equal(op.body.request.image, 'ubuntu-22-04-x64');
    assert.equal(op.body.request.plan, 's-2vcpu-2gb');
    assert.deepEqual(op.body.request.ssh_keys, ['sk_abc123']);

    // While it is being made it is listed and readable, provisioning.
    const early = await sys.request('GET', `/api/v1/droplets/${d.id}`);
    assert.equal(early.status, 200);
    assert.ok(['provisioning', 'running'].includes(early.body.status), early.body.status);

    await sys.waitForStatus(d.operation_id, ['completed']);
    const full = await sys.request('GET', `/api/v1/droplets/${d.id}`);
    assert.equal(full.status, 200, JSON.stringify(full.body));
    assert.equal(full.body.id, d.id);
    assert.equal(full.body.status, 'running');
    assert.match(full.body.public_ip, /^\d+\.\d+\.\d+\.\d+$/);
    assert.equal(full.body.private_ip, null);
    assert.deepEqual(full.body.volume_ids, []);
    assert.equal(full.body.image, 'ubuntu-22-04');
    assert.match(full.body.server_id, /^srv-[0-9a-f]{12}$/);

    // The droplet is a real one at the provider, made once.
    const atProvider = await sys.droplets();
    assert.equal(atProvider.filter((x) => x.name === 'web-server-01').length, 1);

    // And the same server is what /v1 knows.
    const srv = await sys.request('GET', `/v1/servers/${full.body.server_id}/status`);
    assert.equal(srv.status, 200);
    assert.equal(srv.body.ip_address, full.body.public_ip);
  });

  test('the list answers the seed shape, filters by project_id and pages with Link', async () => {
    const made = await sys.request('POST', '/api/v1/droplets', { body: { ...SEED_REQUEST, name: 'stage-01', project_id: 'staging', tags: [] } });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    await sys.waitForStatus(made.body.operation_id, ['completed']);

    const all = await sys.request('GET', '/api/v1/droplets');
    assert.equal(all.status, 200);
    assert.ok(Array.isArray(all.body));
    const names = all.body.map((x: { name: string }) => x.name);
    assert.ok(names.includes('web-server-01') && names.includes('stage-01'), JSON.stringify(names));
    for (const x of all.body) {
      for (const field of ['id', 'project_id', 'name', 'image', 'plan_id', 'status', 'public_ip', 'private_ip', 'region', 'tags', 'created_at']) assert.ok(field in x, `${field} missing`);
    }

    const staging = await sys.request('GET', '/api/v1/droplets?project_id=staging');
    assert.deepEqual(staging.body.map((x: { name: string }) => x.name), ['stage-01']);
    assert.equal(staging.body[0].project_id, 'staging');

    const first = await sys.request('GET', '/api/v1/droplets?limit=1');
    assert.equal(first.body.length, 1);
    assert.match(first.headers.get('link')!, /rel="next"/);
    const nextPath = /<([^>]+)>/.exec(first.headers.get('link')!)![1]!;
    const second = await sys.request('GET', nextPath);
    assert.equal(second.status, 200);
    assert.equal(second.body.length, 1);
    assert.notEqual(second.body[0].id, first.body[0].id);
  });

  test('an Idempotency-Key resend answers the same droplet and makes one server', async () => {
    const body = { ...SEED_REQUEST, name: 'keyed-01' };
    const headers = { 'Idempotency-Key': 'droplet-create-keyed-01' };
    const [a, b] = await Promise.all([sys.request('POST', '/api/v1/droplets', { body, headers }), sys.request('POST', '/api/v1/droplets', { body, headers })]);
    assert.equal(a.status, 201);
    assert.equal(b.status, 201);
    assert.equal(a.body.id, b.body.id);
    const again = await sys.request('POST', '/api/v1/droplets', { body, headers });
    assert.equal(again.status, 201);
    assert.equal(again.body.id, a.body.id);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');

    await sys.waitForStatus(a.body.operation_id, ['completed']);
    const atProvider = await sys.droplets();
    assert.equal(atProvider.filter((x) => x.name === 'keyed-01').length, 1);
    const ops = await sys.request('GET', '/v1/operations?type=server.create&workspace=default&limit=200');
    assert.equal(ops.body.filter((o: { request: { hostname: string } }) => o.request.hostname === 'keyed-01').length, 1);

    // The same key with another body is refused in the detail shape, and makes nothing.
    const reused = await sys.request('POST', '/api/v1/droplets', { body: { ...body, name: 'keyed-02' }, headers });
    assert.equal(reused.status, 422);
    assert.equal(typeof reused.body.detail, 'string');
    assert.match(reused.body.detail, /Idempotency-Key/);

    // The API document says which droplet calls take the header.
    const doc = (await sys.request('GET', '/openapi.json', { auth: false })).body as { paths: Record<string, Record<string, { parameters?: Array<{ name: string; in: string }> }>> };
    const takesKey = (path: string, method: string) => (doc.paths[path]?.[method]?.parameters ?? []).some((p) => p.name === 'Idempotency-Key' && p.in === 'header');
    for (const [path, method] of [['/api/v1/droplets', 'post'], ['/api/v1/droplets/{id}', 'patch'], ['/api/v1/droplets/{id}', 'delete'], ['/api/v1/droplets/{id}/actions', 'post']] as const) {
      assert.ok(takesKey(path, method), `${method} ${path} documents Idempotency-Key`);
    }
    assert.ok(!takesKey('/api/v1/droplets/{id}', 'get'));
  });
});
