import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { CatalogPlan } from '../src/common/provider.js';
import { TestSystem } from './helpers/system.js';

describe('the catalogue across configured providers', () => {
  let sys: TestSystem;
  before(async () => {
    sys = await TestSystem.start({ workers: 0 });
  });
  after(async () => {
    await sys?.stop();
  });

  test('plans come with prices, cheapest first, and filter to a 2-vCPU/4-GB comparison', async () => {
    const res = await sys.request<{ plans: CatalogPlan[]; providers: Record<string, { status: string }> }>('GET', '/v1/catalog/plans?vcpus=2&memory_mb=4096');
    assert.equal(res.status, 200);
    assert.ok(res.body.plans.length >= 1);
    for (const plan of res.body.plans) {
      assert.equal(plan.vcpus, 2);
      assert.equal(plan.memory_mb, 4096);
      assert.ok(plan.price_monthly > 0, `${plan.provider} ${plan.id} has a price`);
      assert.ok(plan.currency);
    }
    const prices = res.body.plans.map((p) => p.price_monthly);
    assert.deepEqual(prices, [...prices].sort((a, b) => a - b));
    assert.ok(res.body.plans.some((p) => p.provider === 'digitalocean' && p.id === 's-2vcpu-4gb'));
    for (const answer of Object.values(res.body.providers)) assert.equal(answer.status, 'ok');
  });

  test('answers are cached: a provider outage after the first call does not show', async () => {
    const first = await sys.request('GET', '/v1/catalog/regions?provider=digitalocean');
    assert.equal(first.status, 200);
    assert.ok(first.body.regions.some((r: { id: string }) => r.id === 'nyc3'));
    sys.sandbox.faults.add({ provider: 'digitalocean', method: 'GET', path: '^/v2/regions', kind: 'status', status: 500 });
    const second = await sys.request('GET', '/v1/catalog/regions?provider=digitalocean');
    assert.deepEqual(second.body.regions, first.body.regions);
    assert.equal(second.body.providers.digitalocean.cached, true);
    sys.sandbox.faults.clear();
  });

  test('a provider that fails is reported beside the others instead of failing the call', async () => {
    sys.sandbox.faults.add({ provider: 'digitalocean', method: 'GET', path: '^/v2/images', kind: 'status', status: 401 });
    const res = await sys.request('GET', '/v1/catalog/images');
    assert.equal(res.status, 200);
    assert.equal(res.body.providers.digitalocean.status, 'error');
    assert.match(res.body.providers.digitalocean.error, /401/);
    assert.ok(!res.body.images.some((i: { provider: string }) => i.provider === 'digitalocean'));
    for (const [name, answer] of Object.entries(res.body.providers as Record<string, { status: string }>)) {
      if (name !== 'digitalocean') assert.equal(answer.status, 'ok', name);
    }
    sys.sandbox.faults.clear();
  });

  test('bad filters are named', async () => {
    const res = await sys.request('GET', '/v1/catalog/plans?vcpus=two&provider=aws');
    assert.equal(res.status, 400);
    assert.deepEqual(res.body.details.map((d: { field: string }) => d.field).sort(), ['query.provider', 'query.vcpus']);
  });
});
