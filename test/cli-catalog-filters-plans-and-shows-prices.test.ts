import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cliSuite, shown } from './helpers/cli.js';

describe('pe catalog plans filters by size and shows prices', () => {
  const cli = cliSuite({ workers: 0 });

  test('--vcpus 2 --memory 4096: only such plans, cheapest first, each with its monthly and hourly price', async () => {
    const r = await cli.home.run(['catalog', 'plans', '--vcpus', '2', '--memory', '4096']);
    assert.equal(r.code, 0, shown(r));
    const [header, ...rows] = r.stdout.trimEnd().split('\n');
    assert.match(header!, /^PROVIDER\s+PLAN\s+VCPUS\s+MEMORY\s+DISK\s+PER MONTH\s+PER HOUR\s+REGIONS$/);
    assert.ok(rows.length >= 4, shown(r));
    assert.equal(new Set(rows.map((l) => l.split(/\s+/)[0])).size, 4, 'every provider has one');
    for (const row of rows) assert.match(row, /\s2\s+4 GB\s+\d+ GB\s+[$€]\d+\.\d{2}\s+[$€]\d+\.\d{4}\s/, row);

    const json = await cli.home.run(['catalog', 'plans', '--vcpus', '2', '--memory', '4096', '--provider', 'digitalocean', '-o', 'json']);
    assert.equal(json.code, 0, shown(json));
    const body = JSON.parse(json.stdout);
    assert.ok(body.plans.length > 0);
    assert.ok(body.plans.every((p: { provider: string; vcpus: number; memory_mb: number }) => p.provider === 'digitalocean' && p.vcpus === 2 && p.memory_mb === 4096));
    const prices = body.plans.map((p: { price_monthly: number }) => p.price_monthly);
    assert.deepEqual(prices, [...prices].sort((a: number, b: number) => a - b));
    assert.equal(body.providers.digitalocean.status, 'ok');
  });

  test('regions and images, per provider', async () => {
    const regions = await cli.home.run(['catalog', 'regions', '--provider', 'hetzner']);
    assert.equal(regions.code, 0, shown(regions));
    assert.match(regions.stdout, /^hetzner\s+fsn1\s+Falkenstein\s+DE\s+yes$/m);
    const images = await cli.home.run(['catalog', 'images', '--provider', 'digitalocean', '-o', 'yaml']);
    assert.equal(images.code, 0, shown(images));
    assert.match(images.stdout, /^images:\n/);
    assert.match(images.stdout, /^  - provider: digitalocean\n    id: ubuntu-24-04-x64$/m);
  });
});
