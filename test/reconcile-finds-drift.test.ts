import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import { MAINTENANCE_QUEUE } from '../src/workers/worker.js';
import { http } from './helpers/http.js';
import { TestSystem } from './helpers/system.js';

describe('the periodic reconcile keeps the inventory true to the providers', () => {
  let sys: TestSystem;
  before(async () => {
    // Actions finish at once, so no reconcile can catch the out-of-band power-off half-way (busy).
    sys = await TestSystem.start({ workers: 2, doActiveDelayMs: 50, doActionDelayMs: 0, env: { RECONCILE_INTERVAL_MS: '700' } });
  });
  after(async () => {
    await sys?.stop();
  });

  async function server(hostname: string): Promise<{ id: string; providerId: string }> {
    const op = await sys.createServer({ hostname });
    const done = await sys.waitForStatus(op.id, ['completed', 'failed']);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    return { id: String(done.result!.server_id), providerId: String(done.result!.provider_id) };
  }

  async function driftEvents(serverId: string): Promise<string[]> {
    const events = await sys.api.ctx.redis.xrange(sys.api.ctx.keys.events(), '-', '+');
    return events.map(([, f]) => f).filter((f) => f[1] === 'drift' && f.includes(serverId)).map((f) => f[f.indexOf('message') + 1] ?? '');
  }

  test('a server deleted out of band is marked gone, one powered off out of band is updated, each with an event', async () => {
    const deleted = await server('oob-delete-01');
    const stopped = await server('oob-off-01');
    const untouched = await server('oob-same-01');
    const base = sys.sandbox.digitaloceanBaseUrl;
    assert.equal((await http(base, 'DELETE', `/droplets/${deleted.providerId}`, { token: sys.sandbox.token })).status, 204);
    assert.equal((await http(base, 'POST', `/droplets/${stopped.providerId}/actions`, { token: sys.sandbox.token, body: { type: 'power_off' } })).status, 201);

    await sys.eventually(async () => ((await sys.request('GET', `/v1/servers/${deleted.id}/status`)).body.status === 'gone' ? true : undefined), 'the deleted server to be marked gone');
    await sys.eventually(async () => ((await sys.request('GET', `/v1/servers/${stopped.id}/status`)).body.status === 'stopped' ? true : undefined), 'the stopped server to be updated');
    assert.equal((await sys.request('GET', `/v1/servers/${untouched.id}/status`)).body.status, 'running');

    assert.match((await driftEvents(deleted.id)).join('\n'), /no longer exists/);
    assert.match((await driftEvents(stopped.id)).join('\n'), /status running → stopped/);
    assert.deepEqual(await driftEvents(untouched.id), []);
    // Found once, recorded once: later runs see no new drift.
    await new Promise((r) => setTimeout(r, 1600));
    assert.equal((await driftEvents(deleted.id)).length, 1);
    assert.equal((await driftEvents(stopped.id)).length, 1);
  });

  test('it is a job scheduler whose queue runs one reconcile at a time across all workers', async () => {
    const queue = new Queue(MAINTENANCE_QUEUE, { connection: sys.api.ctx.redis, prefix: sys.api.ctx.keys.bullPrefix() });
    try {
      assert.equal(await queue.getGlobalConcurrency(), 1);
      const schedulers = await queue.getJobSchedulers();
      // The retention job shares the queue (and so its one-at-a-time).
      assert.deepEqual(schedulers.map((s) => s.key).sort(), ['reconcile', 'retention']);
      assert.equal(Number(schedulers.find((s) => s.key === 'reconcile')!.every), 700);
    } finally {
      await queue.close();
    }
  });

  test('a provider that cannot be listed leaves its servers alone', async () => {
    const kept = await server('list-fails-01');
    const queue = new Queue(MAINTENANCE_QUEUE, { connection: sys.api.ctx.redis, prefix: sys.api.ctx.keys.bullPrefix() });
    sys.sandbox.faults.add({ provider: 'digitalocean', method: 'GET', path: '^/v2/droplets$', kind: 'status', status: 500 });
    try {
      const since = Date.now();
      // Wait for a reconcile that ran into the outage and said so.
      const report = await sys.eventually(async () => {
        const jobs = await queue.getJobs(['completed'], 0, 20);
        return jobs.find((j) => (j.finishedOn ?? 0) > since && j.returnvalue?.errors?.digitalocean)?.returnvalue;
      }, 'a reconcile that could not list DigitalOcean', 30000);
      assert.match(report.errors.digitalocean, /500/);
      assert.deepEqual(report.gone, []);
      assert.equal((await sys.request('GET', `/v1/servers/${kept.id}/status`)).body.status, 'running');
    } finally {
      sys.sandbox.faults.clear();
      await queue.close();
    }
  });
});
