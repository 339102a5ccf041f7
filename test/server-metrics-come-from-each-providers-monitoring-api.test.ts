import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { http } from './helpers/http.js';
import { TestSystem } from './helpers/system.js';

interface Point {
  at: string;
  value: number;
}
interface Series {
  name: string;
  unit: string;
  points: Point[];
}

/** What each provider's monitoring API gives, and what its answer must show. */
const PROVIDERS = [
  {
    provider: 'digitalocean',
    create: { plan: 's-1vcpu-1gb', zone: 'nyc3' },
    given: ['cpu_percent', 'memory_used_bytes', 'memory_total_bytes', 'filesystem_used_bytes', 'network_in_bytes_per_second'],
    missing: ['disk_read_iops', 'disk_read_bytes_per_second', 'network_in_bytes_per_day'],
    source: /\/v2\/monitoring\/metrics\/droplet\//,
  },
  {
    provider: 'hetzner',
    create: { plan: 'cx23', zone: 'fsn1' },
    given: ['cpu_percent', 'disk_read_iops', 'disk_write_bytes_per_second', 'network_in_bytes_per_second', 'network_out_packets_per_second'],
    missing: ['memory_used_bytes', 'filesystem_used_bytes'],
    source: /\/servers\/\{id\}\/metrics/,
  },
  {
    provider: 'vultr',
    create: { plan: 'vc2-1c-1gb', zone: 'ewr' },
    given: ['network_in_bytes_per_day', 'network_out_bytes_per_day'],
    missing: ['cpu_percent', 'memory_used_bytes', 'disk_read_iops'],
    source: /\/v2\/instances\/\{id\}\/bandwidth/,
  },
] as const;

describe("GET /v1/servers/{id}/metrics reads each provider's own monitoring API", () => {
  let sys: TestSystem;
  const servers = new Map<string, { id: string; providerId: string; createdAt: number }>();

  before(async () => {
    // No reconcile during the suite: the request counts below are the readings' alone.
    sys = await TestSystem.start({ workers: 1, env: { RECONCILE_INTERVAL_MS: '86400000' } });
    const made = [...PROVIDERS.map((p) => ({ provider: p.provider, ...p.create })), { provider: 'upcloud', plan: '1xCPU-1GB', zone: 'fi-hel1' }];
    await Promise.all(
      made.map(async (m) => {
        const op = await sys.createServer({ ...m, hostname: `metrics-${m.provider}` });
        const done = await sys.waitForStatus(op.id, ['completed', 'failed']);
        assert.equal(done.status, 'completed', `${m.provider}: ${JSON.stringify(done.error)}`);
        servers.set(m.provider, { id: String(done.result!.server_id), providerId: String(done.result!.provider_id), createdAt: Date.parse(done.created_at) });
      }),
    );
    // A few seconds of history at the providers.
    await new Promise((r) => setTimeout(r, 2500));
  });

  after(async () => {
    await sys?.stop();
  });

  for (const p of PROVIDERS) {
    test(`${p.provider}: the series its API offers, in normalized names and units, and what it lacks said`, async () => {
      const server = servers.get(p.provider)!;
      const start = new Date(server.createdAt - 1000).toISOString();
      const res = await sys.request('GET', `/v1/servers/${server.id}/metrics?start=${encodeURIComponent(start)}&step=1`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.server_id, server.id);
      assert.equal(res.body.provider, p.provider);
      assert.match(res.body.source, p.source);
      const series = new Map((res.body.series as Series[]).map((s) => [s.name, s]));
      for (const name of p.given) {
        const s = series.get(name);
        assert.ok(s, `${name} is answered`);
        assert.ok(s.points.length > 0, `${name} has points: ${JSON.stringify(res.body)}`);
        for (const point of s.points) {
          assert.ok(Number.isFinite(point.value) && point.value >= 0, `${name} ${point.value}`);
          assert.ok(!Number.isNaN(Date.parse(point.at)));
        }
        if (s.unit === 'percent') assert.ok(s.points.every((pt) => pt.value <= 100), name);
      }
      const unavailable = new Map((res.body.unavailable as Array<{ metric: string; reason: string }>).map((u) => [u.metric, u.reason]));
      for (const name of p.missing) {
        assert.ok(unavailable.get(name), `${name} is said to be unavailable`);
        assert.ok(!series.has(name), `${name} is not answered`);
      }
      // Every normalized name is either answered or said to be missing, never both.
      for (const name of series.keys()) assert.ok(!unavailable.has(name), name);
    });
  }

  test('hetzner: the figures are the provider endpoint\'s own, at the step asked, the same on every read', async () => {
    const server = servers.get('hetzner')!;
    const end = new Date(Math.floor(Date.now() / 1000) * 1000);
    const start = new Date(end.getTime() - 5000);
    const path = `/v1/servers/${server.id}/metrics?start=${start.toISOString()}&end=${end.toISOString()}&step=1`;
    const first = await sys.request('GET', path);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.step_seconds, 1);
    const direct = await http(sys.sandbox.baseUrls.hetzner!, 'GET', `/servers/${server.providerId}/metrics?type=cpu&start=${start.toISOString()}&end=${end.toISOString()}&step=1`, { token: sys.sandbox.token });
    assert.equal(direct.status, 200);
    const cpu = (first.body.series as Series[]).find((s) => s.name === 'cpu_percent')!;
    const raw = direct.body.metrics.time_series.cpu.values as Array<[number, string]>;
    assert.deepEqual(
      cpu.points.map((pt) => [Date.parse(pt.at) / 1000, pt.value]),
      raw.map(([t, v]) => [t, Number(v)]),
    );
    const again = await sys.request('GET', path);
    assert.deepEqual(again.body.series, first.body.series, 'deterministic per server');
  });

  test('a provider without a metrics API (UpCloud) answers 501 saying so, in the /v1 error shape', async () => {
    const res = await sys.request('GET', `/v1/servers/${servers.get('upcloud')!.id}/metrics`);
    assert.equal(res.status, 501, JSON.stringify(res.body));
    assert.equal(res.body.error, 'METRICS_UNSUPPORTED');
    assert.equal(res.body.code, '501');
    assert.match(res.body.message, /UpCloud/);
  });

  test('bad ranges are a 400 naming the field, never a 5xx, and ask no provider', async () => {
    const id = servers.get('hetzner')!.id;
    const now = Date.now();
    const iso = (ms: number) => new Date(ms).toISOString();
    const before = (await http(sys.sandbox.url, 'GET', '/_sandbox/requests', { token: sys.sandbox.token })).body;
    const cases: Array<[string, string]> = [
      ['start=yesterday', 'query.start'],
      [`end=${encodeURIComponent('2026-13-45T99:00:00Z')}`, 'query.end'],
      [`start=${iso(now - 60_000)}&end=${iso(now - 120_000)}`, 'query.start'],
      [`start=${iso(now - 60_000)}&end=${iso(now - 60_000)}`, 'query.start'],
      [`end=${iso(now + 3_600_000)}`, 'query.end'],
      [`start=${iso(now - 40 * 86_400_000)}`, 'query.start'],
      ['step=0', 'query.step'],
      ['step=1.5', 'query.step'],
      ['step=90000', 'query.step'],
      [`start=${iso(now - 60_000)}&step=3600`, 'query.step'],
      ['window=1h', 'query.window'],
    ];
    for (const [query, field] of cases) {
      const res = await sys.request('GET', `/v1/servers/${id}/metrics?${query}`);
      assert.equal(res.status, 400, `${query}: ${res.status} ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error, 'VALIDATION_FAILED', query);
      assert.ok(
        (res.body.details as Array<{ field: string }>).some((d) => d.field === field),
        `${query} names ${field}: ${JSON.stringify(res.body.details)}`,
      );
    }
    const afterCounts = (await http(sys.sandbox.url, 'GET', '/_sandbox/requests', { token: sys.sandbox.token })).body;
    assert.ok(before.hetzner, 'the sandbox counts Hetzner requests');
    assert.deepEqual(afterCounts.hetzner, before.hetzner, 'no request reached Hetzner for a bad range');
    // A bad range on a server that does not exist is still a 400 (the range is checked first); a good one a 404.
    assert.equal((await sys.request('GET', '/v1/servers/srv-000000000000/metrics?step=0')).status, 400);
    assert.equal((await sys.request('GET', '/v1/servers/srv-000000000000/metrics')).status, 404);
  });

  test("a server of a workspace the caller cannot see is a 404, like one that does not exist", async () => {
    assert.equal((await sys.request('POST', '/v1/users', { body: { username: 'stella', password: 'stella-password-123', role: 'viewer', workspaces: ['staging'] } })).status, 201);
    const login = await http(sys.url, 'POST', '/v1/auth/login', { body: { username: 'stella', password: 'stella-password-123' } });
    assert.equal(login.status, 200);
    const res = await http(sys.url, 'GET', `/v1/servers/${servers.get('hetzner')!.id}/metrics`, { token: login.body.token });
    assert.equal(res.status, 404);
    assert.equal(res.body.error, 'SERVER_NOT_FOUND');
  });

  test("each reading is requests at the provider: Hetzner one, DigitalOcean seven (one per series), Vultr one", async () => {
    const counts = async () => (await http(sys.sandbox.url, 'GET', '/_sandbox/requests', { token: sys.sandbox.token })).body as Record<string, Record<string, { requests: number }>>;
    const total = (c: Record<string, Record<string, { requests: number }>>, provider: string) => Object.values(c[provider] ?? {}).reduce((n, v) => n + v.requests, 0);
    for (const [provider, expected] of [['hetzner', 1], ['digitalocean', 7], ['vultr', 1]] as const) {
      const before = total(await counts(), provider);
      const res = await sys.request('GET', `/v1/servers/${servers.get(provider)!.id}/metrics`);
      assert.equal(res.status, 200);
      // Nothing else asks the providers now (no waits, no reconcile): the reading's requests alone.
      assert.equal(total(await counts(), provider) - before, expected, provider);
    }
  });

  test("a provider's 429 is a 503 in the /v1 shape, and the account's shared budget then holds readings back without sending them", async () => {
    const admin = (method: string, path: string, body?: unknown) => http(sys.sandbox.url, method, `/_sandbox${path}`, { token: sys.sandbox.token, body });
    const hetznerCounts = async () => Object.values(((await admin('GET', '/requests')).body.hetzner ?? {}) as Record<string, { requests: number; rate_limited: number }>)[0]!;
    assert.equal((await admin('POST', '/hetzner/config', { rateLimit: { capacity: 1, refillPerSecond: 0.001 } })).status, 200);
    try {
      const id = servers.get('hetzner')!.id;
      const replies = [];
      for (let i = 0; i < 3; i++) replies.push(await sys.request('GET', `/v1/servers/${id}/metrics`));
      const limited = replies.filter((r) => r.status === 503);
      assert.ok(limited.length >= 2, JSON.stringify(replies.map((r) => r.status)));
      for (const r of limited) {
        assert.equal(r.body.error, 'PROVIDER_RATE_LIMITED');
        assert.equal(r.body.code, '503');
      }
      assert.ok(replies.every((r) => r.status === 200 || r.status === 503));
      const before = await hetznerCounts();
      assert.equal((await sys.request('GET', `/v1/servers/${id}/metrics`)).status, 503);
      assert.equal((await hetznerCounts()).requests, before.requests, 'held back by the budget, never sent');
    } finally {
      await admin('POST', '/hetzner/config', { rateLimit: false });
    }
  });
});
