import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { TestSystem } from './helpers/system.js';

/** A tiny HTTP server standing in for the mesh registry: answers every request 200. */
function listen(server: Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

const registryHits: string[] = [];
const registry = () =>
  createServer((req, res) => {
    registryHits.push(req.url ?? '');
    res.setHeader('Content-Type', 'application/json');
    res.end('{"status":"active"}');
  });

const ISO_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

describe('UDC droplet endpoints answer in the seeds\' shapes', () => {
  let sys: TestSystem;
  let registryPort: number;

  before(async () => {
    // A port that was free a moment ago and is closed now: the registry is down.
    const probe = registry();
    registryPort = await listen(probe);
    await close(probe);
    sys = await TestSystem.start({
      workers: 0,
      env: {
        DROPLET_ID: '42',
        DROPLET_NAME: 'provisioning-engine',
        DROPLET_STEWARD: 'Ops Team',
        DROPLET_ENDPOINT: 'http://engine.example.test:8083',
        DROPLET_ENVIRONMENT: 'staging',
        REGISTRY_URL: `http://127.0.0.1:${registryPort}`,
      },
    });
  });
  after(async () => {
    await sys?.stop();
  });

  test('GET /health keeps its fields and adds the UDC ones, without a token', async () => {
    const res = await sys.request('GET', '/health', { auth: false });
    assert.equal(res.status, 200);
    const b = res.body;
    assert.equal(b.status, 'healthy');
    assert.equal(b.checks.redis, 'ok');
    assert.equal(typeof b.uptime_seconds, 'number');
    assert.match(b.version, /^\d+\.\d+\.\d+/);
    assert.equal(b.id, 42);
    assert.equal(b.name, 'provisioning-engine');
    assert.equal(b.steward, 'Ops Team');
    assert.equal(b.endpoint, 'http://engine.example.test:8083');
    assert.match(b.updated_at, ISO_SECONDS);
    assert.deepEqual(b.dependencies, ['redis', 'registry']);
  });

  test('GET /capabilities: version, UDC version, features, dependencies, build metadata', async () => {
    const res = await sys.request('GET', '/capabilities');
    assert.equal(res.status, 200);
    const b = res.body;
    assert.match(b.version, /^\d+\.\d+\.\d+/);
    assert.equal(b.udc_version, '1.0');
    assert.ok(Array.isArray(b.features) && b.features.length > 0 && b.features.every((f: unknown) => typeof f === 'string'));
    assert.ok(b.features.includes('udc_compliance'));
    assert.deepEqual(b.dependencies, ['redis', 'registry']);
    assert.ok(Array.isArray(b.backward_compatible));
    assert.equal(typeof b.metadata.build_date, 'string');
    assert.equal(typeof b.metadata.commit_hash, 'string');
    assert.ok(b.metadata.commit_hash.length > 0);
    assert.equal(b.metadata.environment, 'staging');
  });

  test('GET /state: CPU, memory, uptime, request and error counters, last restart', async () => {
    for (let i = 0; i < 3; i++) await sys.request('GET', '/health', { auth: false });
    const res = await sys.request('GET', '/state');
    assert.equal(res.status, 200);
    const b = res.body;
    assert.equal(typeof b.cpu_percent, 'number');
    assert.ok(b.cpu_percent >= 0);
    assert.equal(typeof b.memory_mb, 'number');
    assert.ok(b.memory_mb > 1, 'a Node process uses more than 1 MiB');
    assert.ok(Number.isInteger(b.uptime_seconds) && b.uptime_seconds >= 0);
    for (const field of ['requests_total', 'errors_total', 'requests_per_minute', 'errors_last_hour']) assert.ok(Number.isInteger(b[field]) && b[field] >= 0, field);
    // The login and the three /health calls have been answered and counted; this one is counted when it finishes.
    assert.ok(b.requests_total >= 4, `requests_total ${b.requests_total}`);
    assert.ok(b.requests_per_minute >= 4, `requests_per_minute ${b.requests_per_minute}`);
    assert.ok(b.requests_per_minute <= b.requests_total);
    assert.ok(b.errors_last_hour <= b.errors_total);
    assert.match(b.last_restart, ISO_SECONDS);
    assert.ok(Date.parse(b.last_restart) <= Date.now());
    assert.equal(b.status, 'active');

    const again = await sys.request('GET', '/state');
    assert.ok(again.body.requests_total > b.requests_total, 'the previous /state call was counted');
  });

  test('GET /dependencies: Redis connected, the registry missing while its port is closed and available once it answers', async () => {
    const down = await sys.request('GET', '/dependencies');
    assert.equal(down.status, 200);
    for (const list of ['required', 'optional', 'missing', 'connected']) assert.ok(Array.isArray(down.body[list]), list);
    assert.deepEqual(down.body.required, [{ id: 'redis', name: 'Redis', status: 'connected' }]);
    assert.deepEqual(down.body.optional, []);
    assert.deepEqual(down.body.missing, [{ id: 'registry', name: 'Registry', status: 'unreachable', url: `http://127.0.0.1:${registryPort}`, required: false }]);
    assert.deepEqual(down.body.connected, ['redis']);

    const server = registry();
    await listen(server, registryPort);
    try {
      const up = await sys.request('GET', '/dependencies');
      assert.equal(up.status, 200);
      assert.deepEqual(up.body.optional, [{ id: 'registry', name: 'Registry', status: 'available', url: `http://127.0.0.1:${registryPort}` }]);
      assert.deepEqual(up.body.missing, []);
      assert.deepEqual(up.body.connected, ['redis', 'registry']);
      assert.ok(registryHits.includes('/health'), 'the registry was asked live');
    } finally {
      await close(server);
    }
  });

  test('GET /version: version, build date, commit, environment, JWT algorithms', async () => {
    const res = await sys.request('GET', '/version');
    assert.equal(res.status, 200);
    const b = res.body;
    assert.match(b.version, /^\d+\.\d+\.\d+/);
    assert.equal(b.udc_version, '1.0');
    assert.ok(b.build_date === 'unknown' || /^\d{4}-\d{2}-\d{2}$/.test(b.build_date), b.build_date);
    assert.ok(b.commit_hash === 'unknown' || /^[0-9a-f]{40}$/.test(b.commit_hash), b.commit_hash);
    assert.equal(b.environment, 'staging');
    assert.equal(b.deployed_by, 'Ops Team');
    assert.equal(b.droplet_id, 42);
    assert.equal(b.name, 'provisioning-engine');
    assert.equal(b.droplet_domain, 'engine.example.test:8083');
    assert.equal(b.registry_url, `http://127.0.0.1:${registryPort}`);
    assert.equal(b.jwks_url, null);
    assert.deepEqual(b.jwt_algorithms, { outgoing: 'HS256', incoming: 'RS256' });
  });

  test('without valid credentials each endpoint answers 401 {"detail": "Could not validate credentials"}', async () => {
    for (const path of ['/capabilities', '/state', '/dependencies', '/version']) {
      const none = await sys.request('GET', path, { auth: false });
      assert.equal(none.status, 401, path);
      assert.deepEqual(none.body, { detail: 'Could not validate credentials' }, path);
      const bad = await sys.request('GET', path, { auth: false, headers: { Authorization: 'Bearer not-a-token' } });
      assert.equal(bad.status, 401, path);
      assert.deepEqual(bad.body, { detail: 'Could not validate credentials' }, path);
    }
  });

  test('the endpoints are documented under the udc tag', async () => {
    const doc = (await sys.request('GET', '/openapi.json', { auth: false })).body;
    assert.ok(doc.tags.some((t: { name: string; description?: string }) => t.name === 'udc' && t.description));
    for (const [path, id] of [['/capabilities', 'getCapabilities'], ['/state', 'getState'], ['/dependencies', 'getDependencies'], ['/version', 'getVersion']]) {
      const op = doc.paths[path!]?.get;
      assert.equal(op?.operationId, id);
      assert.deepEqual(op.tags, ['udc']);
      assert.ok(op.description);
    }
  });
});
