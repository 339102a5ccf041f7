import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../src/sandbox/clock.js';
import { type Sandbox, SnapshotFormatError, startSandbox } from '../src/sandbox/server.js';
import type { UpCloudSettings } from '../src/sandbox/upcloud/simulator.js';

const TOKEN = 'sbx_upcloud_test_token_0123456789';
const UBUNTU_24 = '01000000-0000-4000-8000-000030240200';
const DEBIAN_11 = '01000000-0000-4000-8000-000020060100';
const SERVER_UUID = /^00[0-9a-f]{6}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const DELAYS = { createDelayMs: 3000, stopDelayMs: 2000, restartDelayMs: 2000, modifyDelayMs: 1000, errorDurationMs: 5000 };

interface Reply {
  status: number;
  headers: Headers;
  body: any;
}

interface UpCloudTest {
  sandbox: Sandbox;
  clock: ManualClock;
  /** Calls the simulated API (paths relative to /upcloud/1.3), by default with the bearer token. */
  api: (method: string, path: string, init?: { body?: unknown; rawBody?: string; authorization?: string | null }) => Promise<Reply>;
}

/** A sandbox on a manual clock, closed however the test ends. */
async function withUpCloud(fn: (t: UpCloudTest) => Promise<void>, settings: UpCloudSettings = {}): Promise<void> {
  const clock = new ManualClock();
  const sandbox = await startSandbox({ token: TOKEN, clock, upcloud: { ...DELAYS, ...settings } });
  try {
    await fn({
      sandbox,
      clock,
      api: async (method, path, init = {}) => {
        const headers: Record<string, string> = {};
        const authorization = init.authorization === undefined ? `Bearer ${TOKEN}` : init.authorization;
        if (authorization !== null) headers.authorization = authorization;
        const payload = init.rawBody ?? (init.body === undefined ? undefined : JSON.stringify(init.body));
        if (payload !== undefined) headers['content-type'] = 'application/json';
        const res = await fetch(`${sandbox.baseUrls.upcloud}${path}`, { method, headers, body: payload });
        const text = await res.text();
        return { status: res.status, headers: res.headers, body: text === '' ? null : JSON.parse(text) };
      },
    });
  } finally {
    await sandbox.close();
  }
}

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

function serverBody(overrides: Record<string, unknown> = {}): { server: Record<string, unknown> } {
  return {
    server: {
      zone: 'fi-hel1',
      title: 'web-1',
      hostname: 'web-1.example.com',
      plan: '1xCPU-1GB',
      metadata: 'yes',
      storage_devices: { storage_device: [{ action: 'clone', storage: UBUNTU_24, title: 'disk1', tier: 'maxiops' }] },
      ...overrides,
    },
  };
}

function assertLegacyError(res: Reply, status: number, code: string): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.deepEqual(Object.keys(res.body), ['error']);
  assert.deepEqual(Object.keys(res.body.error).sort(), ['error_code', 'error_message']);
  assert.equal(res.body.error.error_code, code);
  assert.equal(typeof res.body.error.error_message, 'string');
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
}

async function createServer(t: UpCloudTest, overrides: Record<string, unknown> = {}): Promise<any> {
  const res = await t.api('POST', '/server', { body: serverBody(overrides) });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  return res.body.server;
}

/** Creates a server and moves the clock past its build so it is started. */
async function createStartedServer(t: UpCloudTest, overrides: Record<string, unknown> = {}): Promise<any> {
  const created = await createServer(t, overrides);
  t.clock.advance(DELAYS.createDelayMs);
  return (await t.api('GET', `/server/${created.uuid}`)).body.server;
}

async function createStoppedServer(t: UpCloudTest, overrides: Record<string, unknown> = {}): Promise<any> {
  const server = await createStartedServer(t, overrides);
  assert.equal((await t.api('POST', `/server/${server.uuid}/stop`)).status, 200);
  t.clock.advance(DELAYS.stopDelayMs);
  return (await t.api('GET', `/server/${server.uuid}`)).body.server;
}

describe('UpCloud simulator: auth', () => {
  test('no credentials, a wrong token and a wrong Basic login all get 401 AUTHENTICATION_FAILED', () =>
    withUpCloud(async (t) => {
      for (const authorization of [null, 'Bearer nope', basic('sandbox', 'nope'), basic('someone', TOKEN), 'Basic !!!']) {
        const res = await t.api('GET', '/server', { authorization });
        assertLegacyError(res, 401, 'AUTHENTICATION_FAILED');
      }
    }));

  test('the sandbox token works as a bearer token and as the Basic password of user "sandbox"', () =>
    withUpCloud(async (t) => {
      for (const authorization of [`Bearer ${TOKEN}`, `bearer ${TOKEN}`, basic('sandbox', TOKEN)]) {
        const res = await t.api('GET', '/server', { authorization });
        assert.equal(res.status, 200, authorization);
        assert.deepEqual(res.body, { servers: { server: [] } });
      }
      const account = await t.api('GET', '/account', { authorization: basic('sandbox', TOKEN) });
      assert.equal(account.body.account.username, 'sandbox');
    }));
});

describe('UpCloud simulator: create', () => {
  test('create answers 202 in maintenance with string numbers, yes/no flags, IPs at once and the password once', () =>
    withUpCloud(async (t) => {
      const res = await t.api('POST', '/server', {
        body: serverBody({ labels: { label: [{ key: 'pe-op', value: 'op-1' }, { key: 'env', value: 'prod' }] } }),
      });
      assert.equal(res.status, 202);
      assert.deepEqual(Object.keys(res.body), ['server']);
      const server = res.body.server;
      assert.match(server.uuid, SERVER_UUID);
      assert.equal(server.state, 'maintenance');
      assert.equal(server.progress, '0');
      assert.equal(server.title, 'web-1');
      assert.equal(server.hostname, 'web-1.example.com');
      assert.equal(server.zone, 'fi-hel1');
      assert.equal(server.plan, '1xCPU-1GB');
      assert.equal(server.core_number, '1');
      assert.equal(server.memory_amount, '1024');
      assert.equal(server.plan_ipv4_bytes, '0');
      assert.equal(server.metadata, 'yes');
      assert.equal(server.simple_backup, 'no');
      assert.equal(server.firewall, 'off');
      assert.equal(server.created, Math.floor(t.clock.now() / 1000));
      assert.equal('host' in server, false, 'a server that is not running sits on no host');
      assert.deepEqual(server.labels, { label: [{ key: 'pe-op', value: 'op-1' }, { key: 'env', value: 'prod' }] });
      assert.deepEqual(server.tags, { tag: [] });

      const addresses = server.ip_addresses.ip_address;
      const publicV4 = addresses.find((a: any) => a.access === 'public' && a.family === 'IPv4');
      assert.match(publicV4.address, /^\d+\.\d+\.\d+\.\d+$/);
      assert.ok(addresses.some((a: any) => a.access === 'utility' && a.family === 'IPv4' && a.address.startsWith('10.')));
      assert.ok(addresses.some((a: any) => a.access === 'public' && a.family === 'IPv6'));
      assert.equal(server.networking.interfaces.interface.length, 3);
      assert.equal(server.networking.interfaces.interface[0].ip_addresses.ip_address[0].floating, 'no');

      const [disk, ...more] = server.storage_devices.storage_device;
      assert.equal(more.length, 0);
      assert.match(disk.storage, /^01/);
      assert.equal(disk.storage_size, 25, 'a clone without a size gets the plan storage');
      assert.equal(disk.storage_title, 'disk1');
      assert.equal(disk.type, 'disk');

      assert.match(server.password, /^[a-z0-9]{16}$/);
      assert.equal(server.username, 'root');

      const again = (await t.api('GET', `/server/${server.uuid}`)).body.server;
      assert.equal('password' in again, false, 'the password is shown once');
      assert.equal('username' in again, false);
      assert.deepEqual(again.ip_addresses, server.ip_addresses);

      const disk1 = await t.api('GET', `/storage/${disk.storage}`);
      assert.equal(disk1.body.storage.origin, UBUNTU_24);
      assert.deepEqual(disk1.body.storage.servers, { server: [server.uuid] });
    }));

  test('no password is made when login_user says create_password "no"; ssh keys are accepted', () =>
    withUpCloud(async (t) => {
      const server = await createServer(t, {
        login_user: { username: 'root', create_password: 'no', ssh_keys: { ssh_key: ['ssh-ed25519 AAAAC3Nza me@host'] } },
      });
      assert.equal('password' in server, false);
    }));

  test('a custom server is sized by core_number and memory_amount, given as strings or numbers', () =>
    withUpCloud(async (t) => {
      const server = await createServer(t, { plan: undefined, core_number: '2', memory_amount: 3072 });
      assert.equal(server.plan, 'custom');
      assert.equal(server.core_number, '2');
      assert.equal(server.memory_amount, '3072');
      assert.equal(server.storage_devices.storage_device[0].storage_size, 4, 'a custom clone defaults to the template size');
    }));

  test('each server gets its own addresses', () =>
    withUpCloud(async (t) => {
      const a = await createServer(t);
      const b = await createServer(t);
      const pub = (s: any) => s.ip_addresses.ip_address.find((x: any) => x.access === 'public' && x.family === 'IPv4').address;
      assert.notEqual(pub(a), pub(b));
      assert.notEqual(a.uuid, b.uuid);
    }));
});

describe('UpCloud simulator: validation', () => {
  const cases: Array<[string, Record<string, unknown>, number, string]> = [
    ['no zone', { zone: undefined }, 400, 'ZONE_MISSING'],
    ['an unknown zone', { zone: 'mars-1' }, 404, 'ZONE_NOT_FOUND'],
    ['no title', { title: undefined }, 400, 'SERVER_TITLE_MISSING'],
    ['no hostname', { hostname: undefined }, 400, 'HOSTNAME_MISSING'],
    ['a bad hostname', { hostname: 'no spaces please' }, 400, 'HOSTNAME_INVALID'],
    ['no storage devices', { storage_devices: undefined }, 400, 'STORAGE_DEVICES_MISSING'],
    ['an empty storage device list', { storage_devices: { storage_device: [] } }, 400, 'STORAGE_DEVICES_MISSING'],
    ['a device without action', { storage_devices: { storage_device: [{ storage: UBUNTU_24 }] } }, 400, 'ACTION_MISSING'],
    ['a clone without storage', { storage_devices: { storage_device: [{ action: 'clone' }] } }, 400, 'STORAGE_MISSING'],
    [
      'an unknown template',
      { storage_devices: { storage_device: [{ action: 'clone', storage: '01000000-0000-4000-8000-999999999999' }] } },
      404,
      'STORAGE_NOT_FOUND',
    ],
    ['a disk that is too small', { storage_devices: { storage_device: [{ action: 'clone', storage: UBUNTU_24, size: 5 }] } }, 400, 'SIZE_INVALID'],
    ['neither plan nor cores', { plan: undefined }, 400, 'CORE_NUMBER_INVALID'],
    ['cores without memory', { plan: undefined, core_number: '1' }, 400, 'MEMORY_AMOUNT_INVALID'],
    ['an unknown plan', { plan: '99xCPU-1TB' }, 400, 'PLAN_INVALID'],
    ['cores that contradict the plan', { core_number: '4' }, 400, 'PLAN_CORE_NUMBER_ILLEGAL'],
    ['a cloud-init template without metadata', { metadata: 'no' }, 400, 'METADATA_DISABLED_ON_CLOUD-INIT'],
    ['metadata that is not yes/no', { metadata: true }, 400, 'REQUEST_INVALID'],
    ['an invalid label key', { labels: { label: [{ key: 'env:prod', value: '' }] } }, 400, 'INVALID_LABEL_KEY'],
    ['a duplicate label key', { labels: { label: [{ key: 'env', value: 'a' }, { key: 'env', value: 'b' }] } }, 400, 'DUPLICATE_LABEL_KEYS'],
    ['a bad password_delivery', { password_delivery: 'pigeon' }, 400, 'PASSWORD_DELIVERY_INVALID'],
  ];
  for (const [what, override, status, code] of cases) {
    test(`${what} is ${status} ${code}`, () =>
      withUpCloud(async (t) => {
        const res = await t.api('POST', '/server', { body: serverBody(override) });
        assertLegacyError(res, status, code);
        assert.deepEqual((await t.api('GET', '/server')).body.servers.server, [], 'a refused create leaves nothing behind');
      }));
  }

  test('a native template works without metadata; malformed JSON and a body without "server" are 400', () =>
    withUpCloud(async (t) => {
      const native = await t.api('POST', '/server', {
        body: serverBody({ metadata: 'no', storage_devices: { storage_device: [{ action: 'clone', storage: DEBIAN_11 }] } }),
      });
      assert.equal(native.status, 202);
      assertLegacyError(await t.api('POST', '/server', { rawBody: '{"server": ' }), 400, 'REQUEST_INVALID');
      assertLegacyError(await t.api('POST', '/server', { body: { zone: 'fi-hel1' } }), 400, 'REQUEST_INVALID');
    }));

  test('malformed and unknown server ids, unknown paths and wrong methods', () =>
    withUpCloud(async (t) => {
      assertLegacyError(await t.api('GET', '/server/not-a-uuid'), 400, 'SERVER_INVALID');
      assertLegacyError(await t.api('POST', '/server/not-a-uuid/start'), 400, 'SERVER_INVALID');
      assertLegacyError(await t.api('GET', '/server/00000000-0000-4000-8000-000000000000'), 404, 'SERVER_NOT_FOUND');
      assertLegacyError(await t.api('GET', '/unicorns'), 404, 'NOT_FOUND');
      assertLegacyError(await t.api('PATCH', '/server'), 405, 'METHOD_NOT_ALLOWED');
    }));
});

describe('UpCloud simulator: state machine', () => {
  test('a new server is in maintenance with rising progress, then started on a host', () =>
    withUpCloud(async (t) => {
      const created = await createServer(t);
      t.clock.advance(1500);
      const half = (await t.api('GET', `/server/${created.uuid}`)).body.server;
      assert.equal(half.state, 'maintenance');
      assert.equal(half.progress, '50');
      assert.equal((await t.api('GET', `/storage/${created.storage_devices.storage_device[0].storage}`)).body.storage.state, 'maintenance');

      t.clock.advance(1499);
      assert.equal((await t.api('GET', `/server/${created.uuid}`)).body.server.state, 'maintenance');
      t.clock.advance(1);
      const started = (await t.api('GET', `/server/${created.uuid}`)).body.server;
      assert.equal(started.state, 'started');
      assert.equal('progress' in started, false);
      assert.equal(typeof started.host, 'number');

      const listed = (await t.api('GET', '/server')).body.servers.server;
      assert.equal(listed[0].state, 'started');
      assert.equal('ip_addresses' in listed[0], false, 'list items are summaries without addresses');
    }));

  test('stop answers with the server still started, then it is stopped; a second stop meanwhile is harmless', () =>
    withUpCloud(async (t) => {
      const server = await createStartedServer(t);
      const stop = await t.api('POST', `/server/${server.uuid}/stop`, { body: { stop_server: { stop_type: 'soft', timeout: '60' } } });
      assert.equal(stop.status, 200);
      assert.equal(stop.body.server.state, 'started');
      assert.equal((await t.api('POST', `/server/${server.uuid}/stop`)).status, 200);
      t.clock.advance(1999);
      assert.equal((await t.api('GET', `/server/${server.uuid}`)).body.server.state, 'started');
      t.clock.advance(1);
      const stopped = (await t.api('GET', `/server/${server.uuid}`)).body.server;
      assert.equal(stopped.state, 'stopped');
      assert.equal('host' in stopped, false);
      assertLegacyError(await t.api('POST', `/server/${server.uuid}/stop`), 409, 'SERVER_STATE_ILLEGAL');
      assertLegacyError(
        await t.api('POST', `/server/${server.uuid}/stop`, { body: { stop_server: { stop_type: 'gentle' } } }),
        400,
        'STOP_TYPE_INVALID',
      );
    }));

  test('start is refused unless stopped and then takes effect at once; restart passes through maintenance', () =>
    withUpCloud(async (t) => {
      const server = await createStartedServer(t);
      const early = await t.api('POST', `/server/${server.uuid}/start`);
      assertLegacyError(early, 409, 'SERVER_STATE_ILLEGAL');
      assert.match(early.body.error.error_message, /started/);

      await t.api('POST', `/server/${server.uuid}/stop`);
      t.clock.advance(DELAYS.stopDelayMs);
      assertLegacyError(await t.api('POST', `/server/${server.uuid}/restart`), 409, 'SERVER_STATE_ILLEGAL');
      const start = await t.api('POST', `/server/${server.uuid}/start`);
      assert.equal(start.status, 200);
      assert.equal(start.body.server.state, 'started');

      const restart = await t.api('POST', `/server/${server.uuid}/restart`, {
        body: { restart_server: { stop_type: 'soft', timeout: '60', timeout_action: 'destroy' } },
      });
      assert.equal(restart.status, 200);
      assert.equal(restart.body.server.state, 'maintenance');
      assert.equal('progress' in restart.body.server, false, 'only a build reports progress');
      t.clock.advance(DELAYS.restartDelayMs);
      assert.equal((await t.api('GET', `/server/${server.uuid}`)).body.server.state, 'started');
    }));

  test('a plan change is refused on a started server and applied through maintenance on a stopped one', () =>
    withUpCloud(async (t) => {
      const server = await createStartedServer(t);
      const refused = await t.api('PUT', `/server/${server.uuid}`, { body: { server: { plan: '2xCPU-4GB' } } });
      assertLegacyError(refused, 409, 'SERVER_STATE_ILLEGAL');
      assert.equal((await t.api('GET', `/server/${server.uuid}`)).body.server.plan, '1xCPU-1GB');

      const renamed = await t.api('PUT', `/server/${server.uuid}`, { body: { server: { title: 'renamed' } } });
      assert.equal(renamed.status, 202, 'a title changes on a running server');
      assert.equal(renamed.body.server.title, 'renamed');

      await t.api('POST', `/server/${server.uuid}/stop`);
      t.clock.advance(DELAYS.stopDelayMs);
      assertLegacyError(await t.api('PUT', `/server/${server.uuid}`, { body: { server: { plan: 'huge' } } }), 400, 'PLAN_INVALID');
      const resized = await t.api('PUT', `/server/${server.uuid}`, { body: { server: { plan: '2xCPU-4GB' } } });
      assert.equal(resized.status, 202);
      assert.equal(resized.body.server.plan, '2xCPU-4GB');
      assert.equal(resized.body.server.core_number, '2');
      assert.equal(resized.body.server.memory_amount, '4096');
      assert.equal(resized.body.server.state, 'maintenance');
      assertLegacyError(await t.api('POST', `/server/${server.uuid}/start`), 409, 'SERVER_STATE_ILLEGAL');
      t.clock.advance(DELAYS.modifyDelayMs);
      assert.equal((await t.api('GET', `/server/${server.uuid}`)).body.server.state, 'stopped');
    }));

  test('delete is refused on a started server; on a stopped one it is 204 and then 404', () =>
    withUpCloud(async (t) => {
      const server = await createStartedServer(t);
      assertLegacyError(await t.api('DELETE', `/server/${server.uuid}`), 409, 'SERVER_STATE_ILLEGAL');
      await t.api('POST', `/server/${server.uuid}/stop`);
      t.clock.advance(DELAYS.stopDelayMs);
      const res = await t.api('DELETE', `/server/${server.uuid}?storages=1&backups=delete`);
      assert.equal(res.status, 204);
      assert.equal(res.body, null);
      assertLegacyError(await t.api('GET', `/server/${server.uuid}`), 404, 'SERVER_NOT_FOUND');
      assertLegacyError(await t.api('DELETE', `/server/${server.uuid}`), 404, 'SERVER_NOT_FOUND');
      assert.deepEqual((await t.api('GET', '/storage/private')).body.storages.storage, [], 'storages=1 removes the disks');
    }));

  test('without storages=1 the disks outlive their server, detached', () =>
    withUpCloud(async (t) => {
      const server = await createStoppedServer(t);
      const diskUuid = server.storage_devices.storage_device[0].storage;
      assertLegacyError(await t.api('DELETE', `/server/${server.uuid}?backups=sometimes`), 400, 'BACKUP_DELETION_POLICY_INVALID');
      assert.equal((await t.api('DELETE', `/server/${server.uuid}`)).status, 204);
      const left = (await t.api('GET', '/storage/private')).body.storages.storage;
      assert.deepEqual(left.map((s: any) => s.uuid), [diskUuid]);
      assert.deepEqual((await t.api('GET', `/storage/${diskUuid}`)).body.storage.servers, { server: [] });
    }));
});

describe('UpCloud simulator: listing', () => {
  test('label filters match a key or key=value and repeated filters are ANDed', () =>
    withUpCloud(async (t) => {
      const label = (pairs: Array<[string, string]>) => ({ labels: { label: pairs.map(([key, value]) => ({ key, value })) } });
      const a = await createServer(t, { title: 'a', ...label([['env', 'prod'], ['team', 'x']]) });
      const b = await createServer(t, { title: 'b', ...label([['env', 'dev'], ['team', 'x']]) });
      await createServer(t, { title: 'c', ...label([['team', 'y']]) });
      const titles = async (query: string) => (await t.api('GET', `/server${query}`)).body.servers.server.map((s: any) => s.title);

      assert.deepEqual(await titles('?label=env'), ['a', 'b']);
      assert.deepEqual(await titles('?label=env=prod'), ['a']);
      assert.deepEqual(await titles('?label=env%3Ddev'), ['b'], 'an encoded = works as UpCloud clients send it');
      assert.deepEqual(await titles('?label=team=x&label=env=dev'), ['b']);
      assert.deepEqual(await titles('?label=team=y&label=env'), []);
      assert.deepEqual(await titles('?label=nothing'), []);
      assert.ok(a.uuid && b.uuid);
    }));

  test('limit and offset page through the list; out-of-range values are 400', () =>
    withUpCloud(async (t) => {
      const uuids: string[] = [];
      for (let i = 0; i < 5; i++) uuids.push((await createServer(t, { title: `s-${i}` })).uuid);
      const page = async (query: string) => (await t.api('GET', `/server${query}`)).body.servers.server.map((s: any) => s.uuid);
      assert.deepEqual(await page(''), uuids);
      assert.deepEqual(await page('?limit=2'), uuids.slice(0, 2));
      assert.deepEqual(await page('?limit=2&offset=2'), uuids.slice(2, 4));
      assert.deepEqual(await page('?limit=2&offset=4'), uuids.slice(4));
      assert.deepEqual(await page('?offset=9'), []);
      for (const bad of ['?limit=0', '?limit=101', '?limit=abc', '?offset=-1']) {
        assertLegacyError(await t.api('GET', `/server${bad}`), 400, 'REQUEST_INVALID');
      }
    }));

  test('the catalogue serves zones, plans, prices and templates', () =>
    withUpCloud(async (t) => {
      const zones = (await t.api('GET', '/zone')).body.zones.zone;
      for (const id of ['de-fra1', 'fi-hel1', 'fi-hel2', 'nl-ams1', 'sg-sin1', 'uk-lon1', 'us-chi1', 'us-nyc1', 'us-sjo1']) {
        const zone = zones.find((z: any) => z.id === id);
        assert.ok(zone, `zone ${id}`);
        assert.equal(zone.public, 'yes');
      }
      const plans = (await t.api('GET', '/plan')).body.plans.plan;
      const names = plans.map((p: any) => p.name);
      for (const name of ['1xCPU-1GB', '1xCPU-2GB', '2xCPU-4GB', '4xCPU-8GB', '6xCPU-16GB', '8xCPU-32GB', '12xCPU-48GB', '16xCPU-64GB', '20xCPU-96GB', '20xCPU-128GB']) {
        assert.ok(names.includes(name), `plan ${name}`);
      }
      assert.deepEqual(plans.find((p: any) => p.name === '2xCPU-4GB'), {
        core_number: 2,
        memory_amount: 4096,
        name: '2xCPU-4GB',
        public_traffic_out: 4096,
        storage_size: 80,
        storage_tier: 'maxiops',
      });
      const prices = (await t.api('GET', '/price')).body.prices.zone;
      const hel = prices.find((z: any) => z.name === 'fi-hel1');
      assert.equal(hel['server_plan_1xCPU-1GB'].amount, 1);
      assert.ok(hel['server_plan_1xCPU-1GB'].price > 0);

      const templates = (await t.api('GET', '/storage/template')).body.storages.storage;
      const ubuntu = templates.find((s: any) => s.uuid === UBUNTU_24);
      assert.match(ubuntu.title, /Ubuntu Server 24\.04/);
      assert.equal(ubuntu.type, 'template');
      assert.equal(ubuntu.template_type, 'cloud-init');
      assert.equal((await t.api('GET', `/storage/${UBUNTU_24}`)).body.storage.uuid, UBUNTU_24);
      assertLegacyError(await t.api('GET', '/storage/01000000-0000-4000-8000-999999999999'), 404, 'STORAGE_NOT_FOUND');
    }));
});

describe('UpCloud simulator: faults and injected failures', () => {
  test('injected statuses come in UpCloud shape, once; a 429 carries retry-after', () =>
    withUpCloud(async (t) => {
      t.sandbox.faults.add({ provider: 'upcloud', method: 'GET', path: '^/1.3/server$', kind: 'status', status: 503, count: 1 });
      assertLegacyError(await t.api('GET', '/server'), 503, 'SERVICE_ERROR');
      assert.equal((await t.api('GET', '/server')).status, 200, 'the one-shot fault is used up');

      t.sandbox.faults.add({ provider: 'upcloud', path: '^/1.3/zone$', kind: 'status', status: 429, retryAfterSec: 3, count: 1 });
      const limited = await t.api('GET', '/zone');
      assertLegacyError(limited, 429, 'TOO_MANY_REQUESTS');
      assert.equal(limited.headers.get('retry-after'), '3');

      t.sandbox.faults.add({ provider: 'digitalocean', kind: 'status', status: 500 });
      assert.equal((await t.api('GET', '/zone')).status, 200, 'a rule for another provider does not apply');
    }));

  test('with errorFormat "problem" every error is RFC 7807 problem+json', () =>
    withUpCloud(
      async (t) => {
        const res = await t.api('POST', '/server', { body: serverBody({ zone: undefined }) });
        assert.equal(res.status, 400);
        assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
        assert.equal(res.body.type, 'https://developers.upcloud.com/1.3/errors#ERROR_ZONE_MISSING');
        assert.equal(res.body.status, 400);
        assert.equal(typeof res.body.title, 'string');
        assert.match(res.body.correlation_id, /^[0-9a-f-]{36}$/);
        assert.deepEqual(res.body.invalid_params, [{ name: 'zone', reason: res.body.title }]);

        t.sandbox.faults.add({ provider: 'upcloud', kind: 'status', status: 502, count: 1 });
        const fault = await t.api('GET', '/server');
        assert.equal(fault.body.type, 'https://developers.upcloud.com/1.3/errors#ERROR_SERVICE_ERROR');
      },
      { errorFormat: 'problem' },
    ));

  test('failNextCreates: maintenance → error → stopped; stuckNextCreates stays in maintenance', () =>
    withUpCloud(async (t) => {
      t.sandbox.simulator('upcloud')!.configure({ failNextCreates: 1, stuckNextCreates: 1 });
      // The stuck rule is checked first, so the first create is stuck and the second fails.
      const stuck = await createServer(t, { title: 'stuck' });
      const doomed = await createServer(t, { title: 'doomed' });
      t.clock.advance(DELAYS.createDelayMs);
      assert.equal((await t.api('GET', `/server/${doomed.uuid}`)).body.server.state, 'error');
      t.clock.advance(DELAYS.errorDurationMs);
      assert.equal((await t.api('GET', `/server/${doomed.uuid}`)).body.server.state, 'stopped');
      t.clock.advance(3_600_000);
      const stillStuck = (await t.api('GET', `/server/${stuck.uuid}`)).body.server;
      assert.equal(stillStuck.state, 'maintenance');
      assert.equal(stillStuck.progress, '99');

      const healthy = await createStartedServer(t, { title: 'healthy' });
      assert.equal(healthy.state, 'started', 'the failure budget is spent');
    }));

  test('stuckNextStops: the stop is accepted but the server never stops', () =>
    withUpCloud(async (t) => {
      const server = await createStartedServer(t);
      const config = await fetch(`${t.sandbox.url}/_sandbox/upcloud/config`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ stuckNextStops: 1 }),
      });
      assert.equal(config.status, 200);
      assert.equal(((await config.json()) as any).stuckNextStops, 1);
      assert.equal((await t.api('POST', `/server/${server.uuid}/stop`)).status, 200);
      t.clock.advance(600_000);
      assert.equal((await t.api('GET', `/server/${server.uuid}`)).body.server.state, 'started');
      assert.throws(() => t.sandbox.simulator('upcloud')!.configure({ sparkle: 1 }), /unknown config field/);
    }));
});

describe('UpCloud simulator: snapshot and restore', () => {
  test('servers, pending transitions and detached disks survive a snapshot/restore round trip', async () => {
    let saved: unknown;
    let maintenanceUuid = '';
    let stoppedUuid = '';
    await withUpCloud(async (t) => {
      const revision = t.sandbox.simulator('upcloud')!.revision();
      maintenanceUuid = (await createServer(t, { title: 'building' })).uuid;
      const stopped = await createStoppedServer(t, { title: 'parked', labels: { label: [{ key: 'pe-op', value: 'op-9' }] } });
      stoppedUuid = stopped.uuid;
      const orphan = await createStoppedServer(t, { title: 'orphan' });
      await t.api('DELETE', `/server/${orphan.uuid}`);
      // createStoppedServer moved the clock past the first server's build; make a fresh one.
      maintenanceUuid = (await createServer(t, { title: 'building-2' })).uuid;
      assert.ok(t.sandbox.simulator('upcloud')!.revision() > revision);
      saved = JSON.parse(JSON.stringify(t.sandbox.snapshot()));
    });

    const section = (saved as any).upcloud;
    assert.equal(section.servers.length, 3);
    assert.equal(section.storages.length, 4, 'the orphan disk is kept');

    await withUpCloud(async (t) => {
      // Same start time as the first sandbox, so the saved build is still under way.
      t.sandbox.restore(saved);
      const titles = (await t.api('GET', '/server')).body.servers.server.map((s: any) => s.title);
      assert.deepEqual(titles.sort(), ['building', 'building-2', 'parked']);
      const parked = (await t.api('GET', `/server/${stoppedUuid}`)).body.server;
      assert.equal(parked.state, 'stopped');
      assert.deepEqual(parked.labels, { label: [{ key: 'pe-op', value: 'op-9' }] });
      assert.equal((await t.api('GET', '/server?label=pe-op=op-9')).body.servers.server.length, 1);

      const building = (await t.api('GET', `/server/${maintenanceUuid}`)).body.server;
      assert.equal(building.state, 'maintenance');
      t.clock.advance(DELAYS.createDelayMs * 10);
      assert.equal((await t.api('GET', `/server/${maintenanceUuid}`)).body.server.state, 'started', 'the pending transition still completes');

      // A restored sandbox hands out addresses nobody has yet.
      const fresh = await createServer(t, { title: 'fresh' });
      const used = section.servers.flatMap((s: any) => s.interfaces.flatMap((i: any) => i.addresses.map((a: any) => a.address)));
      for (const a of fresh.ip_addresses.ip_address) assert.ok(!used.includes(a.address), `${a.address} reused`);
    });
  });

  test('a malformed section is refused, naming the field, and leaves every provider empty', () =>
    withUpCloud(async (t) => {
      await createServer(t);
      const broken = JSON.parse(JSON.stringify(t.sandbox.snapshot()));
      broken.upcloud.servers[0].state = 'melting';
      assert.throws(() => t.sandbox.restore(broken), (err: unknown) => {
        assert.ok(err instanceof SnapshotFormatError);
        assert.match((err as Error).message, /upcloud\.servers\[0\]\.state must be one of maintenance, started, stopped, error/);
        return true;
      });
      assert.deepEqual((await t.api('GET', '/server')).body.servers.server, []);

      const dangling = JSON.parse(JSON.stringify({ version: 1, savedAt: '', upcloud: { addressCounter: 0, servers: [], storages: [] } }));
      dangling.upcloud.storages.push({ uuid: 'x', title: 't', sizeGb: 10, tier: 'maxiops', zone: 'fi-hel1', origin: null, createdAtMs: 0, serverUuid: 'nope' });
      assert.throws(() => t.sandbox.restore(dangling), /upcloud\.storages\[0\]\.serverUuid names server nope/);
    }));
});
