import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FaultRuleError, Faults } from '../src/sandbox/faults.js';
import { VALID_DROPLET, withSandbox } from './sandbox-helpers.js';

describe('fault rules', () => {
  test('malformed rules are rejected with a reason', () => {
    const faults = new Faults();
    const bad: unknown[] = [
      {},
      { kind: 'explode' },
      { kind: 'status' },
      { kind: 'status', status: 200 },
      { kind: 'latency' },
      { kind: 'latency', latencyMs: -1 },
      { kind: 'timeout', path: '(' },
      { kind: 'timeout', count: 0 },
      { kind: 'timeout', provider: 'aws' },
    ];
    for (const rule of bad) {
      assert.throws(() => faults.add(rule as never), FaultRuleError, JSON.stringify(rule));
    }
    assert.deepEqual(faults.list(), []);
  });

  test('latencies add up, the first status/timeout rule decides, and counts run out', () => {
    const faults = new Faults();
    faults.add({ kind: 'latency', latencyMs: 50 });
    const first = faults.add({ kind: 'status', status: 502, path: '^/v2/droplets$', count: 1 });
    faults.add({ kind: 'latency', latencyMs: 25, method: 'post' });
    faults.add({ kind: 'timeout', provider: 'hetzner' });

    assert.deepEqual(faults.take('digitalocean', 'POST', '/v2/droplets'), {
      latencyMs: 75,
      responseDelayMs: 0,
      outcome: { kind: 'status', status: 502, retryAfterSec: undefined },
    });
    assert.deepEqual(faults.take('digitalocean', 'POST', '/v2/droplets'), { latencyMs: 75, responseDelayMs: 0, outcome: null });
    assert.deepEqual(faults.take('digitalocean', 'GET', '/v2/droplets/1'), { latencyMs: 50, responseDelayMs: 0, outcome: null });
    assert.deepEqual(faults.take('hetzner', 'GET', '/v1/servers'), { latencyMs: 50, responseDelayMs: 0, outcome: { kind: 'timeout' } });

    const spent = faults.list().find((f) => f.id === first);
    assert.equal(spent?.remaining, 0);
    assert.equal(spent?.matched, 1);
    assert.equal(faults.remove(first), true);
    assert.equal(faults.remove(first), false);
    faults.clear();
    assert.deepEqual(faults.list(), []);
  });

  test('slow_response lets the request take effect and only delays its answer', () => {
    const faults = new Faults();
    faults.add({ kind: 'slow_response', latencyMs: 400, method: 'POST', count: 1 });
    assert.deepEqual(faults.take('digitalocean', 'POST', '/v2/droplets'), { latencyMs: 0, responseDelayMs: 400, outcome: null });
    assert.deepEqual(faults.take('digitalocean', 'POST', '/v2/droplets'), { latencyMs: 0, responseDelayMs: 0, outcome: null });
    assert.throws(() => faults.add({ kind: 'slow_response' }), /latencyMs/);
  });
});

describe('fault injection over HTTP', () => {
  test('a status fault answers in the DigitalOcean error shape and applies only to matching requests', () =>
    withSandbox(async (t) => {
      t.sandbox.faults.add({ provider: 'digitalocean', method: 'GET', path: '^/v2/droplets$', kind: 'status', status: 503 });

      const res = await t.doApi('GET', '/droplets');
      assert.equal(res.status, 503);
      assert.deepEqual(Object.keys(res.body).sort(), ['id', 'message', 'request_id']);
      assert.equal(res.body.id, 'service_unavailable');
      assert.equal(res.body.request_id, res.headers.get('x-request-id'));
      assert.ok(res.headers.get('ratelimit-remaining'), 'rate-limit headers are on fault responses too');

      assert.equal((await t.doApi('GET', '/droplets?page=1')).status, 503, 'query strings do not affect path matching');
      assert.equal((await t.doApi('POST', '/droplets', { body: VALID_DROPLET })).status, 202);
      assert.equal((await t.doApi('GET', '/account')).status, 200);

      const five = await t.doApi('GET', '/droplets', { token: null });
      assert.equal(five.status, 401, 'authentication is checked before faults apply');
    }));

  test('a count-limited fault fails exactly that many requests, then the API recovers', () =>
    withSandbox(async (t) => {
      const id = t.sandbox.faults.add({ kind: 'status', status: 500, count: 2, retryAfterSec: 3 });
      const first = await t.doApi('GET', '/account');
      assert.equal(first.status, 500);
      assert.equal(first.body.id, 'server_error');
      assert.equal(first.headers.get('retry-after'), '3');
      assert.equal((await t.doApi('GET', '/account')).status, 500);
      assert.equal((await t.doApi('GET', '/account')).status, 200);
      assert.equal(t.sandbox.faults.list().find((f) => f.id === id)?.matched, 2);
    }));

  test('a latency fault delays the answer and then handles the request normally', () =>
    withSandbox(async (t) => {
      t.sandbox.faults.add({ kind: 'latency', latencyMs: 250, path: '^/v2/account$' });
      const started = performance.now();
      const slow = await t.doApi('GET', '/account');
      const elapsed = performance.now() - started;
      assert.equal(slow.status, 200);
      assert.equal(slow.body.account.status, 'active');
      assert.ok(elapsed >= 240, `expected >= 250ms, took ${elapsed.toFixed(0)}ms`);

      const fastStart = performance.now();
      await t.doApi('GET', '/regions');
      assert.ok(performance.now() - fastStart < 200, 'requests not matching the rule are not delayed');
    }));

  test('a timeout fault never answers; the client gives up and later requests are fine', () =>
    withSandbox(async (t) => {
      t.sandbox.faults.add({ kind: 'timeout', method: 'POST', path: '^/v2/droplets$', count: 1 });
      await assert.rejects(
        t.doApi('POST', '/droplets', { body: VALID_DROPLET, signal: AbortSignal.timeout(300) }),
        (err: Error) => err.name === 'TimeoutError' || err.name === 'AbortError',
      );
      const list = await t.doApi('GET', '/droplets');
      assert.equal(list.body.meta.total, 0, 'the hung create must not have created anything');
      assert.equal((await t.doApi('POST', '/droplets', { body: VALID_DROPLET })).status, 202);
    }));

  test('faults can be managed through the admin API', () =>
    withSandbox(async (t) => {
      const unauthorised = await t.admin('GET', '/faults', { token: 'wrong' });
      assert.equal(unauthorised.status, 401);

      const invalid = await t.admin('POST', '/faults', { body: { kind: 'status', status: 42 } });
      assert.equal(invalid.status, 400);
      assert.match(invalid.body.message, /status/);

      const added = await t.admin('POST', '/faults', {
        body: { provider: 'digitalocean', path: '^/v2/regions$', kind: 'status', status: 502, count: 1 },
      });
      assert.equal(added.status, 201);
      assert.equal(typeof added.body.id, 'string');

      const listed = await t.admin('GET', '/faults');
      assert.equal(listed.body.faults.length, 1);
      assert.equal(listed.body.faults[0].id, added.body.id);
      assert.equal(listed.body.faults[0].remaining, 1);

      const hit = await t.doApi('GET', '/regions');
      assert.equal(hit.status, 502);
      assert.equal(hit.body.id, 'bad_gateway');

      t.sandbox.faults.add({ kind: 'status', status: 503 });
      assert.equal((await t.doApi('GET', '/regions')).status, 503);
      assert.equal((await t.admin('DELETE', '/faults')).status, 204);
      assert.deepEqual((await t.admin('GET', '/faults')).body.faults, []);
      assert.equal((await t.doApi('GET', '/regions')).status, 200);
    }));
});
