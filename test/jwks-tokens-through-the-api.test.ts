import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import jwt from 'jsonwebtoken';
import { http, type HttpReply } from './helpers/http.js';
import { makeSigningKey, signRs256, startJwksServer, type JwksServer } from './helpers/jwks-server.js';
import { TestSystem } from './helpers/system.js';

/**
 * RS256 tokens of a trusted external issuer, verified through its JWKS, used against the
 * running API: their claims decide where the caller may act, a key rotation at the issuer
 * is followed, and every bad token is a 401 on a real request.
 */

const ISSUER = 'https://mesh-registry.test';
// Deliberately not the engine's own audience, so the external audience is what is checked.
const AUDIENCE = 'provisioning-engine-mesh';

const b64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

describe('JWKS-verified RS256 tokens through the API', () => {
  const first = makeSigningKey('mesh-2024-a');
  const second = makeSigningKey('mesh-2024-b');
  let jwks: JwksServer;
  let sys: TestSystem;

  before(async () => {
    jwks = await startJwksServer([first]);
    sys = await TestSystem.start({ workers: 0, env: { JWKS_URL: jwks.url, JWKS_ISSUER: ISSUER, JWKS_AUDIENCE: AUDIENCE } });
  });
  after(async () => {
    await sys?.stop();
    await jwks?.close();
  });

  const sign = (key = first, claims: object = { role: 'operator', workspaces: ['production'] }, opts: jwt.SignOptions = {}) =>
    signRs256(key, claims, { issuer: ISSUER, audience: AUDIENCE, subject: 'registry-bot', ...opts });
  const createIn = (token: string, workspace: string, hostname: string) =>
    http(sys.url, 'POST', '/v1/servers/create', { token, body: { workspace, provider: 'digitalocean', plan: 's-1vcpu-1gb', hostname, zone: 'nyc3' } });

  function assertRefused(res: HttpReply, message: RegExp | null, what: string): void {
    assert.equal(res.status, 401, `${what}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.error, 'UNAUTHORIZED', what);
    if (message) assert.match(res.body.message, message, what);
  }

  test('an operator of production creates there (202) and is refused in staging (403 NOT_A_MEMBER)', async () => {
    const token = sign();
    const made = await createIn(token, 'production', 'mesh-01');
    assert.equal(made.status, 202, JSON.stringify(made.body));
    assert.equal(made.body.workspace, 'production');
    assert.equal(made.body.requested_by, 'registry-bot');

    const refused = await createIn(token, 'staging', 'mesh-02');
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
    assert.equal(refused.body.error, 'NOT_A_MEMBER');
    assert.match(refused.body.message, /staging/);

    // Reads are bounded to its workspaces too.
    const listed = await http(sys.url, 'GET', '/v1/operations', { token });
    assert.equal(listed.status, 200);
    assert.ok(listed.body.length >= 1);
    assert.ok(listed.body.every((op: { workspace: string }) => op.workspace === 'production'), JSON.stringify(listed.body.map((o: { workspace: string }) => o.workspace)));
  });

  test('claims decide the rights: a viewer cannot create, a workspace admin is no global admin', async () => {
    const viewer = await createIn(sign(first, { role: 'viewer', workspaces: ['production'] }), 'production', 'mesh-03');
    assert.equal(viewer.status, 403);
    assert.match(viewer.body.message, /server_create/);
    const scopedAdmin = sign(first, { role: 'admin', workspaces: ['production'] });
    const users = await http(sys.url, 'GET', '/v1/users', { token: scopedAdmin });
    assert.equal(users.status, 403);
    assert.match(users.body.message, /user_manage/);
    const globalAdmin = await http(sys.url, 'GET', '/v1/users', { token: sign(first, { role: 'admin' }) });
    assert.equal(globalAdmin.status, 200);
  });

  test('the issuer rotates its key: the new kid works, the withdrawn kid is refused', async () => {
    const oldToken = sign(first);
    assert.equal((await createIn(oldToken, 'production', 'rot-01')).status, 202, 'the old key works before the rotation');
    const fetchesBefore = jwks.fetches;

    jwks.keys = [second]; // the issuer publishes the new key and withdraws the old one

    const newToken = sign(second, { role: 'operator', workspaces: ['production'] }, { subject: 'registry-bot-2' });
    const made = await createIn(newToken, 'production', 'rot-02');
    assert.equal(made.status, 202, JSON.stringify(made.body));
    assert.equal(made.body.requested_by, 'registry-bot-2');
    assert.equal(jwks.fetches, fetchesBefore + 1, 'the unknown new kid made the engine refetch the key set once');

    assertRefused(await createIn(oldToken, 'production', 'rot-03'), /signing key is unknown/, 'a token of the withdrawn key');
    assertRefused(await createIn(sign(first), 'production', 'rot-04'), /signing key is unknown/, 'a fresh token of the withdrawn key');
    assert.equal((await http(sys.url, 'GET', '/v1/servers', { token: newToken })).status, 200, 'the new key keeps working');
  });

  describe('each bad token is a 401 on a real request', () => {
    // Runs after the rotation above or alone: sign with whichever key is published now.
    const current = () => jwks.keys[0]!;

    test('expired', async () => {
      const t = now();
      assertRefused(await createIn(sign(current(), { role: 'operator', workspaces: ['production'], iat: t - 600, exp: t - 60 }, { expiresIn: undefined }), 'production', 'bad-01'), /expired/, 'expired');
    });

    test('not yet valid (nbf in the future)', async () => {
      assertRefused(await createIn(sign(current(), { role: 'operator', workspaces: ['production'], nbf: now() + 3600 }), 'production', 'bad-02'), /not yet valid/, 'nbf');
    });

    test('wrong audience (the engine\'s own audience included)', async () => {
      assertRefused(await createIn(sign(current(), undefined, { audience: 'someone-else' }), 'production', 'bad-03'), /audience is wrong/, 'wrong aud');
      assertRefused(await createIn(sign(current(), undefined, { audience: sys.config.auth.audience }), 'production', 'bad-04'), /audience is wrong/, 'engine aud');
    });

    test('wrong issuer (the engine\'s own issuer included)', async () => {
      assertRefused(await createIn(sign(current(), undefined, { issuer: 'https://evil.test' }), 'production', 'bad-05'), /issuer is wrong/, 'wrong iss');
      assertRefused(await createIn(sign(current(), undefined, { issuer: sys.config.auth.issuer }), 'production', 'bad-06'), /issuer is wrong/, 'engine iss');
    });

    test('an unknown kid', async () => {
      const stranger = makeSigningKey('never-published');
      assertRefused(await createIn(sign(stranger), 'production', 'bad-07'), /signing key is unknown/, 'unknown kid');
    });

    test('a published kid with another private key (bad signature)', async () => {
      const impostor = { ...makeSigningKey(current().kid) };
      assertRefused(await createIn(sign(impostor), 'production', 'bad-08'), /signature is not valid/, 'bad signature');
    });

    test("HS256 signed with the issuer's public key as the secret", async () => {
      const claims = { sub: 'registry-bot', iss: ISSUER, aud: AUDIENCE, iat: now(), exp: now() + 300, role: 'admin' };
      const input = `${b64url({ alg: 'HS256', typ: 'JWT', kid: current().kid })}.${b64url(claims)}`;
      const handMade = `${input}.${createHmac('sha256', current().publicPem).update(input).digest('base64url')}`;
      assertRefused(await createIn(handMade, 'production', 'bad-09'), null, 'HS256 with the public key');
      const signed = jwt.sign(claims, current().publicPem, { algorithm: 'HS256', keyid: current().kid });
      assertRefused(await http(sys.url, 'GET', '/v1/users', { token: signed }), null, 'HS256 with the public key, admin route');
    });

    test('alg none', async () => {
      const claims = { sub: 'registry-bot', iss: ISSUER, aud: AUDIENCE, iat: now(), exp: now() + 300, role: 'admin' };
      const token = `${b64url({ alg: 'none', typ: 'JWT', kid: current().kid })}.${b64url(claims)}.`;
      assertRefused(await http(sys.url, 'GET', '/v1/users', { token }), null, 'alg none');
      assertRefused(await createIn(token, 'production', 'bad-10'), null, 'alg none, create');
    });

    test('the refusals are in the audit log as external, with no token in it', async () => {
      const t = now();
      const expired = sign(current(), { role: 'operator', workspaces: ['production'], iat: t - 600, exp: t - 60 }, { expiresIn: undefined, subject: 'audited-bot' });
      const res = await createIn(expired, 'production', 'bad-11');
      assert.equal(res.status, 401);
      const audit = await sys.request('GET', '/v1/audit?actor=audited-bot');
      assert.equal(audit.status, 200);
      const entry = audit.body.find((e: { trace_id: string }) => e.trace_id === res.headers.get('x-trace-id'));
      assert.ok(entry, JSON.stringify(audit.body));
      assert.equal(entry.actor_kind, 'external');
      assert.equal(entry.result, 'denied');
      assert.equal(entry.status, 401);
      assert.ok(!JSON.stringify(audit.body).includes(expired.split('.')[2]!), 'no token signature in the audit log');
    });
  });

  test("an external caller whose sub names a local user does not get that user's API keys", async () => {
    // The local admin makes a key; a mesh token that merely says sub=admin is another principal,
    // here only an operator of production.
    const key = await sys.request('POST', '/v1/api-keys', { body: { name: 'local-admin-key' } });
    assert.equal(key.status, 201);
    const external = sign(jwks.keys[0]!, { role: 'operator', workspaces: ['production'] }, { subject: 'admin' });

    const list = await http(sys.url, 'GET', '/v1/api-keys', { token: external });
    const rotate = await http(sys.url, 'POST', `/v1/api-keys/${key.body.id}/rotate`, { token: external });
    // What a rotated copy would let the operator do: a global-admin route.
    const escalated = rotate.status === 201 ? (await http(sys.url, 'GET', '/v1/users', { headers: { 'x-api-key': rotate.body.key } })).status : null;
    const revoke = await http(sys.url, 'DELETE', `/v1/api-keys/${rotate.status === 201 ? rotate.body.id : key.body.id}`, { token: external });
    assert.deepEqual(
      {
        lists_admins_key: Array.isArray(list.body) && list.body.some((k: { user_id: string }) => k.user_id === 'admin'),
        rotate: rotate.status,
        rotated_key_on_admin_route: escalated,
        revoke: revoke.status,
      },
      // API keys belong to the engine's own users: an external caller manages none (403).
      { lists_admins_key: false, rotate: 403, rotated_key_on_admin_route: null, revoke: 403 },
      "an external operator with sub 'admin' must not see, rotate or revoke the local admin's keys",
    );
  });
});
