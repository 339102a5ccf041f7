import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { ConfigError, loadConfig } from '../src/core/config.js';
import { secretBox } from '../src/core/secrets/secret-key.js';
import { managedRedisPassword, startManagedRedis, type ManagedRedis } from '../src/supervisor/managed-redis.js';
import { freePort } from './helpers/free-port.js';
import { http } from './helpers/http.js';
import { listening, startCommand, type Started } from './helpers/start-command.js';

async function configGet(url: string, name: string): Promise<string> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    const [, value] = (await client.config('GET', name)) as [string, string];
    return value;
  } finally {
    client.disconnect();
  }
}

describe('the managed Redis fsyncs as configured, every write by default', () => {
  const dirs: string[] = [];
  const redises: ManagedRedis[] = [];
  const commands: Started[] = [];
  const tempDir = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'pe-fsync-'));
    dirs.push(dir);
    return dir;
  };
  after(async () => {
    for (const c of commands) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
    await Promise.all(redises.map((r) => r.stop()));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test('by default Redis answers a write only after fsyncing its append-only file; everysec when asked', async () => {
    const byDefault = loadConfig({});
    assert.equal(byDefault.managedRedisFsync, 'always');
    const always = await startManagedRedis(tempDir(), await freePort(), byDefault.managedRedisFsync, randomBytes(16).toString('hex'));
    redises.push(always);
    assert.equal(await configGet(always.url, 'appendfsync'), 'always');
    assert.equal(await configGet(always.url, 'appendonly'), 'yes');

    const asked = loadConfig({ MANAGED_REDIS_FSYNC: 'everysec' });
    const everysec = await startManagedRedis(tempDir(), await freePort(), asked.managedRedisFsync, randomBytes(16).toString('hex'));
    redises.push(everysec);
    assert.equal(await configGet(everysec.url, 'appendfsync'), 'everysec');
  });

  test('the start command runs its Redis with appendfsync always unless told otherwise', async () => {
    const [port, redisPort, sandboxPort] = [await freePort(), await freePort(), await freePort()];
    const dataDir = tempDir();
    const started = startCommand({ DATA_DIR: dataDir, PORT: String(port), MANAGED_REDIS_PORT: String(redisPort), SANDBOX_PORT: String(sandboxPort), LOG_LEVEL: 'warn' });
    commands.push(started);
    const deadline = Date.now() + 30000;
    while ((await http(`http://127.0.0.1:${port}`, 'GET', '/health').catch(() => null))?.status !== 200) {
      assert.ok(Date.now() < deadline && started.child.exitCode === null, `the system did not come up; output:\n${started.output().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // Its password derives from the secret key the start command made in the data directory.
    const password = managedRedisPassword(secretBox(loadConfig({ DATA_DIR: dataDir })));
    assert.equal(await configGet(`redis://:${password}@127.0.0.1:${redisPort}`, 'appendfsync'), 'always');
    assert.match(started.output(), /appendfsync always/);
    started.child.kill('SIGTERM');
    assert.equal(await started.exited, 0);
  });

  test('a bad MANAGED_REDIS_FSYNC stops the start command before anything runs, naming the setting', async () => {
    assert.throws(() => loadConfig({ MANAGED_REDIS_FSYNC: 'sometimes' }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /MANAGED_REDIS_FSYNC must be one of always, everysec, no, got 'sometimes'/);
      return true;
    });

    const redisPort = await freePort();
    const started = startCommand({ DATA_DIR: tempDir(), PORT: String(await freePort()), MANAGED_REDIS_PORT: String(redisPort), MANAGED_REDIS_FSYNC: 'sometimes' });
    commands.push(started);
    assert.equal(await started.exited, 78);
    assert.match(started.output(), /start: configuration: MANAGED_REDIS_FSYNC must be one of always, everysec, no, got 'sometimes'/);
    assert.equal(await listening(redisPort), false, 'no redis-server was started');
  });
});
