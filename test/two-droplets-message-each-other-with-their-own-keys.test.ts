import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import jwt from 'jsonwebtoken';
import { secretBox } from '../src/core/secrets/secret-key.js';
import { connectRedis } from '../src/core/redis.js';
import { Keys } from '../src/core/keys.js';
import { DropletSigner, type UdcMessage } from '../src/core/udc/signing.js';
import { freePort } from './helpers/free-port.js';
import { http } from './helpers/http.js';
import { TestSystem } from './helpers/system.js';

/**
 * Two engines that list each other in MESH_PEERS, with no registry and no MESH_TOKEN: each
 * calls the other with a bearer token it mints with its own droplet key, which the other checks
 * against the sender's published keys.
 */
describe('two droplets message each other with their own keys', () => {
  let alpha: TestSystem;
  let beta: TestSystem;
  let betaUrl: string;

  before(async () => {
    const [alphaPort, betaPort] = [await freePort(), await freePort()];
    const alphaUrl = `http://127.0.0.1:${alphaPort}`;
    betaUrl = `http://127.0.0.1:${betaPort}`;
    alpha = await TestSystem.start({
      env: { PORT: String(alphaPort), DROPLET_ID: '101', DROPLET_NAME: 'alpha', DROPLET_ENDPOINT: alphaUrl, MESH_PEERS: JSON.stringify([{ id: 102, name: 'beta', url: betaUrl }]), OUTBOX_BACKOFF_MS: '300' },
    });
    beta = await TestSystem.start({
      // Alpha may act in `production` only.
      env: { PORT: String(betaPort), DROPLET_ID: '102', DROPLET_NAME: 'beta', DROPLET_ENDPOINT: betaUrl, MESH_PEERS: JSON.stringify([{ id: 101, name: 'alpha', url: alphaUrl, workspaces: { production: 'operator' } }]) },
    });
  });
  after(async () => {
    await alpha?.stop();
    await beta?.stop();
  });

  const delivered = (sys: TestSystem, id: string) =>
    sys.eventually(async () => {
      const d = (await sys.request('GET', `/send/deliveries/${id}`)).body as Record<string, any>;
      if (d.status === 'failed') throw new Error(`delivery failed: ${JSON.stringify(d)}`);
      return d.status === 'delivered' ? d : undefined;
    }, 'the delivery to be delivered');

  test('a command sent through the outbox becomes one operation at the peer, in a workspace the peer granted', async () => {
    const traceId = randomUUID();
    const payload = { action: 'create_server', workspace: 'production', provider: 'digitalocean', plan: 's-1vcpu-1gb', hostname: 'mesh-made-01', zone: 'nyc3' };
    const sent = await alpha.request('POST', '/send', { body: { target: 'beta', message_type: 'command', payload }, headers: { 'x-trace-id': traceId } });
    assert.equal(sent.status, 200, JSON.stringify(sent.body));
    assert.equal(sent.body.trace_id, traceId);
    await delivered(alpha, sent.body.delivery_id);

    const ops = (await beta.request('GET', '/v1/operations?workspace=production')).body as Array<Record<string, any>>;
    const made = ops.filter((op) => op.trace_id === traceId);
    assert.equal(made.length, 1, 'one operation at the peer, carrying the sender\'s trace id');
    assert.equal(made[0]!.type, 'server.create');
    assert.equal(made[0]!.requested_by, 'droplet:alpha');
    const done = await beta.waitForStatus(made[0]!.id, ['completed']);
    assert.equal(done.status, 'completed');
    assert.equal((await beta.droplets()).filter((d) => d.name === 'mesh-made-01').length, 1);
  });

  test('a command for a workspace the peer was not granted is answered with an error and makes nothing', async () => {
    const traceId = randomUUID();
    const payload = { action: 'create_server', workspace: 'staging', provider: 'digitalocean', plan: 's-1vcpu-1gb', hostname: 'mesh-denied-01', zone: 'nyc3' };
    const sent = await alpha.request('POST', '/send', { body: { target: 102, message_type: 'command', payload }, headers: { 'x-trace-id': traceId } });
    assert.equal(sent.status, 200, JSON.stringify(sent.body));
    await delivered(alpha, sent.body.delivery_id);
    const ops = (await beta.request('GET', '/v1/operations?workspace=staging')).body as Array<Record<string, any>>;
    assert.equal(ops.filter((op) => op.trace_id === traceId).length, 0);
  });

  test('the peer refuses a token for another audience and one signed by a key the sender does not publish', async () => {
    // Alpha's own signer, read from alpha's Redis as alpha's processes read it.
    const redis = connectRedis(alpha.redis.url, 'test-alpha-signer');
    try {
      const signer = await DropletSigner.load(redis, new Keys(alpha.config.keyPrefix), alpha.config, secretBox(alpha.config));
      const message: UdcMessage = { trace_id: randomUUID(), source: 101, target: 102, message_type: 'event', payload: { action: 'ping' }, timestamp: new Date().toISOString() };
      const body = { ...message, signature: signer.signMessage(message) };
      const post = (token: string) => http(betaUrl, 'POST', '/message', { body, token });

      const good = await post(signer.bearerFor('102'));
      assert.equal(good.status, 200, JSON.stringify(good.body));
      assert.equal(good.body.received, true);

      const otherAudience = await post(signer.bearerFor('999'));
      assert.equal(otherAudience.status, 401);
      assert.deepEqual(otherAudience.body, { detail: 'Could not validate credentials' });

      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const now = Math.floor(Date.now() / 1000);
      const forged = jwt.sign({ iss: 'http://forger', sub: '101', aud: '102', iat: now, exp: now + 60 }, privateKey, { algorithm: 'RS256', keyid: 'not-alphas-key' });
      const refused = await post(forged);
      assert.equal(refused.status, 401);
      assert.deepEqual(refused.body, { detail: 'Could not validate credentials' });
    } finally {
      redis.disconnect();
    }
  });
});
