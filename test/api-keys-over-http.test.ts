import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startApi, type RunningApi } from '../src/api/server.js';
import { createLogger } from '../src/core/logger.js';
import { http, type HttpReply } from './helpers/http.js';
import { TestSystem } from './helpers/system.js';
import { redisAddressOf } from '../src/core/redis.js';

/**
 * API keys through the HTTP API: made by a user for itself, shown once, authenticating with
 * `X-API-Key` as no more than the key's grants and its owner's current rights, and refused
 * at once, on every replica, when revoked or rotated.
 */

const PASSWORD = 'key-owner-password-1';
const KEY_SHAPE = /^pe_(k[0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

describe('API keys over HTTP', () => {
  let sys: TestSystem;
  let api2: RunningApi;
  const tokens: Record<string, string> = {};

  before(async () => {
    sys = await TestSystem.start({ workers: 0 });
    // A second API replica on the same Redis: a revocation made on one must count on the other.
    api2 = await startApi(sys.config, redisAddressOf(sys.config)!, createLogger('api2', 'error'), () => {});
    for (const [username, workspaces] of [
      ['opal', { production: 'operator', staging: 'operator' }],
      ['olga', { production: 'operator' }],
      ['pete', { production: 'operator' }],
      ['nina', { production: 'operator', staging: 'operator' }],
    ] as const) {
      const made = await sys.request('POST', '/v1/users', { body: { username, password: PASSWORD, role: 'operator', workspaces } });
      assert.equal(made.status, 201, JSON.stringify(made.body));
      const login = await http(sys.url, 'POST', '/v1/auth/login', { body: { username, password: PASSWORD } });
      assert.equal(login.status, 200);
      tokens[username] = login.body.token;
    }
  });
  after(async () => {
    await api2?.close();
    await sys?.stop();
  });

  const asUser = (username: string, method: string, path: string, body?: unknown) => http(sys.url, method, path, { token: tokens[username], body });
  const withKey = (key: string, method: string, path: string, body?: unknown, base = sys.url) => http(base, method, path, { headers: { 'x-api-key': key }, body });
  const createIn = (key: string, workspace: string, hostname: string, base = sys.url) =>
    withKey(key, 'POST', '/v1/servers/create', { workspace, provider: 'digitalocean', plan: 's-1vcpu-1gb', hostname, zone: 'nyc3' }, base);

  async function makeKey(username: string, body: Record<string, unknown>): Promise<HttpReply> {
    const res = await asUser(username, 'POST', '/v1/api-keys', body);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res;
  }

  function assertRefused(res: HttpReply, what: string): void {
    assert.equal(res.status, 401, `${what}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.error, 'UNAUTHORIZED', what);
    assert.match(res.body.message, /API key/, what);
  }

  test('a new key is shown once, not cached, and never again in a list', async () => {
    const res = await makeKey('opal', { name: 'ci-deploy', role: 'viewer', workspaces: ['production'] });
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const { key, id } = res.body;
    const shape = KEY_SHAPE.exec(key);
    assert.ok(shape, `key ${key} has the pe_<id>_<secret> shape`);
    assert.equal(shape[1], id);
    assert.equal(res.body.user_id, 'opal');
    assert.equal(res.body.name, 'ci-deploy');
    assert.equal(res.body.admin, false);
    assert.deepEqual(res.body.workspaces, { production: 'viewer' });
    assert.equal(res.body.last_used, null);
    assert.equal(res.body.revoked_at, null);
    assert.ok(key.startsWith(res.body.prefix), 'the prefix is the start of the key');
    assert.ok(res.body.prefix.length < key.length - 30, 'the prefix shows only a few characters of the secret');

    const list = await asUser('opal', 'GET', '/v1/api-keys');
    assert.equal(list.status, 200);
    const listed = list.body.find((k: { id: string }) => k.id === id);
    assert.ok(listed, 'the key is listed');
    const text = JSON.stringify(list.body);
    assert.ok(!text.includes(key), 'the list holds no key');
    assert.ok(!text.includes(shape[2]!), 'the list holds no secret');
    assert.ok(!('key' in listed) && !('hash' in listed), `no key or hash field: ${JSON.stringify(listed)}`);

    const single = await asUser('opal', 'GET', `/v1/api-keys`);
    assert.ok(!JSON.stringify(single.body).includes(shape[2]!));
    // Another user's list does not show it at all.
    const others = await asUser('olga', 'GET', '/v1/api-keys');
    assert.ok(!others.body.some((k: { id: string }) => k.id === id));
  });

  test("X-API-Key acts with the key's own role and workspaces", async () => {
    const viewer = (await makeKey('opal', { name: 'read-only', role: 'viewer', workspaces: ['production'] })).body.key;
    assert.equal((await withKey(viewer, 'GET', '/v1/servers')).status, 200, 'a viewer key reads');
    const refused = await createIn(viewer, 'production', 'viewer-key-01');
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
    assert.equal(refused.body.error, 'FORBIDDEN');
    assert.match(refused.body.message, /server_create/);

    // No role asked: the owner's role in each named workspace, and only those workspaces.
    const operator = (await makeKey('opal', { name: 'deployer', workspaces: ['production'] })).body;
    assert.deepEqual(operator.workspaces, { production: 'operator' });
    assert.equal((await createIn(operator.key, 'production', 'op-key-01')).status, 202);
    const elsewhere = await createIn(operator.key, 'staging', 'op-key-02');
    assert.equal(elsewhere.status, 403, 'the owner is in staging, the key is not');
    assert.equal(elsewhere.body.error, 'NOT_A_MEMBER');

    // A bearer token still works alongside: the key did not replace the user's own access.
    assert.equal((await asUser('opal', 'GET', '/v1/servers')).status, 200);
  });

  test("a key never holds more than its creator: another workspace is a 403, a higher role is clipped", async () => {
    const notMine = await asUser('olga', 'POST', '/v1/api-keys', { name: 'grab', workspaces: ['staging'] });
    assert.equal(notMine.status, 403, JSON.stringify(notMine.body));
    assert.equal(notMine.body.error, 'FORBIDDEN');
    assert.match(notMine.body.message, /staging/);

    const globalAdmin = await asUser('olga', 'POST', '/v1/api-keys', { name: 'grab-all', role: 'admin' });
    assert.equal(globalAdmin.status, 403, JSON.stringify(globalAdmin.body));

    const clipped = await makeKey('olga', { name: 'high', role: 'admin', workspaces: ['production'] });
    assert.deepEqual(clipped.body.workspaces, { production: 'operator' }, 'admin asked, operator held: operator granted');
    assert.equal(clipped.body.admin, false);
    const audit = await withKey(clipped.body.key, 'GET', '/v1/audit');
    assert.equal(audit.status, 403, 'no audit_read: that needs a workspace admin');
    assert.match(audit.body.message, /audit_read/);

    // A key made with a key: bounded by the first key, not by the owner.
    const viewerKey = (await makeKey('olga', { name: 'viewer', role: 'viewer', workspaces: ['production'] })).body.key;
    const child = await withKey(viewerKey, 'POST', '/v1/api-keys', { name: 'child', role: 'operator', workspaces: ['production'] });
    assert.equal(child.status, 201, JSON.stringify(child.body));
    assert.deepEqual(child.body.workspaces, { production: 'viewer' });
    const childCreate = await createIn(child.body.key, 'production', 'child-01');
    assert.equal(childCreate.status, 403);

    // An admin's key scoped to a workspace is no global admin.
    const scoped = await sys.request('POST', '/v1/api-keys', { body: { name: 'scoped', role: 'operator', workspaces: ['production'] } });
    assert.equal(scoped.status, 201);
    const users = await withKey(scoped.body.key, 'GET', '/v1/users');
    assert.equal(users.status, 403);
    assert.match(users.body.message, /user_manage/);
  });

  test('a revoked key is refused at once, by this replica and the other', async () => {
    const made = (await makeKey('opal', { name: 'to-revoke', workspaces: ['production'] })).body;
    // Used on both replicas first, so anything they remember about it is warm.
    assert.equal((await withKey(made.key, 'GET', '/v1/servers')).status, 200);
    assert.equal((await withKey(made.key, 'GET', '/v1/servers', undefined, api2.url)).status, 200);

    const revoked = await asUser('opal', 'DELETE', `/v1/api-keys/${made.id}`);
    assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
    assert.ok(revoked.body.revoked_at, 'revoked_at is set');
    assert.ok(!JSON.stringify(revoked.body).includes(made.key));

    assertRefused(await withKey(made.key, 'GET', '/v1/servers'), 'revoked key, this replica');
    assertRefused(await withKey(made.key, 'GET', '/v1/servers', undefined, api2.url), 'revoked key, other replica');
    assertRefused(await createIn(made.key, 'production', 'revoked-01', api2.url), 'revoked key creating');

    const listed = (await asUser('opal', 'GET', '/v1/api-keys')).body.find((k: { id: string }) => k.id === made.id);
    assert.equal(listed.revoked_at, revoked.body.revoked_at, 'the list shows it revoked');
    const again = await asUser('opal', 'DELETE', `/v1/api-keys/${made.id}`);
    assert.equal(again.status, 200);
    assert.equal(again.body.revoked_at, revoked.body.revoked_at, 'revoking again keeps the first time');
  });

  for (const verb of ['rotate', 'regenerate'] as const) {
    test(`${verb}: the old key is refused on both replicas, the new one works with the same grants`, async () => {
      const old = (await makeKey('opal', { name: `to-${verb}`, role: 'developer', workspaces: ['production'] })).body;
      assert.equal((await withKey(old.key, 'GET', '/v1/servers', undefined, api2.url)).status, 200);

      const res = await asUser('opal', 'POST', `/v1/api-keys/${old.id}/${verb}`);
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.equal(res.headers.get('cache-control'), 'no-store');
      const fresh = res.body;
      assert.match(fresh.key, KEY_SHAPE);
      assert.notEqual(fresh.key, old.key);
      assert.notEqual(fresh.id, old.id);
      assert.equal(fresh.name, old.name);
      assert.deepEqual(fresh.workspaces, old.workspaces);

      assertRefused(await withKey(old.key, 'GET', '/v1/servers'), `old key after ${verb}`);
      assertRefused(await withKey(old.key, 'GET', '/v1/servers', undefined, api2.url), `old key after ${verb}, other replica`);
      assert.equal((await withKey(fresh.key, 'GET', '/v1/servers', undefined, api2.url)).status, 200);
      assert.equal((await createIn(fresh.key, 'production', `${verb}-01`)).status, 202, 'a developer key creates');

      const list = (await asUser('opal', 'GET', '/v1/api-keys')).body as Array<{ id: string }>;
      assert.ok(list.some((k) => k.id === fresh.id));
      assert.ok(!list.some((k) => k.id === old.id), 'the old key is gone from the list');
      assert.equal((await asUser('opal', 'POST', `/v1/api-keys/${old.id}/${verb}`)).status, 404, 'the old id cannot be rotated again');
    });
  }

  test('a revoked key cannot be rotated back to life', async () => {
    const made = (await makeKey('opal', { name: 'dead', workspaces: ['production'] })).body;
    assert.equal((await asUser('opal', 'DELETE', `/v1/api-keys/${made.id}`)).status, 200);
    const res = await asUser('opal', 'POST', `/v1/api-keys/${made.id}/rotate`);
    assert.equal(res.status, 404);
    assert.equal(res.body.error, 'API_KEY_NOT_FOUND');
  });

  test("another user's key id is a 404, like one that does not exist, and the key keeps working", async () => {
    const opals = (await makeKey('opal', { name: 'mine', workspaces: ['production'] })).body;
    for (const [method, path] of [['DELETE', `/v1/api-keys/${opals.id}`], ['POST', `/v1/api-keys/${opals.id}/rotate`], ['POST', `/v1/api-keys/${opals.id}/regenerate`]] as const) {
      const res = await asUser('olga', method, path);
      assert.equal(res.status, 404, `${method} ${path}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error, 'API_KEY_NOT_FOUND');
    }
    const unknown = await asUser('olga', 'DELETE', '/v1/api-keys/k000000000000');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.message.replace('k000000000000', opals.id), `API key ${opals.id} does not exist`, 'the same answer as for an unknown id');
    // Through one of olga's keys too.
    const olgasKey = (await makeKey('olga', { name: 'olga-key', workspaces: ['production'] })).body.key;
    assert.equal((await withKey(olgasKey, 'DELETE', `/v1/api-keys/${opals.id}`)).status, 404);
    assert.equal((await withKey(opals.key, 'GET', '/v1/servers')).status, 200, 'untouched');
  });

  describe("changing the creator narrows its keys on their next use", () => {
    test('the creator demoted in a workspace (production: operator → viewer)', async () => {
      const key = (await makeKey('nina', { name: 'nina-deploy', workspaces: ['production', 'staging'] })).body.key;
      assert.equal((await createIn(key, 'production', 'nina-01')).status, 202);
      const patched = await sys.request('PATCH', '/v1/users/nina', { body: { workspaces: { production: 'viewer', staging: 'operator' } } });
      assert.equal(patched.status, 200);
      for (const base of [sys.url, api2.url]) {
        const res = await createIn(key, 'production', 'nina-02', base);
        assert.equal(res.status, 403, JSON.stringify(res.body));
        assert.match(res.body.message, /server_create/);
      }
      assert.equal((await createIn(key, 'staging', 'nina-03', api2.url)).status, 202, 'still an operator in staging');
      // The creator leaves staging: the key loses it too.
      assert.equal((await sys.request('PATCH', '/v1/users/nina', { body: { workspaces: { production: 'viewer' } } })).status, 200);
      const gone = await createIn(key, 'staging', 'nina-04');
      assert.equal(gone.status, 403, JSON.stringify(gone.body));
      // The key now holds server_create nowhere, so the route's permission check answers before the workspace check.
      assert.ok(['FORBIDDEN', 'NOT_A_MEMBER'].includes(gone.body.error), gone.body.error);
    });

    test('the creator demoted by role (operator → viewer)', async () => {
      const key = (await makeKey('pete', { name: 'pete-deploy', workspaces: ['production'] })).body.key;
      assert.equal((await createIn(key, 'production', 'pete-01')).status, 202);
      const patched = await sys.request('PATCH', '/v1/users/pete', { body: { role: 'viewer' } });
      assert.equal(patched.status, 200);
      const res = await createIn(key, 'production', 'pete-02', api2.url);
      assert.equal(res.status, 403, `the key of a viewer creates; the owner's record after the PATCH: ${JSON.stringify(patched.body)}`);
      assert.match(res.body.message, /server_create/);
    });

    test('the creator disabled, then deleted: its keys are refused at once', async () => {
      const made = await sys.request('POST', '/v1/users', { body: { username: 'gone', password: PASSWORD, role: 'operator', workspaces: ['production'] } });
      assert.equal(made.status, 201);
      const login = await http(sys.url, 'POST', '/v1/auth/login', { body: { username: 'gone', password: PASSWORD } });
      const key = (await http(sys.url, 'POST', '/v1/api-keys', { token: login.body.token, body: { name: 'k', workspaces: ['production'] } })).body.key;
      assert.equal((await withKey(key, 'GET', '/v1/servers', undefined, api2.url)).status, 200);
      assert.equal((await sys.request('PATCH', '/v1/users/gone', { body: { disabled: true } })).status, 200);
      assertRefused(await withKey(key, 'GET', '/v1/servers', undefined, api2.url), 'key of a disabled user');
      assert.equal((await sys.request('PATCH', '/v1/users/gone', { body: { disabled: false } })).status, 200);
      assert.equal((await withKey(key, 'GET', '/v1/servers')).status, 200, 're-enabled: the key acts again');
      assert.equal((await sys.request('DELETE', '/v1/users/gone')).status, 204);
      assertRefused(await withKey(key, 'GET', '/v1/servers'), 'key of a deleted user');
      assertRefused(await withKey(key, 'GET', '/v1/servers', undefined, api2.url), 'key of a deleted user, other replica');
    });
  });

  test('last_used is set once the key is used', async () => {
    const made = (await makeKey('olga', { name: 'used', workspaces: ['production'] })).body;
    const before = Date.now();
    assert.equal((await withKey(made.key, 'GET', '/v1/servers')).status, 200);
    // The write is made after the answer, so look until it lands.
    const seen = await sys.eventually(async () => {
      const list = await asUser('olga', 'GET', '/v1/api-keys');
      const entry = list.body.find((k: { id: string }) => k.id === made.id);
      return entry?.last_used ? (entry.last_used as string) : undefined;
    }, 'last_used to be set', 5000);
    const at = Date.parse(seen);
    assert.ok(at >= before - 1000 && at <= Date.now() + 1000, `last_used ${seen} is the time of use`);
    const unused = (await makeKey('olga', { name: 'unused', workspaces: ['production'] })).body;
    const listed = (await asUser('olga', 'GET', '/v1/api-keys')).body.find((k: { id: string }) => k.id === unused.id);
    assert.equal(listed.last_used, null, 'a key never used has none');
  });
});
