/**
 * Bearer tokens and API keys that fail to authenticate are counted per client address
 * (RATE_LIMIT_AUTH, here 4 a minute), on every API replica: past the limit the address gets a
 * 429 with Retry-After instead of a 401, and is refused before its credentials are checked
 * until its window ends. A request without any credential is a client's slip and is not counted.
 *
 * A second API process over the same Redis trusts its loopback proxy, so there each request's
 * X-Forwarded-For is its client address.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import jwt from 'jsonwebtoken';
import { startApiProcess, type ApiProcess } from './helpers/api-process.js';
import { http, type HttpReply } from './helpers/http.js';
import { TestSystem } from './helpers/system.js';

describe('failed bearer tokens and API keys are throttled per client address', () => {
  let sys: TestSystem;
  let proxied: ApiProcess;
  before(async () => {
    sys = await TestSystem.start({ workers: 0, env: { RATE_LIMIT_AUTH: '4/1m' } });
    proxied = await startApiProcess({ ...sys.env, TRUST_PROXY: 'loopback' });
  });
  after(async () => {
    await proxied?.stop();
    await sys?.stop();
  });

  const get = (headers: Record<string, string>, from: string) => http(proxied.url, 'GET', '/v1/operations?limit=1', { headers: { ...headers, 'x-forwarded-for': from } });

  function assertThrottled(res: HttpReply, what: string): void {
    assert.equal(res.status, 429, `${what}: ${res.status} ${JSON.stringify(res.body)}`);
    assert.equal(res.body.error, 'RATE_LIMITED');
    assert.match(res.body.message, /too many failed credentials from this address/);
    const retryAfter = Number(res.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${res.headers.get('retry-after')}`);
  }

  test('four wrong credentials answer 401, the fifth 429, and then even a good token from that address waits; other addresses are untouched', async () => {
    const from = '198.51.100.7';
    const wrong: Array<Record<string, string>> = [
      { authorization: 'Bearer not-a-token' },
      { authorization: `Bearer ${sys.token.slice(0, -4)}AAAA` },
      { 'x-api-key': 'pe_wrong_key_0000000000000000' },
      { authorization: 'Bearer also-wrong' },
    ];
    for (const [i, headers] of wrong.entries()) {
      const res = await get(headers, from);
      assert.equal(res.status, 401, `attempt ${i + 1}: ${res.status} ${JSON.stringify(res.body)}`);
    }
    assertThrottled(await get({ authorization: 'Bearer fifth-guess' }, from), 'the fifth wrong credential');
    assertThrottled(await get({ authorization: `Bearer ${sys.token}` }, from), 'a good token from the throttled address');

    // Another address is unaffected, and a good token from it works.
    const other = await get({ authorization: `Bearer ${sys.token}` }, '198.51.100.8');
    assert.equal(other.status, 200, JSON.stringify(other.body));
    // The system's own API (another replica, not trusting the proxy header) still serves its callers.
    assert.equal((await sys.request('GET', '/v1/operations?limit=1')).status, 200);
  });

  test('requests without any credential, or with a token of ours that has expired, answer 401 and are not counted', async () => {
    const from = '198.51.100.9';
    for (let i = 0; i < 8; i++) assert.equal((await get({}, from)).status, 401, `request ${i + 1} without credentials`);
    // Signed with the engine's own secret and claims, but past its exp: a client that has not refreshed yet, not a guess.
    const expired = jwt.sign({ sub: 'admin', typ: 'access', fam: 'lapsed-session', exp: Math.floor(Date.now() / 1000) - 60 }, sys.env.JWT_SECRET!, {
      algorithm: 'HS256',
      issuer: sys.config.auth.issuer,
      audience: sys.config.auth.audience,
    });
    for (let i = 0; i < 8; i++) {
      const res = await get({ authorization: `Bearer ${expired}` }, from);
      assert.equal(res.status, 401, `expired token ${i + 1}: ${JSON.stringify(res.body)}`);
      assert.match(res.body.message, /expired/);
    }
    assert.equal((await get({ authorization: `Bearer ${sys.token}` }, from)).status, 200, 'the address was not throttled');
  });

  test('the count is shared by the replicas: failures at one throttle the address at the other', async () => {
    // The system's own API sees every request from loopback; the proxied one sees the header.
    const loopbackFailures = 4;
    for (let i = 0; i < loopbackFailures; i++) {
      const res = await http(sys.api.url, 'GET', '/v1/operations?limit=1', { headers: { authorization: `Bearer wrong-${i}` } });
      assert.equal(res.status, 401);
    }
    // The proxied replica, reached from loopback without the header, is the same address.
    assertThrottled(await http(proxied.url, 'GET', '/v1/operations?limit=1', { headers: { authorization: 'Bearer wrong-again' } }), 'the other replica');
  });
});
