import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { VALID_DROPLET, call, withSandbox, type CallResult, type TestSandbox } from './sandbox-helpers.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function api(t: TestSandbox, provider: 'hetzner' | 'vultr') {
  const base = t.sandbox.baseUrls[provider]!;
  return (method: string, path: string, init?: { body?: unknown; token?: string | null }) => call(`${base}${path}`, method, t.sandbox.token, init);
}

function hetznerFieldError(res: CallResult, field: string): void {
  assert.equal(res.status, 400, JSON.stringify(res.body));
  assert.equal(res.body.error.code, 'invalid_input');
  assert.equal(res.body.error.details.fields[0].name, field, JSON.stringify(res.body));
}

describe("the sandbox simulates each provider's monitoring endpoint: path, query, answer, errors, rate limits", () => {
  test('Hetzner GET /servers/{id}/metrics: time_series per type at the step, values as strings, invalid_input naming the field', () =>
    withSandbox(async (t) => {
      const hz = api(t, 'hetzner');
      const created = await hz('POST', '/servers', { body: { name: 'm-1', server_type: 'cx23', image: 'ubuntu-24.04', location: 'fsn1' } });
      assert.equal(created.status, 201);
      const id = created.body.server.id;
      const start = new Date(t.clock.now()).toISOString();
      t.clock.advance(HOUR);
      const end = new Date(t.clock.now()).toISOString();

      const res = await hz('GET', `/servers/${id}/metrics?type=cpu,disk&start=${start}&end=${end}&step=60`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.ok(res.headers.get('ratelimit-remaining'), 'the rate-limit headers, as on every answer');
      const m = res.body.metrics;
      assert.equal(m.step, 60);
      assert.deepEqual(Object.keys(m.time_series).sort(), ['cpu', 'disk.0.bandwidth.read', 'disk.0.bandwidth.write', 'disk.0.iops.read', 'disk.0.iops.write']);
      const cpu = m.time_series.cpu.values as Array<[number, string]>;
      assert.equal(cpu.length, 61, 'an hour at one a minute, both ends');
      for (const [at, value] of cpu) {
        assert.equal(at % 60, 0, 'aligned to the step');
        assert.equal(typeof value, 'string');
        assert.ok(Number(value) >= 0 && Number(value) <= 100);
      }
      assert.ok(new Set(cpu.map(([, v]) => v)).size > 10, 'a series that moves');
      // Repeated `type` as hcloud-go sends it, and the same figures on every read.
      const repeated = await hz('GET', `/servers/${id}/metrics?type=cpu&type=network&start=${start}&end=${end}&step=60`);
      assert.deepEqual(repeated.body.metrics.time_series.cpu, m.time_series.cpu);
      assert.ok(repeated.body.metrics.time_series['network.0.bandwidth.in']);
      // Nothing before the server existed.
      const earlier = await hz('GET', `/servers/${id}/metrics?type=cpu&start=${new Date(Date.parse(start) - HOUR).toISOString()}&end=${start}&step=60`);
      assert.ok(earlier.body.metrics.time_series.cpu.values.length <= 1);

      hetznerFieldError(await hz('GET', `/servers/${id}/metrics?start=${start}&end=${end}`), 'type');
      hetznerFieldError(await hz('GET', `/servers/${id}/metrics?type=memory&start=${start}&end=${end}`), 'type');
      hetznerFieldError(await hz('GET', `/servers/${id}/metrics?type=cpu&end=${end}`), 'start');
      hetznerFieldError(await hz('GET', `/servers/${id}/metrics?type=cpu&start=yesterday&end=${end}`), 'start');
      hetznerFieldError(await hz('GET', `/servers/${id}/metrics?type=cpu&start=${end}&end=${start}`), 'end');
      hetznerFieldError(await hz('GET', `/servers/${id}/metrics?type=cpu&start=${start}&end=${end}&step=0`), 'step');
      const missing = await hz('GET', `/servers/999999/metrics?type=cpu&start=${start}&end=${end}`);
      assert.equal(missing.status, 404);
      assert.equal(missing.body.error.code, 'not_found');
      assert.equal((await hz('GET', `/servers/${id}/metrics?type=cpu&start=${start}&end=${end}`, { token: null })).status, 401);
    }));

  test('Hetzner rate limit counts monitoring reads like any other request', () =>
    withSandbox(
      async (t) => {
        const hz = api(t, 'hetzner');
        const created = await hz('POST', '/servers', { body: { name: 'm-2', server_type: 'cx23', image: 'ubuntu-24.04', location: 'fsn1' } });
        const iso = new Date(t.clock.now()).toISOString();
        const path = `/servers/${created.body.server.id}/metrics?type=cpu&start=${iso}&end=${iso}`;
        assert.equal((await hz('GET', path)).status, 200);
        const limited = await hz('GET', path);
        assert.equal(limited.status, 429);
        assert.equal(limited.body.error.code, 'rate_limit_exceeded');
      },
      { hetzner: { rateLimit: { capacity: 2, refillPerSecond: 0.001 } } },
    ));

  test('DigitalOcean /v2/monitoring/metrics/droplet/{metric}: Prometheus matrices from the agent, bad_request naming the parameter', () =>
    withSandbox(async (t) => {
      const withAgent = await t.doApi('POST', '/droplets', { body: { ...VALID_DROPLET, name: 'm-agent', monitoring: true } });
      const without = await t.doApi('POST', '/droplets', { body: { ...VALID_DROPLET, name: 'm-none' } });
      const host = withAgent.body.droplet.id;
      const start = Math.floor(t.clock.now() / 1000);
      t.clock.advance(HOUR);
      const end = Math.floor(t.clock.now() / 1000);
      const q = `host_id=${host}&start=${start}&end=${end}`;

      const cpu = await t.doApi('GET', `/monitoring/metrics/droplet/cpu?${q}`);
      assert.equal(cpu.status, 200, JSON.stringify(cpu.body));
      assert.ok(cpu.headers.get('ratelimit-remaining'));
      assert.equal(cpu.body.status, 'success');
      assert.equal(cpu.body.data.resultType, 'matrix');
      const modes = cpu.body.data.result.map((r: { metric: { mode: string } }) => r.metric.mode).sort();
      assert.deepEqual(modes, ['idle', 'iowait', 'irq', 'nice', 'softirq', 'steal', 'system', 'user']);
      for (const r of cpu.body.data.result) {
        assert.equal(r.metric.host_id, String(host));
        const values = r.values.map(([, v]: [number, string]) => Number(v));
        for (let i = 1; i < values.length; i++) assert.ok(values[i] >= values[i - 1], `${r.metric.mode} is a counter`);
      }
      const total = await t.doApi('GET', `/monitoring/metrics/droplet/memory_total?${q}`);
      assert.ok(total.body.data.result[0].values.every(([, v]: [number, string]) => Number(v) === 1024 * 1024 * 1024));
      const fs = await t.doApi('GET', `/monitoring/metrics/droplet/filesystem_free?${q}`);
      assert.deepEqual(Object.keys(fs.body.data.result[0].metric).sort(), ['device', 'fstype', 'host_id', 'mountpoint']);
      const bw = await t.doApi('GET', `/monitoring/metrics/droplet/bandwidth?${q}&interface=public&direction=outbound`);
      assert.equal(bw.body.data.result[0].metric.direction, 'outbound');

      // No agent, no series.
      const none = await t.doApi('GET', `/monitoring/metrics/droplet/cpu?host_id=${without.body.droplet.id}&start=${start}&end=${end}`);
      assert.deepEqual(none.body.data.result, []);

      for (const [path, word] of [
        [`/monitoring/metrics/droplet/cpu?start=${start}&end=${end}`, 'host_id'],
        [`/monitoring/metrics/droplet/cpu?host_id=${host}&end=${end}`, 'start'],
        [`/monitoring/metrics/droplet/cpu?host_id=${host}&start=${end}&end=${start}`, 'end'],
        [`/monitoring/metrics/droplet/bandwidth?${q}&direction=inbound`, 'interface'],
        [`/monitoring/metrics/droplet/bandwidth?${q}&interface=public`, 'direction'],
      ] as const) {
        const res = await t.doApi('GET', path);
        assert.equal(res.status, 400, path);
        assert.equal(res.body.id, 'bad_request');
        assert.match(res.body.message, new RegExp(word));
      }
      assert.equal((await t.doApi('GET', `/monitoring/metrics/droplet/cpu?${q}`, { token: null })).status, 401);
    }));

  test('Vultr GET /v2/instances/{id}/bandwidth: bytes in and out per day, date_range checked', () =>
    withSandbox(async (t) => {
      const vu = api(t, 'vultr');
      const created = await vu('POST', '/instances', { body: { region: 'ewr', plan: 'vc2-1c-1gb', os_id: 2284, label: 'm-3' } });
      assert.equal(created.status, 202, JSON.stringify(created.body));
      const id = created.body.instance.id;
      t.clock.advance(2 * DAY + HOUR);
      const res = await vu('GET', `/instances/${id}/bandwidth`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const days = Object.keys(res.body.bandwidth);
      assert.equal(days.length, 3, 'the day it was made, the next, and today');
      for (const day of days) {
        assert.match(day, /^\d{4}-\d{2}-\d{2}$/);
        assert.ok(res.body.bandwidth[day].incoming_bytes > 0 && res.body.bandwidth[day].outgoing_bytes > 0);
      }
      const again = await vu('GET', `/instances/${id}/bandwidth`);
      assert.deepEqual(again.body, res.body, 'the same on every read');
      assert.equal(Object.keys((await vu('GET', `/instances/${id}/bandwidth?date_range=1`)).body.bandwidth).length, 1);
      const bad = await vu('GET', `/instances/${id}/bandwidth?date_range=0`);
      assert.equal(bad.status, 400);
      assert.equal(bad.body.status, 400);
      assert.match(bad.body.error, /date_range/);
      assert.equal((await vu('GET', '/instances/00000000-0000-4000-8000-000000000000/bandwidth')).status, 404);
    }));
});
