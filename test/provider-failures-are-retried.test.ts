import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { TestSystem } from './helpers/system.js';

// Each case has its own system and mostly waits: two run side by side, each stopping its own system when done.
describe('provider 5xx and timeouts are retried with backoff; a lasting outage fails the operation', { concurrency: 2 }, () => {
  async function system(t: TestContext, env: Record<string, string> = {}): Promise<TestSystem> {
    const sys = await TestSystem.start({ workers: 1, doActiveDelayMs: 100, env });
    t.after(() => sys.stop());
    return sys;
  }

  test('a 503 burst on the create request: the job is retried and makes exactly one droplet', async (t) => {
    const sys = await system(t);
    sys.sandbox.faults.add({ provider: 'digitalocean', method: 'POST', path: '^/v2/droplets$', kind: 'status', status: 503, count: 2 });
    const op = await sys.createServer({ hostname: 'retry-01' });
    const done = await sys.waitForStatus(op.id, ['completed', 'failed']);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.equal(done.attempt, 3, 'two failed attempts, then success');
    assert.equal((await sys.droplets(`&tag_name=pe-op:${op.id}`)).length, 1);
  });

  test('a 500 burst on reads is retried inside one attempt', async (t) => {
    const sys = await system(t);
    sys.sandbox.faults.add({ provider: 'digitalocean', method: 'GET', path: '^/v2/droplets/\\d+$', kind: 'status', status: 500, count: 3 });
    const op = await sys.createServer({ hostname: 'retry-02' });
    const done = await sys.waitForStatus(op.id, ['completed', 'failed']);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.equal(done.attempt, 1);
  });

  test('a provider that stops answering times out and is retried', async (t) => {
    const sys = await system(t, { PROVIDER_TIMEOUT_MS: '300' });
    sys.sandbox.faults.add({ provider: 'digitalocean', method: 'POST', path: '^/v2/droplets$', kind: 'timeout', count: 1 });
    const op = await sys.createServer({ hostname: 'retry-03' });
    const done = await sys.waitForStatus(op.id, ['completed', 'failed']);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.equal(done.attempt, 2);
    assert.equal((await sys.droplets(`&tag_name=pe-op:${op.id}`)).length, 1);
  });

  test('a 429 storm delays the operation but never fails it, and spends no attempt', async (t) => {
    const sys = await system(t, { JOB_ATTEMPTS: '1' });
    // More 429s than the HTTP client retries, on the looks at the booting droplet: the watcher
    // must wait out each pause and go on, the operation never noticing but for the time.
    const rule = sys.sandbox.faults.add({ provider: 'digitalocean', method: 'GET', path: '^/v2/droplets/\\d+$', kind: 'status', status: 429, retryAfterSec: 1, count: 7 });
    const op = await sys.createServer({ hostname: 'limited-01' });
    const done = await sys.waitForStatus(op.id, ['completed', 'failed'], 30000);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.equal(done.attempt, 1, 'with JOB_ATTEMPTS=1 the pauses spent no attempt');
    assert.equal(sys.sandbox.faults.list().find((r) => r.id === rule)?.matched, 7, 'the storm hit every time');
    assert.equal((await sys.droplets(`&tag_name=pe-op:${op.id}`)).length, 1);
  });

  test('a 429 on the create itself puts the job to sleep and runs it again without spending an attempt', async (t) => {
    const sys = await system(t, { JOB_ATTEMPTS: '1' });
    sys.sandbox.faults.add({ provider: 'digitalocean', method: 'POST', path: '^/v2/droplets$', kind: 'status', status: 429, retryAfterSec: 1, count: 1 });
    const op = await sys.createServer({ hostname: 'limited-02' });
    const done = await sys.waitForStatus(op.id, ['completed', 'failed'], 30000);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.equal(done.attempt, 1, 'the pause is not an attempt');
    const events = await sys.api.ctx.redis.xrange(sys.api.ctx.keys.events(), '-', '+');
    const said = events.map(([, f]) => f).filter((f) => f.includes(op.id)).map((f) => f[f.indexOf('message') + 1]);
    assert.ok(said.some((m) => /budget spent for now/.test(m ?? '')), `progress: ${said.join(' | ')}`);
    assert.equal((await sys.droplets(`&tag_name=pe-op:${op.id}`)).length, 1);
  });

  test('an outage outlasting every attempt fails with a retryable provider error', async (t) => {
    const sys = await system(t, { JOB_ATTEMPTS: '3' });
    sys.sandbox.faults.add({ provider: 'digitalocean', method: 'POST', path: '^/v2/droplets$', kind: 'status', status: 502 });
    const op = await sys.createServer({ hostname: 'retry-04' });
    const done = await sys.waitForStatus(op.id, ['completed', 'failed']);
    assert.equal(done.status, 'failed');
    assert.equal(done.attempt, 3);
    assert.equal(done.error!.code, 'PROVIDER_UNAVAILABLE');
    assert.equal(done.error!.retryable, true);
    assert.match(done.error!.message, /502/);
    assert.equal((await sys.droplets(`&tag_name=pe-op:${op.id}`)).length, 0);
  });
});
