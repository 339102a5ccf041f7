import assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import jwt from 'jsonwebtoken';
import { ConfigError, loadConfig } from '../src/core/config.js';
import { secretBox } from '../src/core/secrets/secret-key.js';
import { DropletSigner } from '../src/core/udc/signing.js';
import { TestSystem } from './helpers/system.js';

/** Sorted-key JSON, written out here rather than borrowed from the code under test. */
function sortedJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  return `{${Object.keys(obj).sort().map((k) => `${JSON.stringify(k)}:${sortedJson(obj[k])}`).join(',')}}`;
}

describe('the proof is signed by the droplet and checks out against its JWKS', () => {
  let sys: TestSystem;

  before(async () => {
    sys = await TestSystem.start({ workers: 1, env: { DROPLET_ID: '42', DROPLET_NAME: 'engine' } });
  });
  after(async () => {
    await sys?.stop();
  });

  test('before anything completed there is no proof', async () => {
    const proof = await sys.request('GET', '/proof');
    assert.equal(proof.status, 404);
    assert.equal(typeof proof.body.detail, 'string');
    const health = await sys.request('GET', '/health', { auth: false });
    assert.equal(health.body.proof, null);
    assert.equal((await sys.request('GET', '/proof', { auth: false })).status, 401);
  });

  test('after a create completes, /proof names it and its signature verifies with /.well-known/jwks.json', async () => {
    const op = await sys.createServer({ hostname: 'proof-web' });
    const done = await sys.waitForStatus(op.id, ['completed', 'failed']);
    assert.equal(done.status, 'completed');

    const res = await sys.request('GET', '/proof');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const proof = res.body;
    assert.equal(proof.operation_id, op.id);
    assert.equal(proof.trace_id, done.trace_id);
    assert.equal(proof.droplet_id, 42);
    assert.equal(proof.timestamp, done.finished_at);
    assert.match(proof.action, /^server\.create/);

    const keys = await sys.request('GET', '/.well-known/jwks.json', { auth: false });
    assert.equal(keys.status, 200);
    assert.equal(keys.body.keys.length, 1);
    const jwk = keys.body.keys[0];
    assert.equal(jwk.kty, 'RSA');
    assert.equal(jwk.d, undefined, 'no private part is published');
    // RFC 7638: the kid is the thumbprint of the public key.
    assert.equal(jwk.kid, createHash('sha256').update(JSON.stringify({ e: jwk.e, kty: 'RSA', n: jwk.n })).digest('base64url'));

    const header = jwt.decode(proof.signature, { complete: true })!.header;
    assert.equal(header.alg, 'RS256');
    assert.equal(header.kid, jwk.kid);
    const claims = jwt.verify(proof.signature, createPublicKey({ key: jwk, format: 'jwk' }), { algorithms: ['RS256'] }) as jwt.JwtPayload;
    assert.equal(claims.sub, '42');
    assert.equal(claims.operation_id, proof.operation_id);
    assert.equal(claims.action, proof.action);
    assert.equal(claims.trace_id, proof.trace_id);
    const { signature: _s, ...fields } = proof;
    assert.equal(claims.digest, createHash('sha256').update(sortedJson(fields)).digest('base64url'));

    // Someone else's key does not verify it.
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    assert.throws(() => jwt.verify(proof.signature, other, { algorithms: ['RS256'] }), /invalid signature/);

    // /health carries the proof's hash, and it is stable between calls.
    const health = await sys.request('GET', '/health', { auth: false });
    assert.equal(health.body.proof, createHash('sha256').update(sortedJson(proof)).digest('hex'));
    assert.deepEqual((await sys.request('GET', '/proof')).body, proof);
  });

  test('the signing key is kept sealed in Redis, not in clear', async () => {
    const stored = await sys.api.ctx.redis.get(sys.api.ctx.keys.dropletSigningKey());
    assert.ok(stored, 'a key was made');
    assert.match(stored, /^v1:/);
    assert.ok(!stored.includes('PRIVATE KEY'));
  });

  test('a signing key file others may read is refused, naming the setting', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'signing-key-'));
    try {
      const file = join(dir, 'droplet.pem');
      writeFileSync(file, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }));
      chmodSync(file, 0o644);
      const config = loadConfig({ ...sys.env, DROPLET_SIGNING_KEY_FILE: file });
      await assert.rejects(DropletSigner.load(sys.api.ctx.redis, sys.api.ctx.keys, config, secretBox(config)), (err: unknown) => err instanceof ConfigError && /DROPLET_SIGNING_KEY_FILE/.test(err.message) && /chmod 600/.test(err.message));
      chmodSync(file, 0o600);
      const signer = await DropletSigner.load(sys.api.ctx.redis, sys.api.ctx.keys, config, secretBox(config));
      // The key published is the file's, not the one kept in Redis.
      assert.equal(signer.jwks().keys[0]!.n, createPublicKey(readFileSync(file, 'utf8')).export({ format: 'jwk' }).n);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
