import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import bcrypt from 'bcryptjs';
import jwt from 'jsonwebtoken';
import { startApi } from '../src/api/server.js';
import { loadConfig } from '../src/core/config.js';
import { createLogger } from '../src/core/logger.js';
import { http } from './helpers/http.js';
import { startTestRedis, type TestRedis } from './helpers/redis-server.js';
import { TestSystem } from './helpers/system.js';

describe('authentication: login, tokens, permissions', () => {
  let sys: TestSystem;
  before(async () => {
    sys = await TestSystem.start({
      workers: 0,
      env: { AUTH_USERS: `viewer1:viewer:${bcrypt.hashSync('viewer-password-1', 4)}` },
    });
  });
  after(async () => {
    await sys?.stop();
  });

  const sign = (claims: object, secret: string, opts: jwt.SignOptions) => jwt.sign(claims, secret, opts);

  test('login returns an access token, a refresh token and its lifetime', async () => {
    const res = await sys.request('POST', '/v1/auth/login', { auth: false, body: { username: 'admin', password: sys.adminPassword } });
    assert.equal(res.status, 200);
    assert.equal(res.body.expires_in, 900, 'access tokens are short-lived: 15 minutes by default');
    const decoded = jwt.decode(res.body.token, { complete: true }) as jwt.Jwt;
    assert.equal(decoded.header.alg, 'HS256');
    assert.equal((decoded.payload as jwt.JwtPayload).aud, 'provisioning-api');
    assert.equal((decoded.payload as jwt.JwtPayload).sub, 'admin');
    const me = await http(sys.url, 'GET', '/v1/operations', { token: res.body.token });
    assert.equal(me.status, 200);
  });

  test('wrong password and unknown user both get the same 401', async () => {
    for (const body of [{ username: 'admin', password: 'wrong-password' }, { username: 'nobody', password: 'whatever' }]) {
      const res = await sys.request('POST', '/v1/auth/login', { auth: false, body });
      assert.equal(res.status, 401);
      assert.equal(res.body.error, 'INVALID_CREDENTIALS');
      assert.equal(res.body.message, 'invalid username or password');
    }
  });

  test('every /v1 route but login needs a valid token', async () => {
    const secret = sys.env.JWT_SECRET!;
    const base = { issuer: 'provisioning-engine', audience: 'provisioning-api', subject: 'admin', expiresIn: 600 } as const;
    const cases: Array<[string, string | undefined]> = [
      ['missing', undefined],
      ['garbage', 'not.a.token'],
      ['other secret', sign({ role: 'admin', typ: 'access' }, 'x'.repeat(40), { ...base, algorithm: 'HS256' })],
      ['expired', sign({ role: 'admin', typ: 'access', exp: Math.floor(Date.now() / 1000) - 10 }, secret, { algorithm: 'HS256', issuer: base.issuer, audience: base.audience, subject: 'admin' })],
      ['wrong audience', sign({ role: 'admin', typ: 'access' }, secret, { ...base, audience: 'someone-else', algorithm: 'HS256' })],
      ['unsigned', sign({ role: 'admin', typ: 'access' }, '', { ...base, algorithm: 'none' })],
    ];
    for (const [name, token] of cases) {
      for (const [method, path] of [['GET', '/v1/operations'], ['GET', '/v1/servers'], ['POST', '/v1/servers/create']]) {
        const res = await http(sys.url, method!, path!, { token, body: method === 'POST' ? {} : undefined });
        assert.equal(res.status, 401, `${name} token on ${method} ${path}`);
        assert.equal(res.body.error, 'UNAUTHORIZED');
      }
    }
    const expired = await http(sys.url, 'GET', '/v1/operations', { token: cases[3]![1] });
    assert.match(expired.body.message, /expired/);
    const malformed = await http(sys.url, 'GET', '/v1/operations', { headers: { authorization: 'Basic abc' } });
    assert.equal(malformed.status, 401);
  });

  test('a refresh token gets new tokens but is not an access token', async () => {
    const login = await sys.request('POST', '/v1/auth/login', { auth: false, body: { username: 'admin', password: sys.adminPassword } });
    const asAccess = await http(sys.url, 'GET', '/v1/operations', { token: login.body.refresh_token });
    assert.equal(asAccess.status, 401);
    const refreshed = await sys.request('POST', '/v1/auth/refresh', { auth: false, body: { refresh_token: login.body.refresh_token } });
    assert.equal(refreshed.status, 200);
    assert.equal((await http(sys.url, 'GET', '/v1/operations', { token: refreshed.body.token })).status, 200);
    const withAccess = await sys.request('POST', '/v1/auth/refresh', { auth: false, body: { refresh_token: login.body.token } });
    assert.equal(withAccess.status, 401);
  });

  test('a viewer can read but not create: 403 naming the permission', async () => {
    const login = await sys.request('POST', '/v1/auth/login', { auth: false, body: { username: 'viewer1', password: 'viewer-password-1' } });
    assert.equal(login.status, 200);
    assert.equal((await http(sys.url, 'GET', '/v1/servers', { token: login.body.token })).status, 200);
    const create = await http(sys.url, 'POST', '/v1/servers/create', {
      token: login.body.token,
      body: { workspace: 'default', provider: 'digitalocean', plan: 's-1vcpu-1gb', hostname: 'h', zone: 'nyc3' },
    });
    assert.equal(create.status, 403);
    assert.match(create.body.message, /server_create/);
  });
});

describe('the first start with no admin configured', () => {
  let redis: TestRedis;
  before(async () => {
    redis = await startTestRedis();
  });
  after(async () => {
    await redis?.stop();
  });

  test('generates a random admin password, announces it once and keeps only its hash', async () => {
    const env = { PORT: '0', HOST: '127.0.0.1', KEY_PREFIX: 'firststart', REDIS_URL: redis.url };
    const config = loadConfig(env);
    const announced: string[] = [];
    const first = await startApi(config, redis.url, createLogger('api', 'error'), (p) => announced.push(p));
    try {
      assert.equal(announced.length, 1);
      assert.ok(announced[0]!.length >= 20);
      const stored = await first.ctx.redis.hget('firststart:user:admin', 'pw');
      assert.match(stored!, /^\$2[aby]\$/);
      assert.ok(!stored!.includes(announced[0]!));
      const login = await http(first.url, 'POST', '/v1/auth/login', { body: { username: 'admin', password: announced[0] } });
      assert.equal(login.status, 200);
      const guess = await http(first.url, 'POST', '/v1/auth/login', { body: { username: 'admin', password: 'admin123' } });
      assert.equal(guess.status, 401);
    } finally {
      await first.close();
    }
    const second = await startApi(config, redis.url, createLogger('api', 'error'), (p) => announced.push(p));
    try {
      assert.equal(announced.length, 1, 'not generated or shown again');
      const login = await http(second.url, 'POST', '/v1/auth/login', { body: { username: 'admin', password: announced[0] } });
      assert.equal(login.status, 200);
    } finally {
      await second.close();
    }
  });
});
