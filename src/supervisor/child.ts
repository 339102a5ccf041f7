import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

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
}

/** A node child process running one of our entry points, restarted if it dies on its own. */
export class SupervisedChild {
  private child: ChildProcess | null = null;
  private stopping = false;
  private restarts: number[] = [];

  constructor(private readonly spec: ChildSpec, private readonly onGiveUp: (name: string) => void) {}

  start(): ChildProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', this.spec.entry], {
      cwd: ROOT,
      env: { ...process.env, ...this.spec.env },
      // The IPC channel closes if the supervisor dies, however it dies, and the child then stops.
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    });
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
      setTimeout(() => !this.stopping && this.start(), 1000);
    });
    this.child = child;
    return child;
  }

  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
  async stop(graceMs = 30000): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}
