import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import jwt from 'jsonwebtoken';
import { startApi } from '../src/api/server.js';
import { ConfigError, loadConfig } from '../src/core/config.js';
import { closeCoreContext, createCoreContext } from '../src/core/context.js';
import { Keys } from '../src/core/keys.js';
import { createLogger } from '../src/core/logger.js';
import { newOperation } from '../src/core/operations/submit.js';
import { SecretBox, SecretBoxError } from '../src/core/secrets/secret-box.js';
import { secretBox } from '../src/core/secrets/secret-key.js';
import { generateEd25519Key } from '../src/core/ssh/ed25519-key.js';
import { engineKey } from '../src/core/ssh/engine-key.js';
import { http } from './helpers/http.js';
import { startTestRedis, type TestRedis } from './helpers/redis-server.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const newKey = () => randomBytes(32).toString('base64');

/** Runs an entry point with exactly these engine settings; resolves with its exit code and output. */
function runEntry(entry: string, env: Record<string, string>, timeoutMs = 20000): Promise<{ code: number | null; output: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(ENGINE_SECRET_KEY|JWT_SECRET|REDIS_URL|KEY_PREFIX|DATA_DIR|ADMIN_PASSWORD)/.test(k)));
  const child = spawn(process.execPath, ['--import', 'tsx', entry], { cwd: ROOT, env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) => child.once('exit', (code) => (clearTimeout(timer), resolve({ code, output }))));
}

describe('the secret box', () => {
  const box = new SecretBox(randomBytes(32), 'a test key');

  test('seals to v1:<nonce>:<ciphertext>:<tag>, a new nonce each time, and opens what it sealed', () => {
    const a = box.seal('the secret', 'jwt-secret');
    const b = box.seal('the secret', 'jwt-secret');
    assert.match(a, /^v1:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]+:[A-Za-z0-9_-]{22}$/);
    assert.notEqual(a, b, 'a random nonce per value');
    assert.ok(!a.includes('the secret'));
    assert.equal(box.open(a, 'jwt-secret'), 'the secret');
    assert.equal(box.open(b, 'jwt-secret'), 'the secret');
  });

  test('a tampered value, another key or another purpose does not open', () => {
    const sealed = box.seal('x'.repeat(40), 'jwt-secret');
    const [v, nonce, body, tag] = sealed.split(':') as [string, string, string, string];
    const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
    for (const altered of [[v, flip(nonce), body, tag], [v, nonce, flip(body), tag], [v, nonce, body, flip(tag)], [v, nonce, body.slice(0, -2), tag]]) {
      assert.throws(() => box.open(altered.join(':'), 'jwt-secret'), SecretBoxError);
    }
    assert.throws(() => new SecretBox(randomBytes(32), 'another key').open(sealed, 'jwt-secret'), SecretBoxError);
    assert.throws(() => box.open(sealed, 'ssh-engine-key'), SecretBoxError, 'bound to its purpose');
    assert.throws(() => box.open('not sealed at all', 'jwt-secret'), /not a sealed value/);
  });

  test('ENGINE_SECRET_KEY must be 32 bytes as base64 or hex, checked at boot and never echoed', () => {
    const hex = randomBytes(32).toString('hex');
    assert.equal(loadConfig({ ENGINE_SECRET_KEY: hex }).secretKey.source, 'ENGINE_SECRET_KEY');
    assert.equal(loadConfig({ ENGINE_SECRET_KEY: newKey() }).secretKey.source, 'ENGINE_SECRET_KEY');
    assert.equal(loadConfig({ ENGINE_SECRET_KEY: randomBytes(32).toString('base64url') }).secretKey.source, 'ENGINE_SECRET_KEY');
    for (const bad of ['too-short-secret', randomBytes(16).toString('hex'), randomBytes(48).toString('base64')]) {
      assert.throws(() => loadConfig({ ENGINE_SECRET_KEY: bad }), (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /ENGINE_SECRET_KEY must be 32 bytes as base64 or hex/);
        assert.ok(!err.message.includes(bad), 'the value is not echoed');
        return true;
      });
    }
    assert.throws(() => loadConfig({ ENGINE_SECRET_KEY: hex, ENGINE_SECRET_KEY_FILE: '/etc/hostname' }), /both set/);
  });
});

describe('the key file', () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'pe-key-'));
    dirs.push(d);
    return d;
  };
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test('is created under DATA_DIR on first start with mode 0600, and found again', () => {
    const dataDir = join(tempDir(), 'var');
    const config = loadConfig({ DATA_DIR: dataDir });
    const box = secretBox(config);
    const file = join(dataDir, 'secret.key');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64').length, 32);
    assert.deepEqual(readdirSync(dataDir), ['secret.key'], 'no temporary file left behind');
    const sealed = box.seal('kept', 'test');
    assert.equal(new SecretBox(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64'), 'the file').open(sealed, 'test'), 'kept');
  });

  test('processes starting at once agree on one key', async () => {
    const dataDir = join(tempDir(), 'var');
    const script = `import { loadConfig } from './src/core/config.js'; import { secretBox } from './src/core/secrets/secret-key.js'; process.stdout.write(secretBox(loadConfig({ DATA_DIR: ${JSON.stringify(dataDir)} })).fingerprint());`;
    const runs = await Promise.all(
      Array.from({ length: 6 }, () =>
        new Promise<string>((resolve, reject) => {
          const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
          let out = '';
          child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
          child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}`))));
        }),
      ),
    );
    assert.equal(new Set(runs).size, 1, `one key for all: ${runs.join(' ')}`);
    assert.match(runs[0]!, /^[0-9a-f]{16}$/);
  });

  test('ENGINE_SECRET_KEY_FILE is refused when its group or others may read it; the default file too', () => {
    const dir = tempDir();
    const file = join(dir, 'engine.key');
    writeFileSync(file, newKey() + '\n', { mode: 0o600 });
    for (const mode of [0o644, 0o640, 0o604, 0o660]) {
      chmodSync(file, mode);
      assert.throws(() => secretBox(loadConfig({ ENGINE_SECRET_KEY_FILE: file })), (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /^configuration: ENGINE_SECRET_KEY_FILE names .*engine\.key, which its group or others may read or write \(mode 0\d{3}\)/);
        assert.match(err.message, /chmod 600/);
        return true;
      });
    }
    chmodSync(file, 0o400);
    assert.match(secretBox(loadConfig({ ENGINE_SECRET_KEY_FILE: file })).fingerprint(), /^[0-9a-f]{16}$/);
    assert.throws(() => loadConfig({ ENGINE_SECRET_KEY_FILE: join(dir, 'missing.key') }), /ENGINE_SECRET_KEY_FILE names a file that does not exist/);

    const dataDir = join(tempDir(), 'var');
    secretBox(loadConfig({ DATA_DIR: dataDir }));
    chmodSync(join(dataDir, 'secret.key'), 0o644);
    assert.throws(() => secretBox(loadConfig({ DATA_DIR: dataDir, ENGINE_SECRET_KEY: undefined })), /^ConfigError: configuration: DATA_DIR holds the secret key file .*secret\.key, which its group or others may read/);
  });

  test('a key file readable by others stops the API before it starts, naming the setting', async () => {
    const file = join(tempDir(), 'engine.key');
    writeFileSync(file, newKey() + '\n', { mode: 0o644 });
    chmodSync(file, 0o644);
    const { code, output } = await runEntry('src/api/main.ts', { ENGINE_SECRET_KEY_FILE: file, REDIS_URL: 'redis://127.0.0.1:1', PORT: '0' });
    assert.equal(code, 78, output);
    assert.match(output, /^api: configuration: ENGINE_SECRET_KEY_FILE names .*engine\.key, which its group or others may read or write \(mode 0644\)/m);
  });
});

describe('the JWT secret and the SSH key are kept sealed in Redis', () => {
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

  const settings = (prefix: string, key: string) => ({ PORT: '0', HOST: '127.0.0.1', KEY_PREFIX: prefix, REDIS_URL: redis.url, ADMIN_PASSWORD: 'admin-password-1234', ENGINE_SECRET_KEY: key });

  test('a generated JWT secret is stored sealed and opens, with the key, to the secret tokens are signed with', async () => {
    const key = newKey();
    const config = loadConfig(settings('sealedjwt', key));
    const api = await startApi(config, redis.url, createLogger('api', 'error'), () => undefined);
    try {
      const stored = (await client.get('sealedjwt:auth:jwt-secret'))!;
      assert.match(stored, /^v1:/);
      const secret = secretBox(config).open(stored, 'jwt-secret');
      assert.ok(secret.length >= 32);
      assert.ok(!stored.includes(secret));
      const login = await http(api.url, 'POST', '/v1/auth/login', { body: { username: 'admin', password: 'admin-password-1234' } });
      assert.equal(login.status, 200);
      assert.equal((jwt.verify(login.body.token, secret) as jwt.JwtPayload).sub, 'admin');
    } finally {
      await api.close();
    }
  });

  test('a JWT secret kept in clear by an older version is sealed in place on first read and still signs', async () => {
    const legacy = randomBytes(48).toString('base64url');
    await client.set('legacyjwt:auth:jwt-secret', legacy);
    const config = loadConfig(settings('legacyjwt', newKey()));
    const api = await startApi(config, redis.url, createLogger('api', 'error'), () => undefined);
    try {
      const stored = (await client.get('legacyjwt:auth:jwt-secret'))!;
      assert.match(stored, /^v1:/, 'sealed in place');
      assert.equal(secretBox(config).open(stored, 'jwt-secret'), legacy);
      const login = await http(api.url, 'POST', '/v1/auth/login', { body: { username: 'admin', password: 'admin-password-1234' } });
      assert.equal((jwt.verify(login.body.token, legacy) as jwt.JwtPayload).sub, 'admin', 'tokens of before stay valid');
    } finally {
      await api.close();
    }
  });

  test("the engine's SSH key is stored sealed; one kept in clear is sealed in place", async () => {
    const config = loadConfig(settings('sealedssh', newKey()));
    const box = secretBox(config);
    const keys = new Keys('sealedssh');
    const key = await engineKey(client, keys, config.ssh, box);
    const stored = (await client.get(keys.sshEngineKey()))!;
    assert.match(stored, /^v1:/);
    assert.ok(!stored.includes('OPENSSH'));
    assert.equal(box.open(stored, 'ssh-engine-key'), key.privateKey);
    assert.match(key.publicKey, /^ssh-ed25519 AAAA/);

    const legacyKeys = new Keys('legacyssh');
    const legacy = generateEd25519Key('provisioning-engine');
    await client.set(legacyKeys.sshEngineKey(), legacy.privateKey);
    const found = await engineKey(client, legacyKeys, config.ssh, box);
    assert.equal(found.privateKey, legacy.privateKey, 'the servers made so far still let the engine in');
    const migrated = (await client.get(legacyKeys.sshEngineKey()))!;
    assert.match(migrated, /^v1:/);
    assert.equal(box.open(migrated, 'ssh-engine-key'), legacy.privateKey);
  });

  test('a stored secret the configured key does not open stops the API and the worker, naming the setting; nothing is replaced', async () => {
    const prefix = 'wrongkey';
    const config = loadConfig(settings(prefix, newKey()));
    const api = await startApi(config, redis.url, createLogger('api', 'error'), () => undefined);
    await api.close();
    await engineKey(client, new Keys(prefix), config.ssh, secretBox(config));
    const before = await client.mget(`${prefix}:auth:jwt-secret`, `${prefix}:ssh:engine-key`);

    const wrong = { ...settings(prefix, newKey()), LOG_LEVEL: 'error' };
    const apiRun = await runEntry('src/api/main.ts', wrong);
    assert.equal(apiRun.code, 78, apiRun.output);
    assert.match(apiRun.output, /^api: configuration: ENGINE_SECRET_KEY does not open the JWT secret kept in Redis at wrongkey:auth:jwt-secret/m);
    assert.match(apiRun.output, /start with that key again/);

    const workerRun = await runEntry('src/workers/main.ts', wrong);
    assert.equal(workerRun.code, 78, workerRun.output);
    assert.match(workerRun.output, /^worker: configuration: ENGINE_SECRET_KEY does not open the engine's SSH private key kept in Redis at wrongkey:ssh:engine-key/m);

    assert.deepEqual(await client.mget(`${prefix}:auth:jwt-secret`, `${prefix}:ssh:engine-key`), before, 'neither secret was regenerated');
  });

  test("an operation's user_data is kept sealed and dropped once the operation ends", async () => {
    const config = loadConfig(settings('sealedops', newKey()));
    const ctx = createCoreContext(config, redis.url, createLogger('test', 'error'), 'test');
    try {
      const userData = `#cloud-config\n# ${randomBytes(12).toString('hex')}\n`;
      const op = newOperation({ type: 'server.create', workspace: 'default', provider: 'hetzner', target: null, request: {}, traceId: 't', requestedBy: 'admin' });
      await ctx.store.create(op, { user_data: userData });
      const stored = (await client.hget(ctx.keys.operation(op.id), 'sealed'))!;
      assert.match(stored, /^v1:/);
      assert.ok(!stored.includes(userData.trim().split('\n')[1]!.slice(2)));
      const claim = await ctx.store.transition(op.id, ['pending'], 'running', {}, { markStarted: true });
      assert.equal(claim.outcome, 'ok');
      assert.equal(claim.outcome === 'ok' && claim.sealed.user_data, userData, 'the worker gets it back');
      await ctx.store.transition(op.id, ['running'], 'failed', { error: { code: 'INTERNAL', message: 'x', retryable: false } });
      assert.equal(await client.hexists(ctx.keys.operation(op.id), 'sealed'), 0, 'gone once the operation failed');

      const cancelled = newOperation({ type: 'server.create', workspace: 'default', provider: 'hetzner', target: null, request: {}, traceId: 't', requestedBy: 'admin' });
      await ctx.store.create(cancelled, { user_data: userData });
      await ctx.store.transition(cancelled.id, ['pending'], 'cancelled', {});
      assert.equal(await client.hexists(ctx.keys.operation(cancelled.id), 'sealed'), 0, 'gone once cancelled before it started');
    } finally {
      await closeCoreContext(ctx);
    }
  });
});
