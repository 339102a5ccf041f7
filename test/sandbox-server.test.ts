import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startSandbox } from '../src/sandbox/server.js';
import { VALID_DROPLET, call, withSandbox } from './sandbox-helpers.js';

describe('sandbox server', () => {
  test('defaults: loopback, ephemeral port, random sbx_ token, DO base URL under /v2', async () => {
    const sandbox = await startSandbox();
    try {
      assert.match(sandbox.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.match(sandbox.token, /^sbx_[0-9a-f]{32}$/);
      assert.equal(sandbox.digitaloceanBaseUrl, `${sandbox.url}/v2`);
      const res = await call(`${sandbox.digitaloceanBaseUrl}/account`, 'GET', sandbox.token);
      assert.equal(res.status, 200);
      const cfg = sandbox.digitalocean.config();
      assert.equal(cfg.activeDelayMs, 3000);
      assert.equal(cfg.actionDelayMs, 2000);
      assert.deepEqual(cfg.rateLimit, { perHour: 5000, perMinute: 250 });
    } finally {
      await sandbox.close();
    }
  });

  test('close() returns promptly while a timeout fault holds a request open', { timeout: 5000 }, async () => {
    const sandbox = await startSandbox();
    sandbox.faults.add({ kind: 'timeout' });
    const client = new AbortController();
    const outcome = call(`${sandbox.digitaloceanBaseUrl}/droplets`, 'GET', sandbox.token, { signal: client.signal }).then(
      () => 'answered',
      (err: Error) => (err.name === 'AbortError' ? 'aborted by the test' : 'cut off by the server'),
    );
    // Give the request time to reach the server before closing.
    await new Promise((resolve) => setTimeout(resolve, 100));

    const closed = sandbox.close().then(() => 'closed');
    const verdict = await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 1000, 'still open'))]);
    if (verdict !== 'closed') {
      // Let the server finish closing so a failure here does not hang the whole run.
      client.abort();
      await closed;
    }
    assert.equal(verdict, 'closed', 'close() did not return within 1s');
    assert.equal(await outcome, 'cut off by the server');
    await sandbox.close(); // closing twice is harmless
  });

  test('unknown top-level paths are a plain 404', () =>
    withSandbox(async (t) => {
      const res = await call(`${t.sandbox.url}/nowhere`, 'GET', t.sandbox.token);
      assert.equal(res.status, 404);
      assert.equal(res.body.error, 'not_found');
    }));

  test('admin reset forgets droplets and faults; ids keep increasing', () =>
    withSandbox(async (t) => {
      const before = await t.doApi('POST', '/droplets', { body: VALID_DROPLET });
      t.sandbox.faults.add({ kind: 'latency', latencyMs: 1, path: '^/nothing$' });
      assert.equal((await t.admin('POST', '/reset')).status, 204);
      assert.equal((await t.doApi('GET', '/droplets')).body.meta.total, 0);
      assert.deepEqual(t.sandbox.faults.list(), []);
      const after = await t.doApi('POST', '/droplets', { body: VALID_DROPLET });
      assert.ok(after.body.droplet.id > before.body.droplet.id);
    }));

  test('admin clock and config endpoints drive a manual-clock sandbox', () =>
    withSandbox(async (t) => {
      const slow = await t.admin('POST', '/digitalocean/config', { body: { activeDelayMs: 10_000 } });
      assert.equal(slow.body.activeDelayMs, 10_000);
      const created = await t.doApi('POST', '/droplets', { body: VALID_DROPLET });
      const id = created.body.droplet.id;

      const moved = await t.admin('POST', '/clock', { body: { advanceMs: 9_999 } });
      assert.equal(moved.status, 200);
      assert.equal(moved.body.now, t.clock.now());
      assert.equal((await t.doApi('GET', `/droplets/${id}`)).body.droplet.status, 'new');
      await t.admin('POST', '/clock', { body: { advanceMs: 1 } });
      assert.equal((await t.doApi('GET', `/droplets/${id}`)).body.droplet.status, 'active');

      assert.equal((await t.admin('POST', '/clock', { body: {} })).status, 400);
      assert.equal((await t.admin('GET', '/nope/config')).status, 404);
      assert.equal((await t.admin('POST', '/faults', { rawBody: '{' })).status, 400);
    }));

  test('the clock endpoint refuses to move a system-clock sandbox', async () => {
    const sandbox = await startSandbox();
    try {
      const res = await call(`${sandbox.url}/_sandbox/clock`, 'POST', sandbox.token, { body: { advanceMs: 1 } });
      assert.equal(res.status, 409);
    } finally {
      await sandbox.close();
    }
  });
});

describe('sandbox entry point', () => {
  test('prints SANDBOX_READY for a supervisor, serves requests, and stops on SIGTERM', { timeout: 20_000 }, async () => {
    const entry = fileURLToPath(new URL('../src/sandbox/main.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', entry], {
      env: { ...process.env, SANDBOX_PORT: '0', SANDBOX_TOKEN: 'sbx_entrytest', SANDBOX_DO_ACTIVE_DELAY_MS: '5' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // If the ready line never comes, killing the child ends the read loop below and the test fails.
    const watchdog = setTimeout(() => child.kill('SIGKILL'), 10_000);
    try {
      const lines = createInterface({ input: child.stdout });
      const printed: string[] = [];
      let ready: { url: string; token: string; digitalocean: string } | undefined;
      for await (const line of lines) {
        printed.push(line);
        if (line.startsWith('SANDBOX_READY ')) {
          ready = JSON.parse(line.slice('SANDBOX_READY '.length));
          break;
        }
      }
      assert.ok(ready, `no SANDBOX_READY line in:\n${printed.join('\n')}`);
      assert.equal(ready.token, 'sbx_entrytest');
      assert.equal(ready.digitalocean, `${ready.url}/v2`);
      assert.ok(
        printed.some((l) => l.includes(`DIGITALOCEAN_API_URL=${ready.digitalocean}`) && l.includes('DIGITALOCEAN_TOKEN=sbx_entrytest')),
      );

      const res = await call(`${ready.digitalocean}/account`, 'GET', ready.token);
      assert.equal(res.status, 200);
      const cfg = await call(`${ready.url}/_sandbox/digitalocean/config`, 'GET', ready.token);
      assert.equal(cfg.body.activeDelayMs, 5);

      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code] = await exited;
      assert.equal(code, 0);
    } finally {
      clearTimeout(watchdog);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  test('a malformed setting stops the entry point with a message naming it', { timeout: 20_000 }, async () => {
    const entry = fileURLToPath(new URL('../src/sandbox/main.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', entry], {
      env: { ...process.env, SANDBOX_PORT: '0', SANDBOX_DO_ACTION_DELAY_MS: 'soon' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const [code] = await once(child, 'exit');
    assert.notEqual(code, 0);
    assert.match(stderr, /SANDBOX_DO_ACTION_DELAY_MS/);
  });
});
