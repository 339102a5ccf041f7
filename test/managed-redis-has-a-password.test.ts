import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/core/config.js';
import { secretBox } from '../src/core/secrets/secret-key.js';
import { managedRedisPassword } from '../src/supervisor/managed-redis.js';
import { freePort } from './helpers/free-port.js';
import { http } from './helpers/http.js';
import { startCommand, type Started } from './helpers/start-command.js';

/** What Redis answers to one inline command on a fresh TCP connection, without AUTH: its first reply line. */
function bareAnswer(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    s.once('connect', () => s.write(`${command}\r\n`));
    s.on('data', (c: Buffer) => {
      got += c.toString();
      if (got.includes('\r\n')) {
        s.destroy();
        resolve(got.slice(0, got.indexOf('\r\n')));
      }
    });
    s.once('error', reject);
  });
}

/** What one command answers over a client that authenticates with the URL's password. */
async function answer(url: string, ...command: [string, ...string[]]): Promise<string> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return String(await client.call(...command));
  } catch (err) {
    return (err as Error).message;
  } finally {
    client.disconnect();
  }
}

/** Whether a TCP connection to host:port is accepted. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port, timeout: 2000 });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('timeout', () => (s.destroy(), resolve(false)));
    s.once('error', () => resolve(false));
  });
}

/** The command lines of every process whose command line mentions `text`. */
function commandLinesWith(text: string): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const line = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (line.includes(text)) out.push(line);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

describe('the managed Redis asks for a password and listens on loopback only', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'pe-redis-auth-'));
  let started: Started | undefined;
  after(async () => {
    if (started && started.child.exitCode === null && started.child.signalCode === null) {
      started.child.kill('SIGTERM');
      await started.exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('without the password a client is refused (NOAUTH); the password never shows in the output, the log or ps', async () => {
    const [port, redisPort, sandboxPort] = [await freePort(), await freePort(), await freePort()];
    started = startCommand({ DATA_DIR: dataDir, PORT: String(port), MANAGED_REDIS_PORT: String(redisPort), SANDBOX_PORT: String(sandboxPort), LOG_LEVEL: 'info' });
    const deadline = Date.now() + 30000;
    while ((await http(`http://127.0.0.1:${port}`, 'GET', '/health').catch(() => null))?.status !== 200) {
      assert.ok(Date.now() < deadline && started.child.exitCode === null, `the system did not come up; output:\n${started.output().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const keyFile = join(dataDir, 'secret.key');
    assert.equal(statSync(keyFile).mode & 0o777, 0o600, 'the secret key file was made, its owner\'s alone');
    const password = managedRedisPassword(secretBox(loadConfig({ DATA_DIR: dataDir })));
    assert.match(password, /^[0-9a-f]{64}$/);

    assert.match(await bareAnswer(redisPort, 'PING'), /^-NOAUTH Authentication required/);
    assert.match(await bareAnswer(redisPort, 'GET pe:auth:jwt-secret'), /^-NOAUTH/);
    assert.match(await bareAnswer(redisPort, 'KEYS *'), /^-NOAUTH/);
    assert.match(await bareAnswer(redisPort, 'AUTH wrong-password'), /^-WRONGPASS/);

    const authed = `redis://:${password}@127.0.0.1:${redisPort}`;
    assert.equal(await answer(authed, 'PING'), 'PONG');
    assert.equal(await answer(authed, 'CONFIG', 'GET', 'bind'), 'bind,127.0.0.1');
    assert.equal(await answer(authed, 'CONFIG', 'GET', 'requirepass'), `requirepass,${password}`);
    // The engine itself got in: the API answered /health with Redis reachable, and the workers run.
    assert.match(await answer(authed, 'CLIENT', 'LIST'), /name=worker/);

    for (const addresses of Object.values(networkInterfaces())) {
      for (const a of addresses ?? []) {
        if (a.internal || a.address.startsWith('fe80')) continue;
        assert.equal(await accepts(a.address, redisPort), false, `Redis does not listen on ${a.address}`);
      }
    }
    assert.equal(await accepts('127.0.0.1', redisPort), true);
    const redisCommandLine = commandLinesWith(`${redisPort}`).filter((l) => l.startsWith('redis-server'));
    assert.equal(redisCommandLine.length, 1, 'the managed redis-server runs');
    assert.deepEqual(commandLinesWith(password), [], 'the password is on no command line (ps shows those to everyone)');

    // Stop it, so every line the processes would print is in the output.
    started.child.kill('SIGTERM');
    assert.equal(await started.exited, 0);
    const output = started.output();
    assert.match(output, new RegExp(`redis redis://127\\.0\\.0\\.1:${redisPort}, password required`));
    assert.ok(!output.includes(password), 'the supervisor and its children never print the password');
    const redisLog = readFileSync(join(dataDir, 'redis', 'redis.log'), 'utf8');
    assert.ok(!redisLog.includes(password), "nor does Redis's own log");
  });
  test('started again with another secret key, the system stops, naming the setting, and regenerates nothing', async () => {
    const password = managedRedisPassword(secretBox(loadConfig({ DATA_DIR: dataDir })));
    const keyBefore = readFileSync(join(dataDir, 'secret.key'), 'utf8');
    const [port, redisPort, sandboxPort] = [await freePort(), await freePort(), await freePort()];
    const other = startCommand({
      DATA_DIR: dataDir, PORT: String(port), MANAGED_REDIS_PORT: String(redisPort), SANDBOX_PORT: String(sandboxPort), LOG_LEVEL: 'warn',
      ENGINE_SECRET_KEY: randomBytes(32).toString('base64'),
    });
    const timer = setTimeout(() => other.child.kill('SIGKILL'), 60000);
    const code = await other.exited;
    clearTimeout(timer);
    assert.equal(code, 1, other.output());
    // Whichever of the API and the workers reads its secret first stops the whole system.
    assert.match(other.output(), /(api|worker): configuration: ENGINE_SECRET_KEY does not open (the JWT secret kept in Redis at pe:auth:jwt-secret|the engine's SSH private key kept in Redis at pe:ssh:engine-key)/);
    assert.match(other.output(), /not restarting it/);
    assert.equal(readFileSync(join(dataDir, 'secret.key'), 'utf8'), keyBefore);

    // The data is as it was: with the first key, its Redis still opens and holds the same sealed secret.
    started = startCommand({ DATA_DIR: dataDir, PORT: String(port), MANAGED_REDIS_PORT: String(redisPort), SANDBOX_PORT: String(sandboxPort), LOG_LEVEL: 'warn' });
    const deadline = Date.now() + 30000;
    while ((await http(`http://127.0.0.1:${port}`, 'GET', '/health').catch(() => null))?.status !== 200) {
      assert.ok(Date.now() < deadline && started.child.exitCode === null, `the system did not come up again; output:\n${started.output().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const sealed = await answer(`redis://:${password}@127.0.0.1:${redisPort}`, 'GET', 'pe:auth:jwt-secret');
    assert.match(sealed, /^v1:/);
    assert.ok(secretBox(loadConfig({ DATA_DIR: dataDir })).open(sealed, 'jwt-secret').length >= 32);
    started.child.kill('SIGTERM');
    assert.equal(await started.exited, 0);
  });
});
