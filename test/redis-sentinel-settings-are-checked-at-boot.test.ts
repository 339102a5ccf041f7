import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../src/core/config.js';
import { redisAddressOf, redisOptions } from '../src/core/redis.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** loadConfig refuses `env` with a ConfigError naming `setting` and matching `problem`. */
function refused(env: Record<string, string>, setting: string, problem: RegExp): ConfigError {
  let caught: unknown;
  assert.throws(() => loadConfig(env), (err: unknown) => ((caught = err), err instanceof ConfigError && err.setting === setting && problem.test(err.message)));
  return caught as ConfigError;
}

describe('the Redis Sentinel settings are checked at boot', () => {
  test('REDIS_SENTINELS with its companions becomes the sentinel connection options', () => {
    const config = loadConfig({ REDIS_SENTINELS: ' 10.0.0.5:26379, sentinel-b.internal:26380,[::1]:26381 ', REDIS_SENTINEL_MASTER: 'engine-primary', REDIS_SENTINEL_PASSWORD: 's3ntinel-secret', REDIS_PASSWORD: 'data-secret' });
    assert.equal(config.redisUrl, null);
    assert.deepEqual(config.redisSentinel, {
      sentinels: [{ host: '10.0.0.5', port: 26379 }, { host: 'sentinel-b.internal', port: 26380 }, { host: '::1', port: 26381 }],
      masterName: 'engine-primary',
      sentinelPassword: 's3ntinel-secret',
      password: 'data-secret',
    });
    const options = redisOptions(redisAddressOf(config)!, 'api');
    assert.deepEqual(options.sentinels, [{ host: '10.0.0.5', port: 26379 }, { host: 'sentinel-b.internal', port: 26380 }, { host: '::1', port: 26381 }]);
    assert.equal(options.name, 'engine-primary');
    assert.equal(options.role, 'master');
    assert.equal(options.sentinelPassword, 's3ntinel-secret');
    assert.equal(options.password, 'data-secret');
    assert.equal(options.connectionName, 'api');
    assert.equal(options.maxRetriesPerRequest, null, 'BullMQ and the engine wait through a failover');

    const plain = loadConfig({ REDIS_SENTINELS: '127.0.0.1:26379' }).redisSentinel;
    assert.deepEqual(plain, { sentinels: [{ host: '127.0.0.1', port: 26379 }], masterName: 'mymaster', sentinelPassword: null, password: null });
    assert.equal(loadConfig({}).redisSentinel, null);
    assert.equal(redisAddressOf(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379' })), 'redis://127.0.0.1:6379');
    assert.equal(redisOptions('redis://127.0.0.1:6379', 'api').sentinels, undefined);
  });

  test('a bad sentinel list names REDIS_SENTINELS and the entry', () => {
    refused({ REDIS_SENTINELS: '10.0.0.5' }, 'REDIS_SENTINELS', /entry 1 must be host:port/);
    refused({ REDIS_SENTINELS: '10.0.0.5:26379,10.0.0.6' }, 'REDIS_SENTINELS', /entry 2 must be host:port/);
    refused({ REDIS_SENTINELS: '10.0.0.5:0' }, 'REDIS_SENTINELS', /port 0, expected 1 to 65535/);
    refused({ REDIS_SENTINELS: '10.0.0.5:70000' }, 'REDIS_SENTINELS', /port 70000/);
    refused({ REDIS_SENTINELS: 'bad_host!:26379' }, 'REDIS_SENTINELS', /invalid host 'bad_host!'/);
    refused({ REDIS_SENTINELS: '::1:26379' }, 'REDIS_SENTINELS', /IPv6 address in brackets/);
    refused({ REDIS_SENTINELS: '[not-v6]:26379' }, 'REDIS_SENTINELS', /invalid host 'not-v6'/);
    refused({ REDIS_SENTINELS: '10.0.0.5:26379,,10.0.0.6:26379' }, 'REDIS_SENTINELS', /empty entry/);
    refused({ REDIS_SENTINELS: 'a:26379,A:26379' }, 'REDIS_SENTINELS', /names a:26379 twice/);
    refused({ REDIS_SENTINELS: 'a:26379', REDIS_SENTINEL_MASTER: 'my master' }, 'REDIS_SENTINEL_MASTER', /letters, digits/);
  });

  test('contradictory or idle Redis settings are refused, and no password is repeated', () => {
    refused({ REDIS_SENTINELS: 'a:26379', REDIS_URL: 'redis://b:6379' }, 'REDIS_SENTINELS', /REDIS_URL are both set/);
    refused({ REDIS_SENTINEL_MASTER: 'mymaster' }, 'REDIS_SENTINEL_MASTER', /needs REDIS_SENTINELS/);
    const sentinelSecret = refused({ REDIS_SENTINEL_PASSWORD: 'sentinel-secret-1' }, 'REDIS_SENTINEL_PASSWORD', /needs REDIS_SENTINELS/);
    assert.ok(!sentinelSecret.message.includes('sentinel-secret-1'));
    const dataSecret = refused({ REDIS_URL: 'redis://b:6379', REDIS_PASSWORD: 'data-secret-1' }, 'REDIS_PASSWORD', /give it in the URL/);
    assert.ok(!dataSecret.message.includes('data-secret-1'));
    const control = refused({ REDIS_SENTINELS: 'a:26379', REDIS_PASSWORD: 'data\u0001secret' }, 'REDIS_PASSWORD', /control characters/);
    assert.ok(!control.message.includes('secret'));
  });

  test('a worker started with a bad REDIS_SENTINELS stops at once, naming it', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/workers/main.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', REDIS_SENTINELS: '127.0.0.1:26379,nohost', CONFIG_FILE: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    assert.equal(code, 78, err);
    assert.match(err, /configuration: REDIS_SENTINELS entry 2 must be host:port/);
  });
});
