import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { compareEventIds } from '../src/core/events/event.js';
import { runRetention } from '../src/core/retention/run.js';
import { http } from './helpers/http.js';
import { TestSystem } from './helpers/system.js';

interface ServerEvent {
  id: string;
  kind: string;
  at: string;
  operation_id: string | null;
  operation_type: string | null;
  from: string | null;
  to: string | null;
  message: string | null;
  changes?: Record<string, unknown>;
}

describe('GET /v1/servers/{id}/events lists every operation and drift that touched a server, newest first', () => {
  let sys: TestSystem;
  let serverId: string;
  let providerId: string;
  let createOp: string;
  let otherOp: string;
  const actionOps: string[] = [];

  before(async () => {
    // Actions finish at once, so the reconcile sees the out-of-band power-off settled.
    sys = await TestSystem.start({ workers: 1, otherDelayMs: 0, env: { RECONCILE_INTERVAL_MS: '500' } });
    const create = await sys.createServer({ provider: 'hetzner', plan: 'cx23', zone: 'fsn1', hostname: 'events-01' });
    createOp = create.id;
    const done = await sys.waitForStatus(create.id, ['completed', 'failed']);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    serverId = String(done.result!.server_id);
    providerId = String(done.result!.provider_id);
    for (const action of ['power_off', 'power_on']) {
      const res = await sys.request('POST', `/v1/servers/${serverId}/actions`, { body: { action } });
      assert.equal(res.status, 202, JSON.stringify(res.body));
      actionOps.push(res.body.id);
      assert.equal((await sys.waitForStatus(res.body.id, ['completed', 'failed'])).status, 'completed');
    }
    // Another server's operations are not this one's.
    const other = await sys.createServer({ provider: 'hetzner', plan: 'cx23', zone: 'fsn1', hostname: 'events-02' });
    otherOp = other.id;
    await sys.waitForStatus(other.id, ['completed', 'failed']);
    // Powered off behind the engine's back: the reconcile finds the drift.
    const off = await http(sys.sandbox.baseUrls.hetzner!, 'POST', `/servers/${providerId}/actions/poweroff`, { token: sys.sandbox.token });
    assert.equal(off.status, 201, JSON.stringify(off.body));
    await sys.eventually(async () => ((await sys.request('GET', `/v1/servers/${serverId}/status`)).body.status === 'stopped' ? true : undefined), 'the drift to be found');
  });

  after(async () => {
    await sys?.stop();
  });

  async function allPages(limit: number): Promise<{ pages: ServerEvent[][] }> {
    const pages: ServerEvent[][] = [];
    let path: string | null = `/v1/servers/${serverId}/events?limit=${limit}`;
    while (path && pages.length < 50) {
      const res: { status: number; body: ServerEvent[]; headers: Headers } = await sys.request('GET', path);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      pages.push(res.body);
      const link: string | null = res.headers.get('link');
      path = link ? /<([^>]+)>/.exec(link)![1]! : null;
    }
    return { pages };
  }

  test('its create, power actions and the drift, each with its events, newest first; no other server\'s', async () => {
    const res = await sys.request('GET', `/v1/servers/${serverId}/events?limit=100`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const events = res.body as ServerEvent[];
    const ops = new Set(events.map((e) => e.operation_id).filter(Boolean));
    assert.deepEqual([...ops].sort(), [createOp, ...actionOps].sort());
    assert.ok(!ops.has(otherOp));
    assert.ok(events.some((e) => e.operation_id === createOp && e.kind === 'state' && e.to === 'completed'), 'the create completed');
    assert.ok(events.some((e) => e.operation_type === 'server.action' && e.to === 'running'));
    const drift = events.filter((e) => e.kind === 'drift');
    assert.ok(drift.length >= 1, 'the drift found by the reconcile');
    assert.equal(drift[0]!.operation_id, null);
    assert.match(drift[0]!.message ?? '', /changed outside the engine/);
    assert.ok(drift.some((d) => d.changes && 'status' in d.changes), JSON.stringify(drift));
    assert.equal(events[0]!.kind, 'drift', 'the drift is the newest');
    for (let i = 1; i < events.length; i++) assert.ok(compareEventIds(events[i - 1]!.id, events[i]!.id) > 0, `newest first at ${i}`);
    for (const e of events) assert.ok(!Number.isNaN(Date.parse(e.at)));
  });

  test('pages of one operation or drift finding each, following Link, add up to the whole list with nothing twice', async () => {
    const whole = (await sys.request('GET', `/v1/servers/${serverId}/events?limit=100`)).body as ServerEvent[];
    const { pages } = await allPages(1);
    for (const page of pages.slice(0, -1)) {
      assert.ok(page.length > 0);
      const owners = new Set(page.map((e) => e.operation_id ?? `drift:${e.id}`));
      assert.equal(owners.size, 1, 'one operation (or one drift) per page');
    }
    const paged = pages.flat().map((e) => e.id);
    assert.equal(new Set(paged).size, paged.length, 'no event twice');
    assert.deepEqual([...paged].sort(compareEventIds), whole.map((e) => e.id).sort(compareEventIds), 'every event, on some page');
    for (const page of pages) for (let i = 1; i < page.length; i++) assert.ok(compareEventIds(page[i - 1]!.id, page[i]!.id) > 0, 'newest first within a page');
    // Pages go back in time: each begins (its oldest event) before the previous page began.
    const began = pages.filter((p) => p.length > 0).map((p) => p[p.length - 1]!.id);
    for (let i = 1; i < began.length; i++) assert.ok(compareEventIds(began[i - 1]!, began[i]!) > 0, `page ${i} is older`);
    assert.ok(pages.length >= 4, `create, two actions and a drift: ${pages.length} pages`);
  });

  test('a server of a workspace the caller cannot see is a 404, one it can see is listed', async () => {
    for (const [username, workspaces] of [['eve', ['staging']], ['pat', ['production']]] as const) {
      assert.equal((await sys.request('POST', '/v1/users', { body: { username, password: `${username}-password-123`, role: 'viewer', workspaces } })).status, 201);
    }
    const tokenOf = async (username: string) => (await http(sys.url, 'POST', '/v1/auth/login', { body: { username, password: `${username}-password-123` } })).body.token as string;
    const hidden = await http(sys.url, 'GET', `/v1/servers/${serverId}/events`, { token: await tokenOf('eve') });
    assert.equal(hidden.status, 404);
    assert.equal(hidden.body.error, 'SERVER_NOT_FOUND');
    const missing = await sys.request('GET', '/v1/servers/srv-000000000000/events');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.message, hidden.body.message.replace(serverId, 'srv-000000000000'), 'the same answer as for no server');
    const seen = await http(sys.url, 'GET', `/v1/servers/${serverId}/events`, { token: await tokenOf('pat') });
    assert.equal(seen.status, 200);
    assert.ok(seen.body.length > 0);
  });

  test('a bad limit or cursor is a 400 naming it in the /v1 shape', async () => {
    for (const [query, field] of [['limit=0', 'query.limit'], ['limit=101', 'query.limit'], ['limit=ten', 'query.limit'], ['cursor=abc', 'query.cursor'], ['since=1', 'query.since']] as const) {
      const res = await sys.request('GET', `/v1/servers/${serverId}/events?${query}`);
      assert.equal(res.status, 400, `${query}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.code, '400');
      assert.ok((res.body.details as Array<{ field: string }>).some((d) => d.field === field), `${query}: ${JSON.stringify(res.body.details)}`);
    }
  });

  test('the droplets API reads the same history: the droplet events of a server are its events', async () => {
    // A droplet id names the create that made the server: the same inventory seen another way.
    const ours = ((await sys.request('GET', `/v1/servers/${serverId}/events?limit=50`)).body as ServerEvent[]).map((e) => e.id);
    const droplet = await sys.request('GET', `/api/v1/droplets/dpl_${createOp.replace(/-/g, '')}/events?limit=50`);
    assert.equal(droplet.status, 200, JSON.stringify(droplet.body));
    assert.deepEqual(droplet.body.map((e: { id: string }) => e.id), ours);
    assert.ok(droplet.body.some((e: { type: string; reason: string }) => e.type === 'Warning' && e.reason === 'drift'), 'the drift is a Warning there');
  });

  test('a server without an index (made before there was one) gets its operations back from the workspace index', async () => {
    const ops = (events: ServerEvent[]) => [...new Set(events.map((e) => e.operation_id).filter(Boolean))].sort();
    const before = (await sys.request('GET', `/v1/servers/${serverId}/events?limit=100`)).body as ServerEvent[];
    const key = sys.api.ctx.keys.serverHistory(serverId);
    const saved = await sys.api.ctx.redis.zrange(key, '0', '-1', 'WITHSCORES');
    await sys.api.ctx.redis.del(key);
    try {
      const rebuilt = (await sys.request('GET', `/v1/servers/${serverId}/events?limit=100`)).body as ServerEvent[];
      assert.deepEqual(ops(rebuilt), ops(before));
      assert.ok(ops(rebuilt).length >= 3);
      // Drift cannot be found again: the stream is not searched per server.
      assert.equal(rebuilt.filter((e) => e.kind === 'drift').length, 0);
    } finally {
      const pairs: string[] = [];
      for (let i = 0; i < saved.length; i += 2) pairs.push(saved[i + 1]!, saved[i]!);
      await sys.api.ctx.redis.zadd(key, ...pairs);
    }
  });

  test('retention removes an operation from the history with the operation; trimmed drift leaves at the next read', async () => {
    const key = sys.api.ctx.keys.serverHistory(serverId);
    assert.ok((await sys.api.ctx.redis.zrange(key, '0', '-1')).some((m) => m.startsWith('op:')));
    // Past OPERATION_RETENTION (30 days by default) for everything finished so far, and the stream's drift with it.
    await runRetention(sys.api.ctx, { now: Date.now() + 31 * 86_400_000 });
    assert.deepEqual((await sys.api.ctx.redis.zrange(key, '0', '-1')).filter((m) => m.startsWith('op:')), [], 'no removed operation is left in the index');
    const res = await sys.request('GET', `/v1/servers/${serverId}/events`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, []);
    assert.equal(await sys.api.ctx.redis.zcard(key), 0);
  });

  test('once the server is deleted its history goes with it', async () => {
    const del = await sys.request('DELETE', `/v1/servers/${serverId}`);
    assert.equal(del.status, 202);
    await sys.waitForStatus(del.body.id, ['completed']);
    assert.equal((await sys.request('GET', `/v1/servers/${serverId}/events`)).status, 404);
    assert.equal(await sys.api.ctx.redis.exists(sys.api.ctx.keys.serverHistory(serverId)), 0);
  });
});
