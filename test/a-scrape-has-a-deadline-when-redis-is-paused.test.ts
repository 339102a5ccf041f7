import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TestSystem } from './helpers/system.js';

const METRICS_TOKEN = 'scrape-token-paused-redis-0123';

describe('GET /metrics with Redis paused', () => {
  let sys: TestSystem;
  before(async () => {
    sys = await TestSystem.start({ workers: 1, env: { METRICS_TOKEN } });
  });
  after(async () => {
    sys?.redis.child.kill('SIGCONT');
    await sys?.stop();
  });

  const scrape = () => sys.request('GET', '/metrics', { auth: false, headers: { authorization: `Bearer ${METRICS_TOKEN}` } });

  test('answers 503 REDIS_UNAVAILABLE by its deadline instead of hanging, and 200 again once Redis resumes', { timeout: 60_000 }, async () => {
    assert.equal((await scrape()).status, 200);
    assert.ok(sys.redis.child.kill('SIGSTOP'));
    try {
      const started = Date.now();
      const res = await scrape();
      const ms = Date.now() - started;
      assert.equal(res.status, 503, JSON.stringify(res.body));
      assert.equal(res.body.error, 'REDIS_UNAVAILABLE');
      assert.ok(ms >= 4000 && ms < 8000, `answered after ${ms} ms`);
    } finally {
      sys.redis.child.kill('SIGCONT');
    }
    const back = await sys.eventually(async () => {
      const res = await scrape();
      return res.status === 200 ? res : undefined;
    }, 'the scrape to answer again', 15_000);
    assert.match(back.body as unknown as string, /^engine_operations_finished_total|# TYPE engine_operations_finished_total counter/m);
  });
});
