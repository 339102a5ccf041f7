/**
 * The product keeps its inventory in Redis across restarts, so the droplets it created
 * must still exist in the sandbox after the sandbox restarts with the same state file.
 */
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ManualClock } from '../src/sandbox/clock.js';
import { type Sandbox, type SandboxOptions, startSandbox } from '../src/sandbox/server.js';
import { type CallResult, VALID_DROPLET, call } from './sandbox-helpers.js';

const TOKEN = 'sbx_statefiletest';
const ACTIVE_DELAY_MS = 3000;
const ACTION_DELAY_MS = 2000;

/** Runs `fn` with a fresh temporary directory and always removes it afterwards. */
async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'sandbox-state-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function startWithState(stateFile: string, clock: ManualClock, extra: Partial<SandboxOptions> = {}): Promise<Sandbox> {
  return startSandbox({
    token: TOKEN,
    clock,
    stateFile,
    digitalocean: { activeDelayMs: ACTIVE_DELAY_MS, actionDelayMs: ACTION_DELAY_MS },
    ...extra,
  });
}

function doApi(sandbox: Sandbox, method: string, path: string, body?: unknown): Promise<CallResult> {
  return call(`${sandbox.digitaloceanBaseUrl}${path}`, method, sandbox.token, { body });
}

async function createDroplet(sandbox: Sandbox, name: string, tags: string[]): Promise<{ id: number; actionId: number }> {
  const res = await doApi(sandbox, 'POST', '/droplets', { ...VALID_DROPLET, name, tags });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  return { id: res.body.droplet.id, actionId: res.body.links.actions[0].id };
}

async function startAction(sandbox: Sandbox, dropletId: number, body: Record<string, unknown>): Promise<number> {
  const res = await doApi(sandbox, 'POST', `/droplets/${dropletId}/actions`, body);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.action.id;
}

async function getDroplet(sandbox: Sandbox, id: number): Promise<any> {
  const res = await doApi(sandbox, 'GET', `/droplets/${id}`);
  assert.equal(res.status, 200, `droplet ${id}: ${JSON.stringify(res.body)}`);
  return res.body.droplet;
}

async function listDroplets(sandbox: Sandbox): Promise<any[]> {
  const res = await doApi(sandbox, 'GET', '/droplets?per_page=200');
  assert.equal(res.status, 200);
  return res.body.droplets;
}

describe('sandbox state file', () => {
  test('droplets keep their ids, names, tags and statuses across a restart, and new ids continue after them', () =>
    withTempDir(async (dir) => {
      const stateFile = join(dir, 'sandbox-state.json');
      const clock = new ManualClock();

      const first = await startWithState(stateFile, clock);
      let before: any[];
      let lastActionId: number;
      try {
        const active = await createDroplet(first, 'keep-active', ['env:test', 'role:web']);
        clock.advance(ACTIVE_DELAY_MS);
        const off = await createDroplet(first, 'keep-off', ['role:db']);
        clock.advance(ACTIVE_DELAY_MS);
        await startAction(first, off.id, { type: 'power_off' });
        clock.advance(ACTION_DELAY_MS);
        const pending = await createDroplet(first, 'still-new', ['role:cache']);
        lastActionId = pending.actionId;

        before = await listDroplets(first);
        assert.deepEqual(
          before.map((d) => [d.id, d.name, d.status]),
          [
            [active.id, 'keep-active', 'active'],
            [off.id, 'keep-off', 'off'],
            [pending.id, 'still-new', 'new'],
          ],
        );
      } finally {
        await first.close();
      }

      assert.equal((await stat(stateFile)).mode & 0o777, 0o600, 'the state file is readable by its owner only');
      assert.deepEqual(await readdir(dir), ['sandbox-state.json'], 'no temporary file is left behind');
      const saved = JSON.parse(await readFile(stateFile, 'utf8'));
      assert.equal(saved.version, 1);
      assert.equal(saved.digitalocean.droplets.length, 3);

      // The second sandbox starts at the instant the first one stopped.
      const secondClock = new ManualClock(clock.now());
      const second = await startWithState(stateFile, secondClock);
      try {
        // Whole droplet bodies, so addresses, size, image, region and tags all came back too.
        assert.deepEqual(await listDroplets(second), before);

        const [, poweredOff, stillNew] = before;
        secondClock.advance(ACTIVE_DELAY_MS - 1);
        assert.equal((await getDroplet(second, stillNew.id)).status, 'new', 'not active before its delay');
        secondClock.advance(1);
        assert.equal((await getDroplet(second, stillNew.id)).status, 'active', 'active once its delay passed');
        const createAction = await doApi(second, 'GET', `/actions/${lastActionId}`);
        assert.equal(createAction.body.action.status, 'completed');

        const next = await createDroplet(second, 'after-restart', []);
        assert.equal(next.id, Math.max(...before.map((d) => d.id)) + 1, 'droplet ids continue after the old ones');
        assert.equal(next.actionId, lastActionId + 1, 'action ids continue after the old ones');

        // The powered-off droplet is a working droplet, not a read-only copy.
        await startAction(second, poweredOff.id, { type: 'power_on' });
      } finally {
        await second.close();
      }
    }));

  test('an action in progress when the sandbox stops takes effect after the restart', () =>
    withTempDir(async (dir) => {
      const stateFile = join(dir, 'sandbox-state.json');
      const clock = new ManualClock();
      const first = await startWithState(stateFile, clock);
      let dropletId: number;
      let resizeId: number;
      try {
        ({ id: dropletId } = await createDroplet(first, 'grows', ['role:web']));
        clock.advance(ACTIVE_DELAY_MS);
        await startAction(first, dropletId, { type: 'power_off' });
        clock.advance(ACTION_DELAY_MS);
        resizeId = await startAction(first, dropletId, { type: 'resize', size: 's-2vcpu-4gb', disk: true });
      } finally {
        await first.close();
      }

      const secondClock = new ManualClock(clock.now());
      const second = await startWithState(stateFile, secondClock);
      try {
        const during = await getDroplet(second, dropletId);
        assert.equal(during.locked, true);
        assert.equal(during.size_slug, 's-1vcpu-1gb');
        assert.equal((await doApi(second, 'GET', `/actions/${resizeId}`)).body.action.status, 'in-progress');

        secondClock.advance(ACTION_DELAY_MS);
        const after = await getDroplet(second, dropletId);
        assert.equal(after.locked, false);
        assert.equal(after.size_slug, 's-2vcpu-4gb');
        assert.equal(after.disk, 80);
        assert.equal((await doApi(second, 'GET', `/actions/${resizeId}`)).body.action.status, 'completed');
      } finally {
        await second.close();
      }
    }));

  test('changes are saved while the sandbox runs, not only when it closes', () =>
    withTempDir(async (dir) => {
      const stateFile = join(dir, 'sandbox-state.json');
      const sandbox = await startWithState(stateFile, new ManualClock(), { stateSaveIntervalMs: 20 });
      try {
        const { id } = await createDroplet(sandbox, 'saved-early', []);
        const deadline = Date.now() + 3000;
        let savedIds: number[] = [];
        while (Date.now() < deadline) {
          const text = await readFile(stateFile, 'utf8').catch(() => '');
          if (text !== '') savedIds = JSON.parse(text).digitalocean.droplets.map((d: { id: number }) => d.id);
          if (savedIds.includes(id)) break;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        assert.deepEqual(savedIds, [id], 'the droplet reached the state file before close()');
      } finally {
        await sandbox.close();
      }
    }));

  const unreadableFiles: Array<[what: string, content: string, reason: RegExp]> = [
    ['truncated JSON', '{"version": 1, "digitalocean": {"droplets": [', /not valid JSON/],
    ['an unknown format version', '{"version": 99}', /version 99/],
    [
      'a malformed droplet',
      JSON.stringify({
        version: 1,
        digitalocean: {
          accountUuid: 'a',
          teamUuid: 't',
          nextDropletId: 1,
          nextActionId: 1,
          addressCounter: 0,
          vpcByRegion: {},
          droplets: [
            {
              id: 5,
              name: 'web-1',
              status: 'exploded',
              size: 's-1vcpu-1gb',
              diskGb: 25,
              image: 160189812,
              region: 'nyc3',
              tags: [],
              createdAtMs: 0,
              backups: false,
              ipv6: false,
              monitoring: false,
              vpcUuid: 'v',
              volumeIds: [],
              addresses: { publicV4: '', publicGatewayV4: '', privateV4: '', publicV6: '', publicGatewayV6: '' },
            },
          ],
          actions: [],
        },
      }),
      /digitalocean\.droplets\[0\]\.status must be one of new, active, off, archive, found "exploded"/,
    ],
  ];
  for (const [what, content, reason] of unreadableFiles) {
    test(`a state file with ${what} is reported and set aside, and the sandbox starts empty`, () =>
      withTempDir(async (dir) => {
        const stateFile = join(dir, 'sandbox-state.json');
        await writeFile(stateFile, content);
        const warnings: string[] = [];
        const sandbox = await startWithState(stateFile, new ManualClock(), { warn: (m) => warnings.push(m) });
        try {
          assert.equal(warnings.length, 1, warnings.join('\n'));
          assert.ok(warnings[0]?.includes(stateFile), `the message names the file: ${warnings[0]}`);
          assert.match(warnings[0] ?? '', reason);
          assert.equal(await readFile(`${stateFile}.unreadable`, 'utf8'), content, 'the bad file is kept for inspection');

          assert.deepEqual(await listDroplets(sandbox), []);
          await createDroplet(sandbox, 'fresh-start', []);
        } finally {
          await sandbox.close();
        }
        const saved = JSON.parse(await readFile(stateFile, 'utf8'));
        assert.deepEqual(
          saved.digitalocean.droplets.map((d: { name: string }) => d.name),
          ['fresh-start'],
          'a new, valid state file replaces the bad one',
        );
      }));
  }
});

// ---- the standalone entry point ----------------------------------------------------------

const ENTRY = fileURLToPath(new URL('../src/sandbox/main.ts', import.meta.url));

interface SandboxProcess {
  child: ChildProcessWithoutNullStreams;
  digitalocean: string;
  stderr: () => string;
}

/** Starts `src/sandbox/main.ts` on an ephemeral port and waits for its SANDBOX_READY line. */
async function startSandboxProcess(env: Record<string, string>): Promise<SandboxProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY], {
    env: { ...process.env, SANDBOX_PORT: '0', SANDBOX_TOKEN: TOKEN, SANDBOX_DO_ACTIVE_DELAY_MS: '5', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  // If the ready line never comes, killing the child ends the read loop and the test fails.
  const watchdog = setTimeout(() => child.kill('SIGKILL'), 10_000);
  try {
    for await (const line of createInterface({ input: child.stdout })) {
      if (line.startsWith('SANDBOX_READY ')) {
        const ready = JSON.parse(line.slice('SANDBOX_READY '.length)) as { digitalocean: string };
        // Keep draining stdout so a chatty child never blocks on a full pipe.
        child.stdout.resume();
        return { child, digitalocean: ready.digitalocean, stderr: () => stderr };
      }
    }
  } finally {
    clearTimeout(watchdog);
  }
  throw new Error(`the sandbox exited without SANDBOX_READY; stderr:\n${stderr}`);
}

async function stopProcess(proc: SandboxProcess, signal: NodeJS.Signals): Promise<number | null> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return proc.child.exitCode;
  const exited = once(proc.child, 'exit');
  proc.child.kill(signal);
  const [code] = (await exited) as [number | null];
  return code;
}

async function createDropletIn(proc: SandboxProcess, name: string): Promise<number> {
  const res = await call(`${proc.digitalocean}/droplets`, 'POST', TOKEN, { body: { ...VALID_DROPLET, name } });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  return res.body.droplet.id;
}

async function findDropletIn(proc: SandboxProcess, id: number): Promise<CallResult> {
  return call(`${proc.digitalocean}/droplets/${id}`, 'GET', TOKEN);
}

describe('sandbox entry point with SANDBOX_STATE_FILE', () => {
  test('a droplet created before SIGTERM is there after a restart', { timeout: 30_000 }, () =>
    withTempDir(async (dir) => {
      const env = { SANDBOX_STATE_FILE: join(dir, 'sandbox-state.json') };
      const first = await startSandboxProcess(env);
      let id: number;
      try {
        id = await createDropletIn(first, 'survives-sigterm');
        assert.equal(await stopProcess(first, 'SIGTERM'), 0, first.stderr());
      } finally {
        await stopProcess(first, 'SIGKILL');
      }

      const second = await startSandboxProcess(env);
      try {
        const found = await findDropletIn(second, id);
        assert.equal(found.status, 200, `droplet ${id} is gone after the restart; stderr:\n${second.stderr()}`);
        assert.equal(found.body.droplet.name, 'survives-sigterm');
        assert.equal(found.body.droplet.status, 'active');
      } finally {
        await stopProcess(second, 'SIGKILL');
      }
    }));

  test('a droplet survives even a SIGKILL once the periodic save has run', { timeout: 30_000 }, () =>
    withTempDir(async (dir) => {
      const stateFile = join(dir, 'sandbox-state.json');
      const env = { SANDBOX_STATE_FILE: stateFile, SANDBOX_STATE_SAVE_INTERVAL_MS: '50' };
      const first = await startSandboxProcess(env);
      let id: number;
      try {
        id = await createDropletIn(first, 'survives-sigkill');
        // Two save intervals and then some: the periodic save has had time to run.
        await new Promise((resolve) => setTimeout(resolve, 500));
      } finally {
        await stopProcess(first, 'SIGKILL');
      }

      const second = await startSandboxProcess(env);
      try {
        const found = await findDropletIn(second, id);
        assert.equal(found.status, 200, `droplet ${id} is gone after the restart; stderr:\n${second.stderr()}`);
        assert.equal(found.body.droplet.name, 'survives-sigkill');
      } finally {
        await stopProcess(second, 'SIGKILL');
      }
    }));
});
