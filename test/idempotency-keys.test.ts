import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import bcrypt from 'bcryptjs';
import { createLogger } from '../src/core/logger.js';
import { IdempotencyStore, requestFingerprint } from '../src/core/idempotency.js';
import { requestServerCreate, type CreateServerRequest } from '../src/core/servers/requests.js';
import { http, type HttpReply } from './helpers/http.js';
import { keysMatching } from './helpers/redis-server.js';
import { storedOperationCount } from './helpers/stored-operations.js';
import { TestSystem } from './helpers/system.js';
import { Access } from '../src/core/auth/access.js';

const createBody = { workspace: 'production', provider: 'digitalocean', plan: 's-1vcpu-1gb', hostname: 'web-01', zone: 'nyc3', check_mode: false, tags: ['web'] };

function create(sys: TestSystem, key: string, body: unknown = createBody, token = sys.token): Promise<HttpReply> {
  return http(sys.url, 'POST', '/v1/servers/create', { token, body, headers: { 'Idempotency-Key': key } });
}

const operationCount = (sys: TestSystem) => storedOperationCount(sys.api.ctx.redis, sys.api.ctx.keys);

describe('Idempotency-Key on mutating /v1 requests', () => {
  let sys: TestSystem;
  before(async () => {
    sys = await TestSystem.start({
      workers: 0,
      env: { AUTH_USERS: `second:operator:${bcrypt.hashSync('second-password-1', 4)}:production` },
    });
  });
  after(async () => {
    await sys?.stop();
  });

  test('the same key and body twice: one operation, the second answer replayed', async () => {
    const before = await operationCount(sys);
    const first = await create(sys, 'same-twice');
    const second = await create(sys, 'same-twice');
    assert.equal(first.status, 202);
    assert.equal(second.status, 202);
    assert.equal(second.body.id, first.body.id);
    assert.deepEqual(second.body, first.body);
    assert.equal(second.headers.get('location'), `/v1/operations/${first.body.id}`);
    assert.equal(first.headers.get('idempotent-replayed'), null);
    assert.equal(second.headers.get('idempotent-replayed'), 'true');
    assert.equal(await operationCount(sys), before + 1);
  });

  test('the key is kept for 24 hours by default', async () => {
    await create(sys, 'ttl-check');
    const keys = await keysMatching(sys.api.ctx.redis, `${sys.config.keyPrefix}:idem:admin:*`);
    assert.ok(keys.length > 0);
    for (const key of keys) {
      const ttl = await sys.api.ctx.redis.ttl(key);
      assert.ok(ttl > 86400 - 60 && ttl <= 86400, `${key} has TTL ${ttl}`);
    }
  });

  test('20 identical requests at once make exactly one operation and all answer with it', async () => {
    const before = await operationCount(sys);
    const replies = await Promise.all(Array.from({ length: 20 }, () => create(sys, 'twenty-at-once')));
    assert.deepEqual(new Set(replies.map((r) => r.status)), new Set([202]));
    const ids = new Set(replies.map((r) => r.body.id));
    assert.equal(ids.size, 1);
    assert.equal(replies.filter((r) => r.headers.get('idempotent-replayed') === 'true').length, 19);
    assert.equal(await operationCount(sys), before + 1);
  });

  test('the same key with a different body answers 422 and creates nothing', async () => {
    const first = await create(sys, 'changed-body');
    const before = await operationCount(sys);
    const changed = await create(sys, 'changed-body', { ...createBody, hostname: 'web-02' });
    assert.equal(changed.status, 422);
    assert.equal(changed.body.error, 'IDEMPOTENCY_KEY_REUSED');
    assert.equal(changed.body.code, '422');
    assert.match(changed.body.message, /Idempotency-Key 'changed-body'/);
    assert.match(changed.body.message, /different request body/);
    assert.equal(await operationCount(sys), before);
    // The original request still gets its answer.
    const again = await create(sys, 'changed-body');
    assert.equal(again.body.id, first.body.id);
  });

  test('two users may use the same key independently', async () => {
    const login = await sys.request('POST', '/v1/auth/login', { auth: false, body: { username: 'second', password: 'second-password-1' } });
    assert.equal(login.status, 200);
    const before = await operationCount(sys);
    const mine = await create(sys, 'shared-key');
    const theirs = await create(sys, 'shared-key', createBody, login.body.token);
    assert.equal(mine.status, 202);
    assert.equal(theirs.status, 202);
    assert.notEqual(theirs.body.id, mine.body.id);
    assert.equal(theirs.headers.get('idempotent-replayed'), null);
    assert.equal(theirs.body.requested_by, 'second');
    assert.equal(await operationCount(sys), before + 2);
  });

  test('key order in the JSON body does not matter', async () => {
    const first = await create(sys, 'key-order');
    const reversed = `{"tags":["web"],"check_mode":false,"zone":"nyc3","hostname":"web-01","plan":"s-1vcpu-1gb","provider":"digitalocean","workspace":"production"}`;
    assert.notEqual(reversed, JSON.stringify(createBody));
    const second = await create(sys, 'key-order', reversed);
    assert.equal(second.status, 202);
    assert.equal(second.body.id, first.body.id);
    assert.equal(second.headers.get('idempotent-replayed'), 'true');
  });

  test('a validation error is kept and replayed; the key then stays bound to that body', async () => {
    const invalid = { ...createBody, plan: undefined };
    const first = await create(sys, 'invalid-body', invalid);
    assert.equal(first.status, 400);
    assert.equal(first.body.error, 'VALIDATION_FAILED');
    const second = await create(sys, 'invalid-body', invalid);
    assert.equal(second.status, 400);
    assert.deepEqual(second.body, first.body);
    assert.equal(second.headers.get('idempotent-replayed'), 'true');
    const fixed = await create(sys, 'invalid-body');
    assert.equal(fixed.status, 422);
  });

  test('a malformed Idempotency-Key answers 400 naming the header', async () => {
    const before = await operationCount(sys);
    for (const key of ['', 'x'.repeat(256), 'tab\there']) {
      const res = await create(sys, key);
      assert.equal(res.status, 400, JSON.stringify(key));
      assert.equal(res.body.error, 'VALIDATION_FAILED');
      assert.equal(res.body.details[0].field, 'header.Idempotency-Key');
      assert.match(res.body.message, /^header\.Idempotency-Key: /);
    }
    assert.equal((await create(sys, 'x'.repeat(255))).status, 202, '255 characters are fine');
    assert.equal((await create(sys, ' !"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~')).status, 202, 'any printable ASCII is fine');
    assert.equal(await operationCount(sys), before + 2);
  });

  test('DELETE /v1/servers/{id} honours the key, with or without a body', async () => {
    const server = await sys.api.ctx.inventory.upsert(
      { provider: 'digitalocean', providerId: '424242', name: 'idem-del', plan: 's-1vcpu-1gb', zone: 'nyc3', image: null, status: 'running', ipv4: '192.0.2.10', tags: [], createdAt: new Date().toISOString() },
      { workspace: 'production', operationId: '00000000-0000-4000-8000-000000000000' },
    );
    const before = await operationCount(sys);
    const del = () => http(sys.url, 'DELETE', `/v1/servers/${server.id}`, { token: sys.token, headers: { 'Idempotency-Key': 'delete-once' } });
    const first = await del();
    const second = await del();
    assert.equal(first.status, 202);
    assert.equal(first.body.type, 'server.delete');
    assert.equal(second.status, 202);
    assert.equal(second.body.id, first.body.id);
    assert.equal(second.headers.get('idempotent-replayed'), 'true');
    assert.equal(await operationCount(sys), before + 1);
  });

  test('POST /v1/operations/{id}/cancel replays its first answer instead of a 409', async () => {
    const op = (await create(sys, 'to-cancel')).body;
    const cancel = (key?: string) => http(sys.url, 'POST', `/v1/operations/${op.id}/cancel`, { token: sys.token, headers: key ? { 'Idempotency-Key': key } : {} });
    const first = await cancel('cancel-once');
    assert.equal(first.status, 200);
    assert.equal(first.body.status, 'cancelled');
    const second = await cancel('cancel-once');
    assert.equal(second.status, 200);
    assert.deepEqual(second.body, first.body);
    assert.equal(second.headers.get('idempotent-replayed'), 'true');
    assert.equal((await cancel()).status, 409, 'without the key a second cancel finds it finished');
  });

  test('GET ignores the header, even a malformed one', async () => {
    for (const key of ['reads', 'reads', '']) {
      const res = await http(sys.url, 'GET', '/v1/operations?limit=1', { token: sys.token, headers: { 'Idempotency-Key': key } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('idempotent-replayed'), null);
    }
  });

  test('a retry after the API died between writing the operation and answering gets that operation at once', async () => {
    // The dead request's part: its key looked up and its operation written, no answer recorded.
    const store = new IdempotencyStore(sys.api.ctx.redis, sys.api.ctx.keys, 3600, createLogger('test', 'error'));
    const scope = { username: 'admin', method: 'POST', path: '/v1/servers/create', key: 'api-died-after-write' };
    const state = await store.state(scope, requestFingerprint('POST', '/v1/servers/create', {}, createBody));
    assert.equal(state.kind, 'free');
    if (state.kind !== 'free') return;
    const before = await operationCount(sys);
    const written = await requestServerCreate(sys.api.ctx, createBody as CreateServerRequest, { username: 'admin', traceId: 'dead-request', idempotency: state.binding, access: new Access({ kind: 'user', username: 'admin', admin: true, workspaces: {} }) });

    const started = Date.now();
    const retry = await create(sys, 'api-died-after-write');
    assert.ok(Date.now() - started < 2000, `answered in ${Date.now() - started} ms, with no lease to wait out`);
    assert.equal(retry.status, 202);
    assert.equal(retry.body.id, written.id);
    assert.equal(retry.headers.get('location'), `/v1/operations/${written.id}`);
    assert.equal(retry.headers.get('idempotent-replayed'), 'true');
    assert.equal(await operationCount(sys), before + 1, 'the retry made no second operation');
    const again = await create(sys, 'api-died-after-write');
    assert.equal(again.body.id, written.id);
  });

  test('a retry after the API died before writing anything runs the request at once', async () => {
    const store = new IdempotencyStore(sys.api.ctx.redis, sys.api.ctx.keys, 3600, createLogger('test', 'error'));
    const scope = { username: 'admin', method: 'POST', path: '/v1/servers/create', key: 'api-died-before-write' };
    assert.equal((await store.state(scope, requestFingerprint('POST', '/v1/servers/create', {}, createBody))).kind, 'free');
    const before = await operationCount(sys);
    const started = Date.now();
    const retry = await create(sys, 'api-died-before-write');
    assert.ok(Date.now() - started < 2000);
    assert.equal(retry.status, 202);
    assert.equal(retry.headers.get('idempotent-replayed'), null);
    assert.equal(await operationCount(sys), before + 1);
  });

  test('a key bound to an operation is refused for a different body at once', async () => {
    const first = await create(sys, 'bound-then-other-body');
    assert.equal(first.status, 202);
    const refused = await create(sys, 'bound-then-other-body', { ...createBody, hostname: 'other' });
    assert.equal(refused.status, 422);
    assert.equal(refused.body.error, 'IDEMPOTENCY_KEY_REUSED');
  });

  test('the OpenAPI document shows the header on every mutating /v1 and droplets API route and nowhere else', async () => {
    const doc = (await sys.request('GET', '/openapi.json', { auth: false })).body;
    let documented = 0;
    for (const [path, methods] of Object.entries(doc.paths as Record<string, Record<string, { parameters?: Array<{ name: string; in: string }>; responses: Record<string, unknown> }>>)) {
      for (const [method, op] of Object.entries(methods)) {
        const has = (op.parameters ?? []).some((p) => p.name === 'Idempotency-Key' && p.in === 'header');
        // Not where the answer or the request is a secret that must not be kept: tokens, API keys, passwords, console access, a webhook's secret (answered on create, sent on a change).
        const webhookSecret = (method === 'post' && path.endsWith('/webhooks')) || (method === 'patch' && path.endsWith('/webhooks/{id}'));
        const secretAnswer = path.startsWith('/v1/auth/') || path.startsWith('/v1/api-keys') || path.endsWith('/password') || path.endsWith('/console') || webhookSecret;
        // The droplets API's changes honour the header too, in that API's own error shape.
        const expected = method !== 'get' && (path.startsWith('/v1/') || path.startsWith('/api/v1/droplets')) && !secretAnswer;
        assert.equal(has, expected, `${method} ${path}`);
        if (has) {
          assert.ok(op.responses['422'], `${method} ${path} documents 422`);
          documented++;
        }
      }
    }
    assert.ok(documented >= 6);
  });
});

describe('Idempotency-Key expiry and server errors', () => {
  let sys: TestSystem;
  before(async () => {
    // DigitalOcean left unconfigured, so a create there is a 503.
    sys = await TestSystem.start({ workers: 0, env: { IDEMPOTENCY_TTL_SECONDS: '1', DIGITALOCEAN_TOKEN: '' } });
  });
  after(async () => {
    await sys?.stop();
  });

  const hetzner = { ...createBody, provider: 'hetzner', plan: 'cx23', zone: 'fsn1' };

  test('an expired key makes a new operation', async () => {
    const first = await create(sys, 'short-lived', hetzner);
    assert.equal(first.status, 202);
    const replay = await create(sys, 'short-lived', hetzner);
    assert.equal(replay.body.id, first.body.id);
    await new Promise((r) => setTimeout(r, 1300));
    const later = await create(sys, 'short-lived', hetzner);
    assert.equal(later.status, 202);
    assert.notEqual(later.body.id, first.body.id);
    assert.equal(later.headers.get('idempotent-replayed'), null);
  });

  test('a 5xx is not kept: the retry runs again', async () => {
    const idempotencyKeys = () => keysMatching(sys.api.ctx.redis, `${sys.config.keyPrefix}:idem:*`);
    const kept = new Set(await idempotencyKeys());
    const first = await create(sys, 'server-error');
    assert.equal(first.status, 503);
    assert.equal(first.body.error, 'PROVIDER_NOT_CONFIGURED');
    const retry = await create(sys, 'server-error');
    assert.equal(retry.status, 503);
    assert.equal(retry.headers.get('idempotent-replayed'), null);
    assert.notEqual(retry.body.trace_id, first.body.trace_id);
    assert.deepEqual((await idempotencyKeys()).filter((k) => !kept.has(k)), [], 'no key left behind');
  });
});

describe('IdempotencyStore', () => {
  let sys: TestSystem;
  before(async () => {
    sys = await TestSystem.start({ workers: 0 });
  });
  after(async () => {
    await sys?.stop();
  });

  const scope = (key: string) => ({ username: 'u', method: 'POST', path: '/v1/x', key });
  const store = () => new IdempotencyStore(sys.api.ctx.redis, sys.api.ctx.keys, 3600, createLogger('test', 'error'));

  test('a kept answer is replayed; of two answers kept at once the first wins', async () => {
    const s = store();
    const [a, b] = await Promise.all([s.state(scope('two'), 'fp'), s.state(scope('two'), 'fp')]);
    assert.equal(a.kind, 'free');
    assert.equal(b.kind, 'free');
    if (a.kind !== 'free' || b.kind !== 'free') return;
    assert.deepEqual(await s.keep(scope('two'), a.binding, { status: 409, headers: {}, body: '{"first":true}' }), { kind: 'recorded', repeated: false });
    assert.deepEqual(await s.keep(scope('two'), b.binding, { status: 200, headers: {}, body: '{"second":true}' }), {
      kind: 'replay',
      reply: { status: 409, headers: {}, body: '{"first":true}' },
    });
    assert.deepEqual(await s.state(scope('two'), 'fp'), { kind: 'replay', reply: { status: 409, headers: {}, body: '{"first":true}' } });
    await assert.rejects(s.state(scope('two'), 'other'), { code: 'IDEMPOTENCY_KEY_REUSED' });
  });
});
