import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { VALID_DROPLET, createActiveDroplet, withSandbox } from './sandbox-helpers.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function assertDoError(res: { status: number; headers: Headers; body: any }, status: number, id: string): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.deepEqual(Object.keys(res.body).sort(), ['id', 'message', 'request_id']);
  assert.equal(res.body.id, id);
  assert.equal(typeof res.body.message, 'string');
  assert.match(res.body.request_id, UUID);
  assert.equal(res.headers.get('x-request-id'), res.body.request_id);
}

describe('DigitalOcean simulator: auth', () => {
  test('a missing token gets 401 in DO shape, still with rate-limit headers', () =>
    withSandbox(async (t) => {
      const res = await t.doApi('GET', '/droplets', { token: null });
      assertDoError(res, 401, 'unauthorized');
      assert.equal(res.body.message, 'Unable to authenticate you');
      assert.equal(res.headers.get('ratelimit-limit'), '5000');
      assert.equal(res.headers.get('ratelimit-remaining'), '4999');
      assert.equal(Number(res.headers.get('ratelimit-reset')), Math.ceil((t.clock.now() + 3_600_000) / 1000));
      assert.match(res.headers.get('content-type') ?? '', /^application\/json; charset=utf-8$/);
    }));

  test('a wrong token gets 401; the right one works with any capitalisation of Bearer', () =>
    withSandbox(async (t) => {
      assertDoError(await t.doApi('GET', '/account', { token: 'nope' }), 401, 'unauthorized');
      const res = await fetch(`${t.sandbox.digitaloceanBaseUrl}/account`, {
        headers: { authorization: `bearer ${t.sandbox.token}` },
      });
      assert.equal(res.status, 200);
      const body = (await res.json()) as any;
      assert.equal(body.account.status, 'active');
      assert.equal(typeof body.account.droplet_limit, 'number');
    }));
});

describe('DigitalOcean simulator: create and state transitions', () => {
  test('create answers 202 with a new droplet, then becomes active with networks after the delay', () =>
    withSandbox(async (t) => {
      const created = await t.doApi('POST', '/droplets', {
        body: { ...VALID_DROPLET, tags: ['web', 'pe-op:123'], ipv6: true },
      });
      assert.equal(created.status, 202);
      const droplet = created.body.droplet;
      assert.equal(typeof droplet.id, 'number');
      assert.equal(droplet.name, 'web-1');
      assert.equal(droplet.status, 'new');
      assert.equal(droplet.locked, false);
      assert.deepEqual(droplet.networks, { v4: [], v6: [] });
      assert.equal(droplet.size_slug, 's-1vcpu-1gb');
      assert.equal(droplet.memory, 1024);
      assert.equal(droplet.vcpus, 1);
      assert.equal(droplet.disk, 25);
      assert.equal(droplet.size.price_monthly, 6);
      assert.equal(droplet.image.slug, 'ubuntu-24-04-x64');
      assert.equal(droplet.region.slug, 'nyc3');
      assert.deepEqual(droplet.tags, ['web', 'pe-op:123']);
      assert.match(droplet.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.match(droplet.vpc_uuid, UUID);
      assert.ok(droplet.features.includes('ipv6'));

      const [link, ...more] = created.body.links.actions;
      assert.equal(more.length, 0);
      assert.equal(link.rel, 'create');
      assert.equal(link.href, `${t.sandbox.digitaloceanBaseUrl}/actions/${link.id}`);

      const action = await t.doApi('GET', `/actions/${link.id}`);
      assert.equal(action.body.action.status, 'in-progress');
      assert.equal(action.body.action.type, 'create');
      assert.equal(action.body.action.completed_at, null);
      assert.equal(action.body.action.resource_id, droplet.id);

      t.clock.advance(2999);
      const early = await t.doApi('GET', `/droplets/${droplet.id}`);
      assert.equal(early.body.droplet.status, 'new');
      assert.deepEqual(early.body.droplet.networks.v4, []);

      t.clock.advance(1);
      const ready = await t.doApi('GET', `/droplets/${droplet.id}`);
      assert.equal(ready.status, 200);
      assert.equal(ready.body.droplet.status, 'active');
      const v4 = ready.body.droplet.networks.v4;
      const pub = v4.find((n: any) => n.type === 'public');
      const priv = v4.find((n: any) => n.type === 'private');
      assert.match(pub.ip_address, /^\d+\.\d+\.\d+\.\d+$/);
      assert.match(pub.gateway, /^\d+\.\d+\.\d+\.1$/);
      assert.equal(pub.netmask, '255.255.255.0');
      assert.match(priv.ip_address, /^10\./);
      assert.equal('gateway' in priv, false);
      assert.equal(ready.body.droplet.networks.v6.length, 1);
      assert.equal(ready.body.droplet.networks.v6[0].netmask, 64);

      const done = await t.doApi('GET', `/actions/${link.id}`);
      assert.equal(done.body.action.status, 'completed');
      assert.equal(done.body.action.completed_at, new Date(t.clock.now()).toISOString().replace('.000Z', 'Z'));
    }));

  test('ids increase monotonically and every droplet gets its own public address', () =>
    withSandbox(async (t) => {
      const a = await createActiveDroplet(t, { name: 'a' });
      const b = await createActiveDroplet(t, { name: 'b' });
      assert.ok(b.id > a.id);
      const ipOf = (d: any) => d.networks.v4.find((n: any) => n.type === 'public').ip_address;
      assert.notEqual(ipOf(a), ipOf(b));
    }));

  test('multi-create with names returns droplets and one create action each', () =>
    withSandbox(async (t) => {
      const res = await t.doApi('POST', '/droplets', {
        body: { names: ['m-1', 'm-2', 'm-3'], size: 's-1vcpu-2gb', image: 'debian-12-x64', region: 'fra1' },
      });
      assert.equal(res.status, 202);
      assert.deepEqual(
        res.body.droplets.map((d: any) => d.name),
        ['m-1', 'm-2', 'm-3'],
      );
      assert.equal(res.body.links.actions.length, 3);
      assert.ok(res.body.links.actions.every((l: any) => l.rel === 'create'));
      assert.equal('droplet' in res.body, false);
    }));

  test('an integer image id, a region prefix and an omitted region are accepted', () =>
    withSandbox(async (t) => {
      const images = await t.doApi('GET', '/images');
      const debian = images.body.images.find((i: any) => i.slug === 'debian-12-x64');
      const byId = await t.doApi('POST', '/droplets', { body: { ...VALID_DROPLET, image: debian.id } });
      assert.equal(byId.status, 202);
      assert.equal(byId.body.droplet.image.slug, 'debian-12-x64');

      const byPrefix = await t.doApi('POST', '/droplets', { body: { ...VALID_DROPLET, region: 'sfo' } });
      assert.equal(byPrefix.body.droplet.region.slug, 'sfo3');

      const { region: _omitted, ...noRegion } = VALID_DROPLET;
      const anywhere = await t.doApi('POST', '/droplets', { body: noRegion });
      assert.equal(anywhere.status, 202);
      assert.equal(typeof anywhere.body.droplet.region.slug, 'string');
    }));
});

describe('DigitalOcean simulator: validation', () => {
  for (const field of ['name', 'size', 'image'] as const) {
    test(`a create without ${field} is a 422 naming the field`, () =>
      withSandbox(async (t) => {
        const body: Record<string, unknown> = { ...VALID_DROPLET };
        delete body[field];
        const res = await t.doApi('POST', '/droplets', { body });
        assertDoError(res, 422, 'unprocessable_entity');
        assert.match(res.body.message, new RegExp(`\\b${field}\\b`));
      }));
  }

  test('an invalid droplet name is a 422 naming the field', () =>
    withSandbox(async (t) => {
      for (const name of ['has space', 'trailing-', 'under_score', 'x'.repeat(256)]) {
        const res = await t.doApi('POST', '/droplets', { body: { ...VALID_DROPLET, name } });
        assertDoError(res, 422, 'unprocessable_entity');
        assert.match(res.body.message, /\bname\b/);
      }
      const ok = await t.doApi('POST', '/droplets', { body: { ...VALID_DROPLET, name: 'api.example.com' } });
      assert.equal(ok.status, 202);
    }));

  test('unknown size, image and region slugs are 422s that name the slug', () =>
    withSandbox(async (t) => {
      const cases: Array<[Record<string, unknown>, RegExp]> = [
        [{ size: 's-99vcpu-1tb' }, /invalid size.*s-99vcpu-1tb/],
        [{ image: 'windows-95' }, /invalid image.*windows-95/],
        [{ image: 424242 }, /invalid image.*424242/],
        [{ region: 'mars1' }, /invalid region.*mars1/],
        [{ region: 'syd1', size: 's-8vcpu-32gb' }, /s-8vcpu-32gb is not available in region syd1/],
      ];
      for (const [override, message] of cases) {
        const res = await t.doApi('POST', '/droplets', { body: { ...VALID_DROPLET, ...override } });
        assertDoError(res, 422, 'unprocessable_entity');
        assert.match(res.body.message, message);
      }
      const list = await t.doApi('GET', '/droplets');
      assert.equal(list.body.meta.total, 0, 'rejected creates must not leave droplets behind');
    }));

  test('tags must follow the DO tag rule', () =>
    withSandbox(async (t) => {
      for (const tags of [['has space'], ['slash/no'], ['x'.repeat(256)], 'not-a-list', [42]]) {
        const res = await t.doApi('POST', '/droplets', { body: { ...VALID_DROPLET, tags } });
        assertDoError(res, 422, 'unprocessable_entity');
        assert.match(res.body.message, /\btags\b/);
      }
      const ok = await t.doApi('POST', '/droplets', {
        body: { ...VALID_DROPLET, tags: ['env:prod', 'team_a', 'pe-op:9f1c', 'x'.repeat(255)] },
      });
      assert.equal(ok.status, 202);
    }));

  test('invalid JSON is a 400 bad_request; unknown routes are a DO-shaped 404', () =>
    withSandbox(async (t) => {
      assertDoError(await t.doApi('POST', '/droplets', { rawBody: '{"name": ' }), 400, 'bad_request');
      assertDoError(await t.doApi('POST', '/droplets', { rawBody: '"just a string"' }), 400, 'bad_request');
      assertDoError(await t.doApi('GET', '/floating_unicorns'), 404, 'not_found');
      assertDoError(await t.doApi('GET', '/droplets/not-a-number'), 404, 'not_found');
    }));
});

describe('DigitalOcean simulator: listing', () => {
  test('pagination walks past the first page with absolute links and the full total', () =>
    withSandbox(async (t) => {
      const ids: number[] = [];
      for (let i = 1; i <= 45; i++) {
        const res = await t.doApi('POST', '/droplets', { body: { ...VALID_DROPLET, name: `node-${i}` } });
        ids.push(res.body.droplet.id);
      }
      const base = `${t.sandbox.digitaloceanBaseUrl}/droplets`;

      const first = await t.doApi('GET', '/droplets');
      assert.equal(first.body.droplets.length, 20);
      assert.equal(first.body.meta.total, 45);
      assert.deepEqual(first.body.links.pages, { next: `${base}?page=2`, last: `${base}?page=3` });

      const second = await t.doApi('GET', '/droplets?page=2&per_page=20');
      assert.deepEqual(
        second.body.droplets.map((d: any) => d.id),
        ids.slice(20, 40),
      );
      assert.deepEqual(second.body.links.pages, {
        first: `${base}?page=1&per_page=20`,
        prev: `${base}?page=1&per_page=20`,
        next: `${base}?page=3&per_page=20`,
        last: `${base}?page=3&per_page=20`,
      });
      assert.equal(second.body.meta.total, 45);

      const last = await t.doApi('GET', '/droplets?page=3&per_page=20');
      assert.equal(last.body.droplets.length, 5);
      assert.deepEqual(Object.keys(last.body.links.pages).sort(), ['first', 'prev']);

      // A client that just follows `next` (as godo does) sees every droplet exactly once.
      const seen: number[] = [];
      let url: string | undefined = `${base}?per_page=7`;
      while (url !== undefined) {
        const res = await fetch(url, { headers: { authorization: `Bearer ${t.sandbox.token}` } });
        const body = (await res.json()) as any;
        seen.push(...body.droplets.map((d: any) => d.id));
        url = body.links.pages.next;
      }
      assert.deepEqual(seen, ids);

      const clamped = await t.doApi('GET', '/droplets?per_page=500');
      assert.equal(clamped.body.droplets.length, 45);
      assert.deepEqual(clamped.body.links.pages, {});
    }));

  test('tag_name and name filter; name is exact but case-insensitive; combining them is refused', () =>
    withSandbox(async (t) => {
      await t.doApi('POST', '/droplets', { body: { ...VALID_DROPLET, name: 'Alpha', tags: ['blue'] } });
      await t.doApi('POST', '/droplets', { body: { ...VALID_DROPLET, name: 'alpha-2', tags: ['blue', 'green'] } });
      await t.doApi('POST', '/droplets', { body: { ...VALID_DROPLET, name: 'beta', tags: ['green'] } });

      const blue = await t.doApi('GET', '/droplets?tag_name=blue');
      assert.deepEqual(
        blue.body.droplets.map((d: any) => d.name),
        ['Alpha', 'alpha-2'],
      );
      assert.equal(blue.body.meta.total, 2);

      const byName = await t.doApi('GET', '/droplets?name=ALPHA');
      assert.deepEqual(
        byName.body.droplets.map((d: any) => d.name),
        ['Alpha'],
      );

      const none = await t.doApi('GET', '/droplets?tag_name=red');
      assert.deepEqual(none.body.droplets, []);
      assert.equal(none.body.meta.total, 0);

      assertDoError(await t.doApi('GET', '/droplets?tag_name=blue&name=beta'), 422, 'unprocessable_entity');

      const paged = await t.doApi('GET', '/droplets?tag_name=green&per_page=1');
      assert.equal(paged.body.meta.total, 2);
      assert.equal(
        paged.body.links.pages.next,
        `${t.sandbox.digitaloceanBaseUrl}/droplets?page=2&per_page=1&tag_name=green`,
      );
    }));

  test('the catalogue serves regions, sizes and images', () =>
    withSandbox(async (t) => {
      const regions = await t.doApi('GET', '/regions');
      assert.deepEqual(
        regions.body.regions.map((r: any) => r.slug).sort(),
        ['ams3', 'blr1', 'fra1', 'lon1', 'nyc1', 'nyc3', 'sfo3', 'sgp1', 'syd1', 'tor1'],
      );
      assert.equal(regions.body.meta.total, 10);

      const sizes = await t.doApi('GET', '/sizes?per_page=200');
      const bySlug = new Map(sizes.body.sizes.map((s: any) => [s.slug, s]));
      for (const slug of [
        's-1vcpu-512mb-10gb',
        's-1vcpu-1gb',
        's-1vcpu-2gb',
        's-2vcpu-2gb',
        's-2vcpu-4gb',
        's-4vcpu-8gb',
        's-8vcpu-32gb',
      ]) {
        const size: any = bySlug.get(slug);
        assert.ok(size, `size ${slug} missing`);
        assert.ok(size.price_monthly > 0 && size.price_hourly > 0 && size.vcpus > 0 && size.memory > 0 && size.disk > 0);
        assert.ok(Array.isArray(size.regions) && size.regions.length > 0);
      }
      assert.equal((bySlug.get('s-1vcpu-1gb') as any).memory, 1024);

      const images = await t.doApi('GET', '/images');
      for (const slug of ['ubuntu-22-04-x64', 'ubuntu-24-04-x64', 'debian-12-x64']) {
        const image = images.body.images.find((i: any) => i.slug === slug);
        assert.ok(Number.isInteger(image?.id), `image ${slug} needs an integer id`);
      }
      const one = await t.doApi('GET', '/images/ubuntu-22-04-x64');
      assert.equal(one.body.image.slug, 'ubuntu-22-04-x64');
    }));
});

describe('DigitalOcean simulator: actions', () => {
  test('power_off locks the droplet, refuses a second action, then leaves it off', () =>
    withSandbox(async (t) => {
      const droplet = await createActiveDroplet(t);
      const off = await t.doApi('POST', `/droplets/${droplet.id}/actions`, { body: { type: 'power_off' } });
      assert.equal(off.status, 201);
      assert.equal(off.body.action.status, 'in-progress');
      assert.equal(off.body.action.type, 'power_off');
      assert.equal(off.body.action.resource_type, 'droplet');
      assert.equal(off.body.action.region_slug, 'nyc3');

      const during = await t.doApi('GET', `/droplets/${droplet.id}`);
      assert.equal(during.body.droplet.locked, true);
      assert.equal(during.body.droplet.status, 'active');

      const second = await t.doApi('POST', `/droplets/${droplet.id}/actions`, { body: { type: 'reboot' } });
      assertDoError(second, 422, 'unprocessable_entity');
      assert.match(second.body.message, /pending event/);

      t.clock.advance(2000);
      const after = await t.doApi('GET', `/droplets/${droplet.id}`);
      assert.equal(after.body.droplet.status, 'off');
      assert.equal(after.body.droplet.locked, false);
      const done = await t.doApi('GET', `/actions/${off.body.action.id}`);
      assert.equal(done.body.action.status, 'completed');

      const again = await t.doApi('POST', `/droplets/${droplet.id}/actions`, { body: { type: 'power_off' } });
      assertDoError(again, 422, 'unprocessable_entity');

      const on = await t.doApi('POST', `/droplets/${droplet.id}/actions`, { body: { type: 'power_on' } });
      assert.equal(on.status, 201);
      t.clock.advance(2000);
      assert.equal((await t.doApi('GET', `/droplets/${droplet.id}`)).body.droplet.status, 'active');
    }));

  test('reboot, power_cycle and shutdown end where DO leaves them', () =>
    withSandbox(async (t) => {
      const droplet = await createActiveDroplet(t);
      for (const [type, expected] of [
        ['reboot', 'active'],
        ['power_cycle', 'active'],
        ['shutdown', 'off'],
      ] as const) {
        const res = await t.doApi('POST', `/droplets/${droplet.id}/actions`, { body: { type } });
        assert.equal(res.status, 201, JSON.stringify(res.body));
        t.clock.advance(2000);
        const now = await t.doApi('GET', `/droplets/${droplet.id}`);
        assert.equal(now.body.droplet.status, expected, `after ${type}`);
      }
    }));

  test('an action on a droplet that is still being created is refused', () =>
    withSandbox(async (t) => {
      const created = await t.doApi('POST', '/droplets', { body: VALID_DROPLET });
      const res = await t.doApi('POST', `/droplets/${created.body.droplet.id}/actions`, { body: { type: 'reboot' } });
      assertDoError(res, 422, 'unprocessable_entity');
    }));

  test('resize requires the droplet to be off, then changes its size', () =>
    withSandbox(async (t) => {
      const droplet = await createActiveDroplet(t);
      const running = await t.doApi('POST', `/droplets/${droplet.id}/actions`, {
        body: { type: 'resize', size: 's-2vcpu-4gb' },
      });
      assertDoError(running, 422, 'unprocessable_entity');
      assert.match(running.body.message, /off/);

      await t.doApi('POST', `/droplets/${droplet.id}/actions`, { body: { type: 'power_off' } });
      t.clock.advance(2000);

      const badSize = await t.doApi('POST', `/droplets/${droplet.id}/actions`, { body: { type: 'resize', size: 'huge' } });
      assertDoError(badSize, 422, 'unprocessable_entity');

      const resize = await t.doApi('POST', `/droplets/${droplet.id}/actions`, {
        body: { type: 'resize', size: 's-2vcpu-4gb', disk: true },
      });
      assert.equal(resize.status, 201);
      assert.equal((await t.doApi('GET', `/droplets/${droplet.id}`)).body.droplet.size_slug, 's-1vcpu-1gb');
      t.clock.advance(2000);
      const resized = (await t.doApi('GET', `/droplets/${droplet.id}`)).body.droplet;
      assert.equal(resized.size_slug, 's-2vcpu-4gb');
      assert.equal(resized.size.slug, 's-2vcpu-4gb');
      assert.equal(resized.memory, 4096);
      assert.equal(resized.vcpus, 2);
      assert.equal(resized.disk, 80);
      assert.equal(resized.status, 'off');

      const shrink = await t.doApi('POST', `/droplets/${droplet.id}/actions`, {
        body: { type: 'resize', size: 's-1vcpu-1gb' },
      });
      assertDoError(shrink, 422, 'unprocessable_entity');
      assert.match(shrink.body.message, /disk/);
    }));

  test('rename validates the new name and applies it when the action completes', () =>
    withSandbox(async (t) => {
      const droplet = await createActiveDroplet(t);
      const bad = await t.doApi('POST', `/droplets/${droplet.id}/actions`, { body: { type: 'rename', name: 'no spaces' } });
      assertDoError(bad, 422, 'unprocessable_entity');
      const unknown = await t.doApi('POST', `/droplets/${droplet.id}/actions`, { body: { type: 'teleport' } });
      assertDoError(unknown, 422, 'unprocessable_entity');

      const ok = await t.doApi('POST', `/droplets/${droplet.id}/actions`, { body: { type: 'rename', name: 'renamed' } });
      assert.equal(ok.status, 201);
      t.clock.advance(2000);
      assert.equal((await t.doApi('GET', `/droplets/${droplet.id}`)).body.droplet.name, 'renamed');
    }));

  test('action objects read the same at /actions/:id and /droplets/:id/actions/:aid, and are listed per droplet', () =>
    withSandbox(async (t) => {
      const droplet = await createActiveDroplet(t);
      const other = await createActiveDroplet(t, { name: 'other' });
      const reboot = await t.doApi('POST', `/droplets/${droplet.id}/actions`, { body: { type: 'reboot' } });
      const id = reboot.body.action.id;

      const global = await t.doApi('GET', `/actions/${id}`);
      const scoped = await t.doApi('GET', `/droplets/${droplet.id}/actions/${id}`);
      assert.equal(global.status, 200);
      assert.deepEqual(scoped.body, global.body);
      assert.deepEqual(Object.keys(global.body.action).sort(), [
        'completed_at',
        'id',
        'region',
        'region_slug',
        'resource_id',
        'resource_type',
        'started_at',
        'status',
        'type',
      ]);

      assertDoError(await t.doApi('GET', `/droplets/${other.id}/actions/${id}`), 404, 'not_found');
      assertDoError(await t.doApi('GET', '/actions/999'), 404, 'not_found');

      const list = await t.doApi('GET', `/droplets/${droplet.id}/actions`);
      assert.deepEqual(
        list.body.actions.map((a: any) => a.type),
        ['create', 'reboot'],
      );
      assert.equal(list.body.meta.total, 2);
    }));

  test('injected failures make the next creates and actions end errored', () =>
    withSandbox(async (t) => {
      const config = await t.admin('POST', '/digitalocean/config', { body: { failNextCreates: 1, failNextActions: 1 } });
      assert.equal(config.status, 200);
      assert.equal(config.body.failNextCreates, 1);

      const doomed = await t.doApi('POST', '/droplets', { body: { ...VALID_DROPLET, name: 'doomed' } });
      const createActionId = doomed.body.links.actions[0].id;
      assert.equal((await t.doApi('GET', `/actions/${createActionId}`)).body.action.status, 'in-progress');
      t.clock.advance(3000);
      const failed = await t.doApi('GET', `/actions/${createActionId}`);
      assert.equal(failed.body.action.status, 'errored');
      assert.notEqual(failed.body.action.completed_at, null);
      assert.equal((await t.doApi('GET', `/droplets/${doomed.body.droplet.id}`)).body.droplet.status, 'new');

      // The failure budget is spent: the next create succeeds.
      const healthy = await createActiveDroplet(t, { name: 'healthy' });
      assert.equal(healthy.status, 'active');

      const off = await t.doApi('POST', `/droplets/${healthy.id}/actions`, { body: { type: 'power_off' } });
      t.clock.advance(2000);
      assert.equal((await t.doApi('GET', `/actions/${off.body.action.id}`)).body.action.status, 'errored');
      assert.equal((await t.doApi('GET', `/droplets/${healthy.id}`)).body.droplet.status, 'active');

      const retry = await t.doApi('POST', `/droplets/${healthy.id}/actions`, { body: { type: 'power_off' } });
      t.clock.advance(2000);
      assert.equal((await t.doApi('GET', `/actions/${retry.body.action.id}`)).body.action.status, 'completed');
    }));
});

describe('DigitalOcean simulator: delete', () => {
  test('delete answers 204 with no body, then the droplet is 404', () =>
    withSandbox(async (t) => {
      const droplet = await createActiveDroplet(t);
      const res = await t.doApi('DELETE', `/droplets/${droplet.id}`);
      assert.equal(res.status, 204);
      assert.equal(res.body, null);
      assertDoError(await t.doApi('GET', `/droplets/${droplet.id}`), 404, 'not_found');
      assertDoError(await t.doApi('DELETE', `/droplets/${droplet.id}`), 404, 'not_found');
      assert.equal((await t.doApi('GET', '/droplets')).body.meta.total, 0);
    }));

  test('delete by tag removes exactly the tagged droplets', () =>
    withSandbox(async (t) => {
      await t.doApi('POST', '/droplets', { body: { ...VALID_DROPLET, name: 'a', tags: ['gone'] } });
      await t.doApi('POST', '/droplets', { body: { ...VALID_DROPLET, name: 'b', tags: ['gone', 'x'] } });
      await t.doApi('POST', '/droplets', { body: { ...VALID_DROPLET, name: 'c', tags: ['kept'] } });
      const res = await t.doApi('DELETE', '/droplets?tag_name=gone');
      assert.equal(res.status, 204);
      const left = await t.doApi('GET', '/droplets');
      assert.deepEqual(
        left.body.droplets.map((d: any) => d.name),
        ['c'],
      );
    }));
});
