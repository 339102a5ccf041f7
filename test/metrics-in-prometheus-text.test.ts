import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TestSystem } from './helpers/system.js';

const METRICS_TOKEN = 'scrape-token-0123456789abcdef';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"`;
const VALUE = '[+-]?(?:[0-9]*\\.?[0-9]+(?:[eE][+-]?[0-9]+)?|Inf|NaN)';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{((?:${LABEL})(?:,${LABEL})*,?)?\\})? (${VALUE})(?: -?[0-9]+)?$`);
const HELP = new RegExp(`^# HELP (${NAME}) .*$`);
const TYPE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);

/** Parses the text exposition format (0.0.4) strictly: any line it does not recognise fails the test. */
function parsePrometheusText(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  assert.ok(text.endsWith('\n'), 'the exposition ends with a newline');
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const type = TYPE.exec(line);
      if (type) {
        assert.ok(!types.has(type[1]!), `one TYPE line per family: ${type[1]}`);
        types.set(type[1]!, type[2]!);
        continue;
      }
      assert.match(line, HELP, `a comment is HELP or TYPE: ${line}`);
      continue;
    }
    const m = SAMPLE.exec(line);
    assert.ok(m, `not a valid sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!;
    const value = m[3] === '+Inf' || m[3] === 'Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    const family = m[1]!.replace(/_(bucket|sum|count|created|total)$/, '');
    assert.ok(types.has(m[1]!) || types.has(family) || types.has(`${family}_total`), `sample ${m[1]} has a TYPE`);
    samples.push({ name: m[1]!, labels, value });
  }
  return { types, samples };
}

function find(samples: Sample[], name: string, labels: Record<string, string> = {}): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

describe('GET /metrics answers Prometheus text', () => {
  let sys: TestSystem;
  before(async () => {
    // The providers' default request budgets (the test system turns them off), so each account has one to report.
    const budgets = { RATE_LIMIT_DIGITALOCEAN: '250/1m,5000/1h', RATE_LIMIT_HETZNER: '3600/1h', RATE_LIMIT_VULTR: '30/1s', RATE_LIMIT_UPCLOUD: '10/1s' };
    sys = await TestSystem.start({ workers: 1, doActiveDelayMs: 1500, env: { METRICS_TOKEN, ...budgets } });
  });
  after(async () => {
    await sys?.stop();
  });

  async function scrape(headers: Record<string, string> = { authorization: `Bearer ${METRICS_TOKEN}` }) {
    return sys.request<string>('GET', '/metrics', { auth: false, headers });
  }

  test('without a credential it is refused; the metrics token and an admin token are accepted', async () => {
    const none = await scrape({});
    assert.equal(none.status, 401);
    const wrong = await scrape({ authorization: 'Bearer not-the-metrics-token' });
    assert.equal(wrong.status, 401);
    const byToken = await scrape();
    assert.equal(byToken.status, 200);
    assert.match(byToken.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const byAdmin = await sys.request<string>('GET', '/metrics');
    assert.equal(byAdmin.status, 200);
  });

  test('after a completed create and a cancelled one, the series match what the API says', async () => {
    const done = await sys.createServer({ hostname: 'metrics-done-01' });
    assert.equal((await sys.waitForStatus(done.id, ['completed', 'failed', 'cancelled'])).status, 'completed');
    const doomed = await sys.createServer({ hostname: 'metrics-cancel-01' });
    const cancel = await sys.request('POST', `/v1/operations/${doomed.id}/cancel`);
    assert.ok([200, 202].includes(cancel.status), JSON.stringify(cancel.body));
    assert.equal((await sys.waitForStatus(doomed.id, ['completed', 'failed', 'cancelled'])).status, 'cancelled');
    // Operation detail reads, so the histogram sees a templated route.
    assert.equal((await sys.request('GET', `/v1/operations/${done.id}`)).status, 200);

    const res = await scrape();
    assert.equal(res.status, 200);
    const { types, samples } = parsePrometheusText(res.body);

    // The mesh seed's series, each labelled with the droplet id.
    for (const [name, type] of [['droplet_requests_total', 'counter'], ['droplet_errors_total', 'counter'], ['droplet_uptime_seconds', 'gauge'], ['droplet_cpu_percent', 'gauge'], ['droplet_memory_bytes', 'gauge']] as const) {
      assert.equal(types.get(name), type, name);
      const [s] = find(samples, name);
      assert.ok(s && typeof s.labels.droplet_id === 'string' && Number.isFinite(s.value), name);
    }
    assert.ok(find(samples, 'droplet_requests_total')[0]!.value >= 4);
    assert.ok(find(samples, 'droplet_memory_bytes')[0]!.value > 0);
    // The process's default metrics.
    assert.ok(find(samples, 'process_resident_memory_bytes').length === 1);
    assert.ok(find(samples, 'nodejs_eventloop_lag_seconds').length === 1);

    // Operations by type and status agree with the API's own counts.
    const api = await sys.request('GET', '/v1/metrics');
    assert.equal(api.status, 200);
    for (const [status, n] of Object.entries(api.body.tasks.by_status as Record<string, number>)) {
      const sum = find(samples, 'engine_operations', { status }).reduce((a, s) => a + s.value, 0);
      assert.equal(sum, n, `operations ${status}`);
    }
    assert.equal(find(samples, 'engine_operations', { type: 'server.create', status: 'completed' })[0]?.value, 1);
    assert.equal(find(samples, 'engine_operations', { type: 'server.create', status: 'cancelled' })[0]?.value, 1);
    assert.equal(find(samples, 'engine_operations_finished_last_hour', { state: 'completed' })[0]?.value, 1);
    assert.equal(find(samples, 'engine_operations_finished_last_hour', { state: 'cancelled' })[0]?.value, 1);
    assert.equal(find(samples, 'engine_operations_finished_last_hour', { state: 'failed' })[0]?.value, 0);

    // Queue depth, the oldest waiting job and the rate-limit budget, per configured provider.
    const configured = Object.entries(sys.config.providers).filter(([, c]) => c).map(([p]) => p);
    assert.ok(configured.includes('digitalocean'));
    for (const provider of configured) {
      for (const state of ['waiting', 'active', 'delayed', 'failed']) assert.equal(find(samples, 'engine_queue_jobs', { provider, state }).length, 1, `${provider} ${state}`);
      assert.equal(find(samples, 'engine_queue_oldest_waiting_seconds', { provider }).length, 1, provider);
      const budget = find(samples, 'engine_rate_budget_remaining', { provider });
      assert.ok(budget.length >= 1 && budget.every((s) => s.value >= 0), `${provider} budget`);
    }
    assert.equal(find(samples, 'engine_queue_jobs', { provider: 'none', queue: 'workflows', state: 'waiting' }).length, 1);
    // The create spent DigitalOcean's per-minute budget.
    const doMinute = find(samples, 'engine_rate_budget_remaining', { provider: 'digitalocean', window_seconds: '60' })[0]!;
    assert.ok(doMinute.value < 250, `spent some of 250/min, ${doMinute.value} left`);
    assert.equal(find(samples, 'engine_workers_alive')[0]?.value, 1);

    // The HTTP histogram is labelled by route template, never by a raw path.
    assert.equal(types.get('http_request_duration_seconds'), 'histogram');
    const routes = new Set(find(samples, 'http_request_duration_seconds_count').map((s) => s.labels.route));
    for (const template of ['/v1/operations/{id}', '/v1/servers/create', '/v1/operations/{id}/cancel', '/metrics', '/v1/auth/login']) assert.ok(routes.has(template), `${template} in ${[...routes].join(', ')}`);
    for (const route of routes) assert.ok(!route!.includes(done.id) && !route!.includes(doomed.id), `no raw path: ${route}`);
    const detail = find(samples, 'http_request_duration_seconds_count', { method: 'GET', route: '/v1/operations/{id}', status: '200' })[0]!;
    assert.ok(detail.value >= 2);
    assert.ok(find(samples, 'http_request_duration_seconds_count', { route: '/metrics', status: '401' }).length === 1);
  });

  test('a 404 for an unknown path counts under one route label', async () => {
    await sys.request('GET', '/no/such/path/abc123', { auth: false });
    const { samples } = parsePrometheusText((await scrape()).body);
    const routes = find(samples, 'http_request_duration_seconds_count').map((s) => s.labels.route!);
    assert.ok(!routes.some((r) => r.includes('abc123')));
    assert.ok(find(samples, 'http_request_duration_seconds_count', { route: 'unmatched', status: '404' }).length === 1);
  });
});
