/**
 * Child processes the benchmark starts, tracked in one place so that every one of them is
 * stopped at the end, on failure and on Ctrl-C alike.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));

/** USER_HZ, which is 100 on every Linux this runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

/** Lines kept per child, to show why it failed. */
const TAIL_LINES = 40;

export class BenchChild {
  readonly tail: string[] = [];
  readonly exited: Promise<void>;
  private readonly lineListeners: Array<(line: string) => void> = [];

  constructor(readonly name: string, readonly process: ChildProcess) {
    this.exited = new Promise((resolve) => process.once('exit', () => resolve()));
    for (const stream of [process.stdout, process.stderr]) {
      let partial = '';
      stream?.on('data', (chunk: Buffer) => {
        partial += chunk.toString();
        let nl: number;
        while ((nl = partial.indexOf('\n')) >= 0) {
          this.onLine(partial.slice(0, nl));
          partial = partial.slice(nl + 1);
        }
      });
    }
  }

  get pid(): number {
    return this.process.pid ?? -1;
  }

  get running(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  /** Resolves with the first output line that starts with `prefix`; rejects if the child exits first. */
  waitForLine(prefix: string, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: no '${prefix}' line within ${timeoutMs} ms${this.describeTail()}`)), timeoutMs);
      this.lineListeners.push((line) => {
        if (!line.startsWith(prefix)) return;
        clearTimeout(timer);
        resolve(line);
      });
      void this.exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`${this.name} exited (${this.process.exitCode ?? this.process.signalCode}) before '${prefix}'${this.describeTail()}`));
      });
    });
  }

  /** Resident memory in bytes, from /proc (Linux only). */
  rssBytes(): number | null {
    try {
      const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'));
      return match ? Number(match[1]) * 1024 : null;
    } catch {
      return null;
    }
  }

  /** User + system CPU time used so far, in seconds, from /proc (Linux only). */
  cpuSeconds(): number | null {
    try {
      // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
      const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
    } catch {
      return null;
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.running) {
      this.process.kill('SIGTERM');
      const timer = setTimeout(() => this.running && this.process.kill('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    live.delete(this);
  }

  describeTail(): string {
    return this.tail.length ? `\n--- last output of ${this.name} ---\n${this.tail.join('\n')}\n---` : '';
  }

  private onLine(line: string): void {
    this.tail.push(line);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
    for (const listener of this.lineListeners) listener(line);
  }
}

const live = new Set<BenchChild>();

/**
 * Runs a TypeScript entry point (relative to the repository root) in its own node process.
 * An `undefined` in `env` keeps that variable of ours from reaching the child.
 */
export function spawnTsChild(name: string, entry: string, env: Record<string, string | undefined>, nodeArgs: string[] = []): BenchChild {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', entry], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return track(name, child);
}

export function spawnCommand(name: string, command: string, args: string[]): BenchChild {
  return track(name, spawn(command, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] }));
}

function track(name: string, child: ChildProcess): BenchChild {
  const tracked = new BenchChild(name, child);
  live.add(tracked);
  void tracked.exited.then(() => live.delete(tracked));
  return tracked;
}

/** Stops every child still running, newest first (so clients go before the Redis they use). */
export async function stopAllChildren(): Promise<void> {
  for (const child of [...live].reverse()) await child.stop();
}

/** Last resort when the process is exiting synchronously: no time to wait, so SIGKILL. */
export function killAllChildrenNow(): void {
  for (const child of live) if (child.running) child.process.kill('SIGKILL');
}
