import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { freePort } from './helpers/free-port.js';
import { TestSystem } from './helpers/system.js';

const PROVIDERS = ['digitalocean', 'hetzner', 'vultr', 'upcloud'];

describe('GET /health/ready names the failing check; GET /health/live answers while the process serves', () => {
  const systems: TestSystem[] = [];
  after(async () => {
    await Promise.all(systems.map((s) => s.stop()));
  });

  test('UP with a worker running; DEGRADED naming workers once the last worker stops', { timeout: 60_000 }, async () => {
    const sys = await TestSystem.start({ workers: 1 });
    systems.push(sys);

    const live = await sys.request('GET', '/health/live', { auth: false });
    assert.equal(live.status, 200);
    assert.deepEqual(live.body, { status: 'ok' });

    const ready = await sys.request('GET', '/health/ready', { auth: false });
    assert.equal(ready.status, 200, JSON.stringify(ready.body));
    assert.equal(ready.body.status, 'UP');
    assert.deepEqual(ready.body.failing, []);
    assert.deepEqual(Object.keys(ready.body.checks).sort(), ['redis', 'workers', ...PROVIDERS].sort());
    for (const state of Object.values(ready.body.checks)) assert.equal(state, 'CONNECTED');
    assert.equal(ready.body.details.workers.alive, 1);
    assert.equal(typeof ready.body.details.redis.latency_ms, 'number');
    for (const p of PROVIDERS) assert.ok(ready.body.details.providers[p].http_status < 500, p);
    assert.ok(!Number.isNaN(Date.parse(ready.body.time)));
    // Needs no token: the same answer without one is what an orchestrator sees; the old /health is unchanged.
    const health = await sys.request('GET', '/health', { auth: false });
    assert.equal(health.status, 200);
    assert.equal(health.body.status, 'healthy');

    // A second probe right away reads the providers from the cache instead of asking again.
    const again = await sys.request('GET', '/health/ready', { auth: false });
    assert.equal(again.status, 200);
    for (const p of PROVIDERS) assert.equal(again.body.details.providers[p].cached, true, p);

    // A clean stop removes the worker's heartbeat.
    await sys.workers[0]!.kill('SIGTERM');
    const degraded = await sys.eventually(async () => {
      const res = await sys.request('GET', '/health/ready', { auth: false });
      return res.status === 503 ? res : undefined;
    }, 'readiness to go 503 after the worker stopped', 15_000);
    assert.equal(degraded.body.status, 'DEGRADED');
    assert.deepEqual(degraded.body.failing, ['workers']);
    assert.equal(degraded.body.checks.workers, 'DISCONNECTED');
    assert.equal(degraded.body.checks.redis, 'CONNECTED');
    assert.equal(degraded.body.details.workers.alive, 0);

    assert.equal((await sys.request('GET', '/health/live', { auth: false })).status, 200);

    // A worker back: ready again.
    await sys.startWorker();
    const back = await sys.eventually(async () => {
      const res = await sys.request('GET', '/health/ready', { auth: false });
      return res.status === 200 ? res : undefined;
    }, 'readiness to come back with a worker', 15_000);
    assert.equal(back.body.status, 'UP');
  });

  test('DEGRADED naming a provider whose API does not answer', { timeout: 60_000 }, async () => {
    // A port nothing listens on: connections to it are refused.
    const closed = await freePort();
    const sys = await TestSystem.start({ workers: 1, env: { HCLOUD_API_URL: `http://127.0.0.1:${closed}/v1` } });
    systems.push(sys);

    const ready = await sys.request('GET', '/health/ready', { auth: false });
    assert.equal(ready.status, 503, JSON.stringify(ready.body));
    assert.equal(ready.body.status, 'DEGRADED');
    assert.deepEqual(ready.body.failing, ['hetzner']);
    assert.equal(ready.body.checks.hetzner, 'DISCONNECTED');
    assert.equal(ready.body.checks.digitalocean, 'CONNECTED');
    assert.equal(ready.body.checks.workers, 'CONNECTED');
    assert.equal(ready.body.checks.redis, 'CONNECTED');
    assert.equal(typeof ready.body.details.providers.hetzner.error, 'string');
    assert.equal(ready.body.details.providers.hetzner.http_status, undefined);
    // The public answer names no address.
    assert.ok(!JSON.stringify(ready.body).includes(String(closed)), JSON.stringify(ready.body));

    assert.equal((await sys.request('GET', '/health/live', { auth: false })).status, 200);
  });
});
