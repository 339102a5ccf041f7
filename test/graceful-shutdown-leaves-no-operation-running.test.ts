import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { ProcessInstanceControl } from '../src/api/instance-control.js';
import { createLogger } from '../src/core/logger.js';
import type { Operation } from '../src/core/operations/model.js';
import { processesWithDataDir, startInstance, type EngineInstance } from './helpers/engine-instance.js';
import { startApiProcess } from './helpers/api-process.js';
import { http } from './helpers/http.js';
import { storedOperationCount } from './helpers/stored-operations.js';
import { TestSystem } from './helpers/system.js';

const CREATE_PATH = '^/v2/droplets$';
const DEADLINE_MS = 2000;

describe('POST /shutdown stops the instance gracefully and leaves no operation running', () => {
  const systems: TestSystem[] = [];
  const instances: EngineInstance[] = [];
  after(async () => {
    for (const i of instances) await i.stop();
    await Promise.all(systems.map((s) => s.stop()));
  });

  test('once the stop begins: readiness 503, new mutating requests 503 in their family shape, reads still answered, the stop asked once', async () => {
    const stops = { supervisor: 0, graceful: 0, now: 0 };
    const control = new ProcessInstanceControl(createLogger('api', 'error'), {
      askSupervisor: () => (stops.supervisor++, false),
      graceful: () => void stops.graceful++,
      now: () => void stops.now++,
    });
    const sys = await TestSystem.start({ workers: 1, control });
    systems.push(sys);

    const bad = await sys.request('POST', '/shutdown', { body: { delay_seconds: 3601, reason: 'x'.repeat(201) } });
    assert.equal(bad.status, 422);
    assert.deepEqual(bad.body.detail.map((d: { loc: string[] }) => d.loc.join('.')).sort(), ['body.delay_seconds', 'body.reason']);
    assert.equal(stops.supervisor + stops.graceful, 0, 'a refused request stops nothing');

    const before = Date.now();
    const answer = await sys.request('POST', '/shutdown', { body: { delay_seconds: 1, reason: 'maintenance' } });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body.shutdown_scheduled, true);
    assert.equal(answer.body.status, 'shutting_down');
    assert.equal(answer.body.mode, 'graceful');
    assert.equal(answer.body.delay_seconds, 1);
    assert.equal(answer.body.reason, 'maintenance');
    assert.equal(answer.body.trace_id, answer.headers.get('x-trace-id'));
    const at = Date.parse(answer.body.scheduled_at);
    assert.ok(at >= before + 900 && at <= Date.now() + 1100, `scheduled_at ${answer.body.scheduled_at}`);

    // Within the delay the instance still takes work.
    const early = await sys.request('GET', '/health/ready', { auth: false });
    assert.equal(early.status, 200, JSON.stringify(early.body));
    await sys.eventually(async () => (stops.graceful > 0 ? true : undefined), 'the stop to begin', 5000);
    assert.ok(Date.now() - before >= 950, 'not before its delay');
    assert.deepEqual(stops, { supervisor: 1, graceful: 1, now: 0 }, 'asked the start command (none here), then stopped itself, once');

    const ready = await sys.request('GET', '/health/ready', { auth: false });
    assert.equal(ready.status, 503);
    assert.equal(ready.body.status, 'DEGRADED');
    assert.deepEqual(ready.body.failing, ['api']);
    assert.match(ready.body.details.api.error, /shutting down \(maintenance\)/);

    const create = await sys.request('POST', '/v1/servers/create', { body: { workspace: 'production', provider: 'digitalocean', plan: 's-1vcpu-1gb', hostname: 'late', zone: 'nyc3' } });
    assert.equal(create.status, 503);
    assert.equal(create.body.error, 'SHUTTING_DOWN');
    assert.equal(create.headers.get('retry-after'), '5');
    const udc = await sys.request('POST', '/reload-config', { body: {} });
    assert.equal(udc.status, 503);
    assert.match(udc.body.detail, /shutting down/);
    const reads = await sys.request('GET', '/v1/operations');
    assert.equal(reads.status, 200);
    assert.equal(await storedOperationCount(sys.api.ctx.redis, sys.api.ctx.keys), 0, 'nothing was accepted');

    // Asked again while stopping: the schedule in force stands, and nothing more is asked.
    const again = await sys.request('POST', '/shutdown', { body: {} });
    assert.equal(again.status, 200);
    assert.equal(again.body.scheduled_at, answer.body.scheduled_at);
    assert.equal(stops.graceful, 1);
  });

  test('on its own, the API process stops itself after answering', async () => {
    const sys = await TestSystem.start({ workers: 0 });
    systems.push(sys);
    const api = await startApiProcess(sys.env);
    try {
      const exited = new Promise<number | null>((r) => api.child.once('exit', (code) => r(code)));
      const answer = await http(api.url, 'POST', '/shutdown', { token: sys.token, body: { reason: 'alone' } });
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.equal(answer.body.delay_seconds, 0);
      assert.equal(await exited, 0);
      assert.match(api.logs.join(''), /shutting down: new work is refused/);
    } finally {
      await api.stop();
    }
  });

  test('under the start command: the whole instance stops, each operation is completed or back in pending, and a worker started afterwards completes them once each', async () => {
    const sys = await TestSystem.start({ workers: 0, doActiveDelayMs: 4000 });
    systems.push(sys);
    const instance = await startInstance(sys, { SHUTDOWN_TIMEOUT_MS: String(DEADLINE_MS) });
    instances.push(instance);

    // Parked: their droplets boot for seconds; their jobs sleep in Redis, in no worker's hands.
    const parked = [await sys.createServer({ hostname: 'parked-1' }), await sys.createServer({ hostname: 'parked-2' })];
    await sys.eventually(async () => {
      const ops = await Promise.all(parked.map((o) => sys.request<Operation>('GET', `/v1/operations/${o.id}`)));
      return ops.every((o) => o.body.progress?.step === 'wait') ? true : undefined;
    }, 'the parked creates to wait');
    // In hand: the sandbox makes each droplet at once but answers only after 20 s, past the deadline.
    sys.sandbox.faults.add({ provider: 'digitalocean', method: 'POST', path: CREATE_PATH, kind: 'slow_response', latencyMs: 20000, count: 2 });
    const counter = sys.sandbox.faults.add({ provider: 'digitalocean', method: 'POST', path: CREATE_PATH, kind: 'latency', latencyMs: 0 });
    const sent = () => sys.sandbox.faults.list().find((r) => r.id === counter)!.matched;
    const inHand = [await sys.createServer({ hostname: 'in-hand-1' }), await sys.createServer({ hostname: 'in-hand-2' })];
    await sys.eventually(async () => (sent() === 2 ? true : undefined), 'the creates to be on the wire', 10000);

    const asked = Date.now();
    const answer = await http(instance.url, 'POST', '/shutdown', { token: sys.token, body: { delay_seconds: 0, reason: 'maintenance' } });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body.status, 'shutting_down');
    const code = await instance.exited;
    const took = Date.now() - asked;
    console.log(`# the start command exited ${took} ms after POST /shutdown (SHUTDOWN_TIMEOUT_MS=${DEADLINE_MS})`);
    assert.equal(code, 0, instance.output().slice(-3000));
    assert.ok(took < DEADLINE_MS + 6000, `it stopped within its deadline: ${took} ms`);
    assert.match(instance.output(), /shutdown asked over the API \(maintenance\)/);
    assert.match(instance.output(), /2 active jobs cut short and handed back/);
    assert.doesNotMatch(instance.output(), /restarting/);
    await sys.eventually(async () => (processesWithDataDir(instance.dataDir).length === 0 ? true : undefined), 'no process of the instance left', 5000);

    // Nobody is working on them now, and none says `running`.
    const all = [...parked, ...inHand];
    const after = await Promise.all(all.map(async (o) => (await sys.request<Operation>('GET', `/v1/operations/${o.id}`)).body));
    for (const op of after) assert.ok(op.status === 'pending' || op.status === 'completed', `${op.id}: ${op.status}`);
    for (const op of after.filter((o) => inHand.some((i) => i.id === o.id))) {
      assert.equal(op.status, 'pending');
      assert.equal(op.progress?.step, 'handed_back');
    }
    const logs = (await sys.request('GET', `/v1/operations/${inHand[0]!.id}/logs?limit=200`)).body;
    assert.match(JSON.stringify(logs), /handed back: worker-1 stopped before it finished/);

    // A handed-back create may have made its droplet already: cancelled now, it is not simply
    // dropped but cancelled by its next run, which removes what it made.
    const [kept, cancelled] = inHand as [Operation, Operation];
    const cancel = await sys.request<Operation>('POST', `/v1/operations/${cancelled.id}/cancel`);
    assert.equal(cancel.status, 202, JSON.stringify(cancel.body));
    assert.equal(cancel.body.status, 'pending');
    assert.ok(cancel.body.cancel_requested_at, 'the cancel is recorded for its next run');

    // A worker started afterwards finishes every one, with one droplet each and no create sent twice.
    await sys.startWorker();
    const rest = [...parked, kept];
    const done = await Promise.all(rest.map((o) => sys.waitForStatus(o.id, ['completed', 'failed', 'cancelled'], 40000)));
    for (const op of done) assert.equal(op.status, 'completed', `${op.id}: ${JSON.stringify(op.error)}`);
    for (const op of rest) assert.equal((await sys.serversMarkedBy('digitalocean', op.id)).length, 1, `one droplet for ${op.id}`);
    assert.equal(done.find((o) => o.id === kept.id)!.result!.resumed, true, 'it found the droplet its first run made');
    const ended = await sys.waitForStatus(cancelled.id, ['completed', 'failed', 'cancelled'], 40000);
    assert.equal(ended.status, 'cancelled', JSON.stringify(ended.result));
    assert.equal((await sys.serversMarkedBy('digitalocean', cancelled.id)).length, 0, 'the droplet it made was removed');
    assert.equal(sent(), 2, 'each create in hand reached the provider once');
  });
});
