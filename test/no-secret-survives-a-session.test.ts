import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import winston from 'winston';
import { startApi, type RunningApi } from '../src/api/server.js';
import { createLogger } from '../src/core/logger.js';
import { secretBox } from '../src/core/secrets/secret-key.js';
import { freePort } from './helpers/free-port.js';
import { http } from './helpers/http.js';
import { PROVIDER_REQUESTS } from './helpers/provider-requests.js';
import { redisAnswers } from '../src/supervisor/redis-ready.js';
import { TestSystem } from './helpers/system.js';

/**
 * A replica of the test's Redis with its own append-only file: it receives every write the
 * engine makes, values overwritten or deleted since included, as a backup or a replica would.
 */
async function startRecordingReplica(primaryPort: number): Promise<{ dir: string; url: string; child: ChildProcess; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'pe-replica-'));
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--aof-use-rdb-preamble', 'no', '--rdbcompression', 'no', '--save', '', '--replicaof', '127.0.0.1', String(primaryPort), '--loglevel', 'warning'],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = `redis://127.0.0.1:${port}`;
  if (!(await redisAnswers(url, () => child.exitCode === null, 5000))) throw new Error('the replica did not start');
  return {
    dir,
    url,
    child,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Every file under `dir`, as text. */
function filesUnder(dir: string): Array<{ name: string; text: string }> {
  const out: Array<{ name: string; text: string }> = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path));
    else out.push({ name: path, text: readFileSync(path).toString('latin1') });
  }
  return out;
}

/** Every key of the Redis, read whole: by its type, and as DUMP serializes it. */
async function dumpRedis(redis: Redis): Promise<Array<{ name: string; text: string }>> {
  // Uncompressed, so DUMP shows every string as it is stored.
  await redis.config('SET', 'rdbcompression', 'no');
  const out: Array<{ name: string; text: string }> = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', '500');
    cursor = next;
    for (const key of keys) {
      const type = await redis.type(key);
      let value: unknown;
      if (type === 'string') value = await redis.get(key);
      else if (type === 'hash') value = await redis.hgetall(key);
      else if (type === 'list') value = await redis.lrange(key, 0, -1);
      else if (type === 'set') value = await redis.smembers(key);
      else if (type === 'zset') value = await redis.zrange(key, '0', '-1', 'WITHSCORES');
      else if (type === 'stream') value = await redis.xrange(key, '-', '+');
      else value = `(${type})`;
      const dumped = await redis.dumpBuffer(key);
      out.push({ name: `${type} ${key}`, text: `${JSON.stringify(value)}\n${typeof value === 'string' ? value : ''}\n${dumped ? dumped.toString('latin1') : ''}` });
    }
  } while (cursor !== '0');
  return out;
}

/** An API logging everything it would log, at debug, into `lines`. */
async function capturingApi(sys: TestSystem, lines: string[]): Promise<RunningApi> {
  const logger = createLogger('api', 'debug');
  logger.clear();
  logger.add(new winston.transports.Stream({ stream: new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) }) }));
  return startApi(sys.config, sys.redis.url, logger, () => undefined);
}

describe('no secret used in a session is found afterwards in the logs or in Redis', () => {
  let sys: TestSystem;
  let api: RunningApi;
  let redis: Redis;
  let replica: Awaited<ReturnType<typeof startRecordingReplica>>;
  const apiLines: string[] = [];
  /** Every secret the session handles, by name. */
  const secrets = new Map<string, string>();
  const hetzner = PROVIDER_REQUESTS.hetzner;

  before(async () => {
    sys = await TestSystem.start({
      workers: 1,
      doActiveDelayMs: 100,
      otherDelayMs: 50,
      // The JWT secret is generated and kept in Redis (not given); the key every secret is sealed with is this one.
      env: { JWT_SECRET: '', ENGINE_SECRET_KEY: randomBytes(32).toString('base64'), LOG_LEVEL: 'debug' },
    });
    redis = new Redis(sys.redis.url);
    replica = await startRecordingReplica(Number(new URL(sys.redis.url).port));
    const replicaClient = new Redis(replica.url);
    await sys.eventually(async () => (/master_link_status:up/.test(await replicaClient.info('replication')) ? true : undefined), 'the replica to sync');
    replicaClient.disconnect();
    api = await capturingApi(sys, apiLines);
    secrets.set('admin password', sys.adminPassword);
    secrets.set('the test system\'s access token', sys.token);
  });
  after(async () => {
    redis?.disconnect();
    await api?.close();
    await replica?.stop();
    await sys?.stop();
  });

  const call = (method: string, path: string, token: string, body?: unknown, headers?: Record<string, string>) => http(api.url, method, path, { token, body, headers });
  const waitDone = async (id: string, token: string, ms = 40000) => {
    return sys.eventually(async () => {
      const res = await call('GET', `/v1/operations/${id}`, token);
      return ['completed', 'failed', 'cancelled'].includes(res.body.status) ? res.body : undefined;
    }, `operation ${id} to finish`, ms);
  };

  test('login, create with user_data, console, task service, workflow: then every log line and every byte Redis holds or held is searched', async () => {
    // Login, and one refresh: two access tokens and two refresh tokens.
    const login = await http(api.url, 'POST', '/v1/auth/login', { body: { username: 'admin', password: sys.adminPassword } });
    assert.equal(login.status, 200);
    secrets.set('access token (login)', login.body.token);
    secrets.set('refresh token (login)', login.body.refresh_token);
    const refreshed = await http(api.url, 'POST', '/v1/auth/refresh', { body: { refresh_token: login.body.refresh_token } });
    assert.equal(refreshed.status, 200);
    secrets.set('access token (refreshed)', refreshed.body.token);
    secrets.set('refresh token (refreshed)', refreshed.body.refresh_token);
    const token = refreshed.body.token as string;

    const apiKey = await call('POST', '/v1/api-keys', token, { name: 'session-key' });
    assert.equal(apiKey.status, 201, JSON.stringify(apiKey.body));
    secrets.set('API key', apiKey.body.key);

    // A create whose user_data carries a secret.
    const userDataSecret = `ud-${randomBytes(16).toString('hex')}`;
    const userData = `#cloud-config\nwrite_files:\n  - path: /etc/app.env\n    content: "DB_PASSWORD=${userDataSecret}"\n`;
    secrets.set('user_data secret', userDataSecret);
    const create = await call('POST', '/v1/servers/create', token, { workspace: 'production', provider: 'hetzner', plan: hetzner.plan, zone: hetzner.zone, hostname: 'sec-01', check_mode: false, tags: [], user_data: userData }, { 'Idempotency-Key': 'create-sec-01' });
    assert.equal(create.status, 202, JSON.stringify(create.body));
    assert.equal(create.body.request.user_data, `<${Buffer.byteLength(userData)} bytes>`);
    const created = await waitDone(create.body.id, token);
    assert.equal(created.status, 'completed', JSON.stringify(created.error));
    assert.equal(await redis.hexists(sys.api.ctx.keys.operation(create.body.id), 'sealed'), 0, 'user_data dropped from the record');
    const serverId = created.result.server_id as string;

    // The console: answered once, not cacheable, and not replayable.
    const consoleRes = await call('POST', `/v1/servers/${serverId}/console`, token);
    assert.equal(consoleRes.status, 200, JSON.stringify(consoleRes.body));
    assert.equal(consoleRes.headers.get('cache-control'), 'no-store');
    assert.match(consoleRes.body.password, /\S{16,}/);
    secrets.set('console password', consoleRes.body.password);
    secrets.set('console URL token', new URL(consoleRes.body.url).searchParams.get('token')!);
    const withKey = await call('POST', `/v1/servers/${serverId}/console`, token, undefined, { 'Idempotency-Key': 'console-once' });
    assert.equal(withKey.status, 400);
    assert.equal(withKey.body.details[0].field, 'header.Idempotency-Key');
    assert.match(withKey.body.message, /console password, which is never kept, so it cannot be replayed/);
    const again = await call('POST', `/v1/servers/${serverId}/console`, token, undefined, { 'Idempotency-Key': 'console-once' });
    assert.equal(again.status, 400, 'refused again, never replayed with a password');

    // A task service installed over SSH with the engine's key.
    const install = await call('POST', '/v1/taskservs/create', token, { workspace: 'production', name: 'hello', servers: [serverId], check_mode: false });
    assert.equal(install.status, 202, JSON.stringify(install.body));
    const installed = await waitDone(install.body.id, token);
    assert.equal(installed.status, 'completed', JSON.stringify(installed.error));

    // A workflow: a cluster with a task service on it.
    const wf = await call('POST', '/v1/workflows/submit', token, {
      workspace: 'production',
      workflow_type: 'cluster_create',
      parameters: { cluster_name: 'sec', node_count: 2, provider: 'hetzner', plan: hetzner.plan, zone: hetzner.zone, taskservs: ['hello'] },
    });
    assert.equal(wf.status, 202, JSON.stringify(wf.body));
    const wfDone = await waitDone(wf.body.id, token, 60000);
    assert.equal(wfDone.status, 'completed', JSON.stringify(wfDone.error));

    assert.equal((await call('POST', '/v1/auth/logout', token, { refresh_token: refreshed.body.refresh_token })).status, 204);

    // The stored secrets, opened with the key: the SSH private key's PEM body and the JWT secret.
    const box = secretBox(sys.config);
    const sealedJwt = (await redis.get(sys.api.ctx.keys.jwtSecret()))!;
    const sealedSsh = (await redis.get(sys.api.ctx.keys.sshEngineKey()))!;
    assert.match(sealedJwt, /^v1:/);
    assert.match(sealedSsh, /^v1:/);
    secrets.set('JWT secret', box.open(sealedJwt, 'jwt-secret'));
    const pem = box.open(sealedSsh, 'ssh-engine-key');
    const body = pem.split('\n').filter((l) => l && !l.startsWith('-----'));
    assert.ok(body.length >= 3);
    body.forEach((line, i) => line.length >= 16 && secrets.set(`SSH private key, PEM line ${i + 1}`, line));
    secrets.set('SSH private key, PEM body', body.join(''));

    // Everything written has reached the replica and its append-only file.
    await redis.call('WAIT', '1', '5000');
    await new Promise((r) => setTimeout(r, 300));
    const haystacks = [
      ...apiLines.map((text, i) => ({ name: `API log line ${i + 1}`, text })),
      ...sys.workers.flatMap((w, wi) => w.logs.map((text, i) => ({ name: `worker-${wi + 1} log line ${i + 1}`, text }))),
      ...(await dumpRedis(redis)).map((h) => ({ ...h, name: `Redis ${h.name}` })),
      ...filesUnder(replica.dir).map((h) => ({ ...h, name: `replica file ${h.name}` })),
    ];
    // The API logs little (errors, refused requests); its logger is the one that captures here.
    api.ctx.logger.info('capture check');
    assert.ok(apiLines.some((l) => l.includes('capture check')), "the API's log is captured");
    assert.ok(sys.workers[0]!.logs.length > 10, 'the worker logged the session');
    assert.ok(haystacks.some((h) => /appendonly\.aof\.\d+\.incr\.aof$/.test(h.name)), "the replica's append-only file was read");
    const found: string[] = [];
    for (const [what, secret] of secrets) {
      assert.ok(secret.length >= 16, `${what} is long enough to search for`);
      const forms = [secret, Buffer.from(secret).toString('base64'), JSON.stringify(secret).slice(1, -1)];
      for (const h of haystacks) if (forms.some((f) => h.text.includes(f))) found.push(`${what} in ${h.name}`);
    }
    assert.deepEqual(found, [], `secrets found:\n${found.join('\n')}`);
  });

  test("a custom workflow's create step keeps its user_data out of the workflow's record", async () => {
    const secret = `wf-ud-${randomBytes(16).toString('hex')}`;
    const wf = await sys.request('POST', '/v1/workflows/submit', {
      body: {
        workspace: 'production',
        workflow_type: 'custom',
        parameters: { steps: [{ id: 'node', type: 'server.create', parameters: { provider: 'hetzner', plan: hetzner.plan, zone: hetzner.zone, hostname: 'wf-sec-01', user_data: `#cloud-config\n# ${secret}\n` } }] },
      },
    });
    assert.equal(wf.status, 202, JSON.stringify(wf.body));
    const done = await sys.waitForStatus(wf.body.id, ['completed', 'failed'], 40000);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    const dump = await dumpRedis(redis);
    assert.deepEqual(dump.filter((h) => h.text.includes(secret)).map((h) => h.name), []);
  });
});
