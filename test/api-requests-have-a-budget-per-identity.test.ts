/**
 * Every authenticated route spends the caller's request budget (RATE_LIMIT_API, here 10 a
 * minute), held in Redis: each user, each API key and each external subject has its own, and
 * every API replica counts the same. Past it: 429 with Retry-After and RateLimit-* headers, in
 * the route family's error shape. A limiter that meets a Redis error lets the request through.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startApi, type RunningApi } from '../src/api/server.js';
import { clientKey } from '../src/api/middleware/rate-limit.js';
import { ConfigError, loadConfig } from '../src/core/config.js';
import { createLogger } from '../src/core/logger.js';
import { http, type HttpReply } from './helpers/http.js';
import { TestSystem } from './helpers/system.js';
import { redisAddressOf } from '../src/core/redis.js';

const LIMIT = 10;

describe('API requests have a budget per identity', () => {
  let sys: TestSystem;
  let replica: RunningApi;
  let valToken: string;
  let adminKey: string;
  let valKey: { id: string; key: string };

  before(async () => {
    sys = await TestSystem.start({ workers: 0, env: { RATE_LIMIT_API: `${LIMIT}/1m` } });
    replica = await startApi(sys.config, redisAddressOf(sys.config)!, createLogger('api2', 'error'), () => {});
    // The admin spends two of its ten here.
    const made = await sys.request('POST', '/v1/users', { body: { username: 'val', password: 'val-password-123', role: 'viewer', workspaces: ['default'] } });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const key = await sys.request('POST', '/v1/api-keys', { body: { name: 'admin-script' } });
    assert.equal(key.status, 201, JSON.stringify(key.body));
    adminKey = key.body.key;
    const login = await http(sys.url, 'POST', '/v1/auth/login', { body: { username: 'val', password: 'val-password-123' } });
    assert.equal(login.status, 200);
    valToken = login.body.token;
    // val spends one of hers on a key of her own.
    const second = await http(sys.url, 'POST', '/v1/api-keys', { token: valToken, body: { name: 'val-script' } });
    assert.equal(second.status, 201, JSON.stringify(second.body));
    valKey = { id: second.body.id, key: second.body.key };
  });
  after(async () => {
    await replica?.close();
    await sys?.stop();
  });

  function assertBudget(res: HttpReply, remaining: number, what: string): void {
    assert.equal(res.headers.get('ratelimit-limit'), String(LIMIT), what);
    assert.equal(res.headers.get('ratelimit-remaining'), String(remaining), what);
    const reset = Number(res.headers.get('ratelimit-reset'));
    assert.ok(reset >= 0 && reset <= 60, `${what}: RateLimit-Reset ${reset}`);
    assert.equal(res.headers.get('ratelimit-policy'), `${LIMIT};w=60`);
  }

  function assertRetryAfter(res: HttpReply, what: string): void {
    const retryAfter = Number(res.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `${what}: Retry-After ${res.headers.get('retry-after')}`);
    assertBudget(res, 0, what);
  }

  test("the identity's request past its budget is a 429 with Retry-After and RateLimit-* headers, on every replica and route family", async () => {
    for (let remaining = LIMIT - 3; remaining >= 0; remaining--) {
      const res = await sys.request('GET', '/v1/operations');
      assert.equal(res.status, 200);
      assertBudget(res, remaining, `with ${remaining} left`);
    }
    const over = await sys.request('GET', '/v1/operations');
    assert.equal(over.status, 429);
    assert.deepEqual({ error: over.body.error, code: over.body.code }, { error: 'RATE_LIMITED', code: '429' });
    assert.match(over.body.message, /request budget of 10 per 1m/);
    assert.ok(over.body.trace_id);
    assertRetryAfter(over, '/v1');

    // A mutation is refused before it is looked at, and its Idempotency-Key is not spent.
    const create = await sys.request('POST', '/v1/servers/create', {
      headers: { 'idempotency-key': 'throttled-create' },
      body: { workspace: 'default', provider: 'digitalocean', plan: 's-1vcpu-1gb', hostname: 'x-01', zone: 'nyc3' },
    });
    assert.equal(create.status, 429);
    assert.equal(await sys.api.ctx.redis.keys(`${sys.config.keyPrefix}:idem:*`).then((k) => k.length), 0, 'no Idempotency-Key kept for a 429');

    // The multi-cloud endpoints answer in their own shape.
    const multi = await http(sys.url, 'GET', '/do/list', { token: sys.token });
    assert.equal(multi.status, 429);
    assert.deepEqual(Object.keys(multi.body), ['detail']);
    assert.match(multi.body.detail, /request budget/);
    assertRetryAfter(multi, 'multi-cloud');

    // The other replica counts the same budget.
    const elsewhere = await http(replica.url, 'GET', '/v1/servers', { token: sys.token });
    assert.equal(elsewhere.status, 429);
    assertRetryAfter(elsewhere, 'second replica');
  });

  test('another user, and an API key (even the throttled user\'s own), each have a budget of their own', async () => {
    const val = await http(sys.url, 'GET', '/v1/operations', { token: valToken });
    assert.equal(val.status, 200);
    assertBudget(val, LIMIT - 2, "val's");

    for (let remaining = LIMIT - 1; remaining >= 0; remaining--) {
      const res = await http(replica.url, 'GET', '/v1/operations', { headers: { 'x-api-key': adminKey } });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assertBudget(res, remaining, "the admin's key");
    }
    const keyOver = await http(sys.url, 'GET', '/v1/operations', { headers: { 'x-api-key': adminKey } });
    assert.equal(keyOver.status, 429);
    assertRetryAfter(keyOver, "the admin's key past its budget");
    assert.equal((await http(sys.url, 'GET', '/v1/operations', { token: valToken })).status, 200, 'val is still served');
  });

  test('/health is not limited', async () => {
    for (let i = 0; i < LIMIT + 2; i++) {
      const res = await http(sys.url, 'GET', '/health');
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('ratelimit-limit'), null);
    }
  });

  test('a Redis error in the limiter lets the request through instead of failing it', async () => {
    // The key's counter is made a hash: the limiter's INCRBY then fails with WRONGTYPE.
    const counter = `${sys.config.keyPrefix}:rl:api:key:${valKey.id}`;
    await sys.api.ctx.redis.hset(counter, 'not', 'a counter');
    for (let i = 0; i < LIMIT + 2; i++) {
      const res = await http(sys.url, 'GET', '/v1/operations', { headers: { 'x-api-key': valKey.key } });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.headers.get('ratelimit-limit'), null, 'no budget to report');
    }
    await sys.api.ctx.redis.del(counter);
    const counted = await http(sys.url, 'GET', '/v1/operations', { headers: { 'x-api-key': valKey.key } });
    assertBudget(counted, LIMIT - 1, 'counted again once Redis answers');
  });
});

describe('the limits are settings checked at start', () => {
  test('defaults', () => {
    assert.deepEqual(loadConfig({}).apiLimits, {
      auth: { points: 5, durationSeconds: 60 },
      api: { points: 600, durationSeconds: 60 },
      trustProxy: false,
      sseMaxStreamsPerIdentity: 20,
    });
  });

  test('accepted forms', () => {
    const limits = (env: Record<string, string>) => loadConfig(env).apiLimits;
    assert.equal(limits({ RATE_LIMIT_API: 'off' }).api, null);
    assert.deepEqual(limits({ RATE_LIMIT_API: '100/s' }).api, { points: 100, durationSeconds: 1 });
    assert.deepEqual(limits({ RATE_LIMIT_AUTH: '10/15m' }).auth, { points: 10, durationSeconds: 900 });
    assert.equal(limits({ TRUST_PROXY: 'true' }).trustProxy, true);
    assert.equal(limits({ TRUST_PROXY: 'off' }).trustProxy, false);
    assert.equal(limits({ TRUST_PROXY: '2' }).trustProxy, 2);
    assert.deepEqual(limits({ TRUST_PROXY: 'loopback, 10.0.0.0/8,fd00::/8' }).trustProxy, ['loopback', '10.0.0.0/8', 'fd00::/8']);
  });

  test('bad values stop the start, naming the setting', () => {
    for (const [name, value] of [
      ['RATE_LIMIT_API', '600 a minute'],
      ['RATE_LIMIT_API', '0/1m'],
      ['RATE_LIMIT_AUTH', '5/500ms'],
      ['RATE_LIMIT_AUTH', '5/2d'],
      ['TRUST_PROXY', 'my-proxy'],
      ['TRUST_PROXY', '10.0.0.0/33'],
      ['TRUST_PROXY', '99'],
      ['SSE_MAX_STREAMS_PER_IDENTITY', '0'],
    ] as const) {
      assert.throws(() => loadConfig({ [name]: value }), (err: unknown) => err instanceof ConfigError && err.message.includes(name), `${name}=${value}`);
    }
  });

  test('limits are keyed by IPv4 address and by IPv6 /64', () => {
    assert.equal(clientKey('203.0.113.7'), '203.0.113.7');
    assert.equal(clientKey('::ffff:203.0.113.7'), '203.0.113.7');
    assert.equal(clientKey('2001:db8:1:2:3:4:5:6'), '2001:db8:1:2::/64');
    assert.equal(clientKey('2001:db8:1:2::9'), '2001:db8:1:2::/64');
    assert.equal(clientKey('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(clientKey('::1'), '0:0:0:0::/64');
  });
});
