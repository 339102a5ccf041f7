import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startEnvironment } from '../core/boot.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The exit code of a process stopped by its configuration (see core/boot.ts). */
const EX_CONFIG = 78;

export interface ChildSpec {
  name: string;
  /** Entry module relative to the repository root, run through tsx. */
  entry: string;
  env: Record<string, string | undefined>;
  /** Receives each stdout line before it is echoed (e.g. to find a readiness line). */
  onLine?: (line: string) => void;
  /** Receives what the child sends over its IPC channel (the API asking to stop the instance). */
  onMessage?: (message: unknown) => void;
}

/** How a process the supervisor stopped ended. */
export interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** It had not exited `graceMs` after its SIGTERM and was sent SIGKILL. */
  killed: boolean;
  /** It had exited before the stop (nothing was sent). */
  already: boolean;
  ms: number;
}

/**
 * SIGTERM, then SIGKILL if `child` has not exited after `graceMs`; resolves once it has exited
 * (already exited: at once). Never leaves a process behind unless SIGKILL itself cannot end it.
 */
export async function terminate(child: ChildProcess, graceMs: number): Promise<Ended> {
  const started = Date.now();
  const ended = (killed: boolean, already = false): Ended => ({ code: child.exitCode, signal: child.signalCode, killed, already, ms: Date.now() - started });
  if (child.exitCode !== null || child.signalCode !== null) return ended(false, true);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const inTime = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), graceMs)))]);
  clearTimeout(timer);
  if (inTime) return ended(false);
  child.kill('SIGKILL');
  // Only a process stuck in the kernel outlives SIGKILL; the stop does not wait on one forever.
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5000).unref())]);
  return ended(true);
}

/**
 * A node child process running one of our entry points, restarted if it dies on its own.
 *
 * Each runs in its own session (`detached`), so a Ctrl-C in the terminal reaches the
 * supervisor alone and the supervisor stops its children in order: API and workers first,
 * while the sandbox and Redis they use are still there, then the sandbox, then Redis. Its
 * IPC channel still ends it if the supervisor dies (see supervisor/shutdown.ts).
 */
export class SupervisedChild {
  private child: ChildProcess | null = null;
  private stopping = false;
  private restarts: number[] = [];
  private restartTimer: NodeJS.Timeout | undefined;

  constructor(private readonly spec: ChildSpec, private readonly onGiveUp: (name: string) => void) {}

  start(): ChildProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', this.spec.entry], {
      cwd: ROOT,
      // The environment as this process was started, not with its settings file read into it:
      // the child reads that file itself (CONFIG_FILE), so a reload there sees the file's new values.
      env: { ...startEnvironment(), ...this.spec.env },
      // The IPC channel closes if the supervisor dies, however it dies, and the child then stops.
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
      detached: true,
    });
    if (this.spec.onMessage) child.on('message', this.spec.onMessage);
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      if (!this.spec.onLine) return;
      buffered += chunk.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        this.spec.onLine(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
      }
    });
    child.once('exit', (code, signal) => {
      if (this.stopping) return;
      // 78 (EX_CONFIG): a bad setting or a secret key that does not open what is stored. The
      // child said why on stderr; starting it again would only say it again.
      if (code === EX_CONFIG) {
        process.stderr.write(`${this.spec.name} stopped on its configuration (see above); not restarting it\n`);
        this.onGiveUp(this.spec.name);
        return;
      }
      const now = Date.now();
      this.restarts = this.restarts.filter((t) => now - t < 60000);
      if (this.restarts.length >= 5) {
        process.stderr.write(`${this.spec.name} exited (${signal ?? code}) 5 times within a minute; giving up\n`);
        this.onGiveUp(this.spec.name);
        return;
      }
      this.restarts.push(now);
      process.stderr.write(`${this.spec.name} exited (${signal ?? code}); restarting\n`);
      this.restartTimer = setTimeout(() => !this.stopping && this.start(), 1000);
    });
    this.child = child;
    return child;
  }

  get name(): string {
    return this.spec.name;
  }

  alive(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** From now on it is not restarted, whatever ends it (a stop has begun). */
  noMoreRestarts(): void {
    this.stopping = true;
    clearTimeout(this.restartTimer);
  }

  /** Sends `signal` to it if it runs (a second SIGTERM tells our processes to stop now). */
  signal(signal: NodeJS.Signals): void {
    if (this.alive()) this.child!.kill(signal);
  }

  /** SIGKILL at once, no grace (an emergency stop); resolves once it has exited; null if it was not running. */
  async kill(): Promise<Ended | null> {
    this.noMoreRestarts();
    if (!this.alive()) return null;
    const child = this.child!;
    const started = Date.now();
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGKILL');
    // Only a process stuck in the kernel outlives SIGKILL; the stop does not wait on one forever.
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000).unref())]);
    return { code: child.exitCode, signal: child.signalCode, killed: true, already: false, ms: Date.now() - started };
  }

  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`; null if it was not running. */
  async stop(graceMs = 30000): Promise<Ended | null> {
    this.noMoreRestarts();
    if (!this.alive()) return null;
    return terminate(this.child!, graceMs);
  }
}
