import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import { operationsQueueName } from '../src/core/queue.js';
import { accountIdFor } from '../src/providers/registry.js';
import { TestSystem } from './helpers/system.js';

/** Counts the operations parked on DigitalOcean's account and the jobs holding a worker slot. */
async function occupancy(system: TestSystem, queue: Queue): Promise<{ parked: number; active: number }> {
  const account = accountIdFor('digitalocean', system.config.providers)!;
  const [parked, active] = await Promise.all([system.api.ctx.redis.zcard(system.api.ctx.keys.waits(account)), queue.getActiveCount()]);
  return { parked, active };
}

describe('a waiting operation holds no worker slot and survives the worker', () => {
  let system: TestSystem;
  let queue: Queue;
  before(async () => {
    // Droplets take 6 s to boot: long enough to look at 50 of them waiting.
    system = await TestSystem.start({ workers: 2, doActiveDelayMs: 6000, env: { WORKER_CONCURRENCY: '5' } });
    queue = new Queue(operationsQueueName('digitalocean'), { connection: system.api.ctx.redis, prefix: system.api.ctx.keys.bullPrefix() });
  });
  after(async () => {
    await queue.close();
    await system.stop();
  });

  test('50 booting creates wait with no job active; a SIGKILLed worker loses none and makes no second droplet', async () => {
    const ops = await Promise.all(Array.from({ length: 50 }, (_, i) => system.createServer({ hostname: `wait-${i}` })));
    // Two workers of concurrency 5 carry 50 waits at once: the waits are in Redis, not in slots.
    // The last job to park may still be ending (its bookkeeping after the park) at the moment
    // the 50th wait appears; what matters is that all 50 wait with no slot held, well before
    // any droplet has booted (a job holding its slot would keep `active` above 0 until then).
    const waiting = await system.eventually(async () => {
      const now = await occupancy(system, queue);
      return now.parked === 50 && now.active === 0 ? now : undefined;
    }, 'all 50 creates parked with no job holding a worker slot', 20000);
    assert.equal(waiting.active, 0, 'no job holds a worker slot while its server boots');

    const op = await system.request('GET', `/v1/operations/${ops[0]!.id}`);
    assert.equal(op.body.status, 'running');
    assert.equal(op.body.progress.step, 'wait');
    assert.match(op.body.progress.waiting_for, /droplet \d+ to become active/);
    assert.ok(op.body.progress.waiting_since, 'progress says since when it waits');

    await system.workers[0]!.kill('SIGKILL');
    const done = await Promise.all(ops.map((o) => system.waitForStatus(o.id, ['completed', 'failed', 'cancelled'], 60000)));
    assert.deepEqual(new Set(done.map((o) => o.status)), new Set(['completed']));
    const droplets = await system.droplets();
    for (const o of ops) {
      assert.equal(droplets.filter((d) => d.tags.includes(`pe-op:${o.id}`)).length, 1, `one droplet for ${o.id}`);
    }
    assert.equal(done.every((o) => typeof (o.result as { ip_address?: string }).ip_address === 'string'), true);
  });
});

describe('cancel and deadline reach a waiting operation', () => {
  let system: TestSystem;
  before(async () => {
    // Droplets that take a minute to boot: only a cancel or a deadline ends these waits.
    system = await TestSystem.start({ workers: 1, doActiveDelayMs: 60000, env: { OPERATION_DEADLINES: 'server.create=4s' } });
  });
  after(() => system.stop());

  test('a cancel of a waiting create ends it cancelled within 2 s with its droplet deleted', async () => {
    // Deadlines are per type: a resize keeps its default, so only the create here can time out.
    const op = await system.createServer({ hostname: 'cancel-me' });
    await system.eventually(async () => {
      const res = await system.request('GET', `/v1/operations/${op.id}`);
      return res.body.progress?.step === 'wait' ? true : undefined;
    }, 'the create to park', 10000);
    assert.equal((await system.droplets()).filter((d) => d.tags.includes(`pe-op:${op.id}`)).length, 1);

    const asked = Date.now();
    const cancel = await system.request('POST', `/v1/operations/${op.id}/cancel`);
    assert.equal(cancel.status, 202);
    const done = await system.waitForStatus(op.id, ['cancelled', 'failed', 'completed'], 5000);
    const tookMs = Date.now() - asked;
    assert.equal(done.status, 'cancelled');
    assert.ok(tookMs < 2000, `cancelled in ${tookMs}ms`);
    const cleaned = (done.result as { cleaned_up: Array<{ action: string }> }).cleaned_up;
    assert.deepEqual(cleaned.map((c) => c.action), ['deleted']);
    assert.equal((await system.droplets()).filter((d) => d.tags.includes(`pe-op:${op.id}`)).length, 0);
  });

  test('past its deadline a waiting create fails with TIMEOUT and deletes what it made', async () => {
    const op = await system.createServer({ hostname: 'too-slow' });
    const done = await system.waitForStatus(op.id, ['cancelled', 'failed', 'completed'], 15000);
    assert.equal(done.status, 'failed');
    assert.equal(done.error?.code, 'TIMEOUT');
    assert.equal(done.error?.retryable, false);
    const result = done.result as { timed_out: boolean; cleaned_up: Array<{ action: string; provider_id: string }> };
    assert.equal(result.timed_out, true);
    assert.deepEqual(result.cleaned_up.map((c) => c.action), ['deleted']);
    assert.equal((await system.droplets()).filter((d) => d.tags.includes(`pe-op:${op.id}`)).length, 0);
    const inventory = await system.request('GET', `/v1/servers?workspace=production`);
    assert.equal(inventory.status, 200);
    assert.equal(JSON.stringify(inventory.body).includes('too-slow'), false, 'the inventory forgot the deleted server');
  });
});
