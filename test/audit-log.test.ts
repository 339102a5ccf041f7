import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { http, type HttpReply } from './helpers/http.js';
import { TestSystem } from './helpers/system.js';

/**
 * The audit log as the API writes and serves it: one entry per mutating request (and per
 * failed login or authentication) saying who, what, on which resource and workspace, with
 * what result, from where and under which trace id; no secret ever written; filters and
 * pages of `GET /v1/audit`; and who may read which part of it.
 */

const PASSWORD = 'audit-user-password-1';
const NEW_PASSWORD = 'audit-user-password-2';
const WRONG_PASSWORD = 'wrong-password-for-vic-77';
const USER_DATA_SECRET = 'USERDATA-SECRET-9f1c2e';
const FORGED_TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ2aWMifQ.FORGED-SIGNATURE-4d5e6f';

interface Entry {
  id: string;
  at: string;
  actor: string;
  actor_kind: string;
  key_id?: string;
  action: string;
  resource_type?: string;
  resource_id?: string;
  workspace?: string;
  result: string;
  status: number;
  ip?: string;
  trace_id?: string;
  detail?: Record<string, unknown>;
}

describe('the audit log through the API', () => {
  let sys: TestSystem;
  /** Every request whose entry is checked below, by kind. */
  const made: Record<string, HttpReply> = {};
  /** Every secret the requests carried: none may reach the log. */
  const secrets: string[] = [USER_DATA_SECRET, PASSWORD, NEW_PASSWORD, WRONG_PASSWORD, FORGED_TOKEN, 'FORGED-SIGNATURE-4d5e6f'];
  const tokens: Record<string, string> = {};
  let serverId = '';
  let keyId = '';

  const admin = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => sys.request(method, path, { body, headers });
  const as = (who: string, method: string, path: string, body?: unknown) => http(sys.url, method, path, { token: tokens[who], body });

  async function loginAs(username: string, password: string): Promise<HttpReply> {
    const res = await http(sys.url, 'POST', '/v1/auth/login', { body: { username, password } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    secrets.push(res.body.token, res.body.refresh_token);
    return res;
  }

  before(async () => {
    // A create stays running about a second, so the cancel below finds it unfinished.
    sys = await TestSystem.start({ workers: 1, doActiveDelayMs: 800, doActionDelayMs: 50 });
    secrets.push(sys.adminPassword, sys.token);

    made.workspaceCreate = await admin('POST', '/v1/workspaces/create', { name: 'team' });
    assert.equal(made.workspaceCreate.status, 201, JSON.stringify(made.workspaceCreate.body));
    made.userCreate = await admin('POST', '/v1/users', { username: 'tina', password: PASSWORD, role: 'viewer', workspaces: { team: 'admin' } });
    assert.equal(made.userCreate.status, 201);
    assert.equal((await admin('POST', '/v1/users', { username: 'vic', password: PASSWORD, role: 'viewer', workspaces: ['production'] })).status, 201);
    assert.equal((await admin('POST', '/v1/users', { username: 'temp', password: PASSWORD, role: 'viewer' })).status, 201);
    made.userChange = await admin('PATCH', '/v1/users/vic', { workspaces: ['production', 'staging'] });
    assert.equal(made.userChange.status, 200);
    made.userDelete = await admin('DELETE', '/v1/users/temp');
    assert.equal(made.userDelete.status, 204);
    made.passwordReset = await admin('POST', '/v1/users/vic/password', { new_password: NEW_PASSWORD });
    assert.equal(made.passwordReset.status, 204);

    made.loginSuccess = await loginAs('tina', PASSWORD);
    tokens.tina = made.loginSuccess.body.token;
    tokens.vic = (await loginAs('vic', NEW_PASSWORD)).body.token;
    made.loginFailure = await http(sys.url, 'POST', '/v1/auth/login', { body: { username: 'vic', password: WRONG_PASSWORD } });
    assert.equal(made.loginFailure.status, 401);
    made.authFailure = await http(sys.url, 'POST', '/v1/servers/create', { token: FORGED_TOKEN, body: {} });
    assert.equal(made.authFailure.status, 401);
    const second = await loginAs('tina', PASSWORD);
    made.logout = await http(sys.url, 'POST', '/v1/auth/logout', { token: second.body.token });
    assert.equal(made.logout.status, 204);

    made.apiKeyCreate = await admin('POST', '/v1/api-keys', { name: 'audit-key' });
    assert.equal(made.apiKeyCreate.status, 201);
    keyId = made.apiKeyCreate.body.id;
    secrets.push(made.apiKeyCreate.body.key, made.apiKeyCreate.body.key.slice(made.apiKeyCreate.body.prefix.length));
    // Made with the key, so the entry must name the key.
    made.workspaceChange = await http(sys.url, 'PATCH', '/v1/workspaces/team', { headers: { 'x-api-key': made.apiKeyCreate.body.key }, body: { quotas: { max_servers: 50 } } });
    assert.equal(made.workspaceChange.status, 200, JSON.stringify(made.workspaceChange.body));
    made.apiKeyRevoke = await admin('DELETE', `/v1/api-keys/${keyId}`);
    assert.equal(made.apiKeyRevoke.status, 200);

    // The caller's own request id becomes the trace id; a forwarded-for header must not change the recorded address.
    made.serverCreate = await admin(
      'POST', '/v1/servers/create',
      { workspace: 'production', provider: 'digitalocean', plan: 's-1vcpu-1gb', hostname: 'audit-01', zone: 'nyc3', user_data: `#!/bin/sh\necho ${USER_DATA_SECRET}` },
      { 'x-request-id': 'audit-trace-0001', 'x-forwarded-for': '203.0.113.9' },
    );
    assert.equal(made.serverCreate.status, 202, JSON.stringify(made.serverCreate.body));
    const created = await sys.waitForStatus(made.serverCreate.body.id, ['completed', 'failed']);
    assert.equal(created.status, 'completed', JSON.stringify(created.error));
    serverId = String(created.result!.server_id);

    made.serverAction = await admin('POST', `/v1/servers/${serverId}/actions`, { action: 'reboot' });
    assert.equal(made.serverAction.status, 202);
    await sys.waitForStatus(made.serverAction.body.id, ['completed', 'failed']);
    made.serverResize = await admin('PATCH', `/v1/servers/${serverId}`, { plan: 's-2vcpu-4gb' });
    assert.equal(made.serverResize.status, 202, JSON.stringify(made.serverResize.body));
    await sys.waitForStatus(made.serverResize.body.id, ['completed', 'failed']);
    made.taskservRefused = await admin('POST', '/v1/taskservs/create', { workspace: 'production', name: 'hello', servers: ['no-such-host'] });
    assert.ok(made.taskservRefused.status >= 400 && made.taskservRefused.status < 500, JSON.stringify(made.taskservRefused.body));
    made.serverDelete = await admin('DELETE', `/v1/servers/${serverId}`);
    assert.equal(made.serverDelete.status, 202, JSON.stringify(made.serverDelete.body));
    await sys.waitForStatus(made.serverDelete.body.id, ['completed', 'failed']);

    const toCancel = await sys.createServer({ hostname: 'audit-02' });
    made.operationCancel = await admin('POST', `/v1/operations/${toCancel.id}/cancel`);
    assert.ok([200, 202].includes(made.operationCancel.status), JSON.stringify(made.operationCancel.body));
    await sys.waitForStatus(toCancel.id, ['cancelled', 'completed', 'failed']);

    made.workflowSubmit = await admin('POST', '/v1/workflows/submit', { workspace: 'staging', workflow_type: 'server_batch_create', parameters: { provider: 'digitalocean', plan: 's-1vcpu-1gb', zone: 'nyc3', hostname_prefix: 'audit-batch', count: 1 } });
    assert.equal(made.workflowSubmit.status, 202, JSON.stringify(made.workflowSubmit.body));

    // The workspace admin acts in its own workspace.
    made.teamCreate = await as('tina', 'POST', '/v1/servers/create', { workspace: 'team', provider: 'digitalocean', plan: 's-1vcpu-1gb', hostname: 'team-01', zone: 'nyc3' });
    assert.equal(made.teamCreate.status, 202, JSON.stringify(made.teamCreate.body));
  });
  after(async () => {
    await sys?.stop();
  });

  /** Every entry, newest first, read page by page as an admin. */
  async function allEntries(query = ''): Promise<Entry[]> {
    const out: Entry[] = [];
    let path = `/v1/audit?limit=200${query}`;
    for (let pages = 0; pages < 100; pages++) {
      const res = await admin('GET', path);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      out.push(...res.body);
      const next = res.headers.get('x-next-cursor');
      if (!next) return out;
      path = `/v1/audit?limit=200${query}&cursor=${next}`;
    }
    assert.fail('the audit log does not end');
  }

  async function entryFor(res: HttpReply): Promise<Entry> {
    const trace = res.headers.get('x-trace-id');
    assert.ok(trace, 'the answer carries X-Trace-Id');
    const matches = (await allEntries()).filter((e) => e.trace_id === trace);
    assert.equal(matches.length, 1, `exactly one audit entry for trace ${trace}, found ${matches.length}`);
    return matches[0]!;
  }

  /** The entry of `kind`'s request, with the fields every entry has and those the case expects. */
  async function check(kind: string, expected: Partial<Entry>): Promise<Entry> {
    const res = made[kind]!;
    const entry = await entryFor(res);
    assert.equal(entry.status, res.status, `${kind}: status`);
    assert.equal(entry.trace_id, res.headers.get('x-trace-id'), `${kind}: trace id`);
    assert.match(entry.ip ?? '', /^(::ffff:)?127\.0\.0\.1$/, `${kind}: ip`);
    assert.ok(!Number.isNaN(Date.parse(entry.at)) && Math.abs(Date.parse(entry.at) - Date.now()) < 5 * 60_000, `${kind}: at ${entry.at}`);
    const picked = Object.fromEntries(Object.keys(expected).map((k) => [k, entry[k as keyof Entry]]));
    assert.deepEqual(picked, expected, `${kind}: ${JSON.stringify(entry)}`);
    return entry;
  }

  describe('one entry per mutation, naming who, what, where, the result and the trace', () => {
    test('server create: the operation, its workspace; the caller\'s request id is the trace id; X-Forwarded-For is not trusted', async () => {
      assert.equal(made.serverCreate!.headers.get('x-trace-id'), 'audit-trace-0001');
      await check('serverCreate', {
        actor: 'admin', actor_kind: 'user', action: 'POST /v1/servers/create', resource_type: 'operation',
        resource_id: made.serverCreate!.body.id, workspace: 'production', result: 'success', trace_id: 'audit-trace-0001',
      });
    });

    for (const [kind, action] of [['serverAction', 'POST /v1/servers/{id}/actions'], ['serverResize', 'PATCH /v1/servers/{id}'], ['serverDelete', 'DELETE /v1/servers/{id}']] as const) {
      test(`${kind}: the operation, its workspace, and the server it acted on`, async () => {
        // The resource is the server acted on; the operation it made is in the detail.
        const entry = await check(kind, { actor: 'admin', action, resource_type: 'server', resource_id: serverId, workspace: 'production', result: 'success' });
        assert.equal(entry.detail?.operation_id, made[kind]!.body.id, `the ${kind} entry names its operation: ${JSON.stringify(entry)}`);
      });
    }

    test('operation cancel', async () => {
      await check('operationCancel', { actor: 'admin', action: 'POST /v1/operations/{id}/cancel', resource_type: 'operation', resource_id: made.operationCancel!.body.id, workspace: 'production', result: 'success' });
    });

    test('workflow submit', async () => {
      await check('workflowSubmit', { actor: 'admin', action: 'POST /v1/workflows/submit', resource_type: 'operation', resource_id: made.workflowSubmit!.body.id, workspace: 'staging', result: 'success' });
    });

    test('a refused taskserv create: failed, with the error, in the workspace it aimed at', async () => {
      const entry = await check('taskservRefused', { actor: 'admin', action: 'POST /v1/taskservs/create', result: 'failed' });
      assert.equal(entry.detail?.error, made.taskservRefused!.body.error);
      // A workspace admin reading its workspace's log must see the refused attempts there too.
      assert.equal(entry.workspace, 'production', `the refused request's workspace: ${JSON.stringify(entry)}`);
    });

    test('user create, change (with what changed), password reset and delete', async () => {
      await check('userCreate', { actor: 'admin', action: 'POST /v1/users', resource_type: 'user', resource_id: 'tina', result: 'success' });
      const change = await check('userChange', { actor: 'admin', action: 'PATCH /v1/users/{username}', resource_type: 'user', resource_id: 'vic', result: 'success' });
      assert.deepEqual(change.detail?.changed, ['workspaces']);
      await check('passwordReset', { actor: 'admin', action: 'POST /v1/users/{username}/password', resource_type: 'user', resource_id: 'vic', result: 'success' });
      await check('userDelete', { actor: 'admin', action: 'DELETE /v1/users/{username}', resource_type: 'user', resource_id: 'temp', result: 'success' });
    });

    test('workspace create and change (the change made with an API key, which the entry names)', async () => {
      await check('workspaceCreate', { actor: 'admin', action: 'POST /v1/workspaces/create', resource_type: 'workspace', resource_id: 'team', workspace: 'team', result: 'success' });
      const change = await check('workspaceChange', { actor: 'admin', actor_kind: 'api_key', key_id: keyId, action: 'PATCH /v1/workspaces/{name}', resource_type: 'workspace', resource_id: 'team', workspace: 'team', result: 'success' });
      assert.deepEqual(change.detail?.changed, ['quotas']);
    });

    test('API key create and revoke', async () => {
      await check('apiKeyCreate', { actor: 'admin', action: 'POST /v1/api-keys', resource_type: 'api_key', resource_id: keyId, result: 'success' });
      await check('apiKeyRevoke', { actor: 'admin', action: 'DELETE /v1/api-keys/{id}', resource_type: 'api_key', resource_id: keyId, result: 'success' });
    });

    test('login success, login failure, a failed bearer token, logout', async () => {
      await check('loginSuccess', { actor: 'tina', action: 'POST /v1/auth/login', resource_type: 'user', resource_id: 'tina', result: 'success', status: 200 });
      const failed = await check('loginFailure', { actor: 'vic', action: 'POST /v1/auth/login', result: 'denied', status: 401 });
      assert.equal(failed.detail?.error, 'INVALID_CREDENTIALS');
      await check('authFailure', { actor: 'vic', action: 'auth.failed POST /v1/servers/create', result: 'denied', status: 401 });
      await check('logout', { actor: 'tina', actor_kind: 'user', action: 'POST /v1/auth/logout', result: 'success', status: 204 });
    });
  });

  test('no secret reaches the log: not through the API, not in the raw Redis stream', async () => {
    const served = JSON.stringify(await allEntries());
    const raw = JSON.stringify(await sys.api.ctx.redis.xrange(sys.api.ctx.keys.audit(), '-', '+'));
    assert.ok(raw.length > 1000, 'the raw stream holds the entries');
    for (const secret of secrets) {
      assert.ok(secret && secret.length >= 8, 'a real secret to look for');
      assert.ok(!served.includes(secret), `the served log holds a secret (${secret.slice(0, 6)}…)`);
      assert.ok(!raw.includes(secret), `the raw stream holds a secret (${secret.slice(0, 6)}…)`);
    }
    assert.ok(!/\$2[aby]\$\d{2}\$/.test(raw), 'no password hash');
  });

  describe('filters and pages', () => {
    test('actor, action, result and workspace filters return only matching entries, and all of them', async () => {
      const everything = await allEntries();
      const cases: Array<[string, (e: Entry) => boolean]> = [
        ['&actor=tina', (e) => e.actor === 'tina'],
        [`&action=${encodeURIComponent('POST /v1/auth/login')}`, (e) => e.action === 'POST /v1/auth/login'],
        ['&result=denied', (e) => e.result === 'denied'],
        ['&workspace=production', (e) => e.workspace === 'production'],
        ['&actor=admin&result=success&workspace=team', (e) => e.actor === 'admin' && e.result === 'success' && e.workspace === 'team'],
      ];
      for (const [query, wanted] of cases) {
        const filtered = await allEntries(query);
        assert.ok(filtered.length > 0, `${query} matches something`);
        assert.deepEqual(filtered.map((e) => e.id), everything.filter(wanted).map((e) => e.id), query);
      }
      assert.deepEqual(await allEntries('&actor=nobody-did-this'), []);
    });

    test('since and until bound the time, both inclusive', async () => {
      const everything = await allEntries();
      const oldestFirst = [...everything].reverse();
      const from = oldestFirst[Math.floor(oldestFirst.length / 3)]!.at;
      const to = oldestFirst[Math.floor((2 * oldestFirst.length) / 3)]!.at;
      const window = await allEntries(`&since=${encodeURIComponent(from)}&until=${encodeURIComponent(to)}`);
      const expected = everything.filter((e) => e.at >= from && e.at <= to).map((e) => e.id);
      assert.ok(expected.length >= 2);
      assert.deepEqual(window.map((e) => e.id), expected);
    });

    test('pages: newest first, Link and X-Next-Cursor to the next, no entry twice or lost', async () => {
      const everything = await allEntries();
      assert.ok(everything.length > 10, `enough entries to page through: ${everything.length}`);
      const seen: string[] = [];
      let path = '/v1/audit?limit=4';
      for (let n = 0; n < 1000; n++) {
        const res = await admin('GET', path);
        assert.equal(res.status, 200);
        assert.ok(res.body.length <= 4);
        seen.push(...res.body.map((e: Entry) => e.id));
        const next = res.headers.get('x-next-cursor');
        if (!next) {
          assert.equal(res.headers.get('link'), null);
          break;
        }
        assert.equal(res.body.length, 4, 'only the last page is short');
        assert.equal(next, res.body[3].id);
        const link = /^<([^>]+)>; rel="next"$/.exec(res.headers.get('link') ?? '');
        assert.ok(link, `a Link header: ${res.headers.get('link')}`);
        assert.match(link[1]!, /limit=4/);
        path = link[1]!;
      }
      // Entries written while paging (the GETs are not audited) would show up as a difference.
      assert.deepEqual(seen, everything.map((e) => e.id));
      const millis = seen.map((id) => id.split('-').map(BigInt) as [bigint, bigint]);
      assert.ok(millis.every((m, i) => i === 0 || m[0] < millis[i - 1]![0] || (m[0] === millis[i - 1]![0] && m[1] < millis[i - 1]![1])), 'newest first');
    });

    test('a bad filter or cursor is a 400', async () => {
      for (const query of ['result=maybe', 'cursor=not-a-cursor', 'since=yesterday', 'limit=0']) {
        const res = await admin('GET', `/v1/audit?${query}`);
        assert.equal(res.status, 400, `${query}: ${JSON.stringify(res.body)}`);
        assert.equal(res.body.error, 'VALIDATION_FAILED');
      }
    });
  });

  describe('who may read it', () => {
    test("a workspace admin reads only its workspace's entries; another workspace is a 404", async () => {
      const res = await as('tina', 'GET', '/v1/audit?limit=200');
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.ok(res.body.length >= 2, JSON.stringify(res.body));
      assert.ok(res.body.every((e: Entry) => e.workspace === 'team'), `only team entries: ${JSON.stringify(res.body.map((e: Entry) => e.workspace))}`);
      const traces = res.body.map((e: Entry) => e.trace_id);
      assert.ok(traces.includes(made.teamCreate!.headers.get('x-trace-id')), 'its own create in team');
      assert.ok(traces.includes(made.workspaceCreate!.headers.get('x-trace-id')), "the admin's creation of team");
      assert.ok(!traces.includes(made.serverCreate!.headers.get('x-trace-id')), 'nothing of production');

      const team = await as('tina', 'GET', '/v1/audit?workspace=team');
      assert.equal(team.status, 200);
      assert.deepEqual(team.body.map((e: Entry) => e.id), res.body.slice(0, 50).map((e: Entry) => e.id));
      for (const other of ['production', 'no-such-workspace']) {
        const refused = await as('tina', 'GET', `/v1/audit?workspace=${other}`);
        assert.equal(refused.status, 404, `${other}: ${JSON.stringify(refused.body)}`);
        assert.equal(refused.body.error, 'WORKSPACE_NOT_FOUND');
      }
      // Filters other than workspace cannot reach past its workspace either.
      const byAdmin = await as('tina', 'GET', '/v1/audit?actor=admin&limit=200');
      assert.ok(byAdmin.body.every((e: Entry) => e.workspace === 'team'));
    });

    test('a viewer gets 403 naming audit_read', async () => {
      const res = await as('vic', 'GET', '/v1/audit');
      assert.equal(res.status, 403);
      assert.equal(res.body.error, 'FORBIDDEN');
      assert.match(res.body.message, /audit_read/);
    });
  });
});
