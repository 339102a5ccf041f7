import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import jwt from 'jsonwebtoken';
import { ExternalTokenVerifier } from '../src/core/auth/external-tokens.js';
import { UnauthorizedError } from '../src/common/errors.js';
import { makeSigningKey, signRs256, startJwksServer, type JwksServer, type TestSigningKey } from './helpers/jwks-server.js';
import { rejectsWith } from './helpers/rejects-with.js';

const ISSUER = 'https://mesh-registry.test';
const AUDIENCE = 'provisioning-api';

const now = () => Math.floor(Date.now() / 1000);

/** Signs with `key` as this issuer would; an option given as `undefined` leaves that claim out. */
function sign(key: TestSigningKey, claims: object, opts: jwt.SignOptions = {}): string {
  return signRs256(key, claims, { issuer: ISSUER, audience: AUDIENCE, subject: 'registry-bot', ...opts });
}

const b64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

function validClaims(): object {
  const t = now();
  return { sub: 'registry-bot', iss: ISSUER, aud: AUDIENCE, iat: t, exp: t + 300, role: 'admin' };
}

/** The verifier refuses with a 401 naming `reason`, and never echoes the token. */
async function assertRefused(verifier: ExternalTokenVerifier, token: string, reason: string | RegExp): Promise<void> {
  const err = await rejectsWith(verifier.verify(token));
  assert.ok(err instanceof UnauthorizedError, `expected UnauthorizedError, got ${String(err)}`);
  assert.equal(err.code, 'UNAUTHORIZED');
  assert.equal(err.httpStatus, 401);
  if (typeof reason === 'string') assert.equal(err.message, reason);
  else assert.match(err.message, reason);
  const signature = token.split('.')[2];
  for (const text of [err.message, JSON.stringify(err), String(err.stack)]) {
    if (token.length >= 16) assert.ok(!text.includes(token), 'the error must not contain the token');
    if (signature) assert.ok(!text.includes(signature), 'the error must not contain the token signature');
  }
}

describe('external RS256 tokens verified through JWKS', () => {
  const first = makeSigningKey('key-2024-a');
  const rotated = makeSigningKey('key-2024-b');
  const stranger = makeSigningKey('key-2024-a'); // same kid as `first`, another private key
  let jwks: JwksServer;
  let verifier: ExternalTokenVerifier;
  const servers: JwksServer[] = [];

  before(async () => {
    jwks = await startJwksServer([first]);
    servers.push(jwks);
    verifier = new ExternalTokenVerifier({ jwksUrl: jwks.url, issuer: ISSUER, audience: AUDIENCE });
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  describe('claims map to an identity', () => {
    test('role admin with no workspaces claim is a global admin', async () => {
      const identity = await verifier.verify(sign(first, { role: 'admin' }));
      assert.equal(identity.kind, 'external');
      assert.equal(identity.username, 'registry-bot');
      assert.equal(identity.admin, true);
      assert.deepEqual({ ...identity.workspaces }, {});
      assert.equal(identity.keyId, undefined);
    });

    test('a workspaces array gives each workspace the role claim; admin there is not global', async () => {
      const operator = await verifier.verify(sign(first, { role: 'operator', workspaces: ['web', 'batch-jobs'] }));
      assert.equal(operator.admin, false);
      assert.deepEqual({ ...operator.workspaces }, { web: 'operator', 'batch-jobs': 'operator' });

      const scopedAdmin = await verifier.verify(sign(first, { role: 'admin', workspaces: ['web'] }));
      assert.equal(scopedAdmin.admin, false);
      assert.deepEqual({ ...scopedAdmin.workspaces }, { web: 'admin' });

      const emptyScope = await verifier.verify(sign(first, { role: 'admin', workspaces: [] }));
      assert.equal(emptyScope.admin, false, 'an empty workspaces claim still scopes an admin');
      assert.deepEqual({ ...emptyScope.workspaces }, {});
    });

    test('a workspaces object gives each workspace its own role', async () => {
      const identity = await verifier.verify(sign(first, { role: 'admin', workspaces: { web: 'admin', batch: 'viewer', constructor: 'developer' } }));
      assert.equal(identity.admin, false);
      assert.deepEqual({ ...identity.workspaces }, { web: 'admin', batch: 'viewer', constructor: 'developer' });
      assert.equal(identity.workspaces.toString, undefined, 'no prototype members leak in as workspaces');
    });

    test('no role claim means viewer; no workspaces claim means no workspaces', async () => {
      const viewer = await verifier.verify(sign(first, { workspaces: ['web'] }));
      assert.deepEqual({ ...viewer.workspaces }, { web: 'viewer' });
      assert.equal(viewer.admin, false);
      const nothing = await verifier.verify(sign(first, {}));
      assert.equal(nothing.admin, false);
      assert.deepEqual({ ...nothing.workspaces }, {});
    });
  });

  describe('each bad token is a 401', () => {
    test('alg none is refused before any key lookup', async () => {
      const before = jwks.fetches;
      const fresh = new ExternalTokenVerifier({ jwksUrl: jwks.url, issuer: ISSUER, audience: AUDIENCE });
      const token = `${b64url({ alg: 'none', typ: 'JWT', kid: first.kid })}.${b64url(validClaims())}.`;
      await assertRefused(fresh, token, "the token's algorithm must be RS256");
      assert.equal(jwks.fetches, before, 'no JWKS fetch for a token refused on its header');
    });

    test('HS256 signed with the issuer public key as the HMAC secret is refused', async () => {
      const before = jwks.fetches;
      const fresh = new ExternalTokenVerifier({ jwksUrl: jwks.url, issuer: ISSUER, audience: AUDIENCE });
      const input = `${b64url({ alg: 'HS256', typ: 'JWT', kid: first.kid })}.${b64url(validClaims())}`;
      const token = `${input}.${createHmac('sha256', first.publicPem).update(input).digest('base64url')}`;
      await assertRefused(fresh, token, "the token's algorithm must be RS256");
      // The same with jsonwebtoken signing it, as an attacker's tooling would.
      const signed = jwt.sign(validClaims(), first.publicPem, { algorithm: 'HS256', keyid: first.kid });
      await assertRefused(fresh, signed, "the token's algorithm must be RS256");
      assert.equal(jwks.fetches, before);
    });

    test('another algorithm (RS512) with a known kid is refused', async () => {
      const token = jwt.sign({ role: 'admin' }, first.privatePem, { algorithm: 'RS512', keyid: first.kid, issuer: ISSUER, audience: AUDIENCE, subject: 'x', expiresIn: 60 });
      await assertRefused(verifier, token, "the token's algorithm must be RS256");
    });

    test('a token without a kid is refused', async () => {
      const token = jwt.sign({ role: 'admin' }, first.privatePem, { algorithm: 'RS256', issuer: ISSUER, audience: AUDIENCE, subject: 'x', expiresIn: 60 });
      await assertRefused(verifier, token, 'the token has no key id (kid)');
    });

    test('a bad signature (right kid, another private key) is refused', async () => {
      await assertRefused(verifier, sign(stranger, { role: 'admin' }), "the token's signature is not valid");
    });

    test('an expired token is refused', async () => {
      const t = now();
      await assertRefused(verifier, sign(first, { iat: t - 600, exp: t - 60 }, { expiresIn: undefined }), 'the token has expired');
    });

    test('a token whose nbf is in the future is refused', async () => {
      await assertRefused(verifier, sign(first, { nbf: now() + 3600 }), 'the token is not yet valid');
    });

    test('a wrong audience is refused', async () => {
      await assertRefused(verifier, sign(first, {}, { audience: 'someone-else' }), "the token's audience is wrong");
    });

    test('a wrong issuer is refused', async () => {
      await assertRefused(verifier, sign(first, {}, { issuer: 'https://evil.test' }), "the token's issuer is wrong");
    });

    test('an unknown kid is refused after a refetch of the key set', async () => {
      const before = jwks.fetches;
      const ghost = makeSigningKey('key-nobody-published');
      await assertRefused(verifier, sign(ghost, { role: 'admin' }), "the token's signing key is unknown");
      assert.equal(jwks.fetches, before + 1, 'the unknown kid made jwks-rsa refetch once');
    });

    test('a token without exp is refused', async () => {
      await assertRefused(verifier, sign(first, {}, { expiresIn: undefined }), 'the token has no exp claim');
    });

    test('a token without sub is refused', async () => {
      await assertRefused(verifier, sign(first, {}, { subject: undefined }), 'the token has no sub claim');
      await assertRefused(verifier, sign(first, { sub: '' }, { subject: undefined }), 'the token has no sub claim');
    });

    test('a token without iat is refused', async () => {
      await assertRefused(verifier, sign(first, {}, { noTimestamp: true }), 'the token has no iat claim');
    });

    test('a role claim that is not a role is refused', async () => {
      for (const role of ['superuser', 'Admin', null, 3, ['admin']]) {
        await assertRefused(verifier, sign(first, { role }), /role claim must be one of admin, operator, developer, viewer/);
      }
      await assertRefused(verifier, sign(first, { role: 'viewer', workspaces: { web: 'root' } }), /role claim must be one of/);
    });

    test('a bad workspace name or workspaces shape is refused', async () => {
      for (const workspaces of [['Web'], ['-web'], ['a'.repeat(64)], ['__proto__'], [7], { 'bad name': 'viewer' }]) {
        await assertRefused(verifier, sign(first, { role: 'operator', workspaces }), 'the token names a workspace that is not a valid workspace name');
      }
      await assertRefused(verifier, sign(first, { workspaces: 'web' }), /workspaces claim must be/);
    });

    test('garbage is refused as malformed', async () => {
      await assertRefused(verifier, 'not-a-jwt', 'the token is not a well-formed JWT');
      await assertRefused(verifier, '', 'the token is not a well-formed JWT');
    });
  });

  describe('the JWKS endpoint', () => {
    test('a key rotation: the new kid is fetched and accepted, the withdrawn kid is refused', async () => {
      const server = await startJwksServer([first]);
      servers.push(server);
      const v = new ExternalTokenVerifier({ jwksUrl: server.url, issuer: ISSUER, audience: AUDIENCE });
      const oldToken = sign(first, { role: 'operator', workspaces: ['web'] });
      assert.equal((await v.verify(oldToken)).username, 'registry-bot');
      assert.equal(server.fetches, 1);

      server.keys = [rotated]; // the issuer rotates: new kid served, old one removed

      const identity = await v.verify(sign(rotated, { role: 'developer', workspaces: ['web'] }, { subject: 'registry-bot-2' }));
      assert.equal(identity.username, 'registry-bot-2');
      assert.deepEqual({ ...identity.workspaces }, { web: 'developer' });
      assert.equal(server.fetches, 2, 'the new kid triggered one refetch');

      // The old key is still in jwks-rsa's cache, but the issuer no longer publishes it.
      await assertRefused(v, oldToken, "the token's signing key is unknown");
      await assertRefused(v, sign(first, { role: 'admin' }), "the token's signing key is unknown");
      // And a fresh verifier, with nothing cached, refuses it too.
      const fresh = new ExternalTokenVerifier({ jwksUrl: server.url, issuer: ISSUER, audience: AUDIENCE });
      await assertRefused(fresh, oldToken, "the token's signing key is unknown");
    });

    test('a flood of unknown kids is rate limited and cannot hammer the issuer', async () => {
      const server = await startJwksServer([first]);
      servers.push(server);
      const v = new ExternalTokenVerifier({ jwksUrl: server.url, issuer: ISSUER, audience: AUDIENCE });
      const known = sign(first, { role: 'viewer' });
      await v.verify(known);
      const ghost = makeSigningKey('unused');
      const reasons = new Set<string>();
      for (let i = 0; i < 30; i++) {
        const token = jwt.sign({}, ghost.privatePem, { algorithm: 'RS256', keyid: `kid-${randomBytes(6).toString('hex')}`, issuer: ISSUER, audience: AUDIENCE, subject: 'x', expiresIn: 60 });
        const err = await rejectsWith(v.verify(token));
        assert.ok(err instanceof UnauthorizedError);
        reasons.add(err.message);
      }
      assert.ok(server.fetches <= 10, `at most 10 JWKS fetches a minute, saw ${server.fetches}`);
      assert.deepEqual([...reasons].sort(), [
        "the token's signing key could not be looked up right now; try again later",
        "the token's signing key is unknown",
      ]);
      // Cached keys skip the limiter, so callers with a known key are not locked out by the flood.
      const fetchesAfterFlood = server.fetches;
      assert.equal((await v.verify(known)).username, 'registry-bot');
      assert.equal(server.fetches, fetchesAfterFlood);
    });

    test('a JWKS server that is stopped gives a 401, not a crash', async () => {
      const server = await startJwksServer([first]);
      const url = server.url;
      await server.close();
      const v = new ExternalTokenVerifier({ jwksUrl: url, issuer: ISSUER, audience: AUDIENCE });
      await assertRefused(v, sign(first, { role: 'admin' }), "the token's issuer could not be reached");
    });

    test('a JWKS server that never answers gives a 401 within the timeout, not a hang', async () => {
      const server = await startJwksServer([first], { hang: true });
      servers.push(server);
      const v = new ExternalTokenVerifier({ jwksUrl: server.url, issuer: ISSUER, audience: AUDIENCE, timeoutMs: 300 });
      const started = Date.now();
      await assertRefused(v, sign(first, { role: 'admin' }), "the token's issuer could not be reached");
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 250 && elapsed < 2000, `refused after ${elapsed} ms`);
      assert.equal(server.fetches, 1);
    });

    test('a JWKS server that answers an error gives a 401', async () => {
      const server = createServer((_req, res) => {
        res.writeHead(503).end('down for maintenance');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const { port } = server.address() as AddressInfo;
        const v = new ExternalTokenVerifier({ jwksUrl: `http://127.0.0.1:${port}/jwks`, issuer: ISSUER, audience: AUDIENCE });
        await assertRefused(v, sign(first, { role: 'admin' }), "the token's issuer could not be reached");
      } finally {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });
  });
});
