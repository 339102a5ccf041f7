import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/core/config.js';
import { isAbort } from '../src/common/errors.js';
import { Keys } from '../src/core/keys.js';
import { generateEd25519Key } from '../src/core/ssh/ed25519-key.js';
import { SecretBox } from '../src/core/secrets/secret-box.js';
import { engineKey } from '../src/core/ssh/engine-key.js';
import { HostKeyPins } from '../src/core/ssh/host-key-pins.js';
import { SshRunner, type SshTarget } from '../src/core/ssh/runner.js';
import { findTaskserv } from '../src/core/taskservs/catalog.js';
import { checkTaskservConfig } from '../src/core/taskservs/parameters.js';
import { rejectsWith } from './helpers/rejects-with.js';
import { startTestRedis, type TestRedis } from './helpers/redis-server.js';
import { startSshd, type RunningSshd } from './helpers/sshd.js';

/** Processes whose command line contains `text` (the remote bash carries its whole script there). */
function processesWith(text: string): number[] {
  const pids: number[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text)) pids.push(Number(pid));
    } catch {
      // gone meanwhile
    }
  }
  return pids.filter((pid) => pid !== process.pid);
}

describe('the SSH runner against a real sshd on loopback', () => {
  let redis: TestRedis;
  let client: Redis;
  let sshd: RunningSshd;
  let runner: SshRunner;
  let pins: HostKeyPins;
  const keys = new Keys('t' + randomBytes(4).toString('hex'));
  const settings = loadConfig({}).ssh;
  const target = (): SshTarget => ({ label: 'local-sshd', address: sshd.host, port: sshd.port, pinKey: 'srv-realsshd0001' });
  const hello = findTaskserv('hello')!;
  const files: string[] = [];

  before(async () => {
    redis = await startTestRedis();
    client = new Redis(redis.url);
    const key = await engineKey(client, keys, settings, new SecretBox(randomBytes(32), 'a test key'));
    sshd = await startSshd(key.publicKey);
    pins = new HostKeyPins(client, keys);
    runner = new SshRunner({ privateKey: key.privateKey, user: 'root', endpointOverride: null, pins, connectTimeoutMs: 5000, connectAttempts: 1 });
  });
  after(async () => {
    await sshd?.stop();
    client?.disconnect();
    await redis?.stop();
    for (const f of files) rmSync(f, { force: true });
  });

  test("the hello task service's install script writes its file through sshd, and its output streams back", async () => {
    const path = `/tmp/pe-hello-${randomBytes(6).toString('hex')}.txt`;
    files.push(path);
    const config = checkTaskservConfig(hello, { message: 'written over a real SSH session', path });
    const lines: Array<[string, string]> = [];
    const result = await runner.run(target(), hello.install(config), { onLine: (stream, line) => lines.push([stream, line]) });
    assert.equal(result.exitCode, 0, `${JSON.stringify(result)}\n${sshd.log()}`);
    assert.equal(readFileSync(path, 'utf8'), 'written over a real SSH session\n');
    assert.deepEqual(lines, [
      ['stdout', `hello 1.0: writing ${path}`],
      ['stdout', `hello 1.0: wrote ${path}`],
    ]);
    assert.match(sshd.log(), /Accepted publickey for root/);

    const again = await runner.run(target(), hello.install(config));
    assert.equal(again.exitCode, 0, 'running it twice is harmless');
    const removed = await runner.run(target(), hello.remove(config));
    assert.equal(removed.exitCode, 0);
    assert.equal(existsSync(path), false);
  });

  test('a failing script reports its exit code and last lines from both streams', async () => {
    const lines: Array<[string, string]> = [];
    const result = await runner.run(target(), "set -euo pipefail\necho 'to stdout'\necho 'to stderr' >&2\nfalse\necho 'never printed'\n", {
      onLine: (stream, line) => lines.push([stream, line]),
    });
    assert.equal(result.exitCode, 1);
    assert.deepEqual(result.tail, ['to stdout', 'to stderr']);
    assert.deepEqual(lines, [['stdout', 'to stdout'], ['stderr', 'to stderr']]);
  });

  test('the host key is pinned on first use; a different key later is refused before anything runs', async () => {
    const pinned = await client.get(keys.sshHostKeyPin('srv-realsshd0001'));
    assert.match(pinned ?? '', /^SHA256:[A-Za-z0-9+/]{43}$/);
    await client.set(keys.sshHostKeyPin('srv-realsshd0001'), 'SHA256:somebody-elses-key');
    try {
      const err = await rejectsWith(runner.run(target(), 'touch /tmp/pe-should-not-exist'));
      assert.equal((err as { code?: string }).code, 'SSH_HOST_KEY_MISMATCH');
      assert.match((err as Error).message, /local-sshd \(root@127\.0\.0\.1\): host key SHA256:\S+ does not match the pinned SHA256:somebody-elses-key/);
    } finally {
      await client.set(keys.sshHostKeyPin('srv-realsshd0001'), pinned!);
    }
    assert.equal(existsSync('/tmp/pe-should-not-exist'), false);
  });

  test('a key the server does not know is refused', async () => {
    const stranger = new SshRunner({ privateKey: generateEd25519Key('stranger').privateKey, user: 'root', endpointOverride: null, pins, connectTimeoutMs: 5000, connectAttempts: 1 });
    const err = await rejectsWith(stranger.run(target(), 'true'));
    assert.equal((err as { code?: string }).code, 'SSH_AUTH_FAILED');
  });

  test('aborting a running script stops it on the server', async () => {
    const path = `/tmp/pe-slow-${randomBytes(6).toString('hex')}.txt`;
    files.push(path);
    const config = checkTaskservConfig(hello, { path, delay_seconds: 30 });
    const abort = new AbortController();
    const started = Date.now();
    const run = runner.run(target(), hello.install(config), { signal: abort.signal, onLine: () => abort.abort('cancel requested') });
    const err = await rejectsWith(run);
    assert.ok(isAbort(err), String(err));
    assert.ok(Date.now() - started < 10000);
    // The remote bash (its command line holds the whole script) is gone, so the file never comes.
    const deadline = Date.now() + 5000;
    while (processesWith(path).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(processesWith(path), []);
    assert.equal(existsSync(path), false);
  });
});
