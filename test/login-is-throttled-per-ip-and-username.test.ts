/**
 * Failed credentials are throttled in Redis (RATE_LIMIT_AUTH, here 5 a minute): per client
 * address, and per username across addresses, on every API replica. The address comes from
 * X-Forwarded-For only where TRUST_PROXY says so.
 *
 * The system's own API runs without TRUST_PROXY; a second API process over the same Redis
 * trusts its loopback proxy, so there each request's X-Forwarded-For is its client.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import bcrypt from 'bcryptjs';
import { startApiProcess, type ApiProcess } from './helpers/api-process.js';
import { http, type HttpReply } from './helpers/http.js';
import { TestSystem } from './helpers/system.js';

const PASSWORD = 'a-long-enough-password';

describe('login is throttled per client address and per username', () => {
  let sys: TestSystem;
  let proxied: ApiProcess;
  before(async () => {
    const hash = bcrypt.hashSync(PASSWORD, 4);
    sys = await TestSystem.start({
      workers: 0,
      env: { RATE_LIMIT_AUTH: '5/1m', AUTH_USERS: ['alice', 'bob', 'carol'].map((u) => `${u}:viewer:${hash}`).join(',') },
    });
    proxied = await startApiProcess({ ...sys.env, TRUST_PROXY: 'loopback' });
  });
  after(async () => {
    await proxied?.stop();
    await sys?.stop();
  });

  const login = (base: string, username: string, password: string, from?: string) =>
    http(base, 'POST', '/v1/auth/login', { body: { username, password }, headers: from ? { 'x-forwarded-for': from } : {} });

  function assertHeaders(res: HttpReply, remaining: number): void {
    assert.equal(res.headers.get('ratelimit-limit'), '5');
    assert.equal(res.headers.get('ratelimit-remaining'), String(remaining));
    const reset = Number(res.headers.get('ratelimit-reset'));
    assert.ok(reset >= 0 && reset <= 60, `RateLimit-Reset ${reset}`);
  }

  function assertThrottled(res: HttpReply, what: string): void {
    assert.equal(res.status, 429, `${what}: ${res.status} ${JSON.stringify(res.body)}`);
    assert.equal(res.body.error, 'RATE_LIMITED');
    assert.equal(res.body.code, '429');
    assert.match(res.body.message, /too many failed attempts/);
    const retryAfter = Number(res.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${res.headers.get('retry-after')}`);
    assertHeaders(res, 0);
  }

  test('the 6th failed login from one address in a minute is a 429; without TRUST_PROXY, X-Forwarded-For is ignored; a second API process shares the count', async () => {
    // Other usernames each time, and other forwarded addresses: only the peer address ties them.
    for (let i = 1; i <= 5; i++) {
      const res = await login(sys.url, `nobody-${i}`, 'wrong', `198.51.100.${i}`);
      assert.equal(res.status, 401, JSON.stringify(res.body));
      assert.equal(res.body.error, 'INVALID_CREDENTIALS');
      assertHeaders(res, 5 - i);
    }
    assertThrottled(await login(sys.url, 'nobody-6', 'wrong', '198.51.100.6'), '6th failure from 127.0.0.1');
    // The other replica counts the same address (without a forwarded header it is the peer's).
    assertThrottled(await login(proxied.url, 'nobody-7', 'wrong'), 'the same address at the second API process');
    // The address is throttled, not only wrong passwords: the right one waits too.
    assertThrottled(await login(sys.url, 'bob', PASSWORD), 'the right password from the throttled address');
  });

  test('with TRUST_PROXY the forwarded address is the client: addresses are counted apart', async () => {
    for (let i = 1; i <= 8; i++) {
      const res = await login(proxied.url, `stranger-${i}`, 'wrong', `192.0.2.${i}`);
      assert.equal(res.status, 401, `attempt ${i} from its own address: ${res.status}`);
      assertHeaders(res, 4);
    }
  });

  test('failures per username are counted across addresses; a user still gets in from an address used before', async () => {
    const known = '198.51.100.200';
    const first = await login(proxied.url, 'alice', PASSWORD, known);
    assert.equal(first.status, 200);
    assertHeaders(first, 5);
    for (let i = 1; i <= 5; i++) {
      const res = await login(proxied.url, 'alice', 'guess-' + i, `203.0.113.${i}`);
      assert.equal(res.status, 401, `guess ${i}`);
      assertHeaders(res, 5 - i);
    }
    assertThrottled(await login(proxied.url, 'alice', 'guess-6', '203.0.113.6'), '6th failure for alice from a sixth address');
    // Lockout abuse is bounded: new places are locked, not the one alice used before.
    assertThrottled(await login(proxied.url, 'alice', PASSWORD, '203.0.113.50'), 'alice from an address she never used');
    const home = await login(proxied.url, 'alice', PASSWORD, known);
    assert.equal(home.status, 200, `alice from her known address: ${JSON.stringify(home.body)}`);
    // Other users from the attacker's addresses are not affected.
    assert.equal((await login(proxied.url, 'bob', PASSWORD, '203.0.113.6')).status, 200);
  });

  test('only failures count: a success gives its attempt back', async () => {
    const from = '192.0.2.100';
    for (let i = 1; i <= 4; i++) assert.equal((await login(proxied.url, 'carol', 'wrong', from)).status, 401);
    const ok = await login(proxied.url, 'carol', PASSWORD, from);
    assert.equal(ok.status, 200);
    assertHeaders(ok, 1);
    for (let i = 0; i < 3; i++) assert.equal((await login(proxied.url, 'carol', PASSWORD, from)).status, 200, 'successes are not throttled');
    assert.equal((await login(proxied.url, 'carol', 'wrong', from)).status, 401, 'the 5th failure');
    assertThrottled(await login(proxied.url, 'carol', 'wrong', from), 'the 6th failure');
  });

  test('a burst sent at once gets no more than the limit through', async () => {
    const replies = await Promise.all(Array.from({ length: 30 }, (_, i) => login(proxied.url, `burst-${i}`, 'wrong', '192.0.2.222')));
    const statuses = replies.map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 401).length, 5, statuses.join(','));
    assert.equal(statuses.filter((s) => s === 429).length, 25);
  });

  test('failed refreshes are throttled per address too', async () => {
    const from = '192.0.2.150';
    for (let i = 1; i <= 5; i++) {
      const res = await http(proxied.url, 'POST', '/v1/auth/refresh', { body: { refresh_token: `pe_rt_guess-${i}` }, headers: { 'x-forwarded-for': from } });
      assert.equal(res.status, 401);
      assertHeaders(res, 5 - i);
    }
    const sixth = await http(proxied.url, 'POST', '/v1/auth/refresh', { body: { refresh_token: 'pe_rt_guess-6' }, headers: { 'x-forwarded-for': from } });
    assertThrottled(sixth, 'the 6th failed refresh');
  });

  test('the counts live in Redis under <prefix>:rl:', async () => {
    const keys = await sys.api.ctx.redis.keys(`${sys.config.keyPrefix}:rl:*`);
    assert.ok(keys.some((k) => k === `${sys.config.keyPrefix}:rl:login-ip:127.0.0.1`), keys.join(' '));
    assert.ok(keys.some((k) => k === `${sys.config.keyPrefix}:rl:login-user:alice`), keys.join(' '));
    assert.ok(keys.some((k) => k === `${sys.config.keyPrefix}:rl:login-ip:203.0.113.1`), keys.join(' '));
    const ttl = await sys.api.ctx.redis.ttl(`${sys.config.keyPrefix}:rl:login-user:alice`);
    assert.ok(ttl > 0 && ttl <= 60, `a window of a minute: ${ttl}`);
  });
});
