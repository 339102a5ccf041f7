import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { startSandbox, type Sandbox } from '../src/sandbox/server.js';
import { SIMULATOR_ENV } from '../src/sandbox/simulators.js';
import { Redis } from 'ioredis';
import { Keys } from '../src/core/keys.js';
import { MAINTENANCE_QUEUE } from '../src/workers/worker.js';
import { startTestRedis, type TestRedis } from './helpers/redis-server.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DEADLINE_MS = 3000;

interface Worker {
  child: ChildProcess;
  lines: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  prefix: string;
}

/**
 * Until the housekeeping every worker schedules has run once and nothing of it is in hand: the
 * reconcile and the retention job (one at a time on the maintenance queue) run at start.
 */
async function housekeepingDone(redis: TestRedis, worker: Worker): Promise<void> {
  const queue = `${new Keys(worker.prefix).bullPrefix()}:${MAINTENANCE_QUEUE}`;
  const client = new Redis(redis.url);
  try {
    await until(() => worker.lines.some((l) => l.includes('"reconciled the inventory"')), 'the first reconcile', worker.lines);
    for (const deadline = Date.now() + 15000; ; ) {
      const [completed, active] = await Promise.all([client.zcard(`${queue}:completed`), client.llen(`${queue}:active`)]);
      if (completed >= 2 && active === 0) return;
      if (Date.now() > deadline) throw new Error(`the housekeeping jobs did not end: ${completed} completed, ${active} active`);
      await new Promise((r) => setTimeout(r, 25));
    }
  } finally {
    client.disconnect();
  }
}

/** `src/workers/main.ts` as its own process against `redis`, with DigitalOcean in the sandbox. */
async function startWorker(redis: TestRedis, sandbox: Sandbox, dataDir: string): Promise<Worker> {
  const prefix = 't' + randomBytes(4).toString('hex');
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/workers/main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      REDIS_URL: redis.url,
      DATA_DIR: dataDir,
      KEY_PREFIX: prefix,
      WORKER_NAME: 'worker-under-test',
      [SIMULATOR_ENV.digitalocean.url]: sandbox.baseUrls.digitalocean!,
      [SIMULATOR_ENV.digitalocean.token]: sandbox.token,
      RATE_LIMIT_DIGITALOCEAN: 'off',
      SSH_ENDPOINT_OVERRIDE: `${sandbox.sshEndpoint!.host}:${sandbox.sshEndpoint!.port}`,
      WORKER_LOCK_MS: '3000',
      SHUTDOWN_TIMEOUT_MS: String(DEADLINE_MS),
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((r) =>
    child.once('exit', (code, signal) => r({ code, signal, at: Date.now() })),
  );
  const started = new Promise<void>((resolve, reject) => {
    for (const stream of [child.stdout!, child.stderr!]) {
      let buffered = '';
      stream.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          lines.push(line);
          if (line.includes('"worker started"')) resolve();
        }
      });
    }
    void exited.then(({ code }) => reject(new Error(`worker exited (${code}) before starting:\n${lines.join('\n')}`)));
  });
  await started;
  return { child, lines, exited, prefix };
}

async function until(check: () => boolean, what: string, lines: string[], ms = 15000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${lines.slice(-30).join('\n')}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * What the worker said from the moment it began to stop (its JSON lines' messages, and any
 * other line whole). Lines logged before it handled the signal are the running worker's.
 */
function saidWhileStopping(lines: string[]): string[] {
  const from = lines.findIndex((l) => l.includes('"worker stopping; letting active jobs finish"'));
  assert.ok(from >= 0, `the worker said it was stopping:\n${lines.slice(-20).join('\n')}`);
  return lines.slice(from).map((l) => {
    try {
      return (JSON.parse(l) as { message: string }).message;
    } catch {
      return l;
    }
  });
}

describe('a worker whose Redis is gone stops within its deadline', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'pe-stop-'));
  const workers: Worker[] = [];
  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    for (const c of cleanups) await c().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function setUp(): Promise<{ redis: TestRedis; sandbox: Sandbox }> {
    const redis = await startTestRedis();
    const sandbox = await startSandbox({ digitalocean: { activeDelayMs: 100, actionDelayMs: 100, rateLimit: false } });
    cleanups.push(() => redis.stop(), () => sandbox.close());
    return { redis, sandbox };
  }

  test('nothing running: it drops its connections and exits at once, saying Redis was unreachable', async () => {
    const { redis, sandbox } = await setUp();
    const worker = await startWorker(redis, sandbox, dataDir);
    workers.push(worker);
    // The housekeeping every worker schedules runs once at start; let it end.
    await housekeepingDone(redis, worker);
    await redis.stop();
    await until(() => worker.lines.some((l) => l.includes('ECONNREFUSED')), 'the worker to see Redis gone', worker.lines);

    const sent = Date.now();
    worker.child.kill('SIGTERM');
    const { code, signal, at } = await worker.exited;
    const took = at - sent;
    console.log(`# nothing running, Redis gone: the worker exited ${took} ms after SIGTERM (deadline ${DEADLINE_MS} ms)`);
    assert.equal(signal, null, 'it exited on its own');
    assert.equal(code, 0);
    assert.ok(took < 1000, `Redis being gone prolongs nothing: exited after ${took} ms`);
    const said = saidWhileStopping(worker.lines);
    assert.deepEqual(said.filter((m) => /Redis/.test(m)).length, 1, `one line says what happened:\n${said.join('\n')}`);
    assert.match(said.at(-1)!, /^worker-under-test stopped after \d+ ms: Redis unreachable \(.*ECONNREFUSED.*\); no job was running, its connections were dropped$/);
    assert.deepEqual(said.slice(0, -1), ['worker stopping; letting active jobs finish'], `nothing else is said while stopping:\n${said.join('\n')}`);
  });

  test('a job in hand: it waits for the deadline, no longer, and says it cut the job short', async () => {
    const { redis, sandbox } = await setUp();
    // The reconcile at start lists the droplets; the sandbox takes 20 s to answer, so the job is
    // still in hand when Redis goes (and could not finish without Redis anyway).
    sandbox.faults.add({ provider: 'digitalocean', method: 'GET', path: '^/v2/droplets$', kind: 'slow_response', latencyMs: 20000 });
    const worker = await startWorker(redis, sandbox, dataDir);
    workers.push(worker);
    await until(() => sandbox.faults.list().some((f) => f.matched > 0), 'the reconcile to ask for the droplets', worker.lines);
    await redis.stop();
    await until(() => worker.lines.some((l) => l.includes('ECONNREFUSED')), 'the worker to see Redis gone', worker.lines);

    const sent = Date.now();
    worker.child.kill('SIGTERM');
    const { code, signal, at } = await worker.exited;
    const took = at - sent;
    console.log(`# a job in hand, Redis gone: the worker exited ${took} ms after SIGTERM (deadline ${DEADLINE_MS} ms)`);
    assert.equal(signal, null, 'it exited on its own');
    assert.equal(code, 1, 'a stop that cut something short exits 1');
    assert.ok(took >= DEADLINE_MS - 50, `Redis being gone shortens nothing: the job had until the deadline (exited after ${took} ms)`);
    assert.ok(took < DEADLINE_MS + 1000, `it exited within the deadline and a second: ${took} ms`);
    const said = saidWhileStopping(worker.lines);
    assert.equal(said.length, 2, `a line when it starts stopping and one when it stops:\n${said.join('\n')}`);
    assert.equal(said[0], 'worker stopping; letting active jobs finish');
    assert.match(said[1]!, /^worker-under-test stopped at its deadline \(SHUTDOWN_TIMEOUT_MS=3000\) after \d+ ms: 1 active job cut short; .* \(Redis unreachable: .*ECONNREFUSED.*\)$/);
  });

  test('a second SIGTERM means now', async () => {
    const { redis, sandbox } = await setUp();
    sandbox.faults.add({ provider: 'digitalocean', method: 'GET', path: '^/v2/droplets$', kind: 'slow_response', latencyMs: 20000 });
    const worker = await startWorker(redis, sandbox, dataDir);
    workers.push(worker);
    await until(() => sandbox.faults.list().some((f) => f.matched > 0), 'the reconcile to ask for the droplets', worker.lines);
    await redis.stop();
    await until(() => worker.lines.some((l) => l.includes('ECONNREFUSED')), 'the worker to see Redis gone', worker.lines);

    worker.child.kill('SIGTERM');
    await until(() => worker.lines.some((l) => l.includes('"worker stopping; letting active jobs finish"')), 'the stop to begin', worker.lines);
    const sent = Date.now();
    worker.child.kill('SIGTERM');
    const { code, signal, at } = await worker.exited;
    console.log(`# second SIGTERM: the worker exited ${at - sent} ms after it`);
    assert.equal(signal, null);
    assert.equal(code, 1);
    assert.ok(at - sent < 1000, `it exited at once: ${at - sent} ms`);
    assert.match(worker.lines.at(-1)!, /stopped at once on a second SIGTERM after \d+ ms: 1 active job cut short/);
  });
});
