import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Scrape } from './helpers/prometheus-text.js';
import { DO_CREATE, submitWorkflow, waitForWorkflow } from './helpers/workflows.js';
import { startApi } from '../src/api/server.js';
import { createLogger } from '../src/core/logger.js';
import { http } from './helpers/http.js';
import { TestSystem } from './helpers/system.js';
import { redisAddressOf } from '../src/core/redis.js';

const METRICS_TOKEN = 'scrape-token-every-worker-0123';
// Pushed every 200 ms, so a stopped worker's last push lapses (3 intervals) within a second.
const PUSH_MS = 200;

interface PushedMetric {
  name: string;
  values: Array<{ value: number; labels: Record<string, string | number>; metricName?: string }>;
}

describe('GET /metrics sums every worker process and API replica in one scrape', () => {
  let sys: TestSystem;
  before(async () => {
    sys = await TestSystem.start({ workers: 2, env: { METRICS_TOKEN, METRICS_PUSH_MS: String(PUSH_MS) } });
  });
  after(async () => {
    await sys?.stop();
  });

  async function scrape(): Promise<Scrape> {
    const res = await sys.request<string>('GET', '/metrics', { auth: false, headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    assert.equal(res.status, 200);
    return new Scrape(res.body);
  }

  /** What each worker process last pushed, by its WORKER_NAME, read straight from Redis. */
  async function pushedByWorker(): Promise<Map<string, PushedMetric[]>> {
    const { redis, keys } = sys.api.ctx;
    const ids = await redis.smembers(keys.metricsProcesses());
    const out = new Map<string, PushedMetric[]>();
    for (const id of ids) {
      const raw = await redis.get(keys.metricsOfProcess(id));
      if (raw) out.set(id.split('@')[0]!, JSON.parse(raw) as PushedMetric[]);
    }
    return out;
  }

  function pushedSum(metrics: PushedMetric[] | undefined, name: string, want: Record<string, string>, metricName = name): number {
    const metric = metrics?.find((m) => m.name === name);
    return (metric?.values ?? [])
      .filter((v) => (v.metricName ?? name) === metricName && Object.entries(want).every(([k, w]) => String(v.labels[k]) === w))
      .reduce((sum, v) => sum + v.value, 0);
  }

  const finished = { type: 'server.create', state: 'completed' };

  test('worker-side and API-side series in one scrape; two workers\' counts add up', { timeout: 120_000 }, async () => {
    // Creates until both workers have finished some (which worker claims a job is BullMQ's choice).
    let created = 0;
    let pushed = new Map<string, PushedMetric[]>();
    for (let round = 0; round < 8; round++) {
      const ops = await Promise.all([0, 1, 2].map((i) => sys.createServer({ hostname: `scrape-${round}-${i}` })));
      for (const op of ops) assert.equal((await sys.waitForStatus(op.id, ['completed', 'failed', 'cancelled'], 30_000)).status, 'completed');
      created += ops.length;
      // Both workers' pushes have caught up with every finish.
      pushed = await sys.eventually(async () => {
        const now = await pushedByWorker();
        const total = ['worker-1', 'worker-2'].reduce((sum, w) => sum + pushedSum(now.get(w), 'engine_operations_finished_total', finished), 0);
        return total === created ? now : undefined;
      }, 'the workers\' pushes to count every finish', 10_000);
      if (['worker-1', 'worker-2'].every((w) => pushedSum(pushed.get(w), 'engine_operations_finished_total', finished) > 0)) break;
    }
    const one = pushedSum(pushed.get('worker-1'), 'engine_operations_finished_total', finished);
    const two = pushedSum(pushed.get('worker-2'), 'engine_operations_finished_total', finished);
    assert.ok(one > 0 && two > 0, `both workers finished creates (${one} and ${two})`);

    const families = await scrape();
    // The finishes counted by two worker processes, summed: each operation exactly once.
    assert.equal(families.type('engine_operations_finished_total'), 'COUNTER');
    assert.equal(families.sum('engine_operations_finished_total', finished), one + two);
    assert.equal(one + two, created);
    // Durations from acceptance and from the first claim: one observation per create, with boots in the seconds.
    assert.equal(families.histogramCount('engine_operation_duration_seconds', { type: 'server.create' }), created);
    assert.equal(families.histogramCount('engine_operation_run_duration_seconds', { type: 'server.create' }), created);
    assert.ok(families.sum('engine_operation_duration_seconds_sum', { type: 'server.create' }) > 0);
    assert.ok(families.buckets('engine_operation_duration_seconds').has('90'), 'buckets reach the 30-90 s a real boot takes');
    // Provider call latency from the workers, for DigitalOcean, by method; at least what both workers had pushed.
    const doCalls = families.histogramCount('engine_provider_request_duration_seconds', { provider: 'digitalocean' });
    const pushedCalls = ['worker-1', 'worker-2'].reduce(
      (sum, w) => sum + pushedSum(pushed.get(w), 'engine_provider_request_duration_seconds', { provider: 'digitalocean' }, 'engine_provider_request_duration_seconds_count'),
      0,
    );
    assert.ok(pushedCalls > 0 && doCalls >= pushedCalls, `scrape ${doCalls} >= pushed ${pushedCalls}`);
    assert.ok(families.histogramCount('engine_provider_request_duration_seconds', { provider: 'digitalocean', method: 'POST' }) >= created);
    assert.equal(families.type('engine_provider_errors_total'), 'COUNTER');
    assert.equal(families.type('engine_provider_rate_limited_total'), 'COUNTER');
    // The API process's own series beside them, and the engine gauges it reads from Redis.
    assert.ok(families.sum('droplet_requests_total') > created);
    assert.ok(families.histogramCount('http_request_duration_seconds', { route: '/v1/servers/create' }) >= created);
    assert.equal(families.sum('engine_workers_alive'), 2);
    assert.equal(families.type('engine_queue_oldest_waiting_seconds'), 'GAUGE');
    assert.equal(families.sum('engine_operations', { type: 'server.create', status: 'completed' }), created);
  });

  test('a cancel is counted where it happens, and how it ended', { timeout: 60_000 }, async () => {
    const before = await scrape();
    const requested = (f: Scrape) => f.sum('engine_cancellations_requested_total');
    const ended = (f: Scrape) => f.sum('engine_cancellations_finished_total', { state: 'cancelled' });
    const op = await sys.createServer({ hostname: 'scrape-cancel' });
    const cancel = await sys.request('POST', `/v1/operations/${op.id}/cancel`);
    assert.ok([200, 202].includes(cancel.status), JSON.stringify(cancel.body));
    assert.equal((await sys.waitForStatus(op.id, ['completed', 'failed', 'cancelled'])).status, 'cancelled');
    const after = await sys.eventually(async () => {
      const f = await scrape();
      return ended(f) === ended(before) + 1 ? f : undefined;
    }, 'the cancellation to be counted', 10_000);
    assert.equal(requested(after), requested(before) + 1);
    assert.equal(after.sum('engine_operations_finished_total', { type: 'server.create', state: 'cancelled' }), 1);
  });

  test('a retry of the cancelled create and a workflow\'s steps are counted', { timeout: 90_000 }, async () => {
    const before = await scrape();
    const cancelled = (await sys.request('GET', '/v1/operations?status=cancelled&type=server.create')).body;
    const original = (Array.isArray(cancelled) ? cancelled : cancelled.items)[0];
    const retry = await sys.request('POST', `/v1/operations/${original.id}/retry`);
    assert.equal(retry.status, 202, JSON.stringify(retry.body));
    assert.equal((await sys.waitForStatus(retry.body.id, ['completed', 'failed', 'cancelled'])).status, 'completed');
    const wf = await submitWorkflow(sys, { workflow_type: 'cluster_create', parameters: { cluster_name: 'scrape', node_count: 2, ...DO_CREATE, taskservs: [] } });
    assert.equal((await waitForWorkflow(sys, wf.id)).status, 'completed');
    // Settled: the retry and both steps are server.create finishes, the workflow one of its own type.
    const after = await sys.eventually(async () => {
      const f = await scrape();
      const settled = f.sum('engine_operations_finished_total', finished) === before.sum('engine_operations_finished_total', finished) + 3
        && f.sum('engine_operations_finished_total', { type: 'workflow.cluster_create', state: 'completed' }) === 1;
      return settled ? f : undefined;
    }, 'the retry and the workflow to be counted', 10_000);
    assert.equal(after.sum('engine_operations_retried_total', { type: 'server.create' }), before.sum('engine_operations_retried_total', { type: 'server.create' }) + 1);
    assert.equal(after.sum('engine_workflow_steps_finished_total', { state: 'completed' }), before.sum('engine_workflow_steps_finished_total', { state: 'completed' }) + 2);
    assert.equal(after.histogramCount('engine_operation_duration_seconds', { type: 'workflow.cluster_create' }), 1);
  });

  test('a second API replica\'s own counts reach the first one\'s scrape, and both answer the same sums', { timeout: 60_000 }, async () => {
    const second = await startApi(sys.config, redisAddressOf(sys.config)!, createLogger('api-2', 'error'), () => undefined);
    try {
      const viaSecond = <T = any>(method: string, path: string, body?: unknown) => http<T>(second.url, method, path, { token: sys.token, body });
      const retried = (f: Scrape) => f.sum('engine_operations_retried_total', { type: 'server.create' });
      const before = await scrape();
      // A retry is counted where its request is answered: in the second replica alone.
      const made = await viaSecond('POST', '/v1/servers/create', { workspace: 'production', provider: 'digitalocean', plan: 's-1vcpu-1gb', hostname: 'scrape-replica', zone: 'nyc3', check_mode: false });
      assert.equal(made.status, 202, JSON.stringify(made.body));
      assert.ok([200, 202].includes((await viaSecond('POST', `/v1/operations/${made.body.id}/cancel`)).status));
      assert.equal((await sys.waitForStatus(made.body.id, ['completed', 'failed', 'cancelled'])).status, 'cancelled');
      const retry = await viaSecond('POST', `/v1/operations/${made.body.id}/retry`);
      assert.equal(retry.status, 202, JSON.stringify(retry.body));
      assert.equal((await sys.waitForStatus(retry.body.id, ['completed', 'failed', 'cancelled'])).status, 'completed');
      const first = await sys.eventually(async () => {
        const f = await scrape();
        const settled = retried(f) === retried(before) + 1 && f.sum('engine_operations_finished_total', finished) === before.sum('engine_operations_finished_total', finished) + 1;
        return settled ? f : undefined;
      }, 'the second replica\'s retry to reach the first one\'s scrape', 10_000);
      const other = await http<string>(second.url, 'GET', '/metrics', { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
      assert.equal(other.status, 200);
      const fromSecond = new Scrape(other.body);
      assert.equal(retried(fromSecond), retried(first));
      assert.equal(fromSecond.sum('engine_operations_finished_total', finished), first.sum('engine_operations_finished_total', finished));
    } finally {
      await second.close();
    }
  });

  test('provider failures are counted by kind, 429s apart, and the job runs they cost as retries', { timeout: 60_000 }, async () => {
    const before = await scrape();
    const errors = (f: Scrape, kind: string) => f.sum('engine_provider_errors_total', { provider: 'digitalocean', kind });
    const retried = (f: Scrape) => f.sum('engine_jobs_retried_total', { queue: 'operations-digitalocean' });
    const limited = (f: Scrape) => f.sum('engine_provider_rate_limited_total', { provider: 'digitalocean' });
    // A create is not repeated inside one job run: each 503 fails the run, and BullMQ runs the job again.
    sys.sandbox.faults.add({ provider: 'digitalocean', method: 'POST', path: '^/v2/droplets$', kind: 'status', status: 503, count: 2 });
    // Looks at the booting droplet answered 429: counted as an error of kind rate_limited, and as a 429.
    sys.sandbox.faults.add({ provider: 'digitalocean', method: 'GET', path: '^/v2/droplets/\\d+$', kind: 'status', status: 429, retryAfterSec: 1, count: 2 });
    const op = await sys.createServer({ hostname: 'scrape-faults' });
    const done = await sys.waitForStatus(op.id, ['completed', 'failed', 'cancelled'], 30_000);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.equal(done.attempt, 3);
    const after = await sys.eventually(async () => {
      const f = await scrape();
      const counted = f.sum('engine_operations_finished_total', finished) === before.sum('engine_operations_finished_total', finished) + 1;
      return counted && retried(f) === retried(before) + 2 && limited(f) === limited(before) + 2 ? f : undefined;
    }, 'the retries and the 429s to be counted', 10_000);
    assert.equal(errors(after, 'server_error'), errors(before, 'server_error') + 2);
    assert.equal(errors(after, 'rate_limited'), errors(before, 'rate_limited') + 2);
    assert.equal(errors(after, 'timeout'), errors(before, 'timeout'));
  });

  test('a stopped worker\'s pushed series lapse and leave the sum', { timeout: 60_000 }, async () => {
    const before = await scrape();
    const gone = pushedSum((await pushedByWorker()).get('worker-2'), 'engine_operations_finished_total', finished);
    assert.ok(gone > 0, 'worker-2 had counted finishes');
    await sys.workers[1]!.kill('SIGTERM');
    const stoppedAt = Date.now();
    // Its last push stands for three intervals, then lapses: the scrape then sums worker-1 alone.
    const { families, kept } = await sys.eventually(async () => {
      const f = await scrape();
      const now = await pushedByWorker();
      if (now.has('worker-2')) return undefined;
      const one = now.get('worker-1');
      const keptFinishes = pushedSum(one, 'engine_operations_finished_total', finished);
      const keptRuns = pushedSum(one, 'engine_operation_run_duration_seconds', { type: 'server.create' }, 'engine_operation_run_duration_seconds_count');
      return f.sum('engine_operations_finished_total', finished) === keptFinishes ? { families: f, kept: { finishes: keptFinishes, runs: keptRuns } } : undefined;
    }, 'worker-2\'s series to lapse', 15_000);
    // A clean stop takes a fraction of a second here; its last push then stands for 3 x 200 ms.
    assert.ok(Date.now() - stoppedAt < 10_000, `lapsed ${Date.now() - stoppedAt} ms after the stop`);
    assert.equal(kept.finishes, before.sum('engine_operations_finished_total', finished) - gone);
    assert.equal(families.histogramCount('engine_operation_run_duration_seconds', { type: 'server.create' }), kept.runs);
    // The scrape also forgot its id, so nothing is read for it any more.
    assert.ok(!(await sys.api.ctx.redis.smembers(sys.api.ctx.keys.metricsProcesses())).some((id) => id.startsWith('worker-2@')));
  });
});
