import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { Operation } from '../src/core/operations/model.js';
import { sweepOnce } from '../src/workers/sweep.js';
import { TestSystem } from './helpers/system.js';

const CREATES = 300;
const IN_FLIGHT = 25;

describe('the sweep never enqueues an operation that is finishing under it', () => {
  let sys: TestSystem | undefined;
  after(async () => {
    await sys?.stop();
  });

  test('hundreds of operations finishing while the sweep runs without pause: nothing is enqueued again, nothing runs twice', async () => {
    // No provider delay: every create parks once on its droplet (its job in the delayed set,
    // the operation running), then finishes; hundreds of them finish while the sweep runs.
    sys = await TestSystem.start({ workers: 2, doActiveDelayMs: 0, doActionDelayMs: 0, env: { WATCH_MIN_INTERVAL_MS: '50', WORKER_CONCURRENCY: '50' } });
    const system = sys;
    const ctx = system.api.ctx;

    let submitting = true;
    let sweeps = 0;
    let enqueuedByTestSweeps = 0;
    const sweeping = (async () => {
      // Same Redis, same prefix, same lock as the workers' own sweeps (which run every 500 ms).
      while (submitting || (await ctx.store.idsWithStatus('running', 1)).length > 0 || (await ctx.store.idsWithStatus('pending', 1)).length > 0) {
        const n = await sweepOnce(ctx);
        enqueuedByTestSweeps += n;
        sweeps++;
        await new Promise((r) => setTimeout(r, 2));
      }
    })();

    const ids: string[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < CREATES) {
          const n = next++;
          const op = await system.createServer({ hostname: `sweep-race-${n}` });
          ids.push(op.id);
          // Keep a steady stream finishing: each submitter waits for its create before the next.
          await system.waitForStatus(op.id, ['completed', 'failed', 'cancelled'], 60000);
        }
      }),
    );
    submitting = false;
    await sweeping;

    const ops = (await ctx.store.getMany(ids)) as Operation[];
    assert.equal(ops.length, CREATES);
    assert.deepEqual(
      ops.filter((op) => op.status !== 'completed').map((op) => `${op.id} ${op.status} ${JSON.stringify(op.error)}`),
      [],
    );
    // Every operation had a job (waiting, active or delayed) the whole time it was open.
    const logs = system.workers.flatMap((w) => w.logs);
    assert.ok(sweeps >= 10, `the sweep ran only ${sweeps} times`);
    assert.equal(enqueuedByTestSweeps, 0, `the test's sweeps enqueued ${enqueuedByTestSweeps} operations again`);
    assert.deepEqual(logs.filter((l) => l.includes('sweep enqueued')), [], "the workers' own sweeps enqueued operations again");

    // No operation got a second job: each one's job ran it (none was skipped for a claim that lost).
    const queue = ctx.queues.for('digitalocean');
    const skipped: string[] = [];
    for (const id of ids) {
      const job = await queue.getJob(id);
      assert.ok(job, `the job of ${id} is kept after completing`);
      if (JSON.stringify(job.returnvalue ?? null).includes('skipped')) skipped.push(`${id}: ${JSON.stringify(job.returnvalue)}`);
    }
    assert.deepEqual(skipped, [], 'jobs that ran an already finished operation');
    assert.deepEqual(logs.filter((l) => l.includes('"not claimed"')), [], 'claims that lost because the operation had finished');
    // And each create made its one droplet.
    const droplets = await system.adapters.get('digitalocean')!.listServers({});
    assert.equal(droplets.length, CREATES);
  });
});
