import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Queue } from 'bullmq';
import { operationsQueueName } from '../src/core/queue.js';
import { http } from './helpers/http.js';
import { TestSystem } from './helpers/system.js';

// The pause outlasts the workers' job locks five times over (WORKER_LOCK_MS, also BullMQ's
// stalled check interval): a job that held its slot or lock through it would be seen stalled.
const LOCK_MS = 5000;
const RETRY_AFTER_S = 25;

let system: TestSystem;
let queue: Queue;
before(async () => {
  system = await TestSystem.start({ workers: 2, doActiveDelayMs: 300, env: { WORKER_LOCK_MS: String(LOCK_MS) } });
  queue = new Queue(operationsQueueName('digitalocean'), { connection: system.api.ctx.redis, prefix: system.api.ctx.keys.bullPrefix() });
});
after(async () => {
  await queue.close();
  await system.stop();
});

test(`a 429 with Retry-After ${RETRY_AFTER_S}s pauses the account on every worker, holds no job or lock, and every create runs once after it`, { timeout: 240_000 }, async () => {
  const fault = await http(system.sandbox.url, 'POST', '/_sandbox/faults', {
    token: system.sandbox.token,
    body: { provider: 'digitalocean', method: 'POST', path: '^/v2/droplets$', kind: 'status', status: 429, retryAfterSec: RETRY_AFTER_S, count: 1 },
  });
  assert.equal(fault.status, 201);

  const first = await system.createServer({ hostname: 'storm-0' });
  await system.eventually(async () => {
    const res = await system.request('GET', `/v1/operations/${first.id}`);
    return res.body.progress?.step === 'rate_limited' ? true : undefined;
  }, 'the first create to meet the 429');
  // The rest arrive during the pause: none of them may reach the provider before it ends.
  const rest = await Promise.all(Array.from({ length: 9 }, (_, i) => system.createServer({ hostname: `storm-${i + 1}` })));
  const ops = [first, ...rest];

  const pausedAt = Date.now();
  // During the pause no job holds a worker slot (and so no lock that could run out).
  await new Promise((r) => setTimeout(r, 5000));
  assert.equal(await queue.getActiveCount(), 0);
  assert.equal((await system.droplets()).length, 0, 'nothing was created during the pause');

  const done = await Promise.all(ops.map((o) => system.waitForStatus(o.id, ['completed', 'failed', 'cancelled'], (RETRY_AFTER_S + 60) * 1000)));
  assert.deepEqual(new Set(done.map((o) => o.status)), new Set(['completed']));
  assert.ok(Date.now() - pausedAt >= (RETRY_AFTER_S - 10) * 1000, 'work waited for the Retry-After');

  const droplets = await system.droplets();
  assert.equal(droplets.length, ops.length, 'one droplet per create');
  for (const o of done) {
    assert.equal(o.attempt, 1, `${o.id} was claimed as one attempt`);
    const job = await queue.getJob(o.id);
    // BullMQ counts the run that completes a job; a pause must add nothing to that, nor a stall.
    assert.equal(job?.attemptsMade, 1, `${o.id} spent one BullMQ attempt, its last`);
    assert.equal(job?.stalledCounter ?? 0, 0, `${o.id} never stalled`);
    assert.equal(droplets.filter((d) => d.tags.includes(`pe-op:${o.id}`)).length, 1, `${o.id} made one droplet`);
  }
  const logs = system.workers.flatMap((w) => w.logs).join('\n');
  assert.doesNotMatch(logs, /Missing lock|stalled/i);
});
