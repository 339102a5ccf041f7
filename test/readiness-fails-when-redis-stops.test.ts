import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, describe, test } from 'node:test';
import { redisAnswers } from '../src/supervisor/redis-ready.js';
import { TestSystem } from './helpers/system.js';

// The PING's deadline is 1 s and the slowest other check gives up after 2 s: the answer comes well within this.
const READY_WITHIN_MS = 5000;
// A stop with Redis gone must not wait on it: workers drop their connections, the API its own after 2 s at most.
const STOPPED_WITHIN_MS = 15_000;

/** A redis-server again on the port the system was given (without persistence: it starts empty, like a Redis that lost its data). */
async function redisOnSamePort(url: string): Promise<ChildProcess> {
  const port = new URL(url).port;
  const child = spawn('redis-server', ['--port', port, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'], { stdio: 'ignore' });
  assert.ok(await redisAnswers(url, () => child.exitCode === null, 10_000), `redis-server answers again on ${port}`);
  return child;
}

async function killed(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGKILL');
  await exited;
}

describe('GET /health/ready answers 503 DEGRADED naming redis while Redis is stopped', () => {
  const systems: TestSystem[] = [];
  const redisServers: ChildProcess[] = [];
  after(async () => {
    // A paused server is resumed so the system's own stop finds it answering.
    for (const s of systems) s.redis.child.kill('SIGCONT');
    await Promise.all(systems.map((s) => s.stop()));
    await Promise.all(redisServers.map(killed));
  });

  async function ready(sys: TestSystem) {
    const started = Date.now();
    const res = await sys.request('GET', '/health/ready', { auth: false });
    return { res, ms: Date.now() - started };
  }

  test('paused Redis: DEGRADED within a bounded time, UP again once it resumes', { timeout: 60_000 }, async () => {
    const sys = await TestSystem.start({ workers: 1 });
    systems.push(sys);
    assert.equal((await ready(sys)).res.status, 200);

    // SIGSTOP: the connection stays open and nothing answers, the case a plain PING would wait on forever.
    assert.ok(sys.redis.child.kill('SIGSTOP'));
    try {
      const { res, ms } = await ready(sys);
      assert.equal(res.status, 503, JSON.stringify(res.body));
      assert.ok(ms < READY_WITHIN_MS, `answered in ${ms} ms`);
      assert.equal(res.body.status, 'DEGRADED');
      assert.equal(res.body.checks.redis, 'DISCONNECTED');
      assert.ok(res.body.failing.includes('redis'), JSON.stringify(res.body.failing));
      assert.equal(res.body.details.redis.status, 'DISCONNECTED');
      assert.match(res.body.details.redis.error, /no answer within \d+ ms/);
      // The providers do not depend on Redis: they are not blamed.
      assert.equal(res.body.checks.digitalocean, 'CONNECTED');
      // Liveness does not look at Redis: the process serves.
      assert.equal((await sys.request('GET', '/health/live', { auth: false })).status, 200);
    } finally {
      sys.redis.child.kill('SIGCONT');
    }

    const back = await sys.eventually(async () => {
      const { res } = await ready(sys);
      return res.status === 200 ? res : undefined;
    }, 'readiness to come back once Redis resumes', 20_000);
    assert.equal(back.body.status, 'UP');
    assert.equal(back.body.checks.redis, 'CONNECTED');
  });

  test('killed Redis: DEGRADED; UP again with a Redis back on its port; and the system stops with Redis gone', { timeout: 90_000 }, async () => {
    const sys = await TestSystem.start({ workers: 1 });
    systems.push(sys);
    assert.equal((await ready(sys)).res.status, 200);

    await killed(sys.redis.child);
    const { res, ms } = await ready(sys);
    assert.equal(res.status, 503, JSON.stringify(res.body));
    assert.ok(ms < READY_WITHIN_MS, `answered in ${ms} ms`);
    assert.equal(res.body.status, 'DEGRADED');
    assert.equal(res.body.checks.redis, 'DISCONNECTED');
    assert.ok(res.body.failing.includes('redis'), JSON.stringify(res.body.failing));
    assert.equal(typeof res.body.details.redis.error, 'string');
    // The public answer names no address.
    assert.ok(!JSON.stringify(res.body).includes(new URL(sys.redis.url).port), JSON.stringify(res.body));

    // A Redis back on the same port: the connections find it again and the worker's next heartbeat lands.
    const replacement = await redisOnSamePort(sys.redis.url);
    redisServers.push(replacement);
    const back = await sys.eventually(async () => {
      const { res } = await ready(sys);
      return res.status === 200 ? res : undefined;
    }, 'readiness to come back with Redis', 30_000);
    assert.equal(back.body.checks.redis, 'CONNECTED');
    assert.equal(back.body.checks.workers, 'CONNECTED');

    // Gone again, for good: stopping the workers and the API must not wait for it.
    await killed(replacement);
    const started = Date.now();
    systems.splice(systems.indexOf(sys), 1);
    await sys.stop();
    assert.ok(Date.now() - started < STOPPED_WITHIN_MS, `stopped in ${Date.now() - started} ms`);
  });
});
