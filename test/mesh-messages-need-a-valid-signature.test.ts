import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import jwt from 'jsonwebtoken';
import { makeSigningKey, startJwksServer, type JwksServer, type TestSigningKey } from './helpers/jwks-server.js';
import { freePort } from './helpers/free-port.js';
import { TestSystem } from './helpers/system.js';
import { createMember } from './helpers/tenants.js';

const DROPLET_ID = 42;
const PEER_ID = 7;

/** Sorted-key JSON, written out here rather than borrowed from the code under test. */
function sortedJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  return `{${Object.keys(obj).sort().map((k) => `${JSON.stringify(k)}:${sortedJson(obj[k])}`).join(',')}}`;
}

interface Message {
  trace_id: string;
  source: string | number;
  target: string | number;
  message_type: string;
  payload: Record<string, unknown>;
  timestamp: string;
  signature?: string;
}

function message(message_type: string, payload: Record<string, unknown>, traceId: string = randomUUID()): Message {
  return { trace_id: traceId, source: PEER_ID, target: DROPLET_ID, message_type, payload, timestamp: new Date().toISOString() };
}

/** Signs as a peer droplet does; `claims` overrides any claim (undefined drops it). */
function signed(key: TestSigningKey, m: Message, claims: Record<string, unknown> = {}): Message {
  const t = Math.floor(Date.now() / 1000);
  const { signature: _s, ...unsigned } = m;
  const all: Record<string, unknown> = {
    iss: String(m.source),
    sub: String(m.source),
    aud: String(m.target),
    iat: t,
    exp: t + 300,
    jti: m.trace_id,
    digest: createHash('sha256').update(sortedJson(unsigned)).digest('base64url'),
    ...claims,
  };
  for (const [k, v] of Object.entries(all)) if (v === undefined) delete all[k];
  return { ...m, signature: jwt.sign(all, key.privatePem, { algorithm: 'RS256', keyid: key.kid }) };
}

describe('mesh messages need a valid signature of their sender', () => {
  const peerKey = makeSigningKey('orchestrator-2026');
  const impostor = makeSigningKey('orchestrator-2026'); // the peer's kid, another private key
  let jwks: JwksServer;
  let sys: TestSystem;

  before(async () => {
    jwks = await startJwksServer([peerKey]);
    const closedPort = await freePort();
    sys = await TestSystem.start({
      workers: 0,
      env: {
        DROPLET_ID: String(DROPLET_ID),
        DROPLET_NAME: 'engine',
        MESH_PEERS: JSON.stringify([
          { id: PEER_ID, name: 'orchestrator', url: jwks.url.replace(/\/\.well-known\/jwks\.json$/, ''), jwks_url: jwks.url },
          { id: 9, name: 'billing', url: `http://127.0.0.1:${closedPort}`, required: true },
        ]),
      },
    });
  });
  after(async () => {
    await sys?.stop();
    await jwks?.close();
  });

  const post = (body: unknown, opts: { auth?: boolean } = {}) => sys.request('POST', '/message', { body, ...opts });

  async function operationsWithTrace(traceId: string) {
    const res = await sys.request('GET', '/v1/operations?limit=200');
    assert.equal(res.status, 200);
    return (res.body as Array<{ id: string; trace_id: string }>).filter((op) => op.trace_id === traceId);
  }

  test('/dependencies lists the peers with whether each answers now', async () => {
    const res = await sys.request('GET', '/dependencies');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.optional.find((d: { id: string }) => d.id === String(PEER_ID)), { id: '7', name: 'orchestrator', status: 'available', url: jwks.url.replace(/\/\.well-known\/jwks\.json$/, '') });
    const down = res.body.missing.find((d: { id: string }) => d.id === '9');
    assert.equal(down.status, 'unreachable');
    assert.equal(down.required, true);
    assert.ok(res.body.connected.includes('7') && !res.body.connected.includes('9'));
  });

  test('a message without a signature is refused in the seed\'s words', async () => {
    const res = await post(message('query', { action: 'status' }));
    assert.equal(res.status, 401);
    assert.deepEqual(res.body, { detail: 'Message signature required' });
  });

  test('a signature by another key under the peer\'s key id is refused', async () => {
    const res = await post(signed(impostor, message('query', { action: 'status' })));
    assert.equal(res.status, 401);
    assert.match(res.body.detail, /signature is not valid/);
  });

  test('a payload changed after signing is refused, and the command it carried is not carried out', async () => {
    const m = signed(peerKey, message('command', { action: 'create_server', workspace: 'production', provider: 'digitalocean', plan: 's-1vcpu-1gb', hostname: 'tampered', zone: 'nyc3' }));
    m.payload.hostname = 'changed-in-transit';
    const res = await post(m);
    assert.equal(res.status, 401);
    assert.match(res.body.detail, /does not match the message/);
    assert.deepEqual(await operationsWithTrace(m.trace_id), []);
  });

  test('a signature for another droplet is refused', async () => {
    const res = await post(signed(peerKey, message('query', { action: 'status' }), { aud: '99' }));
    assert.equal(res.status, 401);
    assert.match(res.body.detail, /another droplet/);
  });

  test('an expired signature is refused', async () => {
    const t = Math.floor(Date.now() / 1000);
    const res = await post(signed(peerKey, message('query', { action: 'status' }), { iat: t - 900, exp: t - 600 }));
    assert.equal(res.status, 401);
    assert.match(res.body.detail, /expired/);
  });

  test('a signature lifted onto another trace, or claiming another sender, is refused', async () => {
    const res = await post(signed(peerKey, message('query', { action: 'status' }), { jti: 'some-other-trace' }));
    assert.equal(res.status, 401);
    assert.match(res.body.detail, /another trace_id/);
    const other = await post(signed(peerKey, message('query', { action: 'status' }), { sub: '8' }));
    assert.equal(other.status, 401);
    assert.match(other.body.detail, /another sender/);
  });

  test('a sender that is no listed peer, with no registry JWKS configured, is refused', async () => {
    const m = { ...message('query', { action: 'status' }), source: 8 };
    const res = await post(signed(peerKey, m));
    assert.equal(res.status, 401);
    assert.match(res.body.detail, /not a known peer/);
  });

  test('a valid signature without a bearer token is still refused (dual authentication)', async () => {
    const res = await post(signed(peerKey, message('query', { action: 'status' })), { auth: false });
    assert.equal(res.status, 401);
    assert.deepEqual(res.body, { detail: 'Could not validate credentials' });
  });

  test('schema errors are a 422 naming each field', async () => {
    const { target: _t, ...noTarget } = message('query', { action: 'status' });
    const res = await post({ ...noTarget, message_type: 'gossip' });
    assert.equal(res.status, 422);
    const locs = (res.body.detail as Array<{ loc: string[]; type: string }>).map((d) => d.loc.join('.'));
    assert.ok(locs.includes('body.target'), JSON.stringify(res.body));
    assert.ok(locs.includes('body.message_type'), JSON.stringify(res.body));

    const unknown = await post(signed(peerKey, message('query', { action: 'reformat_disk' })));
    assert.equal(unknown.status, 422);
    assert.deepEqual(unknown.body.detail[0].loc, ['body', 'payload', 'action']);

    const badField = await post(signed(peerKey, message('command', { action: 'power_action', server_id: 'srv-000000000000', type: 'explode' })));
    assert.equal(badField.status, 422);
    assert.deepEqual(badField.body.detail[0].loc, ['body', 'payload', 'type']);

    const elsewhere = await post(signed(peerKey, { ...message('query', { action: 'status' }), target: 99 }));
    assert.equal(elsewhere.status, 422);
    assert.deepEqual(elsewhere.body.detail[0].loc, ['body', 'target']);
  });

  test('a query for the status answers in the shape of both seeds', async () => {
    const m = signed(peerKey, message('query', { action: 'status' }));
    const res = await post(m);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.received, true);
    assert.equal(res.body.trace_id, m.trace_id);
    assert.equal(res.body.result, 'success');
    assert.equal(res.body.response, 'acknowledged');
    assert.match(res.body.processed_at, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    assert.equal(res.body.data.status, 'processed');
    assert.equal(res.body.data.droplet_id, DROPLET_ID);
    assert.equal(typeof res.body.data.operations.pending, 'number');
  });

  test('a create_server command makes exactly one operation carrying the message\'s trace id, however often it arrives', async () => {
    const m = signed(peerKey, message('command', { action: 'create_server', workspace: 'production', provider: 'digitalocean', plan: 's-1vcpu-1gb', hostname: 'mesh-web', zone: 'nyc3' }));
    // Twice at once, then once more later: an outbox retrying while the first is in flight.
    const [a, b] = await Promise.all([post(m), post(m)]);
    const c = await post(m);
    for (const r of [a, b, c]) {
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.result, 'success');
    }
    const ids = new Set([a, b, c].map((r) => r.body.data.operation_id));
    assert.equal(ids.size, 1, `one operation id in every answer, got ${[...ids].join(', ')}`);
    assert.equal(c.headers.get('idempotent-replayed'), 'true');
    const ops = await operationsWithTrace(m.trace_id);
    assert.equal(ops.length, 1);
    assert.equal(ops[0]!.id, a.body.data.operation_id);

    // The audit log names the message and the operation it made, not the payload.
    const audit = await sys.request('GET', '/v1/audit?limit=200');
    const entries = (audit.body as Array<Record<string, any>>).filter((e) => e.resource_id === m.trace_id);
    assert.ok(entries.length >= 1, JSON.stringify(audit.body).slice(0, 500));
    assert.equal(entries[0]!.resource_type, 'mesh_message');
    assert.equal(entries[0]!.detail.operation_id, ops[0]!.id);
    assert.ok(!JSON.stringify(entries).includes('s-1vcpu-1gb'));

    // The operation is readable back through a query, by the same peer.
    const q = await post(signed(peerKey, message('query', { action: 'get_operation', operation_id: ops[0]!.id })));
    assert.equal(q.status, 200);
    assert.equal(q.body.data.operation.id, ops[0]!.id);
    assert.equal(q.body.data.operation.type, 'server.create');
    assert.equal(q.body.data.operation.trace_id, m.trace_id);
  });

  test('the same trace id with another message is refused', async () => {
    const first = signed(peerKey, message('query', { action: 'status' }));
    assert.equal((await post(first)).status, 200);
    const second = signed(peerKey, message('query', { action: 'list_resources' }, first.trace_id));
    const res = await post(second);
    assert.equal(res.status, 422);
    assert.deepEqual(res.body.detail[0].loc, ['body', 'trace_id']);
  });

  test('a refusal by the engine is an answer with result "error", and nothing is made', async () => {
    const m = signed(peerKey, message('command', { action: 'delete_server', server_id: 'srv-0123456789ab' }));
    const res = await post(m);
    assert.equal(res.status, 200);
    assert.equal(res.body.result, 'error');
    assert.equal(res.body.data.error.code, 'SERVER_NOT_FOUND');
    assert.deepEqual(await operationsWithTrace(m.trace_id), []);
  });

  test('posting needs mesh_message, and a command acts with the caller\'s own access', async () => {
    const developer = await createMember(sys, 'mesh-dev', 'developer', ['production']);
    const refused = await developer.request('POST', '/message', { body: signed(peerKey, message('query', { action: 'status' })) });
    assert.equal(refused.status, 403);
    assert.deepEqual(refused.body, { detail: 'Not enough permissions' });

    const operator = await createMember(sys, 'mesh-staging-op', 'operator', ['staging']);
    const m = signed(peerKey, message('command', { action: 'create_server', workspace: 'production', provider: 'digitalocean', plan: 's-1vcpu-1gb', hostname: 'not-yours', zone: 'nyc3' }));
    const res = await operator.request('POST', '/message', { body: m });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.result, 'error');
    assert.match(res.body.data.error.code, /NOT_A_MEMBER|FORBIDDEN/);
    assert.deepEqual(await operationsWithTrace(m.trace_id), []);
  });

  test('an event is recorded with its trace id', async () => {
    const m = signed(peerKey, message('event', { action: 'status_update', data: { healthy: true } }));
    const res = await post(m);
    assert.equal(res.status, 200);
    assert.equal(res.body.result, 'success');
    const kept = (await sys.api.ctx.redis.lrange(sys.api.ctx.keys.meshInbox(), 0, -1)).map((e) => JSON.parse(e) as Message);
    const entry = kept.find((e) => e.trace_id === m.trace_id);
    assert.ok(entry, 'the event is in the inbox');
    assert.deepEqual(entry.payload, m.payload);
    assert.equal(entry.signature, undefined);
  });
});
