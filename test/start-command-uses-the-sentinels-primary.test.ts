import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { freePort } from './helpers/free-port.js';
import { http } from './helpers/http.js';
import { startSentinelRedis } from './helpers/sentinel-redis.js';
import { listening, startCommand } from './helpers/start-command.js';

async function until<T>(check: () => Promise<T | undefined>, what: string, output: () => string, ms = 40000): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = await check();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}; output:\n${output().slice(-3000)}`);
}

test('with REDIS_SENTINELS the start command runs no Redis of its own and its processes use the primary the sentinels name', { timeout: 120_000 }, async () => {
  const redis = await startSentinelRedis();
  const dataDir = mkdtempSync(join(tmpdir(), 'pe-start-sentinel-'));
  const [port, managedRedisPort, sandboxPort] = [await freePort(), await freePort(), await freePort()];
  const started = startCommand({
    ...redis.env,
    DATA_DIR: dataDir,
    PORT: String(port),
    MANAGED_REDIS_PORT: String(managedRedisPort),
    SANDBOX_PORT: String(sandboxPort),
    SANDBOX_DO_ACTIVE_DELAY_MS: '200',
    PROVIDER_POLL_MS: '100',
    LOG_LEVEL: 'warn',
  });
  try {
    const api = `http://127.0.0.1:${port}`;
    const password = await until(async () => /password: (\S+)/.exec(started.output())?.[1], 'the generated admin password', started.output);
    await until(async () => ((await http(api, 'GET', '/health').catch(() => null))?.status === 200 ? true : undefined), 'the API', started.output);
    const token = (await http(api, 'POST', '/v1/auth/login', { body: { username: 'admin', password } })).body.token as string;
    const create = await http(api, 'POST', '/v1/servers/create', {
      token,
      body: { workspace: 'default', provider: 'digitalocean', plan: 's-1vcpu-1gb', hostname: 'web-01', zone: 'nyc3', check_mode: false },
    });
    assert.equal(create.status, 202);
    await until(async () => ((await http(api, 'GET', `/v1/operations/${create.body.id}`, { token })).body.status === 'completed' ? true : undefined), 'the create to complete', started.output);

    assert.equal(await listening(managedRedisPort), false, 'no managed redis-server on MANAGED_REDIS_PORT');
    assert.equal(existsSync(join(dataDir, 'redis')), false, 'no managed Redis data directory');
    assert.match(started.output(), /the primary sentinels 127\.0\.0\.1:\d+, 127\.0\.0\.1:\d+, 127\.0\.0\.1:\d+ name for 'mymaster'/);
    for (const secret of [redis.env.REDIS_PASSWORD!, redis.env.REDIS_SENTINEL_PASSWORD!]) assert.ok(!started.output().includes(secret), 'no Redis password is shown');

    // The operation is in the primary the sentinels name.
    const primary = new Redis({ host: '127.0.0.1', port: await redis.primaryPort(), password: redis.env.REDIS_PASSWORD, maxRetriesPerRequest: 1 });
    try {
      assert.equal((await primary.keys(`*:op:${create.body.id}`)).length, 1);
    } finally {
      primary.disconnect();
    }

    started.child.kill('SIGTERM');
    assert.equal(await started.exited, 0, started.output().slice(-2000));
  } finally {
    if (started.child.exitCode === null) {
      started.child.kill('SIGKILL');
      await started.exited;
    }
    await redis.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
