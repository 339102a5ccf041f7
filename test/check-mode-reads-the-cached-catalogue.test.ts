import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Catalog, CATALOG_MEMO_MS } from '../src/core/catalog.js';
import { ErrorCodes, ProviderError } from '../src/common/errors.js';
import { Keys } from '../src/core/keys.js';
import { connectRedis } from '../src/core/redis.js';
import { checkCreate } from '../src/core/servers/create-check.js';
import type { CatalogImage, CatalogPlan, CatalogRegion, Provider, ProviderName } from '../src/common/provider.js';
import { EVERY_PROVIDER, PROVIDER_REQUESTS } from './helpers/provider-requests.js';
import { startTestRedis, type TestRedis } from './helpers/redis-server.js';
import { storedOperationCount } from './helpers/stored-operations.js';
import { TestSystem } from './helpers/system.js';

const CATALOGUE_PATHS = { sizes: '^/v2/sizes$', regions: '^/v2/regions$', images: '^/v2/images$' } as const;

describe('check_mode and submit-time checks read the cached catalogue', () => {
  let sys: TestSystem;
  before(async () => {
    sys = await TestSystem.start({ workers: 2 });
  });
  after(async () => {
    await sys?.stop();
  });

  const operationCount = () => storedOperationCount(sys.api.ctx.redis, sys.api.ctx.keys);
  const create = (body: Record<string, unknown>) =>
    sys.request('POST', '/v1/servers/create', {
      body: { workspace: 'production', provider: 'digitalocean', plan: 's-1vcpu-1gb', hostname: 'dry', zone: 'nyc3', check_mode: true, tags: [], ...body },
    });

  test('200 dry runs through the API and two workers cost one read of each DigitalOcean list', async () => {
    // A latency rule per list counts the requests the sandbox served (its `matched`), and the
    // 300 ms it adds keeps the first read in flight while every process asks for it.
    const rules = Object.fromEntries(
      Object.entries(CATALOGUE_PATHS).map(([list, path]) => [list, sys.sandbox.faults.add({ provider: 'digitalocean', method: 'GET', path, kind: 'latency', latencyMs: 300 })]),
    ) as Record<keyof typeof CATALOGUE_PATHS, string>;
    const dropletsBefore = (await sys.droplets()).length;
    const variants = [
      { plan: 's-1vcpu-1gb', zone: 'nyc3', price: 6 },
      { plan: 's-2vcpu-4gb', zone: 'fra1', price: 24 },
      { plan: 's-8vcpu-32gb', zone: 'ams3', price: 192, image: 'debian-12-x64' },
    ];

    const ids: string[] = [];
    for (let batch = 0; batch < 4; batch++) {
      const replies = await Promise.all(
        Array.from({ length: 50 }, (_, i) => {
          const n = batch * 50 + i;
          const { price: _p, ...v } = variants[n % variants.length]!;
          return create({ hostname: `dry-${n}`, ...v });
        }),
      );
      for (const r of replies) {
        assert.equal(r.status, 202, JSON.stringify(r.body));
        ids.push(r.body.id);
      }
    }
    assert.equal(ids.length, 200);

    const done = await Promise.all(ids.map((id) => sys.waitForStatus(id, ['completed', 'failed', 'cancelled'], 60000)));
    done.forEach((op, n) => {
      assert.equal(op.status, 'completed', JSON.stringify(op.error));
      assert.equal(op.result!.check_mode, true);
      const plan = op.result!.would_create as Record<string, unknown>;
      const variant = variants[n % variants.length]!;
      assert.equal(plan.provider, 'digitalocean');
      assert.equal(plan.name, `dry-${n}`);
      assert.equal(plan.plan, variant.plan);
      assert.equal(plan.zone, variant.zone);
      assert.equal(plan.image, variant.image ?? 'ubuntu-24-04-x64');
      assert.equal(plan.price_monthly, variant.price);
      assert.equal(typeof plan.price_hourly, 'number');
      assert.ok((plan.price_hourly as number) > 0);
    });

    const served = Object.fromEntries(sys.sandbox.faults.list().map((r) => [r.id, r.matched]));
    for (const [list, id] of Object.entries(rules)) {
      assert.equal(served[id], 1, `GET /v2/${list} was served ${served[id]} times for 200 dry runs in three processes`);
    }
    assert.equal((await sys.droplets()).length, dropletsBefore, 'a dry run creates nothing');
    sys.sandbox.faults.clear();
  });

  test('an unknown plan is a 400 naming plan, and no operation is created', async () => {
    const before = await operationCount();
    const res = await create({ hostname: 'bad-plan', plan: 's-9', check_mode: false });
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.equal(res.body.error, 'VALIDATION_FAILED');
    assert.deepEqual(res.body.details, [{ field: 'plan', problem: "is not a digitalocean size: 's-9'" }]);
    assert.match(res.body.message, /^plan: /);
    assert.equal(await operationCount(), before);
  });

  test('a dry run with a bad zone, a plan not offered there or an unknown image is a 400 naming each', async () => {
    const before = await operationCount();
    const zone = await create({ hostname: 'bad-zone', zone: 'xx1' });
    assert.equal(zone.status, 400, JSON.stringify(zone.body));
    assert.deepEqual(zone.body.details, [{ field: 'zone', problem: "is not a digitalocean region: 'xx1'" }]);

    const several = await create({ hostname: 'bad-all', plan: 's-8vcpu-32gb', zone: 'blr1', image: 'windows-95' });
    assert.equal(several.status, 400, JSON.stringify(several.body));
    assert.deepEqual(several.body.details, [
      { field: 'plan', problem: "digitalocean size 's-8vcpu-32gb' is not offered in region 'blr1'" },
      { field: 'image', problem: "is not a digitalocean image: 'windows-95'" },
    ]);
    assert.equal(await operationCount(), before);
  });

  test('a resize to a plan the catalogue does not know is a 400 naming plan', async () => {
    const op = await create({ hostname: 'grow-01', check_mode: false });
    assert.equal(op.status, 202);
    const done = await sys.waitForStatus(op.body.id, ['completed', 'failed']);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    const before = await operationCount();
    const res = await sys.request('PATCH', `/v1/servers/${done.result!.server_id}`, { body: { plan: 's-99vcpu-1tb' } });
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.deepEqual(res.body.details, [{ field: 'plan', problem: "is not a digitalocean size: 's-99vcpu-1tb'" }]);
    assert.equal(await operationCount(), before);
  });

  test('every provider: a dry run with its default image is priced from the catalogue; its unknown plan is a 400 in its words', async () => {
    for (const provider of EVERY_PROVIDER) {
      const { plan, zone } = PROVIDER_REQUESTS[provider];
      const res = await create({ provider, plan, zone, hostname: `dry-${provider}` });
      assert.equal(res.status, 202, `${provider}: ${JSON.stringify(res.body)}`);
      const done = await sys.waitForStatus(res.body.id, ['completed', 'failed']);
      assert.equal(done.status, 'completed', `${provider}: ${JSON.stringify(done.error)}`);
      const would = done.result!.would_create as Record<string, unknown>;
      assert.equal(would.plan, plan);
      assert.ok((would.price_monthly as number) > 0, `${provider} prices ${plan}`);

      const bad = await create({ provider, plan: 'no-such-plan', zone, hostname: `bad-${provider}` });
      assert.equal(bad.status, 400, `${provider}: ${JSON.stringify(bad.body)}`);
      assert.equal(bad.body.details[0].field, 'plan');
      assert.match(bad.body.details[0].problem, new RegExp(`^is not a ${provider} (size|server type|plan): 'no-such-plan'$`));
    }
  });

  test('when the catalogue cannot be read the request is accepted, and the worker checks once it can', async () => {
    const { redis, keys } = sys.api.ctx;
    await redis.del(...(['plans', 'regions', 'images'] as const).map((kind) => `${keys.prefix}:catalog:${kind}:digitalocean`));
    // Each process answers from what it last read for a few seconds before asking Redis again.
    await new Promise((r) => setTimeout(r, CATALOG_MEMO_MS + 100));
    sys.sandbox.faults.add({ provider: 'digitalocean', method: 'GET', path: CATALOGUE_PATHS.regions, kind: 'status', status: 401 });
    const res = await create({ hostname: 'dry-blind', plan: 's-2vcpu-4gb' });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const failed = await sys.waitForStatus(res.body.id, ['completed', 'failed']);
    // 401 is final: the worker's catalogue read fails the dry run with the provider's error, not a rejection of the request.
    assert.equal(failed.status, 'failed');
    assert.equal(failed.error!.code, ErrorCodes.PROVIDER_UNAUTHORIZED);

    sys.sandbox.faults.clear();
    const again = await create({ hostname: 'dry-sighted', plan: 's-2vcpu-4gb' });
    assert.equal(again.status, 202, JSON.stringify(again.body));
    const done = await sys.waitForStatus(again.body.id, ['completed', 'failed']);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.equal((done.result!.would_create as Record<string, unknown>).price_monthly, 24);
  });
});

describe('the catalogue reads a miss once across processes', () => {
  let redis: TestRedis;
  before(async () => {
    redis = await startTestRedis();
  });
  after(async () => {
    await redis?.stop();
  });

  /** An adapter whose lists take `delayMs` and are counted; `fail` makes them throw. */
  function fakeProvider(name: ProviderName, calls: Record<string, number>, opts: { delayMs?: number; fail?: () => Error | undefined } = {}): Provider {
    const answer = async <T>(list: string, items: T[]): Promise<T[]> => {
      calls[list] = (calls[list] ?? 0) + 1;
      await new Promise((r) => setTimeout(r, opts.delayMs ?? 200));
      const err = opts.fail?.();
      if (err) throw err;
      return items;
    };
    const plans: CatalogPlan[] = [
      { provider: name, id: 'small', vcpus: 1, memory_mb: 1024, disk_gb: 25, price_monthly: 6, price_hourly: 0.00893, currency: 'USD', regions: ['here'] },
      { provider: name, id: 'big', vcpus: 8, memory_mb: 32768, disk_gb: 640, price_monthly: 192, price_hourly: 0.28571, currency: 'USD', regions: ['there'] },
    ];
    const regions: CatalogRegion[] = [
      { provider: name, id: 'here', name: 'Here', available: true },
      { provider: name, id: 'there', name: 'There', available: true },
    ];
    const images: CatalogImage[] = [{ provider: name, id: 'ubuntu-24-04-x64', name: 'Ubuntu', distribution: 'Ubuntu' }];
    return {
      name,
      listPlans: () => answer('plans', plans),
      listRegions: () => answer('regions', regions),
      listImages: () => answer('images', images),
    } as unknown as Provider;
  }

  function twoProcesses(provider: Provider, prefix: string) {
    const connections = [connectRedis(redis.url, 'catalog-a'), connectRedis(redis.url, 'catalog-b')];
    const keys = new Keys(prefix);
    const catalogs = connections.map((c) => new Catalog(c, keys, new Map([[provider.name, provider]]), 3600));
    return { catalogs, close: () => Promise.all(connections.map((c) => c.quit())) };
  }

  test('two catalogues on two connections asking at once cause one provider read per list', async () => {
    const calls: Record<string, number> = {};
    const { catalogs, close } = twoProcesses(fakeProvider('digitalocean', calls), 'u' + randomBytes(4).toString('hex'));
    try {
      const [a, b] = catalogs as [Catalog, Catalog];
      const answers = await Promise.all([
        a.forProvider('digitalocean'),
        b.forProvider('digitalocean'),
        a.forProvider('digitalocean'),
        b.list('plans'),
        a.list('regions', 'digitalocean'),
      ]);
      assert.deepEqual(calls, { plans: 1, regions: 1, images: 1 });
      assert.deepEqual(answers[0], answers[1]);
      assert.deepEqual((answers[3] as { items: CatalogPlan[] }).items.map((p) => p.id), ['small', 'big']);
      // Once cached, nobody asks again.
      const plan = await checkCreate(b, 'digitalocean', { name: 'x', plan: 'big', zone: 'there', image: 'ubuntu-24-04-x64' });
      assert.deepEqual(plan, { provider: 'digitalocean', name: 'x', plan: 'big', zone: 'there', image: 'ubuntu-24-04-x64', price_monthly: 192, price_hourly: 0.28571 });
      await assert.rejects(
        checkCreate(a, 'digitalocean', { name: 'x', plan: 's-9', zone: 'xx1', image: 'ubuntu-24-04-x64' }),
        (err: unknown) =>
          err instanceof ProviderError &&
          err.code === ErrorCodes.PROVIDER_REJECTED &&
          !err.retryable &&
          err.message === "digitalocean: unknown region 'xx1'; unknown size 's-9'",
      );
      await assert.rejects(
        checkCreate(a, 'digitalocean', { name: 'x', plan: 'big', zone: 'here', image: 'nope' }),
        /digitalocean: size 'big' is not offered in region 'here'; unknown image 'nope'/,
      );
      assert.deepEqual(calls, { plans: 1, regions: 1, images: 1 });
    } finally {
      await close();
    }
  });

  test('a failed read is one provider call too, and both processes get its error', async () => {
    const calls: Record<string, number> = {};
    const unauthorized = () => new ProviderError({ provider: 'vultr', code: ErrorCodes.PROVIDER_UNAUTHORIZED, retryable: false, message: 'vultr: 401 Unauthorized', providerStatus: 401 });
    const { catalogs, close } = twoProcesses(fakeProvider('vultr', calls, { fail: unauthorized }), 'u' + randomBytes(4).toString('hex'));
    try {
      const [a, b] = catalogs as [Catalog, Catalog];
      const settled = await Promise.allSettled([a.forProvider('vultr'), b.forProvider('vultr')]);
      assert.deepEqual(calls, { plans: 1, regions: 1, images: 1 });
      for (const s of settled) {
        assert.equal(s.status, 'rejected');
        const err = (s as PromiseRejectedResult).reason;
        assert.ok(err instanceof ProviderError, String(err));
        assert.equal(err.code, ErrorCodes.PROVIDER_UNAUTHORIZED);
        assert.equal(err.retryable, false);
        assert.match(err.message, /401/);
      }
      // A failure is not cached: the next ask reads again.
      const listed = await a.list('plans');
      assert.equal(listed.providers.vultr?.status, 'error');
      assert.equal(calls.plans, 2);
    } finally {
      await close();
    }
  });

  test('a caller that will not wait gets a retryable timeout while the read goes on and fills the cache', async () => {
    const calls: Record<string, number> = {};
    const { catalogs, close } = twoProcesses(fakeProvider('hetzner', calls, { delayMs: 400 }), 'u' + randomBytes(4).toString('hex'));
    try {
      const [a, b] = catalogs as [Catalog, Catalog];
      await assert.rejects(a.forProvider('hetzner', { waitMs: 50 }), (err: unknown) => err instanceof ProviderError && err.code === ErrorCodes.PROVIDER_TIMEOUT && err.retryable);
      const later = await b.forProvider('hetzner');
      assert.equal(later.plans.length, 2);
      assert.deepEqual(calls, { plans: 1, regions: 1, images: 1 });
    } finally {
      await close();
    }
  });
});
