import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../src/sandbox/clock.js';
import { SlidingWindowRateLimiter } from '../src/sandbox/rate-limit.js';
import { withSandbox } from './sandbox-helpers.js';

describe('sliding-window limiter', () => {
  test('each request counts for a full hour from when it was made', () => {
    const clock = new ManualClock(0);
    const limiter = new SlidingWindowRateLimiter(clock, { perHour: 3, perMinute: 100 });
    assert.equal(limiter.hit('k').remaining, 2);
    clock.advance(30 * 60_000);
    assert.equal(limiter.hit('k').remaining, 1);
    const third = limiter.hit('k');
    assert.equal(third.remaining, 0);
    assert.equal(third.resetEpochSec, 3600, 'reset is when the oldest counted request expires');

    const refused = limiter.hit('k');
    assert.equal(refused.allowed, false);
    assert.equal(refused.retryAfterSec, undefined, 'the hourly limit does not send retry-after');

    clock.advance(30 * 60_000); // the first request is now exactly an hour old
    const freed = limiter.hit('k');
    assert.equal(freed.allowed, true);
    assert.equal(freed.remaining, 0);
    assert.equal(freed.resetEpochSec, 5400);

    assert.equal(limiter.hit('other-key').remaining, 2, 'keys are counted separately');
  });

  test('the burst window refuses with retry-after until its oldest request is a minute old', () => {
    const clock = new ManualClock(0);
    const limiter = new SlidingWindowRateLimiter(clock, { perHour: 100, perMinute: 2 });
    limiter.hit('k');
    clock.advance(20_000);
    limiter.hit('k');
    clock.advance(10_000);
    const refused = limiter.hit('k');
    assert.equal(refused.allowed, false);
    assert.equal(refused.retryAfterSec, 30);
    assert.equal(refused.remaining, 98, 'refused requests are not counted');
    clock.advance(30_000);
    assert.equal(limiter.hit('k').allowed, true);
  });
});

describe('DigitalOcean rate limiting over HTTP', () => {
  test('headers on every response, and a 429 with retry-after when the burst limit trips', () =>
    withSandbox(
      async (t) => {
        const start = t.clock.now();
        for (const expectedRemaining of [9, 8, 7]) {
          const ok = await t.doApi('GET', '/droplets');
          assert.equal(ok.status, 200);
          assert.equal(ok.headers.get('ratelimit-limit'), '10');
          assert.equal(ok.headers.get('ratelimit-remaining'), String(expectedRemaining));
          assert.equal(ok.headers.get('ratelimit-reset'), String(Math.ceil((start + 3_600_000) / 1000)));
        }

        t.clock.advance(15_000);
        const limited = await t.doApi('GET', '/droplets');
        assert.equal(limited.status, 429);
        assert.deepEqual(Object.keys(limited.body).sort(), ['id', 'message', 'request_id']);
        assert.equal(limited.body.id, 'too_many_requests');
        assert.equal(limited.body.message, 'API rate limit exceeded.');
        assert.equal(limited.headers.get('retry-after'), '45');
        assert.equal(limited.headers.get('ratelimit-remaining'), '7');

        t.clock.advance(45_000);
        const after = await t.doApi('GET', '/droplets');
        assert.equal(after.status, 200);
        assert.equal(after.headers.get('ratelimit-remaining'), '6');
      },
      { digitalocean: { rateLimit: { perHour: 10, perMinute: 3 } } },
    ));

  test('an exhausted hourly budget is a 429 without retry-after, until the oldest request expires', () =>
    withSandbox(
      async (t) => {
        await t.doApi('GET', '/account');
        t.clock.advance(120_000);
        await t.doApi('GET', '/account');
        const limited = await t.doApi('GET', '/account');
        assert.equal(limited.status, 429);
        assert.equal(limited.headers.get('retry-after'), null);
        assert.equal(limited.headers.get('ratelimit-remaining'), '0');

        t.clock.advance(3_600_000 - 120_000);
        assert.equal((await t.doApi('GET', '/account')).status, 200);
      },
      { digitalocean: { rateLimit: { perHour: 2, perMinute: 100 } } },
    ));

  test('the limit can be changed or switched off at run time through the admin API', () =>
    withSandbox(async (t) => {
      const changed = await t.admin('POST', '/digitalocean/config', { body: { rateLimit: { perHour: 1, perMinute: 1 } } });
      assert.equal(changed.status, 200);
      assert.deepEqual(changed.body.rateLimit, { perHour: 1, perMinute: 1 });
      assert.equal((await t.doApi('GET', '/account')).status, 200);
      assert.equal((await t.doApi('GET', '/account')).status, 429);

      await t.admin('POST', '/digitalocean/config', { body: { rateLimit: false } });
      const unlimited = await t.doApi('GET', '/account');
      assert.equal(unlimited.status, 200);
      assert.equal(unlimited.headers.get('ratelimit-limit'), null);

      const rejected = await t.admin('POST', '/digitalocean/config', { body: { rateLimit: { perHour: 0 } } });
      assert.equal(rejected.status, 400);
      const unknown = await t.admin('POST', '/digitalocean/config', { body: { warpSpeed: 9 } });
      assert.equal(unknown.status, 400);
    }));
});
