import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import jwt from 'jsonwebtoken';
import { http } from './helpers/http.js';
import { makeSigningKey, signRs256, startJwksServer, type JwksServer, type TestSigningKey } from './helpers/jwks-server.js';
import { TestSystem } from './helpers/system.js';

const ISSUER = 'https://registry.mesh.test';
const AUDIENCE = 'provisioning-api';

function sortedJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  return `{${Object.keys(obj).sort().map((k) => `${JSON.stringify(k)}:${sortedJson(obj[k])}`).join(',')}}`;
}

/** A message from droplet `source` to droplet 42, signed with `key`. */
function signedMessage(key: TestSigningKey, source: number, payload: Record<string, unknown>): Record<string, unknown> {
  const m = { trace_id: randomUUID(), source, target: 42, message_type: 'query', payload, timestamp: new Date().toISOString() };
  const t = Math.floor(Date.now() / 1000);
  const claims = { iss: String(source), sub: String(source), aud: '42', iat: t, exp: t + 300, jti: m.trace_id, digest: createHash('sha256').update(sortedJson(m)).digest('base64url') };
  return { ...m, signature: jwt.sign(claims, key.privatePem, { algorithm: 'RS256', keyid: key.kid }) };
}

describe('messages from droplets not in MESH_PEERS verify through the registry\'s JWKS', () => {
  // The registry publishes its own token key and the keys of the droplets it registered.
  const registryKey = makeSigningKey('registry-2026');
  const droplet8 = makeSigningKey('droplet-8');
  const unregistered = makeSigningKey('droplet-9');
  let registry: JwksServer;
  let sys: TestSystem;

  before(async () => {
    registry = await startJwksServer([registryKey, droplet8]);
    sys = await TestSystem.start({ workers: 0, env: { DROPLET_ID: '42', JWKS_URL: registry.url, JWKS_ISSUER: ISSUER, JWKS_AUDIENCE: AUDIENCE } });
  });
  after(async () => {
    await sys?.stop();
    await registry?.close();
  });

  /** A mesh token the registry issued droplet `sub`, mapped to a role by the auth module. */
  const meshToken = (sub: string, claims: Record<string, unknown>) => signRs256(registryKey, { ...claims }, { issuer: ISSUER, audience: AUDIENCE, subject: sub });
  const post = (token: string, body: unknown) => http(sys.url, 'POST', '/message', { token, body });

  test('an operator mesh token with a message signed by a registered droplet is answered', async () => {
    const token = meshToken('droplet-8', { role: 'operator', workspaces: ['production'] });
    const res = await post(token, signedMessage(droplet8, 8, { action: 'list_resources' }));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.result, 'success');
    assert.ok(Array.isArray(res.body.data.resources));
  });

  test('a droplet whose key the registry does not publish is refused', async () => {
    const token = meshToken('droplet-9', { role: 'operator', workspaces: ['production'] });
    const res = await post(token, signedMessage(unregistered, 9, { action: 'status' }));
    assert.equal(res.status, 401);
    assert.match(res.body.detail, /not one the sender publishes/);
  });

  test('a mesh token mapped to a viewer may not post messages', async () => {
    const token = meshToken('droplet-8', { role: 'viewer', workspaces: ['production'] });
    const res = await post(token, signedMessage(droplet8, 8, { action: 'status' }));
    assert.equal(res.status, 403);
    assert.deepEqual(res.body, { detail: 'Not enough permissions' });
  });
});
