import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../src/sandbox/clock.js';
import type { HetznerSettings } from '../src/sandbox/hetzner/simulator.js';
import { SnapshotFormatError, startSandbox } from '../src/sandbox/server.js';
import { type CallInit, type CallResult, type TestSandbox, call, withSandbox } from './sandbox-helpers.js';

const DELAYS = { initializeDelayMs: 2000, startDelayMs: 1000, actionDelayMs: 2000, deleteDelayMs: 1000 } as const;
const VALID_SERVER = { name: 'web-1', server_type: 'cx23', image: 'ubuntu-24.04', location: 'fsn1' } as const;

interface HetznerTest extends TestSandbox {
  /** Calls the simulated Hetzner API (paths relative to the /v1 base) with the sandbox token. */
  api: (method: string, path: string, init?: CallInit) => Promise<CallResult>;
  base: string;
}

function withHetzner(fn: (t: HetznerTest) => Promise<void>, settings: HetznerSettings = {}): Promise<void> {
  return withSandbox(
    async (t) => {
      const base = t.sandbox.baseUrls.hetzner;
      assert.ok(base, 'the sandbox serves hetzner');
      await fn({ ...t, base, api: (method, path, init) => call(`${base}${path}`, method, t.sandbox.token, init) });
    },
    { hetzner: { ...DELAYS, ...settings } },
  );
}

function assertHetznerError(res: CallResult, status: number, code: string): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.deepEqual(Object.keys(res.body), ['error']);
  assert.deepEqual(Object.keys(res.body.error).sort(), ['code', 'details', 'message']);
  assert.equal(res.body.error.code, code);
  assert.equal(typeof res.body.error.message, 'string');
  assert.ok(res.body.error.message.length > 0);
}

async function createServer(t: HetznerTest, overrides: Record<string, unknown> = {}): Promise<CallResult> {
  const res = await t.api('POST', '/servers', { body: { ...VALID_SERVER, ...overrides } });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res;
}

/** Creates a server and moves the clock until it is running. */
async function createRunningServer(t: HetznerTest, overrides: Record<string, unknown> = {}): Promise<any> {
  const created = await createServer(t, overrides);
  t.clock.advance(DELAYS.initializeDelayMs + DELAYS.startDelayMs);
  const server = (await t.api('GET', `/servers/${created.body.server.id}`)).body.server;
  assert.equal(server.status, 'running');
  return server;
}

async function getServer(t: HetznerTest, id: number): Promise<any> {
  const res = await t.api('GET', `/servers/${id}`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.server;
}

async function serverNames(t: HetznerTest, query: string): Promise<string[]> {
  const res = await t.api('GET', `/servers?${query}`);
  assert.equal(res.status, 200, `${query}: ${JSON.stringify(res.body)}`);
  return res.body.servers.map((s: any) => s.name).sort();
}

describe('Hetzner simulator: auth', () => {
  test('a missing token gets 401 in Hetzner shape, still with RateLimit headers', () =>
    withHetzner(async (t) => {
      const res = await t.api('GET', '/servers', { token: null });
      assertHetznerError(res, 401, 'unauthorized');
      assert.equal(res.body.error.details, null);
      assert.equal(res.headers.get('ratelimit-limit'), '3600');
      assert.equal(res.headers.get('ratelimit-remaining'), '3599');
      // One token used, refilling at 1/s: full again one second from now.
      assert.equal(Number(res.headers.get('ratelimit-reset')), Math.ceil((t.clock.now() + 1000) / 1000));
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    }));

  test('a wrong token gets 401; the right one works with any capitalisation of Bearer', () =>
    withHetzner(async (t) => {
      assertHetznerError(await t.api('GET', '/servers', { token: 'nope' }), 401, 'unauthorized');
      const res = await fetch(`${t.base}/servers`, { headers: { authorization: `bearer ${t.sandbox.token}` } });
      assert.equal(res.status, 200);
      const body = (await res.json()) as any;
      assert.deepEqual(body.servers, []);
      // Hetzner limits per project: requests with a token that is not the project's do not count against it.
      assert.equal(res.headers.get('ratelimit-remaining'), '3599');
    }));
});

describe('Hetzner simulator: create and the status machine', () => {
  test('create answers 201 with server, action, next_actions and a root password shown only once', () =>
    withHetzner(async (t) => {
      const res = await createServer(t, { labels: { env: 'prod', 'pe-op': 'op-1', 'just-a-key': '' } });
      assert.deepEqual(Object.keys(res.body).sort(), ['action', 'next_actions', 'root_password', 'server']);
      const server = res.body.server;
      assert.ok(Number.isInteger(server.id));
      assert.equal(server.name, 'web-1');
      assert.equal(server.status, 'initializing');
      assert.equal(server.locked, true);
      assert.match(server.created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/);
      // Hetzner hands out addresses at once, before the server runs.
      assert.match(server.public_net.ipv4.ip, /^\d+\.\d+\.\d+\.\d+$/);
      assert.match(server.public_net.ipv6.ip, /^2001:db8:[0-9a-f:]+\/64$/);
      assert.equal(server.server_type.name, 'cx23');
      assert.equal(server.server_type.cores, 2);
      assert.ok(server.server_type.prices.some((p: any) => p.location === 'fsn1'));
      assert.equal(server.location.name, 'fsn1');
      assert.equal(server.image.name, 'ubuntu-24.04');
      assert.equal(server.primary_disk_size, 40);
      assert.deepEqual(server.labels, { env: 'prod', 'pe-op': 'op-1', 'just-a-key': '' });
      assert.equal('datacenter' in server, false, 'the datacenter property is gone since 2026-07');
      assert.equal('root_password' in server, false);

      const action = res.body.action;
      assert.deepEqual(Object.keys(action).sort(), ['command', 'error', 'finished', 'id', 'progress', 'resources', 'started', 'status']);
      assert.equal(action.command, 'create_server');
      assert.equal(action.status, 'running');
      assert.equal(action.progress, 0);
      assert.equal(action.finished, null);
      assert.equal(action.error, null);
      assert.deepEqual(action.resources, [{ id: server.id, type: 'server' }]);
      assert.equal(res.body.next_actions.length, 1);
      assert.equal(res.body.next_actions[0].command, 'start_server');
      assert.equal(res.body.next_actions[0].status, 'running');
      assert.ok(res.body.next_actions[0].id > action.id);

      assert.match(res.body.root_password, /^[A-Za-z0-9]{20}$/);
      const fetched = await t.api('GET', `/servers/${server.id}`);
      assert.equal(JSON.stringify(fetched.body).includes(res.body.root_password), false, 'the password is never shown again');

      const withKeys = await createServer(t, { name: 'web-2', ssh_keys: ['my-key'] });
      assert.equal(withKeys.body.root_password, null);
      assert.ok(withKeys.body.server.id > server.id, 'ids increase');
      assert.notEqual(withKeys.body.server.public_net.ipv4.ip, server.public_net.ipv4.ip);
    }));

  test('initializing → starting → running over the clock, with create_server then start_server progressing 0→100', () =>
    withHetzner(async (t) => {
      const created = await createServer(t);
      const id = created.body.server.id;
      const createId = created.body.action.id;
      const startId = created.body.next_actions[0].id;

      t.clock.advance(1000);
      assert.equal((await getServer(t, id)).status, 'initializing');
      assert.equal((await t.api('GET', `/actions/${createId}`)).body.action.progress, 50);
      assert.equal((await t.api('GET', `/actions/${startId}`)).body.action.progress, 0, 'start waits for create');

      t.clock.advance(1000);
      const starting = await getServer(t, id);
      assert.equal(starting.status, 'starting');
      assert.equal(starting.locked, true);
      const createDone = (await t.api('GET', `/actions/${createId}`)).body.action;
      assert.equal(createDone.status, 'success');
      assert.equal(createDone.progress, 100);
      assert.equal(createDone.finished, new Date(t.clock.now()).toISOString().replace('.000Z', '+00:00'));
      assert.equal((await t.api('GET', `/actions/${startId}`)).body.action.status, 'running');

      t.clock.advance(1000);
      const running = await getServer(t, id);
      assert.equal(running.status, 'running');
      assert.equal(running.locked, false);
      const startDone = (await t.api('GET', `/actions/${startId}`)).body.action;
      assert.equal(startDone.status, 'success');
      assert.equal(startDone.progress, 100);
    }));

  test('start_after_create:false ends off, with no next actions', () =>
    withHetzner(async (t) => {
      const created = await createServer(t, { start_after_create: false });
      assert.deepEqual(created.body.next_actions, []);
      t.clock.advance(DELAYS.initializeDelayMs);
      const server = await getServer(t, created.body.server.id);
      assert.equal(server.status, 'off');
      assert.equal(server.locked, false);
    }));

  test('power actions: poweroff stopping→off, poweron starting→running, reboot and reset stay running', () =>
    withHetzner(async (t) => {
      const server = await createRunningServer(t);
      const off = await t.api('POST', `/servers/${server.id}/actions/poweroff`);
      assert.equal(off.status, 201);
      assert.deepEqual(Object.keys(off.body), ['action']);
      assert.equal(off.body.action.command, 'stop_server');
      assert.equal((await getServer(t, server.id)).status, 'stopping');
      t.clock.advance(DELAYS.actionDelayMs);
      assert.equal((await getServer(t, server.id)).status, 'off');

      const on = await t.api('POST', `/servers/${server.id}/actions/poweron`);
      assert.equal(on.body.action.command, 'start_server');
      assert.equal((await getServer(t, server.id)).status, 'starting');
      t.clock.advance(DELAYS.startDelayMs);
      assert.equal((await getServer(t, server.id)).status, 'running');

      for (const [name, command] of [
        ['reboot', 'reboot_server'],
        ['reset', 'reset_server'],
        ['shutdown', 'shutdown_server'],
      ] as const) {
        const res = await t.api('POST', `/servers/${server.id}/actions/${name}`);
        assert.equal(res.status, 201, JSON.stringify(res.body));
        assert.equal(res.body.action.command, command);
        t.clock.advance(DELAYS.actionDelayMs);
        assert.equal((await t.api('GET', `/actions/${res.body.action.id}`)).body.action.status, 'success');
      }
      assert.equal((await getServer(t, server.id)).status, 'off', 'shutdown ends off');

      // Nothing to do: powering off an off server succeeds at once.
      const again = await t.api('POST', `/servers/${server.id}/actions/poweroff`);
      assert.equal(again.body.action.status, 'success');
      assertHetznerError(await t.api('POST', `/servers/${server.id}/actions/teleport`), 404, 'not_found');
    }));

  test('a second action while one runs is refused with locked', () =>
    withHetzner(async (t) => {
      const server = await createRunningServer(t);
      await t.api('POST', `/servers/${server.id}/actions/poweroff`);
      assert.equal((await getServer(t, server.id)).locked, true);
      const second = await t.api('POST', `/servers/${server.id}/actions/reboot`);
      assertHetznerError(second, 423, 'locked');
      t.clock.advance(DELAYS.actionDelayMs);
      assert.equal((await getServer(t, server.id)).locked, false);
      assert.equal((await t.api('POST', `/servers/${server.id}/actions/poweron`)).status, 201);

      const creating = await createServer(t, { name: 'still-creating' });
      assertHetznerError(await t.api('POST', `/servers/${creating.body.server.id}/actions/poweroff`), 423, 'locked');
    }));

  test('change_type requires an off server, passes through migrating, and keeps the disk unless asked', () =>
    withHetzner(async (t) => {
      const server = await createRunningServer(t);
      const running = await t.api('POST', `/servers/${server.id}/actions/change_type`, {
        body: { server_type: 'cx33', upgrade_disk: false },
      });
      assertHetznerError(running, 409, 'server_not_stopped');

      const missing = await t.api('POST', `/servers/${server.id}/actions/change_type`, { body: { server_type: 'cx33' } });
      assertHetznerError(missing, 400, 'invalid_input');
      assert.deepEqual(missing.body.error.details.fields.map((f: any) => f.name), ['upgrade_disk']);

      await t.api('POST', `/servers/${server.id}/actions/poweroff`);
      t.clock.advance(DELAYS.actionDelayMs);

      const arm = await t.api('POST', `/servers/${server.id}/actions/change_type`, { body: { server_type: 'cax11', upgrade_disk: false } });
      assertHetznerError(arm, 422, 'invalid_server_type');

      const change = await t.api('POST', `/servers/${server.id}/actions/change_type`, {
        body: { server_type: 'cx33', upgrade_disk: false },
      });
      assert.equal(change.status, 201, JSON.stringify(change.body));
      assert.equal(change.body.action.command, 'change_server_type');
      const migrating = await getServer(t, server.id);
      assert.equal(migrating.status, 'migrating');
      assert.equal(migrating.server_type.name, 'cx23');
      t.clock.advance(DELAYS.actionDelayMs);
      const changed = await getServer(t, server.id);
      assert.equal(changed.status, 'off');
      assert.equal(changed.server_type.name, 'cx33');
      assert.equal(changed.primary_disk_size, 40, 'upgrade_disk:false keeps the disk');

      // The disk was not upgraded, so going back down is allowed.
      await t.api('POST', `/servers/${server.id}/actions/change_type`, { body: { server_type: 'cx23', upgrade_disk: false } });
      t.clock.advance(DELAYS.actionDelayMs);
      await t.api('POST', `/servers/${server.id}/actions/change_type`, { body: { server_type: 'cx33', upgrade_disk: true } });
      t.clock.advance(DELAYS.actionDelayMs);
      assert.equal((await getServer(t, server.id)).primary_disk_size, 80);
      const shrink = await t.api('POST', `/servers/${server.id}/actions/change_type`, { body: { server_type: 'cx23', upgrade_disk: false } });
      assertHetznerError(shrink, 422, 'invalid_server_type');
      assert.match(shrink.body.error.message, /disk/);
    }));

  test('request_console returns a wss_url and a VNC password with a finished action', () =>
    withHetzner(async (t) => {
      const server = await createRunningServer(t);
      const res = await t.api('POST', `/servers/${server.id}/actions/request_console`);
      assert.equal(res.status, 201);
      assert.match(res.body.wss_url, new RegExp(`^wss://[^/]+/\\?server_id=${server.id}&token=[0-9a-f-]{36}$`));
      assert.match(res.body.password, /^[A-Za-z0-9]{32}$/);
      assert.equal(res.body.action.command, 'request_console');
      assert.equal(res.body.action.status, 'success');
    }));

  test('delete answers 200 with an action, the server is deleting, then 404', () =>
    withHetzner(async (t) => {
      const server = await createRunningServer(t);
      const res = await t.api('DELETE', `/servers/${server.id}`);
      assert.equal(res.status, 200);
      assert.deepEqual(Object.keys(res.body), ['action']);
      assert.equal(res.body.action.command, 'delete_server');
      assert.equal(res.body.action.status, 'running');
      assert.equal((await getServer(t, server.id)).status, 'deleting');
      assertHetznerError(await t.api('DELETE', `/servers/${server.id}`), 423, 'locked');

      t.clock.advance(DELAYS.deleteDelayMs);
      const gone = await t.api('GET', `/servers/${server.id}`);
      assertHetznerError(gone, 404, 'not_found');
      assert.deepEqual(gone.body.error.details, {});
      assertHetznerError(await t.api('DELETE', `/servers/${server.id}`), 404, 'not_found');
      assert.equal((await t.api('GET', `/actions/${res.body.action.id}`)).body.action.status, 'success');
      assert.equal((await t.api('GET', '/servers')).body.meta.pagination.total_entries, 0);
    }));

  test('deleting a server that is still being created ends its create actions in error', () =>
    withHetzner(async (t) => {
      const created = await createServer(t);
      const res = await t.api('DELETE', `/servers/${created.body.server.id}`);
      assert.equal(res.status, 200);
      const start = (await t.api('GET', `/actions/${created.body.next_actions[0].id}`)).body.action;
      assert.equal(start.status, 'error');
      assert.equal(start.error.code, 'action_failed');
    }));
});

describe('Hetzner simulator: actions', () => {
  test('an action reads the same at /actions/:id, /servers/:id/actions/:aid and /actions?id=…', () =>
    withHetzner(async (t) => {
      const server = await createRunningServer(t);
      const other = await createRunningServer(t, { name: 'other' });
      const reboot = await t.api('POST', `/servers/${server.id}/actions/reboot`);
      const id = reboot.body.action.id;

      const global = await t.api('GET', `/actions/${id}`);
      const scoped = await t.api('GET', `/servers/${server.id}/actions/${id}`);
      assert.equal(global.status, 200);
      assert.deepEqual(scoped.body, global.body);

      const otherAction = (await t.api('GET', `/servers/${other.id}/actions`)).body.actions[0];
      const batch = await t.api('GET', `/actions?id=${otherAction.id}&id=${id}&id=999`);
      assert.equal(batch.status, 200);
      assert.deepEqual(batch.body.actions.map((a: any) => a.id), [otherAction.id, id], 'unknown ids are left out');
      assert.deepEqual(batch.body.actions[1], global.body.action);
      assert.equal(batch.body.meta.pagination.total_entries, 2);

      assertHetznerError(await t.api('GET', `/servers/${other.id}/actions/${id}`), 404, 'not_found');
      assertHetznerError(await t.api('GET', '/actions/999'), 404, 'not_found');
      assertHetznerError(await t.api('GET', '/actions?id=abc'), 400, 'invalid_input');

      const list = await t.api('GET', `/servers/${server.id}/actions?sort=id:desc`);
      assert.deepEqual(list.body.actions.map((a: any) => a.command), ['reboot_server', 'start_server', 'create_server']);
      const running = await t.api('GET', `/servers/${server.id}/actions?status=running`);
      assert.deepEqual(running.body.actions.map((a: any) => a.id), [id]);
    }));

  test('GET /actions without an id is refused: listing every action was removed', () =>
    withHetzner(async (t) => {
      const res = await t.api('GET', '/actions');
      assertHetznerError(res, 410, 'deprecated_api_endpoint');
      assert.match(res.body.error.details.announcement, /^https:\/\/docs\.hetzner\.cloud\/changelog#/);
    }));
});

describe('Hetzner simulator: listing', () => {
  test('pagination walks past the first page with meta.pagination and Link headers', () =>
    withHetzner(async (t) => {
      const ids: number[] = [];
      for (let i = 1; i <= 60; i++) {
        ids.push((await createServer(t, { name: `node-${i}`, labels: { batch: 'b1' } })).body.server.id);
      }
      const base = `${t.base}/servers`;

      const first = await t.api('GET', '/servers');
      assert.equal(first.body.servers.length, 25);
      assert.deepEqual(first.body.meta.pagination, {
        page: 1,
        per_page: 25,
        previous_page: null,
        next_page: 2,
        last_page: 3,
        total_entries: 60,
      });
      assert.equal(
        first.headers.get('link'),
        `<${base}?page=2&per_page=25>; rel="next", <${base}?page=3&per_page=25>; rel="last"`,
      );

      const second = await t.api('GET', '/servers?page=2');
      assert.deepEqual(second.body.servers.map((s: any) => s.id), ids.slice(25, 50));
      assert.equal(second.body.meta.pagination.previous_page, 1);
      assert.equal(second.body.meta.pagination.next_page, 3);
      assert.match(second.headers.get('link') ?? '', /rel="prev".*rel="next".*rel="last"/);

      const last = await t.api('GET', '/servers?page=3');
      assert.equal(last.body.servers.length, 10);
      assert.equal(last.body.meta.pagination.next_page, null);
      assert.doesNotMatch(last.headers.get('link') ?? '', /rel="next"/);

      const clamped = await t.api('GET', '/servers?per_page=100');
      assert.equal(clamped.body.servers.length, 50);
      assert.equal(clamped.body.meta.pagination.per_page, 50);
      assertHetznerError(await t.api('GET', '/servers?per_page=0'), 400, 'invalid_input');

      // A client that follows rel="next" sees every server once, and keeps its filter.
      const seen: number[] = [];
      let url: string | undefined = `${base}?per_page=7&label_selector=batch%3Db1`;
      while (url !== undefined) {
        const res: Response = await fetch(url, { headers: { authorization: `Bearer ${t.sandbox.token}` } });
        const body = (await res.json()) as any;
        seen.push(...body.servers.map((s: any) => s.id));
        url = /<([^>]+)>; rel="next"/.exec(res.headers.get('link') ?? '')?.[1];
        if (url !== undefined) assert.match(url, /label_selector=batch%3Db1/);
      }
      assert.deepEqual(seen, ids);
    }));

  test('label_selector supports the whole grammar', () =>
    withHetzner(async (t) => {
      await createServer(t, { name: 'a', labels: { env: 'prod', tier: 'web' } });
      await createServer(t, { name: 'b', labels: { env: 'staging', tier: 'db' } });
      await createServer(t, { name: 'c', labels: { env: 'prod', 'example.com/team': 'x' } });
      await createServer(t, { name: 'd', labels: { flag: '' } });

      const cases: Array<[string, string[]]> = [
        ['env=prod', ['a', 'c']],
        ['env==prod', ['a', 'c']],
        ['env!=prod', ['b', 'd']],
        ['tier', ['a', 'b']],
        ['!tier', ['c', 'd']],
        ['flag', ['d']],
        ['env in (prod,staging)', ['a', 'b', 'c']],
        ['env in ( staging , prod )', ['a', 'b', 'c']],
        ['env notin (prod)', ['b', 'd']],
        ['env=prod,!tier', ['c']],
        ['env in (prod,staging),tier!=db', ['a', 'c']],
        ['example.com/team=x', ['c']],
        ['env=nothing', []],
      ];
      for (const [selector, expected] of cases) {
        assert.deepEqual(await serverNames(t, `label_selector=${encodeURIComponent(selector)}`), expected, selector);
      }
      for (const bad of ['env in (prod', 'env=prod)', '=prod', 'env=bad value', 'env,', 'hetzner.cloud/x', 'env in (a,,b)']) {
        const res = await t.api('GET', `/servers?label_selector=${encodeURIComponent(bad)}`);
        assertHetznerError(res, 400, 'invalid_input');
        assert.equal(res.body.error.details.fields[0].name, 'label_selector', bad);
      }
    }));

  test('name is an exact filter; status repeats; sort orders by name or id', () =>
    withHetzner(async (t) => {
      await createRunningServer(t, { name: 'alpha' });
      await createRunningServer(t, { name: 'beta' });
      await createServer(t, { name: 'alpha-2' });

      assert.deepEqual(await serverNames(t, 'name=alpha'), ['alpha']);
      assert.deepEqual(await serverNames(t, 'name=ALPHA'), []);
      assert.deepEqual(await serverNames(t, 'status=running'), ['alpha', 'beta']);
      assert.deepEqual(await serverNames(t, 'status=initializing&status=starting'), ['alpha-2']);
      assertHetznerError(await t.api('GET', '/servers?status=sleeping'), 400, 'invalid_input');

      const desc = await t.api('GET', '/servers?sort=name:desc');
      assert.deepEqual(desc.body.servers.map((s: any) => s.name), ['beta', 'alpha-2', 'alpha']);
      const byId = await t.api('GET', '/servers?sort=id:desc');
      assert.deepEqual(byId.body.servers.map((s: any) => s.name), ['alpha-2', 'beta', 'alpha']);
      assertHetznerError(await t.api('GET', '/servers?sort=colour'), 400, 'invalid_input');
    }));

  test('the catalogue serves locations, server types with per-location prices, and system images', () =>
    withHetzner(async (t) => {
      const locations = await t.api('GET', '/locations');
      assert.deepEqual(locations.body.locations.map((l: any) => l.name), ['fsn1', 'nbg1', 'hel1', 'ash', 'hil', 'sin']);
      assert.equal(locations.body.locations[0].network_zone, 'eu-central');

      const types = await t.api('GET', '/server_types?per_page=50');
      const byName = new Map(types.body.server_types.map((s: any) => [s.name, s]));
      for (const name of ['cx23', 'cx33', 'cx43', 'cpx22', 'cpx32', 'cax11', 'cax21', 'cax31', 'ccx13']) {
        assert.ok(byName.has(name), `server type ${name} missing`);
      }
      const cpx22: any = byName.get('cpx22');
      const fsn1 = cpx22.prices.find((p: any) => p.location === 'fsn1');
      const ash = cpx22.prices.find((p: any) => p.location === 'ash');
      assert.match(fsn1.price_monthly.gross, /^\d+\.\d+$/);
      assert.ok(Number(fsn1.price_monthly.gross) > Number(fsn1.price_monthly.net));
      assert.ok(Number(ash.price_monthly.gross) > Number(fsn1.price_monthly.gross), 'prices differ per location');
      const cx23: any = byName.get('cx23');
      assert.equal(cx23.prices.some((p: any) => p.location === 'ash'), false, 'cx types are EU only');
      assert.deepEqual(cx23.locations.map((l: any) => l.name), ['fsn1', 'nbg1', 'hel1']);

      const images = await t.api('GET', '/images?type=system&architecture=x86');
      assert.deepEqual(images.body.images.map((i: any) => i.name).sort(), ['debian-12', 'debian-13', 'ubuntu-22.04', 'ubuntu-24.04']);
      assert.ok(images.body.images.every((i: any) => i.type === 'system' && Number.isInteger(i.id)));
      assert.deepEqual((await t.api('GET', '/images?type=snapshot')).body.images, []);
    }));
});

describe('Hetzner simulator: validation', () => {
  test('a create missing name, server_type and image is one invalid_input naming all three', () =>
    withHetzner(async (t) => {
      const res = await t.api('POST', '/servers', { body: { location: 'fsn1' } });
      assertHetznerError(res, 400, 'invalid_input');
      assert.deepEqual(res.body.error.details.fields.map((f: any) => f.name).sort(), ['image', 'name', 'server_type']);
      assert.match(res.body.error.message, /^invalid input in field 'name': is required/);
    }));

  test('unknown server type, image and location, and a type not offered in the location, are named', () =>
    withHetzner(async (t) => {
      const cases: Array<[Record<string, unknown>, string, RegExp]> = [
        [{ server_type: 'cx99' }, 'server_type', /cx99/],
        [{ image: 'windows-95' }, 'image', /windows-95/],
        [{ location: 'mars1' }, 'location', /mars1/],
        [{ location: 'ash' }, 'location', /unsupported location for server type/],
        [{ name: 'under_score' }, 'name', /hostname/],
        [{ labels: { 'bad key': 'x' } }, 'labels', /bad key/],
        [{ labels: { 'hetzner.cloud/x': 'y' } }, 'labels', /reserved/],
        [{ user_data: 'x'.repeat(33 * 1024) }, 'user_data', /too long/],
      ];
      for (const [override, field, message] of cases) {
        const res = await t.api('POST', '/servers', { body: { ...VALID_SERVER, ...override } });
        assertHetznerError(res, 400, 'invalid_input');
        const named = res.body.error.details.fields.find((f: any) => f.name === field);
        assert.ok(named, `${JSON.stringify(override)} should name ${field}: ${JSON.stringify(res.body)}`);
        assert.match(named.messages.join(' '), message);
      }
      assertHetznerError(await t.api('POST', '/servers', { rawBody: '{"name": ' }), 400, 'json_error');
      assert.equal((await t.api('GET', '/servers')).body.meta.pagination.total_entries, 0, 'nothing was created');

      // An Arm type gets the Arm build of the same image name.
      const arm = await createServer(t, { name: 'arm-1', server_type: 'cax11' });
      assert.equal(arm.body.server.image.architecture, 'arm');
      assert.equal(arm.body.server.image.name, 'ubuntu-24.04');
    }));

  test('names are unique per project: a duplicate is a uniqueness_error', () =>
    withHetzner(async (t) => {
      await createServer(t);
      const dup = await t.api('POST', '/servers', { body: VALID_SERVER });
      assertHetznerError(dup, 409, 'uniqueness_error');
      assert.equal(dup.body.error.message, 'server name is already used');
      assert.deepEqual(dup.body.error.details, { fields: [{ name: 'name' }] });
      assert.equal((await t.api('GET', '/servers')).body.meta.pagination.total_entries, 1);
    }));
});

describe('Hetzner simulator: rate limit and faults', () => {
  test('the token bucket refuses with 429 once empty and refills one request per second', () =>
    withHetzner(
      async (t) => {
        for (const remaining of ['2', '1', '0']) {
          const ok = await t.api('GET', '/servers');
          assert.equal(ok.status, 200);
          assert.equal(ok.headers.get('ratelimit-limit'), '3');
          assert.equal(ok.headers.get('ratelimit-remaining'), remaining);
        }
        const refused = await t.api('GET', '/servers');
        assertHetznerError(refused, 429, 'rate_limit_exceeded');
        assert.equal(refused.headers.get('ratelimit-remaining'), '0');
        assert.equal(Number(refused.headers.get('ratelimit-reset')), Math.ceil(t.clock.now() / 1000) + 3);
        assert.equal(refused.headers.get('retry-after'), null, 'Hetzner documents no Retry-After');

        t.clock.advance(1000);
        assert.equal((await t.api('GET', '/servers')).status, 200);
        assertHetznerError(await t.api('GET', '/servers'), 429, 'rate_limit_exceeded');

        const config = await t.admin('POST', '/hetzner/config', { body: { rateLimit: false } });
        assert.equal(config.status, 200);
        assert.equal(config.body.rateLimit, false);
        const unlimited = await t.api('GET', '/servers');
        assert.equal(unlimited.status, 200);
        assert.equal(unlimited.headers.get('ratelimit-limit'), null);
      },
      { rateLimit: { capacity: 3, refillPerSecond: 1 } },
    ));

  test('injected status faults answer in Hetzner shape on the paths a client uses', () =>
    withHetzner(async (t) => {
      t.sandbox.faults.add({ provider: 'hetzner', method: 'GET', path: '^/v1/servers$', kind: 'status', status: 503, count: 1 });
      assertHetznerError(await t.api('GET', '/servers'), 503, 'unavailable');
      assert.equal((await t.api('GET', '/servers')).status, 200, 'the fault was one-shot');
    }));

  test('injected action failures end the next create and action in error with action_failed', () =>
    withHetzner(async (t) => {
      const config = await t.admin('POST', '/hetzner/config', { body: { failNextCreates: 1, failNextActions: 1 } });
      assert.equal(config.status, 200, JSON.stringify(config.body));
      assert.equal(config.body.failNextCreates, 1);
      const refused = await t.admin('POST', '/hetzner/config', { body: { failNextCreates: -1 } });
      assert.equal(refused.status, 400);
      assert.equal(refused.body.error, 'invalid_config');

      const doomed = await createServer(t, { name: 'doomed' });
      t.clock.advance(DELAYS.initializeDelayMs + DELAYS.startDelayMs);
      const createAction = (await t.api('GET', `/actions/${doomed.body.action.id}`)).body.action;
      assert.equal(createAction.status, 'error');
      assert.deepEqual(createAction.error, { code: 'action_failed', message: 'Action failed' });
      assert.equal((await t.api('GET', `/actions/${doomed.body.next_actions[0].id}`)).body.action.status, 'error');
      assert.equal((await getServer(t, doomed.body.server.id)).status, 'off');

      const healthy = await createRunningServer(t, { name: 'healthy' });
      const off = await t.api('POST', `/servers/${healthy.id}/actions/poweroff`);
      t.clock.advance(DELAYS.actionDelayMs);
      assert.equal((await t.api('GET', `/actions/${off.body.action.id}`)).body.action.status, 'error');
      assert.equal((await getServer(t, healthy.id)).status, 'running', 'a failed poweroff leaves the server running');
      const retry = await t.api('POST', `/servers/${healthy.id}/actions/poweroff`);
      t.clock.advance(DELAYS.actionDelayMs);
      assert.equal((await t.api('GET', `/actions/${retry.body.action.id}`)).body.action.status, 'success');
    }));
});

describe('Hetzner simulator: state file', () => {
  test('snapshot and restore carry servers, running actions and id counters across a restart', async () => {
    const clock = new ManualClock();
    const token = 'sbx_hetzner_snapshot';
    const settings = { hetzner: { ...DELAYS } };
    const first = await startSandbox({ token, clock, ...settings });
    let state: unknown;
    let ids: { running: number; creating: number; createAction: number; offAction: number };
    try {
      const api = (method: string, path: string, body?: unknown) =>
        call(`${first.baseUrls.hetzner}${path}`, method, token, { body });
      const running = (await api('POST', '/servers', { ...VALID_SERVER, name: 'kept', labels: { 'pe-op': 'abc' } })).body.server;
      clock.advance(DELAYS.initializeDelayMs + DELAYS.startDelayMs);
      const offAction = (await api('POST', `/servers/${running.id}/actions/poweroff`)).body.action;
      const creating = await api('POST', '/servers', { ...VALID_SERVER, name: 'mid-create' });
      ids = { running: running.id, creating: creating.body.server.id, createAction: creating.body.action.id, offAction: offAction.id };
      state = JSON.parse(JSON.stringify(first.snapshot()));
    } finally {
      await first.close();
    }
    assert.ok((state as any).hetzner, 'the state has a hetzner section');

    const second = await startSandbox({ token, clock, ...settings });
    try {
      second.restore(state);
      const api = (method: string, path: string, body?: unknown) =>
        call(`${second.baseUrls.hetzner}${path}`, method, token, { body });
      const kept = (await api('GET', `/servers/${ids.running}`)).body.server;
      assert.equal(kept.name, 'kept');
      assert.equal(kept.status, 'stopping');
      assert.deepEqual(kept.labels, { 'pe-op': 'abc' });
      assert.equal((await api('GET', `/servers/${ids.creating}`)).body.server.status, 'initializing');

      clock.advance(DELAYS.initializeDelayMs + DELAYS.startDelayMs);
      assert.equal((await api('GET', `/servers/${ids.running}`)).body.server.status, 'off');
      assert.equal((await api('GET', `/servers/${ids.creating}`)).body.server.status, 'running');
      assert.equal((await api('GET', `/actions/${ids.offAction}`)).body.action.status, 'success');
      assert.equal((await api('GET', '/servers?label_selector=pe-op%3D%3Dabc')).body.servers.length, 1);

      const next = await api('POST', '/servers', { ...VALID_SERVER, name: 'after-restart' });
      assert.ok(next.body.server.id > ids.creating, 'ids keep increasing');
      assert.ok(next.body.action.id > ids.createAction);
      assert.equal((await api('POST', '/servers', { ...VALID_SERVER, name: 'kept' })).body.error.code, 'uniqueness_error');

      const broken = JSON.parse(JSON.stringify(state));
      broken.hetzner.servers[0].serverType = 'cx999';
      assert.throws(() => second.restore(broken), (err: unknown) => err instanceof SnapshotFormatError && /serverType/.test(err.message));
      assert.equal((await api('GET', '/servers')).body.meta.pagination.total_entries, 0, 'a bad snapshot leaves nothing half restored');
    } finally {
      await second.close();
    }
  });
});
