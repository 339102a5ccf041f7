import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { Operation } from '../src/core/operations/model.js';
import { TestSystem, type WorkerProcess } from './helpers/system.js';

const DEADLINE_MS = 3000;
const CREATE_PATH = '^/v2/droplets$';
const ACTIONS_PATH = '^/v2/droplets/\\d+/actions$';

/** The messages of a worker's JSON log lines. */
function messages(worker: WorkerProcess): string[] {
  return worker.logs.flatMap((l) => {
    try {
      return [(JSON.parse(l) as { message: string }).message];
    } catch {
      return [];
    }
  });
}

/** The jobs in the worker's hands when it began to stop, as it said. */
function activeWhenStopping(worker: WorkerProcess): number | undefined {
  const line = worker.logs.find((l) => l.includes('"worker stopping; letting active jobs finish"'));
  return line === undefined ? undefined : (JSON.parse(line) as { active_jobs: number }).active_jobs;
}

/** SIGTERM, and how long the worker took to exit. */
async function stop(worker: WorkerProcess): Promise<number> {
  const sent = Date.now();
  await worker.kill('SIGTERM');
  return Date.now() - sent;
}

/**
 * Creates (and a reboot) whose provider requests are on the wire in the only worker when it is
 * told to stop, beside creates parked while their droplets boot.
 */
async function scene(sys: TestSystem, answerAfterMs: number) {
  // A server to reboot, made before any request is slowed down.
  const made = await sys.waitForStatus((await sys.createServer({ hostname: 'to-reboot' })).id, ['completed', 'failed']);
  assert.equal(made.status, 'completed', JSON.stringify(made.error));
  const serverId = made.result!.server_id as string;

  // Parked: these droplets boot for seconds; their jobs wait in Redis, in no worker's hands.
  const parked = [await sys.createServer({ hostname: 'parked-1' }), await sys.createServer({ hostname: 'parked-2' })];
  await sys.eventually(async () => {
    const ops = await Promise.all(parked.map((o) => sys.request<Operation>('GET', `/v1/operations/${o.id}`)));
    return ops.every((o) => o.body.progress?.step === 'wait') ? true : undefined;
  }, 'the parked creates to wait');

  // In hand: the provider carries out each request at once but answers only after `answerAfterMs`.
  // Rules that only count say how many requests the provider received in all.
  sys.sandbox.faults.add({ provider: 'digitalocean', method: 'POST', path: CREATE_PATH, kind: 'slow_response', latencyMs: answerAfterMs, count: 2 });
  sys.sandbox.faults.add({ provider: 'digitalocean', method: 'POST', path: ACTIONS_PATH, kind: 'slow_response', latencyMs: answerAfterMs, count: 1 });
  const creates = sys.sandbox.faults.add({ provider: 'digitalocean', method: 'POST', path: CREATE_PATH, kind: 'latency', latencyMs: 0 });
  const reboots = sys.sandbox.faults.add({ provider: 'digitalocean', method: 'POST', path: ACTIONS_PATH, kind: 'latency', latencyMs: 0 });
  const sent = (rule: string) => sys.sandbox.faults.list().find((r) => r.id === rule)!.matched;

  const inHand = [await sys.createServer({ hostname: 'in-hand-1' }), await sys.createServer({ hostname: 'in-hand-2' })];
  const reboot = await sys.request<Operation>('POST', `/v1/servers/${serverId}/actions`, { body: { action: 'reboot' } });
  assert.equal(reboot.status, 202, JSON.stringify(reboot.body));
  await sys.eventually(async () => (sent(creates) === 2 && sent(reboots) === 1 ? true : undefined), 'the requests to be on the wire', 10000);
  return { parked, inHand, reboot: reboot.body, createsSent: () => sent(creates), rebootsSent: () => sent(reboots) };
}

/** Every operation completes, each create with one droplet (found by its marker), and no request went twice. */
async function assertNothingLostNothingRepeated(sys: TestSystem, s: Awaited<ReturnType<typeof scene>>): Promise<Operation[]> {
  const ops = [...s.parked, ...s.inHand, s.reboot];
  const done = await Promise.all(ops.map((o) => sys.waitForStatus(o.id, ['completed', 'failed', 'cancelled'], 40000)));
  for (const op of done) assert.equal(op.status, 'completed', `${op.id} (${op.type}): ${JSON.stringify(op.error)}`);
  for (const op of [...s.parked, ...s.inHand]) {
    const servers = await sys.serversMarkedBy('digitalocean', op.id);
    assert.equal(servers.length, 1, `one droplet for ${op.id}`);
  }
  assert.equal(s.createsSent(), 2, 'each create in hand reached the provider once');
  assert.equal(s.rebootsSent(), 1, 'the reboot reached the provider once');
  return done;
}

describe('a worker stopped with active jobs, Redis up, loses nothing and repeats nothing', () => {
  const systems: TestSystem[] = [];
  after(async () => {
    await Promise.all(systems.map((s) => s.stop()));
  });

  test('answers that come within the deadline: its jobs finish in it, and it exits as soon as they have', async () => {
    const sys = await TestSystem.start({ workers: 1, doActiveDelayMs: 3000, doActionDelayMs: 300, env: { SHUTDOWN_TIMEOUT_MS: String(DEADLINE_MS) } });
    systems.push(sys);
    const s = await scene(sys, 1500);
    const [first] = sys.workers;

    const took = await stop(first!);
    console.log(`# jobs in hand that finish in time: the worker exited ${took} ms after SIGTERM (deadline ${DEADLINE_MS} ms)`);
    assert.equal(first!.child.exitCode, 0, first!.logs.slice(-10).join('\n'));
    assert.ok(took < DEADLINE_MS, `it did not wait for the deadline: ${took} ms`);
    const said = messages(first!);
    assert.equal(activeWhenStopping(first!), 3, 'the two creates and the reboot were in hand');
    assert.match(said.at(-1)!, /^worker-1 stopped after \d+ ms$/);
    assert.ok(!said.some((m) => /cut short/.test(m)));

    // Another worker carries on the waits that the finished runs parked.
    await sys.startWorker();
    const done = await assertNothingLostNothingRepeated(sys, s);
    // The first run of each job in hand got its answer: none was run again from the start.
    for (const op of done.filter((o) => s.inHand.some((i) => i.id === o.id))) {
      assert.equal(op.attempt, 1);
      assert.equal(op.result!.resumed, false);
    }
  });

  test('answers that come after the deadline: cut short there, another worker takes the jobs over and finishes them', async () => {
    const sys = await TestSystem.start({ workers: 1, doActiveDelayMs: 3000, doActionDelayMs: 300, env: { SHUTDOWN_TIMEOUT_MS: String(DEADLINE_MS) } });
    systems.push(sys);
    const s = await scene(sys, 15000);
    const [first] = sys.workers;

    const took = await stop(first!);
    console.log(`# jobs in hand past the deadline: the worker exited ${took} ms after SIGTERM (deadline ${DEADLINE_MS} ms)`);
    assert.equal(first!.child.exitCode, 1, first!.logs.slice(-10).join('\n'));
    assert.ok(took >= DEADLINE_MS - 50 && took < DEADLINE_MS + 1000, `it stopped at its deadline: ${took} ms`);
    assert.equal(activeWhenStopping(first!), 3, 'the two creates and the reboot were in hand');
    assert.match(messages(first!).at(-1)!, /^worker-1 stopped at its deadline \(SHUTDOWN_TIMEOUT_MS=3000\) after \d+ ms: 3 active jobs cut short and handed back: another worker takes them over once this process is gone \(WORKER_LOCK_MS\)$/);

    // Handed back: each is pending again with its job waiting, for the next worker once the run leases lapse.
    for (const op of [...s.inHand, s.reboot]) assert.equal((await sys.request<Operation>('GET', `/v1/operations/${op.id}`)).body.status, 'pending', `${op.id} was handed back`);
    const second = await sys.startWorker();
    const done = await assertNothingLostNothingRepeated(sys, s);
    // The creates cut short were run again and found their droplets by their markers.
    for (const op of done.filter((o) => s.inHand.some((i) => i.id === o.id))) assert.equal(op.result!.resumed, true, JSON.stringify(op.result));
    const reboot = done.find((o) => o.id === s.reboot.id)!;
    assert.ok(reboot.attempt >= 2, 'the reboot was taken over');
    assert.match(JSON.stringify((await sys.request('GET', `/v1/operations/${s.reboot.id}/logs?limit=200`)).body), /earlier attempt/, 'the rerun says why it sent no second reboot');
    assert.ok(second.child.exitCode === null, 'the other worker carried them');
  });
});
