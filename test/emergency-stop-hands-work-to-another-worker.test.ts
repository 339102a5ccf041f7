import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { RecordingControl } from '../src/core/control/instance-control.js';
import type { Operation } from '../src/core/operations/model.js';
import { processesWithDataDir, startInstance, type EngineInstance } from './helpers/engine-instance.js';
import { startApiProcess } from './helpers/api-process.js';
import { http } from './helpers/http.js';
import { TestSystem } from './helpers/system.js';

const CREATE_PATH = '^/v2/droplets$';
/** Long, so a stop that let work finish (or waited for the deadline) would show in the time taken. */
const DEADLINE_MS = 30000;

describe('POST /emergency-stop stops the instance at once and loses nothing', () => {
  const systems: TestSystem[] = [];
  const instances: EngineInstance[] = [];
  after(async () => {
    for (const i of instances) await i.stop();
    await Promise.all(systems.map((s) => s.stop()));
  });

  test('under the start command: its API and workers are killed; another instance\'s worker completes every operation, one droplet each', async () => {
    const sys = await TestSystem.start({ workers: 0, doActiveDelayMs: 1000 });
    systems.push(sys);
    const instance = await startInstance(sys, { SHUTDOWN_TIMEOUT_MS: String(DEADLINE_MS) });
    instances.push(instance);

    // In the instance's worker's hands: the sandbox makes each droplet at once but answers only after 20 s.
    sys.sandbox.faults.add({ provider: 'digitalocean', method: 'POST', path: CREATE_PATH, kind: 'slow_response', latencyMs: 20000, count: 2 });
    const counter = sys.sandbox.faults.add({ provider: 'digitalocean', method: 'POST', path: CREATE_PATH, kind: 'latency', latencyMs: 0 });
    const sent = () => sys.sandbox.faults.list().find((r) => r.id === counter)!.matched;
    const ops = [await sys.createServer({ hostname: 'held-1' }), await sys.createServer({ hostname: 'held-2' })];
    await sys.eventually(async () => (sent() === 2 ? true : undefined), 'the creates to be on the wire', 10000);
    // Another instance over the same Redis, started once the instance holds the work.
    const other = await sys.startWorker();

    const asked = Date.now();
    const answer = await http(instance.url, 'POST', '/emergency-stop', { token: sys.token });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body.status, 'emergency_stop');
    assert.equal(answer.body.trace_id, answer.headers.get('x-trace-id'));
    assert.ok(Math.abs(Date.parse(answer.body.stopped_at) - Date.now()) < 5000);
    assert.equal(await instance.exited, 0, instance.output().slice(-3000));
    const took = Date.now() - asked;
    console.log(`# the start command exited ${took} ms after POST /emergency-stop (SHUTDOWN_TIMEOUT_MS=${DEADLINE_MS})`);
    assert.ok(took < 10000, `no grace was given: ${took} ms`);
    assert.match(instance.output(), /emergency stop asked over the API: killing the API and workers now/);
    assert.match(instance.output(), /worker-1 killed \(SIGKILL\)/);
    assert.match(instance.output(), /api killed \(SIGKILL\)/);
    assert.doesNotMatch(instance.output(), /restarting/);
    await sys.eventually(async () => (processesWithDataDir(instance.dataDir).length === 0 ? true : undefined), 'no process of the instance left', 5000);
    // The killed worker did not finish them: they are still open, held by nobody until their locks expire.
    for (const op of ops) assert.notEqual((await sys.request<Operation>('GET', `/v1/operations/${op.id}`)).body.status, 'completed');

    const done = await Promise.all(ops.map((o) => sys.waitForStatus(o.id, ['completed', 'failed', 'cancelled'], 40000)));
    for (const op of done) {
      assert.equal(op.status, 'completed', `${op.id}: ${JSON.stringify(op.error)}`);
      assert.equal(op.result!.resumed, true, 'taken over, it found its droplet by its marker');
      assert.equal((await sys.serversMarkedBy('digitalocean', op.id)).length, 1, `one droplet for ${op.id}`);
    }
    assert.equal(sent(), 2, 'no create reached the provider twice');
    assert.equal(other.child.exitCode, null, 'the other instance\'s worker carried them');
    assert.ok(other.logs.some((l) => l.includes('"completed"')), 'on the other worker');
  });

  test('on its own, the API process exits at once after answering', async () => {
    const sys = await TestSystem.start({ workers: 0 });
    systems.push(sys);
    const api = await startApiProcess({ ...sys.env, SHUTDOWN_TIMEOUT_MS: String(DEADLINE_MS) });
    try {
      const exited = new Promise<number | null>((r) => api.child.once('exit', (code) => r(code)));
      const asked = Date.now();
      const answer = await http(api.url, 'POST', '/emergency-stop', { token: sys.token, body: {} });
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.equal(await exited, 0);
      assert.ok(Date.now() - asked < 3000, 'at once');
    } finally {
      await api.stop();
    }
  });

  test('a caller without system_control gets 403, none gets 401, in the detail shape, and nothing stops', async () => {
    const control = new RecordingControl();
    const sys = await TestSystem.start({ workers: 0, control });
    systems.push(sys);
    const made = await sys.request('POST', '/v1/users', { body: { username: 'opal', password: 'opal-password-1234', role: 'operator', workspaces: { production: 'admin' } } });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const token = (await http(sys.url, 'POST', '/v1/auth/login', { body: { username: 'opal', password: 'opal-password-1234' } })).body.token as string;
    for (const path of ['/emergency-stop', '/shutdown', '/reload-config']) {
      const forbidden = await http(sys.url, 'POST', path, { token, body: {} });
      assert.equal(forbidden.status, 403, path);
      assert.deepEqual(forbidden.body, { detail: 'Not enough permissions' });
      const anonymous = await http(sys.url, 'POST', path, { body: {} });
      assert.equal(anonymous.status, 401, path);
      assert.deepEqual(anonymous.body, { detail: 'Could not validate credentials' });
    }
    assert.deepEqual([control.shutdowns.length, control.emergencyStops.length], [0, 0], 'nothing was asked to stop');
    // The admin is let through, which is what the refusals above are measured against.
    assert.equal((await sys.request('POST', '/emergency-stop')).status, 200);
    assert.equal(control.emergencyStops.length, 1);
  });
});
