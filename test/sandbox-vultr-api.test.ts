import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../src/sandbox/clock.js';
import { type Sandbox, SnapshotFormatError, startSandbox } from '../src/sandbox/server.js';
import type { VultrSettings, VultrSimulator } from '../src/sandbox/vultr/simulator.js';
import { type CallInit, type CallResult, call } from './sandbox-helpers.js';

const TOKEN = 'sandbox-vultr-key-0123456789';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ACTIVE_DELAY_MS = 2000;
const BOOT_DELAY_MS = 1000;
const ACTION_DELAY_MS = 1000;
const RESIZE_DELAY_MS = 2000;

const VALID_INSTANCE = { region: 'ewr', plan: 'vc2-1c-1gb', os_id: 2284, label: 'web-1' } as const;

interface VultrTest {
  sandbox: Sandbox;
  clock: ManualClock;
  vultr: VultrSimulator;
  /** Calls the simulated Vultr API (paths relative to its /v2 base) with the sandbox token. */
  api: (method: string, path: string, init?: CallInit) => Promise<CallResult>;
  admin: (method: string, path: string, init?: CallInit) => Promise<CallResult>;
}

/** A sandbox on a manual clock with rate limiting off unless the test asks for it; always closed. */
async function withVultr(fn: (t: VultrTest) => Promise<void>, settings: VultrSettings = {}): Promise<void> {
  const clock = new ManualClock();
  const sandbox = await startSandbox({
    token: TOKEN,
    clock,
    vultr: {
      activeDelayMs: ACTIVE_DELAY_MS,
      bootDelayMs: BOOT_DELAY_MS,
      actionDelayMs: ACTION_DELAY_MS,
      resizeDelayMs: RESIZE_DELAY_MS,
      rateLimit: false,
      ...settings,
    },
  });
  try {
    const base = sandbox.baseUrls.vultr;
    assert.ok(base, 'the sandbox serves vultr');
    await fn({
      sandbox,
      clock,
      vultr: sandbox.simulator('vultr') as unknown as VultrSimulator,
      api: (method, path, init) => call(`${base}${path}`, method, TOKEN, init),
      admin: (method, path, init) => call(`${sandbox.url}/_sandbox${path}`, method, TOKEN, init),
    });
  } finally {
    await sandbox.close();
  }
}

function assertVultrError(res: CallResult, status: number, message?: string | RegExp): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.deepEqual(Object.keys(res.body).sort(), ['error', 'status']);
  assert.equal(res.body.status, status);
  assert.equal(typeof res.body.error, 'string');
  if (typeof message === 'string') assert.equal(res.body.error, message);
  else if (message !== undefined) assert.match(res.body.error, message);
}

async function create(t: VultrTest, overrides: Record<string, unknown> = {}): Promise<any> {
  const res = await t.api('POST', '/instances', { body: { ...VALID_INSTANCE, ...overrides } });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  return res.body.instance;
}

/** Creates an instance and moves the clock until it is active, running and ok. */
async function createReady(t: VultrTest, overrides: Record<string, unknown> = {}): Promise<any> {
  const created = await create(t, overrides);
  t.clock.advance(ACTIVE_DELAY_MS + BOOT_DELAY_MS);
  return (await t.api('GET', `/instances/${created.id}`)).body.instance;
}

function triple(instance: any): [string, string, string] {
  return [instance.status, instance.power_status, instance.server_status];
}

describe('Vultr simulator: mounting and auth', () => {
  test('it is mounted at /vultr/v2 and refuses a missing or wrong API key with Vultr\'s exact body', () =>
    withVultr(async (t) => {
      assert.equal(t.sandbox.baseUrls.vultr, `${t.sandbox.url}/vultr/v2`);
      for (const token of [null, 'not-the-key']) {
        const res = await t.api('GET', '/instances', { token });
        assert.equal(res.status, 401);
        assert.deepEqual(res.body, { error: 'Invalid API token.', status: 401 });
        assert.equal(res.headers.get('ratelimit-limit'), null, 'Vultr sends no rate-limit headers');
      }
      const lower = await fetch(`${t.sandbox.baseUrls.vultr}/account`, { headers: { authorization: `bearer ${TOKEN}` } });
      assert.equal(lower.status, 200);
      assert.equal(((await lower.json()) as any).account.name, 'Sandbox');
    }));

  test('unknown routes and unknown instance ids are Vultr-shaped 404s; bad JSON is a 400', () =>
    withVultr(async (t) => {
      assertVultrError(await t.api('GET', '/floating_unicorns'), 404);
      assertVultrError(await t.api('GET', '/instances/00000000-0000-0000-0000-000000000000'), 404, 'Invalid instance-id.');
      assertVultrError(await t.api('POST', '/instances', { rawBody: '{"region": ' }), 400, 'Bad request.');
    }));
});

describe('Vultr simulator: create and the status triple', () => {
  test('create answers 202 with a pending instance and its default_password, which no later read repeats', () =>
    withVultr(async (t) => {
      const userData = Buffer.from('#cloud-config\npackages: [nginx]\n').toString('base64');
      const res = await t.api('POST', '/instances', {
        body: { ...VALID_INSTANCE, hostname: 'web-1.example.com', tags: ['web', 'pe-op:123'], user_data: userData, enable_ipv6: true },
      });
      assert.equal(res.status, 202);
      assert.deepEqual(Object.keys(res.body), ['instance']);
      const instance = res.body.instance;
      assert.match(instance.id, UUID);
      assert.deepEqual(triple(instance), ['pending', 'running', 'none']);
      assert.equal(instance.main_ip, '0.0.0.0');
      assert.equal(instance.gateway_v4, '0.0.0.0');
      assert.equal(instance.v6_main_ip, '');
      assert.equal(instance.kvm, '');
      assert.equal(instance.plan, 'vc2-1c-1gb');
      assert.equal(instance.region, 'ewr');
      assert.equal(instance.os_id, 2284);
      assert.equal(instance.os, 'Ubuntu 24.04 LTS x64');
      assert.equal(instance.ram, 1024);
      assert.equal(instance.vcpu_count, 1);
      assert.equal(instance.disk, 25);
      assert.equal(instance.label, 'web-1');
      assert.equal(instance.hostname, 'web-1.example.com');
      assert.deepEqual(instance.tags, ['web', 'pe-op:123']);
      assert.ok(instance.features.includes('ipv6'));
      assert.match(instance.date_created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/);
      assert.equal(typeof instance.default_password, 'string');
      assert.ok(instance.default_password.length >= 12);

      const again = await t.api('GET', `/instances/${instance.id}`);
      assert.equal(again.status, 200);
      assert.equal('default_password' in again.body.instance, false);
      const listed = await t.api('GET', '/instances');
      assert.equal('default_password' in listed.body.instances[0], false);

      const stored = await t.api('GET', `/instances/${instance.id}/user-data`);
      assert.deepEqual(stored.body, { user_data: { data: userData } });
    }));

  test('pending → active/installingbooting with a main_ip → active/running/ok, over the manual clock', () =>
    withVultr(async (t) => {
      const { id } = await create(t, { enable_ipv6: true });
      const read = async () => (await t.api('GET', `/instances/${id}`)).body.instance;

      t.clock.advance(ACTIVE_DELAY_MS - 1);
      const early = await read();
      assert.deepEqual(triple(early), ['pending', 'running', 'none']);
      assert.equal(early.main_ip, '0.0.0.0');

      t.clock.advance(1);
      const booting = await read();
      assert.deepEqual(triple(booting), ['active', 'running', 'installingbooting']);
      assert.match(booting.main_ip, /^\d+\.\d+\.\d+\.\d+$/);
      assert.notEqual(booting.main_ip, '0.0.0.0');
      assert.match(booting.gateway_v4, /\.1$/);
      assert.equal(booting.netmask_v4, '255.255.255.0');
      assert.match(booting.v6_main_ip, /^2001:db8:/);
      assert.equal(booting.v6_network_size, 64);

      t.clock.advance(BOOT_DELAY_MS);
      const ready = await read();
      assert.deepEqual(triple(ready), ['active', 'running', 'ok']);
      assert.equal(ready.main_ip, booting.main_ip);

      // The console URL in `kvm` opens a page, and only with its secret.
      const kvm = new URL(ready.kvm);
      const page = await fetch(kvm);
      assert.equal(page.status, 200);
      assert.match(await page.text(), new RegExp(id));
      kvm.searchParams.set('data', 'guessed');
      assert.equal((await fetch(kvm)).status, 404);
    }));

  test('every instance gets its own address', () =>
    withVultr(async (t) => {
      const a = await createReady(t, { label: 'a' });
      const b = await createReady(t, { label: 'b' });
      assert.notEqual(a.id, b.id);
      assert.notEqual(a.main_ip, b.main_ip);
    }));
});

describe('Vultr simulator: validation', () => {
  const cases: Array<[string, Record<string, unknown>, string | RegExp]> = [
    ['no region', { region: undefined }, 'Bad request.'],
    ['an unknown region', { region: 'mars' }, 'Invalid region chosen.'],
    ['no plan', { plan: undefined }, 'Invalid plan chosen.'],
    ['an unknown plan', { plan: 'vc2-99c-1tb' }, 'Invalid plan chosen.'],
    ['a plan the region does not offer', { region: 'blr', plan: 'vhf-8c-32gb' }, 'Plan is not available in the selected region.'],
    ['no boot source', { os_id: undefined }, /exactly one of os_id, iso_id, snapshot_id, app_id, image_id/],
    ['two boot sources', { snapshot_id: 'a1b2c3' }, /exactly one of/],
    ['an unknown os_id', { os_id: 999999 }, 'Invalid os_id.'],
    ['an os_id that is not a number', { os_id: 'ubuntu' }, 'Invalid os_id.'],
    ['a snapshot the account does not have', { os_id: undefined, snapshot_id: 'a1b2c3' }, 'Invalid snapshot_id.'],
    ['user_data that is not base64', { user_data: '#cloud-config\nruncmd: []' }, /user_data.*base64/],
    ['user_data that is not a string', { user_data: 42 }, /user_data.*base64/],
    ['tags that are not a list', { tags: 'web' }, /tags/],
    ['an invalid hostname', { hostname: 'no spaces allowed' }, 'Invalid hostname.'],
  ];
  for (const [what, override, message] of cases) {
    test(`a create with ${what} is a 400`, () =>
      withVultr(async (t) => {
        const body: Record<string, unknown> = { ...VALID_INSTANCE, ...override };
        for (const key of Object.keys(body)) if (body[key] === undefined) delete body[key];
        assertVultrError(await t.api('POST', '/instances', { body }), 400, message);
        assert.equal((await t.api('GET', '/instances')).body.meta.total, 0, 'a refused create leaves nothing behind');
      }));
  }

  test('the deprecated singular `tag` is still honoured and a label doubles as the hostname', () =>
    withVultr(async (t) => {
      const instance = await create(t, { label: 'db-2', tag: 'legacy', tags: ['new'] });
      assert.deepEqual(instance.tags, ['new', 'legacy']);
      assert.equal(instance.hostname, 'db-2');
    }));
});

describe('Vultr simulator: power', () => {
  test('halt, start and reboot answer 204, lock the instance while they run, then settle', () =>
    withVultr(async (t) => {
      const { id } = await createReady(t);
      const read = async () => (await t.api('GET', `/instances/${id}`)).body.instance;

      const halt = await t.api('POST', `/instances/${id}/halt`);
      assert.equal(halt.status, 204);
      assert.equal(halt.body, null);
      assert.deepEqual(triple(await read()), ['active', 'running', 'locked']);
      assertVultrError(await t.api('POST', `/instances/${id}/reboot`), 400, 'Server is currently locked');
      t.clock.advance(ACTION_DELAY_MS);
      assert.deepEqual(triple(await read()), ['active', 'stopped', 'ok']);

      // Halting a halted instance is accepted and changes nothing.
      assert.equal((await t.api('POST', `/instances/${id}/halt`)).status, 204);
      assert.deepEqual(triple(await read()), ['active', 'stopped', 'ok']);

      assert.equal((await t.api('POST', `/instances/${id}/start`)).status, 204);
      assert.deepEqual(triple(await read()), ['active', 'stopped', 'locked']);
      t.clock.advance(ACTION_DELAY_MS);
      assert.deepEqual(triple(await read()), ['active', 'running', 'ok']);

      assert.equal((await t.api('POST', `/instances/${id}/reboot`)).status, 204);
      assert.deepEqual(triple(await read()), ['active', 'running', 'locked']);
      t.clock.advance(ACTION_DELAY_MS);
      assert.deepEqual(triple(await read()), ['active', 'running', 'ok']);
    }));

  test('an instance that is still provisioning is locked', () =>
    withVultr(async (t) => {
      const { id } = await create(t);
      assertVultrError(await t.api('POST', `/instances/${id}/halt`), 400, 'Server is currently locked');
      t.clock.advance(ACTIVE_DELAY_MS);
      assertVultrError(await t.api('POST', `/instances/${id}/halt`), 400, 'Server is currently locked');
      assertVultrError(await t.api('POST', '/instances/00000000-0000-0000-0000-000000000000/halt'), 404, 'Invalid instance-id.');
    }));

  test('bulk halt applies to every listed instance, or to none when one id is unknown', () =>
    withVultr(async (t) => {
      const a = await createReady(t, { label: 'a' });
      const b = await createReady(t, { label: 'b' });
      const unknown = await t.api('POST', '/instances/halt', {
        body: { instance_ids: [a.id, '00000000-0000-0000-0000-000000000000'] },
      });
      assertVultrError(unknown, 404, 'Invalid instance-id.');
      assertVultrError(await t.api('POST', '/instances/halt', { body: { instance_ids: [] } }), 400, /instance_ids/);
      assert.equal((await t.api('GET', `/instances/${a.id}`)).body.instance.server_status, 'ok');

      assert.equal((await t.api('POST', '/instances/halt', { body: { instance_ids: [a.id, b.id] } })).status, 204);
      t.clock.advance(ACTION_DELAY_MS);
      for (const id of [a.id, b.id]) {
        assert.equal((await t.api('GET', `/instances/${id}`)).body.instance.power_status, 'stopped');
      }
      assert.equal((await t.api('POST', '/instances/start', { body: { instance_ids: [a.id, b.id] } })).status, 204);
      t.clock.advance(ACTION_DELAY_MS);
      assert.equal((await t.api('GET', `/instances/${b.id}`)).body.instance.power_status, 'running');
    }));
});

describe('Vultr simulator: plan changes', () => {
  test('PATCH plan answers 202, shows `resizing`, then the new plan; downgrades are refused', () =>
    withVultr(async (t) => {
      const { id } = await createReady(t);
      const upgrades = await t.api('GET', `/instances/${id}/upgrades`);
      assert.equal(upgrades.status, 200);
      assert.ok(upgrades.body.upgrades.plans.includes('vc2-2c-4gb'));
      assert.ok(!upgrades.body.upgrades.plans.includes('vc2-1c-1gb'));

      const res = await t.api('PATCH', `/instances/${id}`, { body: { plan: 'vc2-2c-4gb' } });
      assert.equal(res.status, 202);
      assert.equal(res.body.instance.status, 'resizing');
      assert.equal(res.body.instance.plan, 'vc2-1c-1gb', 'the plan changes when the resize is done');
      assertVultrError(await t.api('POST', `/instances/${id}/halt`), 400, 'Server is currently locked');

      t.clock.advance(RESIZE_DELAY_MS);
      const resized = (await t.api('GET', `/instances/${id}`)).body.instance;
      assert.deepEqual(triple(resized), ['active', 'running', 'ok']);
      assert.equal(resized.plan, 'vc2-2c-4gb');
      assert.equal(resized.ram, 4096);
      assert.equal(resized.vcpu_count, 2);
      assert.equal(resized.disk, 80);

      assertVultrError(await t.api('PATCH', `/instances/${id}`, { body: { plan: 'vc2-1c-2gb' } }), 400, /^Invalid plan chosen\./);
      assertVultrError(await t.api('PATCH', `/instances/${id}`, { body: { plan: 'huge' } }), 400, 'Invalid plan chosen.');
      assert.equal((await t.api('GET', `/instances/${id}`)).body.instance.plan, 'vc2-2c-4gb');
    }));

  test('a halted instance can change plan and stays halted; label and tags change at once', () =>
    withVultr(async (t) => {
      const { id } = await createReady(t);
      await t.api('POST', `/instances/${id}/halt`);
      t.clock.advance(ACTION_DELAY_MS);
      const res = await t.api('PATCH', `/instances/${id}`, { body: { plan: 'vc2-1c-2gb', label: 'renamed', tags: ['x'] } });
      assert.equal(res.status, 202);
      assert.equal(res.body.instance.label, 'renamed');
      assert.deepEqual(res.body.instance.tags, ['x']);
      t.clock.advance(RESIZE_DELAY_MS);
      const after = (await t.api('GET', `/instances/${id}`)).body.instance;
      assert.equal(after.plan, 'vc2-1c-2gb');
      assert.equal(after.power_status, 'stopped');
    }));
});

describe('Vultr simulator: delete', () => {
  test('delete answers 204 with no body, then the instance is 404', () =>
    withVultr(async (t) => {
      const { id } = await createReady(t);
      const res = await t.api('DELETE', `/instances/${id}`);
      assert.equal(res.status, 204);
      assert.equal(res.body, null);
      assertVultrError(await t.api('GET', `/instances/${id}`), 404, 'Invalid instance-id.');
      assertVultrError(await t.api('DELETE', `/instances/${id}`), 404, 'Invalid instance-id.');
      assert.equal((await t.api('GET', '/instances')).body.meta.total, 0);
    }));
});

describe('Vultr simulator: listing', () => {
  test('cursor pagination walks past the first page with meta.links and the full total', () =>
    withVultr(async (t) => {
      const ids: string[] = [];
      for (let i = 1; i <= 7; i++) ids.push((await create(t, { label: `node-${i}` })).id);

      const first = await t.api('GET', '/instances?per_page=3');
      assert.deepEqual(first.body.instances.map((i: any) => i.id), ids.slice(0, 3));
      assert.equal(first.body.meta.total, 7);
      assert.equal(first.body.meta.links.prev, '');
      assert.notEqual(first.body.meta.links.next, '');

      const second = await t.api('GET', `/instances?per_page=3&cursor=${encodeURIComponent(first.body.meta.links.next)}`);
      assert.deepEqual(second.body.instances.map((i: any) => i.id), ids.slice(3, 6));
      assert.notEqual(second.body.meta.links.prev, '');
      const back = await t.api('GET', `/instances?per_page=3&cursor=${encodeURIComponent(second.body.meta.links.prev)}`);
      assert.deepEqual(back.body.instances.map((i: any) => i.id), ids.slice(0, 3));

      // A client that follows `next` until it is empty (as govultr does) sees every instance once.
      const seen: string[] = [];
      let cursor = '';
      for (let pages = 0; pages < 10; pages++) {
        const query = cursor === '' ? '?per_page=3' : `?per_page=3&cursor=${encodeURIComponent(cursor)}`;
        const page = await t.api('GET', `/instances${query}`);
        seen.push(...page.body.instances.map((i: any) => i.id));
        cursor = page.body.meta.links.next;
        if (cursor === '') break;
      }
      assert.deepEqual(seen, ids);

      assertVultrError(await t.api('GET', '/instances?cursor=not-a-cursor'), 400, 'Invalid cursor.');
    }));

  test('per_page defaults to 100 and is capped at 500', () =>
    withVultr(async (t) => {
      for (let i = 0; i < 105; i++) await create(t, { label: `bulk-${i}` });
      const page = await t.api('GET', '/instances');
      assert.equal(page.body.instances.length, 100);
      assert.equal(page.body.meta.total, 105);
      const capped = await t.api('GET', '/instances?per_page=100000');
      assert.equal(capped.body.instances.length, 105);
      assert.deepEqual(capped.body.meta.links, { next: '', prev: '' });
    }));

  test('tag, label, region and main_ip filter the list; meta.total counts the matches', () =>
    withVultr(async (t) => {
      const a = await create(t, { label: 'alpha', tags: ['blue'] });
      await create(t, { label: 'alpha-2', tags: ['blue', 'green'], region: 'fra' });
      await create(t, { label: 'beta', tags: ['green'], region: 'fra' });

      const blue = await t.api('GET', '/instances?tag=blue');
      assert.deepEqual(blue.body.instances.map((i: any) => i.label), ['alpha', 'alpha-2']);
      assert.equal(blue.body.meta.total, 2);
      const byLabel = await t.api('GET', '/instances?label=alpha');
      assert.deepEqual(byLabel.body.instances.map((i: any) => i.label), ['alpha']);
      const inFra = await t.api('GET', '/instances?region=fra&tag=green');
      assert.deepEqual(inFra.body.instances.map((i: any) => i.label), ['alpha-2', 'beta']);
      assert.equal((await t.api('GET', '/instances?tag=red')).body.meta.total, 0);

      t.clock.advance(ACTIVE_DELAY_MS);
      const ip = (await t.api('GET', `/instances/${a.id}`)).body.instance.main_ip;
      const byIp = await t.api('GET', `/instances?main_ip=${ip}`);
      assert.deepEqual(byIp.body.instances.map((i: any) => i.id), [a.id]);
    }));

  test('the catalogue serves regions, plans with prices and locations, and operating systems', () =>
    withVultr(async (t) => {
      const regions = await t.api('GET', '/regions');
      const regionIds = regions.body.regions.map((r: any) => r.id);
      for (const id of ['ewr', 'ord', 'dfw', 'lax', 'sea', 'atl', 'mia', 'sjc', 'ams', 'fra', 'lhr', 'cdg', 'sgp', 'nrt', 'syd', 'icn', 'blr']) {
        assert.ok(regionIds.includes(id), `region ${id}`);
      }
      assert.equal(regions.body.meta.total, regionIds.length);
      assert.equal(regions.body.regions.find((r: any) => r.id === 'ewr').city, 'New Jersey');

      const plans = await t.api('GET', '/plans');
      const byId = new Map<string, any>(plans.body.plans.map((p: any) => [p.id, p]));
      for (const id of ['vc2-1c-1gb', 'vc2-1c-2gb', 'vc2-2c-4gb', 'vc2-16c-64gb', 'vhf-8c-32gb']) {
        const plan = byId.get(id);
        assert.ok(plan, `plan ${id}`);
        assert.ok(plan.monthly_cost > 0 && plan.hourly_cost > 0 && plan.vcpu_count > 0 && plan.ram > 0 && plan.disk > 0);
        assert.ok(Array.isArray(plan.locations) && plan.locations.length > 0);
      }
      assert.equal(byId.get('vc2-16c-64gb').monthly_cost, 320);
      assert.equal(byId.get('vhf-8c-32gb').monthly_cost, 192);
      assert.ok(!byId.get('vhf-8c-32gb').locations.includes('blr'));
      const vhf = await t.api('GET', '/plans?type=vhf');
      assert.ok(vhf.body.plans.every((p: any) => p.type === 'vhf'));

      const os = await t.api('GET', '/os');
      const names = new Map(os.body.os.map((o: any) => [o.id, o.name]));
      assert.equal(names.get(1743), 'Ubuntu 22.04 LTS x64');
      assert.equal(names.get(2284), 'Ubuntu 24.04 LTS x64');
      assert.match(String(names.get(2136)), /^Debian 12 x64/);
    }));
});

describe('Vultr simulator: rate limit', () => {
  test('by default the 31st request within a second from one IP is a 429 with no headers', () =>
    withVultr(
      async (t) => {
        assert.deepEqual(t.vultr.config().rateLimit, { perSecond: 30 });
        for (let i = 0; i < 29; i++) assert.equal((await t.api('GET', '/regions')).status, 200);
        // Unauthenticated requests come from the same IP and count as well.
        assert.equal((await t.api('GET', '/regions', { token: null })).status, 401);
        const limited = await t.api('GET', '/regions');
        assert.equal(limited.status, 429);
        assert.deepEqual(limited.body, { error: 'Rate limit reached - please try your request again later.', status: 429 });
        assert.equal(limited.headers.get('retry-after'), null);
        assert.equal(limited.headers.get('ratelimit-remaining'), null);

        t.clock.advance(999);
        assert.equal((await t.api('GET', '/regions')).status, 429);
        t.clock.advance(1);
        assert.equal((await t.api('GET', '/regions')).status, 200);
      },
      { rateLimit: undefined },
    ));

  test('the limit can be changed and switched off at run time', () =>
    withVultr(
      async (t) => {
        for (let i = 0; i < 5; i++) assert.equal((await t.api('GET', '/os')).status, 200);
        assert.equal((await t.api('GET', '/os')).status, 429);

        // The admin API sits outside the limiter.
        const changed = await t.admin('POST', '/vultr/config', { body: { rateLimit: { perSecond: 8 } } });
        assert.equal(changed.status, 200);
        assert.deepEqual(changed.body.rateLimit, { perSecond: 8 });
        for (let i = 0; i < 3; i++) assert.equal((await t.api('GET', '/os')).status, 200);
        assert.equal((await t.api('GET', '/os')).status, 429);

        await t.admin('POST', '/vultr/config', { body: { rateLimit: false } });
        for (let i = 0; i < 40; i++) assert.equal((await t.api('GET', '/os')).status, 200);

        assert.equal((await t.admin('POST', '/vultr/config', { body: { rateLimit: { perSecond: 0 } } })).status, 400);
        assert.equal((await t.admin('POST', '/vultr/config', { body: { warpSpeed: 9 } })).status, 400);
      },
      { rateLimit: { perSecond: 5 } },
    ));
});

describe('Vultr simulator: faults and injected failures', () => {
  test('an injected status answers in Vultr\'s shape for matching requests only, as many times as asked', () =>
    withVultr(async (t) => {
      const added = await t.admin('POST', '/faults', {
        body: { provider: 'vultr', method: 'GET', path: '^/v2/instances$', kind: 'status', status: 503, count: 2 },
      });
      assert.equal(added.status, 201);
      assertVultrError(await t.api('GET', '/instances'), 503, 'Service temporarily unavailable.');
      assert.equal((await t.api('GET', '/regions')).status, 200, 'other paths are untouched');
      assertVultrError(await t.api('GET', '/instances'), 503);
      assert.equal((await t.api('GET', '/instances')).status, 200, 'the rule is used up');

      // A rule for another provider never touches Vultr.
      t.sandbox.faults.add({ provider: 'digitalocean', kind: 'status', status: 500 });
      assert.equal((await t.api('GET', '/instances')).status, 200);
    }));

  test('a stalled create stays pending; a suspended one ends `suspended`; a stalled action keeps the lock', () =>
    withVultr(async (t) => {
      const config = await t.admin('POST', '/vultr/config', { body: { stallNextCreates: 1, suspendNextCreates: 1 } });
      assert.equal(config.status, 200);
      assert.equal(config.body.stallNextCreates, 1);

      const stuck = await create(t, { label: 'stuck' });
      const suspended = await create(t, { label: 'suspended' });
      const healthy = await create(t, { label: 'healthy' });
      t.clock.advance(60 * 60 * 1000);
      const read = async (id: string) => (await t.api('GET', `/instances/${id}`)).body.instance;
      const stuckNow = await read(stuck.id);
      assert.deepEqual(triple(stuckNow), ['pending', 'running', 'none']);
      assert.equal(stuckNow.main_ip, '0.0.0.0');
      assert.equal((await read(suspended.id)).status, 'suspended');
      assert.deepEqual(triple(await read(healthy.id)), ['active', 'running', 'ok']);

      t.vultr.configure({ stallNextActions: 1 });
      assert.equal((await t.api('POST', `/instances/${healthy.id}/halt`)).status, 204);
      t.clock.advance(60 * 60 * 1000);
      assert.deepEqual(triple(await read(healthy.id)), ['active', 'running', 'locked']);
    }));
});

describe('Vultr simulator: snapshot and restore', () => {
  test('instances in every state survive a snapshot round trip and carry on where they were', () =>
    withVultr(async (t) => {
      const running = await createReady(t, { label: 'running', tags: ['keep'], enable_ipv6: true });
      const halting = await createReady(t, { label: 'halting' });
      await t.api('POST', `/instances/${halting.id}/halt`);
      const pending = await create(t, { label: 'pending', user_data: Buffer.from('hi').toString('base64') });

      const state = JSON.parse(JSON.stringify(t.sandbox.snapshot()));
      assert.equal(state.vultr.instances.length, 3);
      assert.equal(JSON.stringify(state.vultr).includes('default_password'), false);
      const before = (await t.api('GET', '/instances')).body.instances;

      // A second sandbox at the same moment, restored from the first one's state.
      const clock = new ManualClock(t.clock.now());
      const other = await startSandbox({ token: TOKEN, clock, vultr: { rateLimit: false } });
      try {
        const api = (method: string, path: string) => call(`${other.baseUrls.vultr}${path}`, method, TOKEN);
        other.restore(state);
        assert.deepEqual((await api('GET', '/instances')).body.instances.map(withoutKvmHost), before.map(withoutKvmHost));
        const restoredRunning = (await api('GET', `/instances/${running.id}`)).body.instance;
        assert.equal(restoredRunning.main_ip, running.main_ip);
        assert.deepEqual(restoredRunning.tags, ['keep']);

        clock.advance(ACTIVE_DELAY_MS + BOOT_DELAY_MS);
        assert.deepEqual(triple((await api('GET', `/instances/${pending.id}`)).body.instance), ['active', 'running', 'ok']);
        assert.equal((await api('GET', `/instances/${halting.id}`)).body.instance.power_status, 'stopped');
        assert.deepEqual((await api('GET', `/instances/${pending.id}/user-data`)).body.user_data.data, Buffer.from('hi').toString('base64'));

        // A malformed section is refused, names the field and leaves the sandbox empty rather than half restored.
        const broken = structuredClone(state);
        broken.vultr.instances[1].powerStatus = 'exploded';
        assert.throws(() => other.restore(broken), (err: unknown) => {
          assert.ok(err instanceof SnapshotFormatError);
          assert.match(err.message, /vultr\.instances\[1\]\.powerStatus must be one of running, stopped/);
          return true;
        });
        assert.equal((await api('GET', '/instances')).body.meta.total, 0);
      } finally {
        await other.close();
      }
    }));
});

/** Console URLs name the sandbox they were read from; everything else must match exactly. */
function withoutKvmHost(instance: any): any {
  return { ...instance, kvm: instance.kvm === '' ? '' : new URL(instance.kvm).pathname + new URL(instance.kvm).search };
}
