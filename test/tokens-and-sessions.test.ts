import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import jwt from 'jsonwebtoken';
import { startApi, type RunningApi } from '../src/api/server.js';
import { createLogger } from '../src/core/logger.js';
import { http, type HttpReply } from './helpers/http.js';
import { TestSystem } from './helpers/system.js';
import { redisAddressOf } from '../src/core/redis.js';

/**
 * Access tokens, refresh tokens and sessions through the HTTP API, and the user management
 * that changes what a token may do. Every check is made on a real request: a token is only
 * "refused" when the API answers 401 for it.
 */

const PASSWORD = 'first-password-123';
const NEW_PASSWORD = 'second-password-456';

interface Pair {
  token: string;
  refresh_token: string;
}

const b64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('tokens and sessions over HTTP', () => {
  let sys: TestSystem;
  let api2: RunningApi;

  before(async () => {
    sys = await TestSystem.start({ workers: 0 });
    // A second API replica on the same Redis: what one replica changes, the other must honour.
    api2 = await startApi(sys.config, redisAddressOf(sys.config)!, createLogger('api2', 'error'), () => {});
  });
  after(async () => {
    await api2?.close();
    await sys?.stop();
  });

  const as = (token: string | undefined, method: string, path: string, body?: unknown, base = sys.url) => http(base, method, path, { token, body });
  const admin = (method: string, path: string, body?: unknown) => sys.request(method, path, { body });

  async function login(username: string, password: string, base = sys.url): Promise<Pair> {
    const res = await http(base, 'POST', '/v1/auth/login', { body: { username, password } });
    assert.equal(res.status, 200, `login of ${username}: ${JSON.stringify(res.body)}`);
    return res.body;
  }

  async function createUser(username: string, role: string, workspaces?: unknown): Promise<void> {
    const res = await admin('POST', '/v1/users', { username, password: PASSWORD, role, ...(workspaces === undefined ? {} : { workspaces }) });
    assert.equal(res.status, 201, JSON.stringify(res.body));
  }

  /** A read every user may make; 200 means the token is accepted. */
  const probe = (token: string, base = sys.url) => as(token, 'GET', '/v1/servers', undefined, base);

  function assertUnauthorized(res: HttpReply, message: RegExp, what: string): void {
    assert.equal(res.status, 401, `${what}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.error, 'UNAUTHORIZED', what);
    assert.match(res.body.message, message, what);
  }

  const createIn = (token: string, workspace: string, hostname: string, base = sys.url) =>
    as(token, 'POST', '/v1/servers/create', { workspace, provider: 'digitalocean', plan: 's-1vcpu-1gb', hostname, zone: 'nyc3' }, base);

  describe('each malformed or foreign access token is a 401 saying why', () => {
    let session: string;
    const now = () => Math.floor(Date.now() / 1000);

    before(async () => {
      // A real, open session of a real user: each forged token below differs from a good one in one claim only.
      const pair = await login('admin', sys.adminPassword);
      session = (jwt.decode(pair.token) as jwt.JwtPayload).fam;
      assert.equal(typeof session, 'string');
    });

    /** The claims and options of a token the API accepts; each case removes or changes one. */
    function forge(change: { claims?: Record<string, unknown>; drop?: string[]; opts?: jwt.SignOptions } = {}): string {
      const t = now();
      const claims: Record<string, unknown> = {
        typ: 'access', fam: session, ims: Date.now(), sub: 'admin', iss: sys.config.auth.issuer, aud: sys.config.auth.audience, iat: t, exp: t + 600,
        ...change.claims,
      };
      for (const name of change.drop ?? []) delete claims[name];
      // jsonwebtoken keeps a given iat, and drops it only with noTimestamp.
      return jwt.sign(claims, sys.env.JWT_SECRET!, { algorithm: 'HS256', ...(claims.iat === undefined ? { noTimestamp: true } : {}), ...change.opts });
    }

    test('the control: a forged token with every claim right is accepted', async () => {
      // Without this, the refusals below could come from a mistake in forge() rather than the checked claim.
      assert.equal((await probe(forge())).status, 200);
    });

    test('no exp claim', async () => {
      assertUnauthorized(await probe(forge({ drop: ['exp'] })), /no exp claim/, 'no exp');
    });

    test('no sub claim', async () => {
      assertUnauthorized(await probe(forge({ drop: ['sub'] })), /no sub claim/, 'no sub');
    });

    test('a sub that names no user', async () => {
      assertUnauthorized(await probe(forge({ claims: { sub: 'nobody-by-this-name' } })), /user does not exist/, 'unknown sub');
    });

    test('no iat claim', async () => {
      assertUnauthorized(await probe(forge({ drop: ['iat'] })), /no iat claim/, 'no iat');
    });

    test('no fam (session) claim', async () => {
      assertUnauthorized(await probe(forge({ drop: ['fam'] })), /names no session/, 'no fam');
    });

    test('a fam naming no session', async () => {
      assertUnauthorized(await probe(forge({ claims: { fam: '00000000-0000-4000-8000-000000000000' } })), /session has ended/, 'unknown fam');
    });

    test('the wrong issuer', async () => {
      // The message should say what is wrong, as the RS256 path does ("the token's issuer is wrong").
      assertUnauthorized(await probe(forge({ claims: { iss: 'https://someone-else.test' } })), /issuer/i, 'wrong iss');
    });

    test('the wrong audience', async () => {
      assertUnauthorized(await probe(forge({ claims: { aud: 'another-api' } })), /audience/i, 'wrong aud');
    });

    test('alg none (unsigned)', async () => {
      const t = now();
      const token = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ typ: 'access', fam: session, ims: Date.now(), sub: 'admin', iss: sys.config.auth.issuer, aud: sys.config.auth.audience, iat: t, exp: t + 600 })}.`;
      assertUnauthorized(await probe(token), /algorithm|signature|unsigned/i, 'alg none');
    });

    test('a refresh token sent as a bearer token', async () => {
      const pair = await login('admin', sys.adminPassword);
      assert.match(pair.refresh_token, /^pe_rt_/);
      assertUnauthorized(await probe(pair.refresh_token), /access token|refresh/i, 'refresh token as bearer');
    });
  });

  describe('refresh tokens', () => {
    test('a refresh rotates the pair; reusing the spent token revokes the whole session and is audited', async () => {
      await createUser('rita', 'operator', ['production']);
      const first = await login('rita', PASSWORD);
      const other = await login('rita', PASSWORD); // another session of the same user: must survive

      const refreshed = await http(sys.url, 'POST', '/v1/auth/refresh', { body: { refresh_token: first.refresh_token } });
      assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
      assert.equal(refreshed.headers.get('cache-control'), 'no-store');
      const second: Pair = refreshed.body;
      assert.notEqual(second.refresh_token, first.refresh_token, 'a new refresh token');
      assert.notEqual(second.token, first.token, 'a new access token');
      assert.equal((await probe(second.token)).status, 200, 'the new access token works');

      // The spent token offered again: only a stolen copy can be, so the session is revoked.
      const reuse = await http(sys.url, 'POST', '/v1/auth/refresh', { body: { refresh_token: first.refresh_token } });
      assertUnauthorized(reuse, /already used/, 'reused refresh token');
      const reuseTrace = reuse.headers.get('x-trace-id');
      assert.ok(reuseTrace);

      assertUnauthorized(await http(sys.url, 'POST', '/v1/auth/refresh', { body: { refresh_token: second.refresh_token } }), /session has ended/, 'the newest refresh token of the revoked session');
      assertUnauthorized(await probe(second.token), /session has ended/, 'the newest access token of the revoked session');
      assertUnauthorized(await probe(first.token), /session has ended/, 'the first access token of the revoked session');
      assertUnauthorized(await probe(second.token, api2.url), /session has ended/, 'on the other replica too');

      assert.equal((await probe(other.token)).status, 200, "the user's other session is not touched");

      const audit = await admin('GET', `/v1/audit?action=${encodeURIComponent('POST /v1/auth/refresh')}&result=denied&limit=200`);
      assert.equal(audit.status, 200);
      const entry = audit.body.find((e: { trace_id: string }) => e.trace_id === reuseTrace);
      assert.ok(entry, `an audit entry for the reuse (trace ${reuseTrace}); got ${JSON.stringify(audit.body)}`);
      assert.equal(entry.status, 401);
      assert.equal(entry.result, 'denied');
      assert.match(JSON.stringify(entry.detail), /already used|revoked/);
      // A revoked session is a suspected theft: the entry must say whose session it was.
      assert.ok(JSON.stringify(entry).includes('rita'), `the audit entry names the user whose session was revoked: ${JSON.stringify(entry)}`);
      assert.ok(!JSON.stringify(audit.body).includes(first.refresh_token), 'no refresh token in the audit log');
    });

    test('a garbage refresh token, or an access token, is a 401', async () => {
      const pair = await login('admin', sys.adminPassword);
      assertUnauthorized(await http(sys.url, 'POST', '/v1/auth/refresh', { body: { refresh_token: 'pe_rt_not-a-real-one' } }), /not valid/, 'unknown refresh token');
      assertUnauthorized(await http(sys.url, 'POST', '/v1/auth/refresh', { body: { refresh_token: pair.token } }), /not valid/, 'access token as refresh token');
    });

    test('a refresh after the user was disabled is a 401 and ends the session', async () => {
      await createUser('dana', 'developer', ['production']);
      const pair = await login('dana', PASSWORD);
      assert.equal((await admin('PATCH', '/v1/users/dana', { disabled: true })).status, 200);
      assertUnauthorized(await http(sys.url, 'POST', '/v1/auth/refresh', { body: { refresh_token: pair.refresh_token } }), /disabled/, 'refresh of a disabled user');
    });
  });

  test('logout ends the session: its access and refresh tokens are refused at once, on every replica', async () => {
    await createUser('lou', 'viewer', ['production']);
    const pair = await login('lou', PASSWORD);
    const kept = await login('lou', PASSWORD);
    assert.equal((await probe(pair.token)).status, 200);
    const out = await as(pair.token, 'POST', '/v1/auth/logout');
    assert.equal(out.status, 204, JSON.stringify(out.body));
    assertUnauthorized(await probe(pair.token), /session has ended/, 'access token after logout');
    assertUnauthorized(await probe(pair.token, api2.url), /session has ended/, 'access token after logout, other replica');
    assertUnauthorized(await http(sys.url, 'POST', '/v1/auth/refresh', { body: { refresh_token: pair.refresh_token } }), /session has ended/, 'refresh token after logout');
    assert.equal((await probe(kept.token)).status, 200, 'logout ends only its own session');
  });

  describe('a change to a user counts on its very next request, on either replica', () => {
    test('demoted by role (operator → viewer): its next create is refused', async () => {
      await createUser('demi', 'operator', ['production']);
      const pair = await login('demi', PASSWORD);
      assert.equal((await createIn(pair.token, 'production', 'demi-01')).status, 202, 'an operator may create');
      const patched = await admin('PATCH', '/v1/users/demi', { role: 'viewer' });
      assert.equal(patched.status, 200);
      assert.equal(patched.body.role, 'viewer');
      const answers = [];
      for (const base of [sys.url, api2.url]) {
        const res = await createIn(pair.token, 'production', 'demi-02', base);
        answers.push({ status: res.status, names_permission: /server_create/.test(String(res.body?.message)) });
      }
      assert.deepEqual(answers, [{ status: 403, names_permission: true }, { status: 403, names_permission: true }],
        `a viewer may not create, on either replica; the record after the PATCH: ${JSON.stringify(patched.body)}`);
    });

    test('demoted from global admin: admin routes are refused on the next request', async () => {
      await createUser('ada', 'admin');
      const pair = await login('ada', PASSWORD);
      assert.equal((await as(pair.token, 'GET', '/v1/users')).status, 200);
      assert.equal((await admin('PATCH', '/v1/users/ada', { role: 'operator', workspaces: ['staging'] })).status, 200);
      const res = await as(pair.token, 'GET', '/v1/users', undefined, api2.url);
      assert.equal(res.status, 403);
      assert.match(res.body.message, /user_manage/);
      assert.equal((await createIn(pair.token, 'staging', 'ada-01', api2.url)).status, 202, 'still an operator in staging');
    });

    test('moved to other workspaces: the old one is refused, the new one allowed', async () => {
      await createUser('wes', 'operator', ['production']);
      const pair = await login('wes', PASSWORD);
      assert.equal((await createIn(pair.token, 'production', 'wes-01', api2.url)).status, 202);
      assert.equal((await admin('PATCH', '/v1/users/wes', { workspaces: ['staging'] })).status, 200);
      for (const base of [sys.url, api2.url]) {
        const refused = await createIn(pair.token, 'production', 'wes-02', base);
        assert.equal(refused.status, 403, JSON.stringify(refused.body));
        assert.equal(refused.body.error, 'NOT_A_MEMBER');
      }
      assert.equal((await createIn(pair.token, 'staging', 'wes-03', api2.url)).status, 202);
      // Narrowed per workspace: viewer in staging now.
      assert.equal((await admin('PATCH', '/v1/users/wes', { workspaces: { staging: 'viewer' } })).status, 200);
      const viewer = await createIn(pair.token, 'staging', 'wes-04', api2.url);
      assert.equal(viewer.status, 403);
      assert.match(viewer.body.message, /server_create/);
    });
  });

  describe('disabling, deleting and new passwords end the tokens at once', () => {
    test('a disabled user: its tokens are refused at once and it cannot log in; re-enabling revives no old token', async () => {
      await createUser('dave', 'viewer', ['production']);
      const pair = await login('dave', PASSWORD);
      assert.equal((await probe(pair.token, api2.url)).status, 200);
      assert.equal((await admin('PATCH', '/v1/users/dave', { disabled: true })).status, 200);
      assertUnauthorized(await probe(pair.token), /disabled/, 'disabled user, replica 1');
      assertUnauthorized(await probe(pair.token, api2.url), /disabled/, 'disabled user, replica 2');
      const refused = await http(sys.url, 'POST', '/v1/auth/login', { body: { username: 'dave', password: PASSWORD } });
      assert.equal(refused.status, 401);
      assert.equal((await admin('PATCH', '/v1/users/dave', { disabled: false })).status, 200);
      assert.equal((await probe(pair.token)).status, 401, 'an old token stays refused after re-enabling');
      assert.equal((await probe((await login('dave', PASSWORD)).token)).status, 200, 'a fresh login works again');
    });

    test('a deleted user: its tokens are refused at once, and a new user of the same name does not inherit them', async () => {
      await createUser('dora', 'operator', ['production']);
      const pair = await login('dora', PASSWORD);
      assert.equal((await probe(pair.token)).status, 200);
      assert.equal((await admin('DELETE', '/v1/users/dora')).status, 204);
      assertUnauthorized(await probe(pair.token), /does not exist/, 'deleted user, replica 1');
      assertUnauthorized(await probe(pair.token, api2.url), /does not exist/, 'deleted user, replica 2');
      assert.equal((await admin('GET', '/v1/users/dora')).status, 404);

      // Someone else gets the name: the old dora's tokens must not act as the new one.
      await createUser('dora', 'viewer', ['staging']);
      const access = (await probe(pair.token)).status;
      const refresh = (await http(sys.url, 'POST', '/v1/auth/refresh', { body: { refresh_token: pair.refresh_token } })).status;
      assert.deepEqual({ access, refresh }, { access: 401, refresh: 401 }, "the deleted user's access and refresh tokens must not work for the new user of that name");
    });

    test('an admin password reset ends every older session; the new password works, the old does not', async () => {
      await createUser('remy', 'developer', ['production']);
      const pair = await login('remy', PASSWORD);
      const reset = await admin('POST', '/v1/users/remy/password', { new_password: NEW_PASSWORD });
      assert.equal(reset.status, 204, JSON.stringify(reset.body));
      assertUnauthorized(await probe(pair.token), /signed in again|disabled|does not exist/, 'access token after reset');
      assertUnauthorized(await probe(pair.token, api2.url), /signed in again|disabled|does not exist/, 'access token after reset, replica 2');
      assert.equal((await http(sys.url, 'POST', '/v1/auth/refresh', { body: { refresh_token: pair.refresh_token } })).status, 401, 'refresh token after reset');
      assert.equal((await http(sys.url, 'POST', '/v1/auth/login', { body: { username: 'remy', password: PASSWORD } })).status, 401, 'the old password');
      const fresh = await login('remy', NEW_PASSWORD);
      assert.equal((await probe(fresh.token)).status, 200);
      assert.equal((await admin('POST', '/v1/users/nobody-here/password', { new_password: NEW_PASSWORD })).status, 404);
    });

    test('a self password change needs the current password and ends the other sessions', async () => {
      await createUser('sam', 'viewer', ['production']);
      const mine = await login('sam', PASSWORD);
      const elsewhere = await login('sam', PASSWORD);
      const wrong = await as(mine.token, 'POST', '/v1/auth/password', { current_password: 'not-my-password', new_password: NEW_PASSWORD });
      assert.equal(wrong.status, 401);
      assert.equal(wrong.body.error, 'INVALID_CREDENTIALS');
      assert.equal((await probe(elsewhere.token)).status, 200, 'a wrong current password changes nothing');

      const changed = await as(mine.token, 'POST', '/v1/auth/password', { current_password: PASSWORD, new_password: NEW_PASSWORD });
      assert.equal(changed.status, 204, JSON.stringify(changed.body));
      assert.equal((await probe(elsewhere.token)).status, 401, 'the other session ended');
      assert.equal((await http(sys.url, 'POST', '/v1/auth/refresh', { body: { refresh_token: elsewhere.refresh_token } })).status, 401);
      assert.equal((await http(sys.url, 'POST', '/v1/auth/login', { body: { username: 'sam', password: PASSWORD } })).status, 401, 'the old password');
      assert.equal((await probe((await login('sam', NEW_PASSWORD)).token)).status, 200, 'the new password');
    });
  });

  describe('user management', () => {
    const HASH = /\$2[aby]\$\d{2}\$/;

    test('create, duplicate, list, get, unknown: no answer holds a password or its hash', async () => {
      const created = await admin('POST', '/v1/users', { username: 'uma', password: PASSWORD, role: 'developer', workspaces: ['production', 'staging'] });
      assert.equal(created.status, 201);
      assert.equal(created.headers.get('location'), '/v1/users/uma');
      assert.equal(created.body.username, 'uma');
      assert.equal(created.body.role, 'developer');
      assert.deepEqual(created.body.workspaces, { production: 'developer', staging: 'developer' });
      assert.equal(created.body.disabled, false);
      assert.equal(created.body.source, 'api');

      const duplicate = await admin('POST', '/v1/users', { username: 'uma', password: NEW_PASSWORD, role: 'viewer' });
      assert.equal(duplicate.status, 409);
      assert.equal(duplicate.body.error, 'USER_EXISTS');
      assert.equal((await login('uma', PASSWORD)).token.length > 0, true, 'the duplicate did not overwrite the password');

      const list = await admin('GET', '/v1/users');
      assert.equal(list.status, 200);
      assert.ok(list.body.some((u: { username: string }) => u.username === 'uma'));
      assert.ok(list.body.some((u: { username: string; source: string }) => u.username === 'admin' && u.source === 'bootstrap'));

      const one = await admin('GET', '/v1/users/uma');
      assert.equal(one.status, 200);
      assert.equal(one.body.username, 'uma');

      const unknown = await admin('GET', '/v1/users/nobody-at-all');
      assert.equal(unknown.status, 404);
      assert.equal(unknown.body.error, 'USER_NOT_FOUND');
      assert.equal((await admin('PATCH', '/v1/users/nobody-at-all', { role: 'viewer' })).status, 404);
      assert.equal((await admin('DELETE', '/v1/users/nobody-at-all')).status, 404);

      const changed = await admin('PATCH', '/v1/users/uma', { workspaces: { staging: 'viewer' } });
      for (const res of [created, duplicate, list, one, unknown, changed]) {
        const text = JSON.stringify(res.body);
        assert.ok(!text.includes(PASSWORD) && !text.includes(NEW_PASSWORD), `no password in ${text}`);
        assert.ok(!HASH.test(text), `no bcrypt hash in ${text}`);
        assert.ok(!/"(pw|password|hash|password_hash)"/.test(text), `no password field in ${text}`);
      }
    });

    test('non-admins get 403 naming user_manage on every user route', async () => {
      await createUser('ollie', 'operator', ['production']);
      const { token } = await login('ollie', PASSWORD);
      const calls: Array<[string, string, unknown?]> = [
        ['GET', '/v1/users'],
        ['POST', '/v1/users', { username: 'made-by-ollie', password: PASSWORD, role: 'admin' }],
        ['GET', '/v1/users/admin'],
        ['PATCH', '/v1/users/ollie', { role: 'admin' }],
        ['DELETE', '/v1/users/admin'],
        ['POST', '/v1/users/admin/password', { new_password: NEW_PASSWORD }],
      ];
      for (const [method, path, body] of calls) {
        const res = await as(token, method, path, body);
        assert.equal(res.status, 403, `${method} ${path}: ${JSON.stringify(res.body)}`);
        assert.equal(res.body.error, 'FORBIDDEN');
        assert.match(res.body.message, /user_manage/, `${method} ${path}`);
      }
      assert.equal((await admin('GET', '/v1/users/made-by-ollie')).status, 404, 'nothing was created');
      assert.equal((await admin('GET', '/v1/users/ollie')).body.role, 'operator', 'ollie did not promote itself');
    });

    test('an admin cannot delete, demote or disable itself', async () => {
      const del = await admin('DELETE', '/v1/users/admin');
      assert.equal(del.status, 409);
      assert.match(del.body.message, /cannot delete itself/);
      for (const body of [{ role: 'operator' }, { role: 'viewer', workspaces: ['production'] }, { disabled: true }]) {
        const res = await admin('PATCH', '/v1/users/admin', body);
        assert.equal(res.status, 409, `${JSON.stringify(body)}: ${JSON.stringify(res.body)}`);
        assert.match(res.body.message, /cannot disable or demote itself/);
      }
      const me = await admin('GET', '/v1/users/admin');
      assert.equal(me.body.role, 'admin');
      assert.equal(me.body.disabled, false);
    });
  });
});
