import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { http } from './http.js';
import { startCommand, type Started } from './start-command.js';
import type { TestSystem } from './system.js';

/**
 * The start command (`src/main.ts`) as one more engine instance beside a TestSystem: its API
 * and workers run as the start command's children, over the test's Redis, key prefix and
 * sandbox (so neither a managed Redis nor a sandbox of its own is started).
 */
export interface EngineInstance extends Started {
  url: string;
  dataDir: string;
  /** SIGTERM the start command if it still runs, wait for it, and kill whatever carries its data directory. */
  stop(): Promise<void>;
}

/** Every live process whose environment carries `DATA_DIR=<dir>`: the start command and all it ran. */
export function processesWithDataDir(dataDir: string): number[] {
  const marker = Buffer.from(`DATA_DIR=${dataDir}\0`);
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const state = readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1]?.[0];
        return state !== 'Z' && readFileSync(`/proc/${d}/environ`).includes(marker);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** `unset`: settings of the test's environment the instance does not get (so its settings file can give them). */
export async function startInstance(sys: TestSystem, env: Record<string, string> = {}, opts: { workers?: number; unset?: string[] } = {}): Promise<EngineInstance> {
  const workers = opts.workers ?? 1;
  const unset = opts.unset ?? [];
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'pe-instance-'));
  // The same secret key as the test's own API and workers: the secrets it sealed in Redis must open.
  const key = sys.config.secretKey;
  const secretKey: Record<string, string> = key.source === 'ENGINE_SECRET_KEY' ? { ENGINE_SECRET_KEY: key.key.toString('base64') } : { ENGINE_SECRET_KEY_FILE: key.file };
  const base = Object.fromEntries(Object.entries(sys.env).filter(([name]) => !unset.includes(name)));
  const started = startCommand({ ...base, ...secretKey, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, WORKER_PROCESSES: String(workers), ...env });
  const url = `http://127.0.0.1:${port}`;
  const instance: EngineInstance = {
    ...started,
    url,
    dataDir,
    stop: async () => {
      if (started.child.exitCode === null && started.child.signalCode === null) started.child.kill('SIGTERM');
      await Promise.race([started.exited, new Promise((r) => setTimeout(r, 20000))]);
      for (const pid of processesWithDataDir(dataDir)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  const deadline = Date.now() + 60000;
  for (;;) {
    const up = (await http(url, 'GET', '/health').catch(() => null))?.status === 200;
    const workersUp = (started.output().match(/"worker started"/g) ?? []).length >= workers;
    if (up && workersUp) return instance;
    if (started.child.exitCode !== null || Date.now() > deadline) {
      await instance.stop();
      throw new Error(`the instance did not start:\n${started.output().slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
