import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { freePort } from './helpers/free-port.js';
import { http } from './helpers/http.js';
import { listening, startCommand as start, type Started } from './helpers/start-command.js';

async function until<T>(check: () => Promise<T | undefined> | T | undefined, what: string, output: () => string, ms = 30000): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = await check();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}; output:\n${output().slice(-3000)}`);
}

describe('the start command runs the whole system and stops it cleanly', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'pe-start-'));
  const running: Started[] = [];
  after(async () => {
    for (const s of running) if (s.child.exitCode === null) s.child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('Redis, sandbox, API and two workers come up; a second start finds its data again', async () => {
    const [port, redisPort, sandboxPort] = [await freePort(), await freePort(), await freePort()];
    const env = { DATA_DIR: dataDir, PORT: String(port), MANAGED_REDIS_PORT: String(redisPort), SANDBOX_PORT: String(sandboxPort), SANDBOX_DO_ACTIVE_DELAY_MS: '200', PROVIDER_POLL_MS: '100', LOG_LEVEL: 'warn' };
    const api = `http://127.0.0.1:${port}`;

    const first = start(env);
    running.push(first);
    const password = await until(() => /password: (\S+)/.exec(first.output())?.[1], 'the generated admin password', first.output);
    await until(async () => ((await http(api, 'GET', '/health').catch(() => null))?.status === 200 ? true : undefined), 'the API', first.output);
    const login = await http(api, 'POST', '/v1/auth/login', { body: { username: 'admin', password } });
    assert.equal(login.status, 200);
    const token = login.body.token as string;

    const create = await http(api, 'POST', '/v1/servers/create', {
      token,
      body: { workspace: 'default', provider: 'digitalocean', plan: 's-1vcpu-1gb', hostname: 'web-01', zone: 'nyc3', check_mode: false, tags: ['web'] },
    });
    assert.equal(create.status, 202);
    const done = await until(async () => {
      const op = await http(api, 'GET', `/v1/operations/${create.body.id}`, { token });
      return op.body.status === 'completed' ? op.body : undefined;
    }, 'the create to complete', first.output);
    assert.match(done.result.server_id, /^srv-/);

    first.child.kill('SIGTERM');
    assert.equal(await first.exited, 0);
    assert.match(first.output(), /stopped/);
    for (const p of [port, redisPort, sandboxPort]) assert.equal(await listening(p), false, `port ${p} is closed after stop`);

    const second = start(env);
    running.push(second);
    await until(async () => ((await http(api, 'GET', '/health').catch(() => null))?.status === 200 ? true : undefined), 'the API again', second.output);
    const again = await http(api, 'POST', '/v1/auth/login', { body: { username: 'admin', password } });
    assert.equal(again.status, 200, 'the admin made on first start still logs in');
    assert.doesNotMatch(second.output(), /password: /, 'no new password is generated or shown');
    const op = await http(api, 'GET', `/v1/operations/${create.body.id}`, { token: again.body.token });
    assert.equal(op.status, 200);
    assert.equal(op.body.status, 'completed');
    const server = await http(api, 'GET', `/v1/servers/${done.result.server_id}/status`, { token: again.body.token });
    assert.equal(server.status, 200);
    second.child.kill('SIGINT');
    assert.equal(await second.exited, 0);
  });
});
