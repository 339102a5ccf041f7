import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { freePort } from './helpers/free-port.js';
import { http } from './helpers/http.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DEADLINE_MS = 3000;
/** What the start command waits beyond a child's deadline before it kills it (src/main.ts). */
const KILL_MARGIN_MS = 2000;

interface Proc {
  pid: number;
  ppid: number;
  state: string;
  comm: string;
}

function readProc(pid: number): Proc | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm is in parentheses and may hold spaces; the fields after it are fixed.
    const close = stat.lastIndexOf(')');
    const [state, ppid] = stat.slice(close + 2).split(' ');
    return { pid, ppid: Number(ppid), state: state!, comm: stat.slice(stat.indexOf('(') + 1, close) };
  } catch {
    return null;
  }
}

function allProcs(): Proc[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map((d) => readProc(Number(d)))
    .filter((p): p is Proc => p !== null);
}

/** Alive: it exists and is not a zombie waiting to be reaped. */
function alive(pid: number): boolean {
  const p = readProc(pid);
  return p !== null && p.state !== 'Z';
}

/** Every process below `root`, however deep. */
function descendants(root: number): Proc[] {
  const procs = allProcs();
  const found: Proc[] = [];
  const parents = new Set([root]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of procs) {
      if (parents.has(p.ppid) && !parents.has(p.pid)) {
        parents.add(p.pid);
        found.push(p);
        grew = true;
      }
    }
  }
  return found;
}

/**
 * Every process with `DATA_DIR=<dir>` in its environment: the start command and everything it
 * runs inherit it (redis-server included), and an orphan keeps it when its parent is gone.
 */
function processesOf(dataDir: string): Proc[] {
  const marker = Buffer.from(`DATA_DIR=${dataDir}\0`);
  return allProcs().filter((p) => {
    try {
      return readFileSync(`/proc/${p.pid}/environ`).includes(marker);
    } catch {
      return false;
    }
  });
}

interface System {
  child: ChildProcess;
  dataDir: string;
  api: string;
  sandbox: string;
  output: () => string;
  exited: Promise<{ code: number | null; at: number }>;
}

async function until<T>(check: () => Promise<T | undefined> | T | undefined, what: string, output: () => string, ms = 30000): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = await check();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}; output:\n${output().slice(-3000)}`);
}

/**
 * The start command (`npm start` runs `src/main.ts`) in a process group of its own, as a
 * terminal runs a command: a signal to the group is what Ctrl-C sends.
 */
async function startSystem(dataDir: string): Promise<System> {
  const [port, redisPort, sandboxPort] = [await freePort(), await freePort(), await freePort()];
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(DIGITALOCEAN_|HCLOUD_|VULTR_|UPCLOUD_|REDIS_URL|MANAGED_REDIS_|ADMIN_PASSWORD|JWT_SECRET|KEY_PREFIX|SHUTDOWN_)/.test(k)),
  );
  const env = {
    ...clean,
    DATA_DIR: dataDir,
    PORT: String(port),
    MANAGED_REDIS_PORT: String(redisPort),
    SANDBOX_PORT: String(sandboxPort),
    SANDBOX_DO_ACTIVE_DELAY_MS: '200',
    PROVIDER_POLL_MS: '100',
    WORKER_LOCK_MS: '3000',
    SHUTDOWN_TIMEOUT_MS: String(DEADLINE_MS),
    LOG_LEVEL: 'info',
  };
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<{ code: number | null; at: number }>((r) => child.once('exit', (code) => r({ code, at: Date.now() })));
  const system: System = { child, dataDir, api: `http://127.0.0.1:${port}`, sandbox: `http://127.0.0.1:${sandboxPort}`, output: () => out, exited };
  await until(async () => ((await http(system.api, 'GET', '/health').catch(() => null))?.status === 200 ? true : undefined), 'the API', system.output);
  // Both workers have started too (each says so when it takes jobs).
  await until(() => ((out.match(/"worker started"/g) ?? []).length >= 2 ? true : undefined), 'both workers', system.output);
  return system;
}

/** The system's processes now: the start command's descendants, and whatever carries its data directory. */
function snapshot(system: System): Map<number, Proc> {
  const procs = new Map<number, Proc>();
  for (const p of [...descendants(system.child.pid!), ...processesOf(system.dataDir)]) procs.set(p.pid, p);
  return procs;
}

/**
 * Asserts that the start command left nothing behind. Its own children must be gone by the time it
 * exits; the esbuild helpers tsx runs beside each node process end as soon as their node process
 * has (they read its pipe), so they get a moment.
 */
async function assertNothingLeft(system: System, seen: Map<number, Proc>): Promise<void> {
  const children = [...seen.values()].filter((p) => p.ppid === system.child.pid && p.comm !== 'esbuild');
  assert.ok(children.some((p) => p.comm === 'redis-server'), 'the snapshot saw the system (its redis-server)');
  assert.ok(children.filter((p) => p.comm.startsWith('node')).length >= 4, `the snapshot saw the api, the workers and the sandbox: ${JSON.stringify(children)}`);
  const leftAtExit = children.filter((p) => alive(p.pid));
  assert.deepEqual(leftAtExit, [], 'every child of the start command has exited before it did');
  let left: Proc[] = [];
  const deadline = Date.now() + 3000;
  do {
    left = [...[...seen.values()].filter((p) => alive(p.pid)), ...processesOf(system.dataDir).filter((p) => alive(p.pid))];
    if (left.length === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  } while (Date.now() < deadline);
  assert.deepEqual(left, [], 'no process of the system is left');
}

describe('stopping the system leaves no process behind', () => {
  const started: System[] = [];
  after(async () => {
    for (const s of started) {
      // Whatever a failed test left: the group, then anything still carrying the data directory.
      try {
        process.kill(-s.child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      for (const p of processesOf(s.dataDir)) {
        try {
          process.kill(p.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      rmSync(s.dataDir, { recursive: true, force: true });
    }
  });

  /** A create whose request the sandbox carries out at once but answers only after 20 s: a job in a worker's hands. */
  async function createInHand(system: System): Promise<void> {
    const password = /password: (\S+)/.exec(system.output())![1]!;
    const token = (await http(system.api, 'POST', '/v1/auth/login', { body: { username: 'admin', password } })).body.token as string;
    // The sandbox makes the droplet but takes 20 s to answer: the create is in a worker's hands.
    const sandboxToken = readFileSync(join(system.dataDir, 'sandbox-token'), 'utf8').trim();
    const fault = await http(system.sandbox, 'POST', '/_sandbox/faults', {
      token: sandboxToken,
      body: { provider: 'digitalocean', method: 'POST', path: '^/v2/droplets$', kind: 'slow_response', latencyMs: 20000, count: 1 },
    });
    assert.equal(fault.status, 201);
    const create = await http(system.api, 'POST', '/v1/servers/create', {
      token,
      body: { workspace: 'default', provider: 'digitalocean', plan: 's-1vcpu-1gb', hostname: 'in-hand', zone: 'nyc3', check_mode: false },
    });
    assert.equal(create.status, 202);
    await until(async () => {
      const faults = (await http(system.sandbox, 'GET', '/_sandbox/faults', { token: sandboxToken })).body.faults as Array<{ matched: number }>;
      return faults.some((f) => f.matched > 0) ? true : undefined;
    }, 'the create request to reach the sandbox', system.output);
  }

  test('Ctrl-C after its Redis was killed, with a create in hand: everything stops within the deadline', async () => {
    const system = await startSystem(mkdtempSync(join(tmpdir(), 'pe-stop-all-')));
    started.push(system);
    await createInHand(system);

    const seen = snapshot(system);
    const redis = [...seen.values()].find((p) => p.comm === 'redis-server' && p.ppid === system.child.pid);
    assert.ok(redis, 'the start command runs redis-server');
    process.kill(redis.pid, 'SIGKILL');
    await until(() => (alive(redis.pid) ? undefined : true), 'redis-server to be gone', system.output);
    await new Promise((r) => setTimeout(r, 500));

    const sent = Date.now();
    // Ctrl-C: SIGINT to the terminal's foreground process group.
    process.kill(-system.child.pid!, 'SIGINT');
    const { code, at } = await system.exited;
    const took = at - sent;
    console.log(`# Redis killed, a create in hand: the start command exited ${took} ms after Ctrl-C (deadline ${DEADLINE_MS} ms)`);
    const out = system.output();
    assert.equal(code, 0, out.slice(-3000));
    assert.ok(took < DEADLINE_MS + KILL_MARGIN_MS, `within the deadline (${took} ms):\n${out.slice(-3000)}`);
    // The worker with the create waited for it until its deadline, then stopped on its own.
    assert.match(out, /\[start\] worker-\d stopped \(exit 1\) after \d+ ms/);
    assert.match(out, /stopped at its deadline \(SHUTDOWN_TIMEOUT_MS=3000\) after \d+ ms: 1 active job cut short/);
    assert.doesNotMatch(out, /killed it \(SIGKILL\)/, 'nothing had to be killed');
    assert.doesNotMatch(out, /restarting/, 'no child is restarted while stopping');
    assert.doesNotMatch(out, /again: telling/, 'one Ctrl-C is one stop, not a second signal');
    assert.match(out, /\[start\] stopped after \d+ ms/);
    await assertNothingLeft(system, seen);
  });

  test('a second Ctrl-C means now', async () => {
    const system = await startSystem(mkdtempSync(join(tmpdir(), 'pe-stop-all-')));
    started.push(system);
    await createInHand(system);
    const seen = snapshot(system);

    process.kill(-system.child.pid!, 'SIGINT');
    await until(() => (system.output().includes('"worker stopping; letting active jobs finish"') ? true : undefined), 'the workers to begin stopping', system.output);
    await until(() => (/\[start\] api stopped/.test(system.output()) ? true : undefined), 'the API to stop', system.output);
    const sent = Date.now();
    process.kill(-system.child.pid!, 'SIGINT');
    const { code, at } = await system.exited;
    const took = at - sent;
    console.log(`# a second Ctrl-C: the start command exited ${took} ms after it (deadline ${DEADLINE_MS} ms)`);
    const out = system.output();
    assert.equal(code, 0, out.slice(-3000));
    assert.ok(took < 1500, `at once (${took} ms):\n${out.slice(-3000)}`);
    assert.match(out, /\[start\] SIGINT again: telling the API, workers and sandbox to stop now/);
    assert.match(out, /stopped at once on a second SIGTERM after \d+ ms: 1 active job cut short/);
    assert.doesNotMatch(out, /killed it \(SIGKILL\)/);
    await assertNothingLeft(system, seen);
  });

  test('a child that does not stop is killed after its deadline, and named', async () => {
    const system = await startSystem(mkdtempSync(join(tmpdir(), 'pe-stop-all-')));
    started.push(system);
    const seen = snapshot(system);
    const worker = [...seen.values()].filter((p) => p.ppid === system.child.pid && p.comm.startsWith('node'));
    // A stopped process takes no signal but SIGKILL: one that hangs however it is asked to stop.
    const pids = worker.map((p) => p.pid);
    const workerPids = pids.filter((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('src/workers/main.ts'));
    assert.equal(workerPids.length, 2);
    process.kill(workerPids[0]!, 'SIGSTOP');

    const sent = Date.now();
    process.kill(system.child.pid!, 'SIGTERM');
    const { code, at } = await system.exited;
    const took = at - sent;
    console.log(`# a hung worker: the start command exited ${took} ms after SIGTERM (deadline ${DEADLINE_MS} ms + ${KILL_MARGIN_MS} ms)`);
    const out = system.output();
    assert.equal(code, 0, out.slice(-3000));
    assert.ok(took >= DEADLINE_MS + KILL_MARGIN_MS - 100, `it waited for the hung worker until the deadline and the margin (${took} ms)`);
    assert.ok(took < DEADLINE_MS + KILL_MARGIN_MS + 2000, `then killed it and went on (${took} ms):\n${out.slice(-3000)}`);
    assert.match(out, /\[start\] worker-\d had not stopped 5000 ms after its SIGTERM \(SHUTDOWN_TIMEOUT_MS=3000 and 2000 ms more\); killed it \(SIGKILL\)/);
    assert.equal((out.match(/killed it \(SIGKILL\)/g) ?? []).length, 1, 'only the hung worker was killed');
    assert.doesNotMatch(out, /restarting/, 'no child is restarted while stopping');
    await assertNothingLeft(system, seen);
  });
});
