/**
 * The child processes of a chaos run: each one's output goes to its own log file in the run's
 * directory, the last lines are kept to explain a failure, and every process id is handed to
 * the watchdog so that nothing outlives the run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { redisAnswers } from '../src/supervisor/redis-ready.js';

export const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));

const TAIL_LINES = 30;

/** Kills the run's processes if the run itself dies (see watchdog.ts). */
export class Watchdog {
  private constructor(private readonly child: ChildProcess) {}

  static async start(): Promise<Watchdog> {
    const child = spawn(process.execPath, ['--import', 'tsx', 'chaos/watchdog.ts'], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`the watchdog exited (${code}) before it was ready`)));
    });
    // Its channel must not keep the run alive.
    child.unref();
    child.channel?.unref();
    return new Watchdog(child);
  }

  watch(pid: number | undefined): void {
    if (pid !== undefined && this.child.connected) this.child.send({ watch: pid });
  }

  unwatch(pid: number | undefined): void {
    if (pid !== undefined && this.child.connected) this.child.send({ unwatch: pid });
  }

  stop(): void {
    if (this.child.connected) this.child.disconnect();
  }
}

export class ChildProc {
  readonly tail: string[] = [];
  readonly exited: Promise<void>;
  /** Set before a kill the run intended, so an exit can be told from a crash. */
  killedOnPurpose = false;
  private readonly listeners: Array<(line: string) => void> = [];

  constructor(
    readonly name: string,
    readonly process: ChildProcess,
    private readonly log: WriteStream,
    watchdog: Watchdog,
  ) {
    watchdog.watch(process.pid);
    this.exited = new Promise((resolve) =>
      process.once('exit', (code, signal) => {
        watchdog.unwatch(process.pid);
        resolve();
        // After 'close' nothing more arrives on its stdout and stderr.
        process.once('close', () => this.log.end(`--- ${name} exited (${signal ?? code}) at ${new Date().toISOString()}\n`));
      }),
    );
    for (const stream of [process.stdout, process.stderr]) {
      let partial = '';
      stream?.on('data', (chunk: Buffer) => {
        this.log.write(chunk);
        partial += chunk.toString();
        let nl: number;
        while ((nl = partial.indexOf('\n')) >= 0) {
          this.onLine(partial.slice(0, nl));
          partial = partial.slice(nl + 1);
        }
      });
    }
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  get running(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  get exitDescription(): string {
    return String(this.process.signalCode ?? this.process.exitCode);
  }

  /** Resolves with the first output line containing `text`; rejects if the process exits first. */
  waitForLine(text: string, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: no '${text}' within ${timeoutMs} ms${this.describeTail()}`)), timeoutMs);
      this.listeners.push((line) => {
        if (!line.includes(text)) return;
        clearTimeout(timer);
        resolve(line);
      });
      void this.exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`${this.name} exited (${this.exitDescription}) before '${text}'${this.describeTail()}`));
      });
    });
  }

  /** SIGKILL, as the chaos does. */
  async kill(): Promise<void> {
    this.killedOnPurpose = true;
    if (this.running) this.process.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM, then SIGKILL after `graceMs`; for the end of the run. */
  async stop(graceMs = 5000): Promise<void> {
    this.killedOnPurpose = true;
    if (this.running) {
      this.process.kill('SIGTERM');
      const timer = setTimeout(() => this.running && this.process.kill('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
  }

  describeTail(): string {
    return this.tail.length ? `\n--- last output of ${this.name} ---\n${this.tail.join('\n')}\n---` : '';
  }

  private onLine(line: string): void {
    this.tail.push(line);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
    for (const listener of this.listeners) listener(line);
  }
}

export class ProcessFactory {
  constructor(
    readonly logDir: string,
    readonly watchdog: Watchdog,
  ) {
    mkdirSync(logDir, { recursive: true });
  }

  private logFor(name: string): WriteStream {
    // Appended to: a restarted process writes after its predecessor.
    return createWriteStream(join(this.logDir, `${name.replace(/-\d+$/, '')}.log`), { flags: 'a' });
  }

  /**
   * One of the repository's TypeScript entry points in its own node process, with an IPC
   * channel: the engine's processes stop by themselves when it closes.
   */
  node(name: string, entry: string, env: Record<string, string | undefined>): ChildProc {
    const child = spawn(process.execPath, ['--import', 'tsx', entry], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    child.channel?.unref();
    return new ChildProc(name, child, this.logFor(name), this.watchdog);
  }

  /**
   * A redis-server with append-only persistence in `dir`, on `port`, fsyncing every write as the
   * start command's Redis does by default; resolves once it answers.
   */
  async redis(port: number, dir: string): Promise<ChildProc> {
    mkdirSync(dir, { recursive: true });
    const child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--daemonize', 'no', '--loglevel', 'warning'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const proc = new ChildProc('redis', child, this.logFor('redis'), this.watchdog);
    // A large AOF answers LOADING for a while first; redisAnswers waits through it.
    if (!(await redisAnswers(`redis://127.0.0.1:${port}`, () => proc.running, 30000))) {
      await proc.kill();
      throw new Error(`redis-server did not start on port ${port}${proc.describeTail()}`);
    }
    return proc;
  }
}
