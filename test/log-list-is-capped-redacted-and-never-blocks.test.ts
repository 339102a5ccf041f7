import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import winston from 'winston';
import { closeLogList, createLogger, type Logger } from '../src/core/logger.js';
import { withTraceScope } from '../src/common/trace-scope.js';
import { freePort } from './helpers/free-port.js';
import { startTestRedis, type TestRedis } from './helpers/redis-server.js';

/** A logger whose console lines are muted (the test reads the Redis list, not stdout). */
function quietLogger(redisUrl: string, key: string, cap: number): Logger {
  const logger = createLogger('api', 'info', { redisLog: { redisUrl, key, cap, dropletId: 3 } });
  for (const t of logger.transports) if (t instanceof winston.transports.Console) t.silent = true;
  return logger;
}

/** Until the transport's connection is up: records logged before it are dropped, by design. */
async function connected(logger: Logger, redis: Redis, key: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    logger.info('probe');
    await new Promise((r) => setTimeout(r, 50));
    if ((await redis.llen(key)) > 0) return;
  }
  throw new Error('the log list never received a record');
}

describe('the Redis log list', () => {
  let redis: TestRedis;
  let client: Redis;
  before(async () => {
    redis = await startTestRedis();
    client = new Redis(redis.url);
  });
  after(async () => {
    client?.disconnect();
    await redis?.stop();
  });

  test('keeps the newest records up to its cap, newest first, with trace id and secrets redacted', async () => {
    const key = 'logs-capped';
    const logger = quietLogger(redis.url, key, 10);
    await connected(logger, client, key);
    withTraceScope({ trace_id: 'trace-capped-1', operation_id: 'op-1' }, () => {
      for (let i = 0; i < 25; i++) logger.info(`line ${i}`, { password: 'hunter2-hunter2', step: i });
    });
    logger.warn('last words');
    await closeLogList(logger, 2000);
    const records = (await client.lrange(key, 0, -1)).map((r) => JSON.parse(r));
    assert.equal(records.length, 10);
    assert.equal(records[0].message, 'last words');
    assert.equal(records[0].level, 'WARNING');
    assert.equal(records[0].trace_id, null);
    assert.equal(records[1].message, 'line 24');
    assert.equal(records[9].message, 'line 16');
    for (const r of records.slice(1)) {
      assert.equal(r.level, 'INFO');
      assert.equal(r.trace_id, 'trace-capped-1');
      assert.equal(r.operation_id, 'op-1');
      assert.equal(r.password, '[redacted]');
      assert.equal(r.droplet_id, 3);
      assert.equal(r.service, 'api');
      assert.ok(!Number.isNaN(Date.parse(r.timestamp)));
    }
    assert.ok(!JSON.stringify(records).includes('hunter2'));
  });

  test('with Redis down, logging neither blocks nor fails, and closing keeps its deadline', async () => {
    const nowhere = `redis://127.0.0.1:${await freePort()}`;
    const logger = quietLogger(nowhere, 'logs-nowhere', 100);
    const started = Date.now();
    for (let i = 0; i < 5000; i++) logger.info(`line ${i}`, { i });
    assert.ok(Date.now() - started < 3000, `5000 lines took ${Date.now() - started} ms`);
    const closing = Date.now();
    await closeLogList(logger, 500);
    assert.ok(Date.now() - closing < 1500);
  });
});
