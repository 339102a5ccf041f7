import assert from 'node:assert/strict';
import { createPublicKey, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import jwt from 'jsonwebtoken';
import { messageDigest } from '../src/core/udc/signing.js';
import { http } from './helpers/http.js';
import { reservePort, startReceiver, type Receiver } from './helpers/receiver.js';
import { TestSystem } from './helpers/system.js';

describe('POST /send: the outbox delivers a mesh message when the peer comes back', () => {
  let sys: TestSystem;
  let port: number;
  let peer: Receiver | undefined;

  before(async () => {
    port = await reservePort();
    sys = await TestSystem.start({
      env: {
        DROPLET_ID: '42',
        MESH_PEERS: JSON.stringify([{ id: 7, name: 'orchestrator', url: `http://127.0.0.1:${port}` }]),
        OUTBOX_BACKOFF_MS: '300',
        SEND_WAIT_MS: '1500',
      },
    });
  });
  after(async () => {
    await peer?.close();
    await sys?.stop();
  });

  const delivery = async (id: string) => {
    const res = await sys.request('GET', `/send/deliveries/${id}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as Record<string, any>;
  };

  /** Verifies a compact RS256 JWS with the engine's published keys. */
  const verifyWithJwks = async (token: string, audience: string) => {
    const jwks = await sys.request('GET', '/.well-known/jwks.json', { auth: false });
    assert.equal(jwks.status, 200);
    const kid = (jwt.decode(token, { complete: true }) as { header: { kid: string } }).header.kid;
    const jwk = (jwks.body.keys as Array<{ kid: string }>).find((k) => k.kid === kid);
    assert.ok(jwk, 'the token names a published key');
    return jwt.verify(token, createPublicKey({ key: jwk as never, format: 'jwk' }), { algorithms: ['RS256'], audience }) as Record<string, unknown>;
  };

  test('a message sent while the peer is down is queued, retried, and delivered once, signed, when it comes up', async () => {
    const traceId = randomUUID();
    const sent = await sys.request('POST', '/send', { body: { target: 7, message_type: 'event', payload: { action: 'ping', n: 1 }, priority: 'high' }, headers: { 'x-trace-id': traceId } });
    assert.equal(sent.status, 200, JSON.stringify(sent.body));
    assert.deepEqual({ ...sent.body, delivery_id: undefined }, { sent: true, target: 7, trace_id: traceId, status: 'queued', delivery_id: undefined });

    const retrying = await sys.eventually(async () => {
      const d = await delivery(sent.body.delivery_id);
      return d.status === 'retrying' ? d : undefined;
    }, 'the delivery to be retrying');
    assert.equal(retrying.kind, 'mesh');
    assert.equal(retrying.target, '7');
    assert.match(retrying.last_error, /ECONNREFUSED/);
    assert.ok(retrying.next_attempt_at);

    peer = await startReceiver(port);
    const delivered = await sys.eventually(async () => {
      const d = await delivery(sent.body.delivery_id);
      return d.status === 'delivered' ? d : undefined;
    }, 'the delivery once the peer is up', 30000);
    assert.ok(delivered.attempts >= 2);
    assert.equal(delivered.last_status_code, 200);
    assert.equal(delivered.url, `http://127.0.0.1:${port}/message`);

    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(peer.requests.length, 1, 'exactly one request reached the peer');
    const [req] = peer.requests;
    assert.equal(req!.url, '/message');
    assert.equal(req!.headers['x-trace-id'], traceId);
    const message = JSON.parse(req!.body);
    assert.equal(message.trace_id, traceId);
    assert.equal(message.source, 42);
    assert.equal(message.target, 7);
    assert.equal(message.message_type, 'event');
    assert.deepEqual(message.payload, { action: 'ping', n: 1 });
    assert.match(message.timestamp, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);

    // Dual authentication: a bearer token for the peer and a signature over the message.
    const bearer = /^Bearer (.+)$/.exec(String(req!.headers.authorization))?.[1];
    assert.ok(bearer);
    assert.equal((await verifyWithJwks(bearer, '7')).sub, '42');
    const claims = await verifyWithJwks(message.signature, '7');
    assert.equal(claims.jti, traceId);
    assert.equal(claims.digest, messageDigest(message));
    assert.equal(delivered.body.signature, undefined, 'the stored message has no signature: each attempt makes its own');

    // The same request again (same trace id) is the same delivery: the peer hears nothing more.
    const again = await sys.request('POST', '/send', { body: { target: 7, message_type: 'event', payload: { n: 1, action: 'ping' }, priority: 'high' }, headers: { 'x-trace-id': traceId } });
    assert.equal(again.status, 200);
    assert.equal(again.body.delivery_id, sent.body.delivery_id);
    assert.equal(again.body.status, 'delivered');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(peer.requests.length, 1);
  });

  test('a reachable peer answers delivered; the registry style (query string) is taken too', async () => {
    const byName = await sys.request('POST', '/send?target=orchestrator&message_type=command', { body: { payload: { action: 'list_resources' } } });
    assert.equal(byName.status, 200, JSON.stringify(byName.body));
    assert.equal(byName.body.status, 'delivered');
    assert.equal(byName.body.target, 7);
    const byId = await sys.request('POST', '/send', { body: { target_droplet_id: 7, message_type: 'query', payload: {} } });
    assert.equal(byId.body.status, 'delivered');
    const last = JSON.parse(peer!.requests.at(-1)!.body);
    assert.equal(last.message_type, 'query');

    const list = await sys.request('GET', '/send/deliveries?status=delivered&limit=2');
    assert.equal(list.status, 200);
    assert.equal(list.body.droplet_id, 42);
    assert.equal(list.body.deliveries.length, 2);
    assert.equal(list.body.deliveries[0].id, byId.body.delivery_id, 'newest first');
    assert.ok(list.body.deliveries.every((d: { status: string }) => d.status === 'delivered'));
  });

  test('bad input is answered in the seed shape and sends nothing', async () => {
    const before = peer!.requests.length;
    const missing = await sys.request('POST', '/send', { body: { message_type: 'event', payload: {} } });
    assert.equal(missing.status, 422);
    assert.deepEqual(missing.body.detail[0].loc, ['body', 'target']);
    assert.equal(missing.body.detail[0].type, 'missing');

    const unknown = await sys.request('POST', '/send', { body: { target: 'nobody', payload: {} } });
    assert.equal(unknown.status, 404);
    assert.equal(typeof unknown.body.detail, 'string');

    const badType = await sys.request('POST', '/send', { body: { target: 7, message_type: 'shout' } });
    assert.equal(badType.status, 422);
    assert.deepEqual(badType.body.detail[0].loc, ['body', 'message_type']);

    const noToken = await http(sys.url, 'POST', '/send', { body: { target: 7 } });
    assert.equal(noToken.status, 401);
    assert.deepEqual(noToken.body, { detail: 'Could not validate credentials' });

    const noSuchDelivery = await sys.request('GET', '/send/deliveries/msg-0000');
    assert.equal(noSuchDelivery.status, 404);
    const badFilter = await sys.request('GET', '/send/deliveries?status=lost');
    assert.equal(badFilter.status, 422);
    assert.deepEqual(badFilter.body.detail[0].loc, ['query', 'status']);

    await new Promise((r) => setTimeout(r, 300));
    assert.equal(peer!.requests.length, before);
  });

  test('a peer that refuses the message (4xx) fails it at once', async () => {
    await peer!.close();
    peer = await startReceiver(port, () => 403);
    const res = await sys.request('POST', '/send', { body: { target: 'orchestrator', payload: { x: 1 } } });
    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'failed');
    assert.equal(res.body.sent, false);
    const d = await delivery(res.body.delivery_id);
    assert.equal(d.attempts, 1);
    assert.equal(d.last_status_code, 403);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(peer.requests.length, 1);
  });
});
