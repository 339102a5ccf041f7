import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CuttingProxy } from './cli-proxy.js';
import { TestSystem, type TestSystemOptions } from './system.js';

const PE = fileURLToPath(new URL('../../bin/pe.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * A home for the CLI: a temporary HOME and XDG_CONFIG_HOME (so a stored login is the test's own),
 * and the environment every run gets. `remove()` deletes it.
 */
export class CliHome {
  readonly dir: string;
  readonly configHome: string;
  constructor(readonly url: string, readonly baseEnv: Record<string, string> = {}) {
    this.dir = mkdtempSync(join(tmpdir(), 'pe-cli-'));
    this.configHome = join(this.dir, 'config');
  }

  env(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: this.dir, XDG_CONFIG_HOME: this.configHome, PE_URL: this.url, ...this.baseEnv };
    for (const [k, v] of Object.entries(extra)) {
      if (v === undefined) delete env[k];
      else env[k] = v;
    }
    return env;
  }

  /** Starts `pe args…` as a child process (stdout and stderr are pipes, so not a terminal). */
  spawn(args: string[], opts: { env?: Record<string, string | undefined>; stdin?: string } = {}): RunningCli {
    const child = spawn(process.execPath, [PE, ...args], { env: this.env(opts.env), stdio: ['pipe', 'pipe', 'pipe'] });
    return new RunningCli(child, opts.stdin);
  }

  /** Runs `pe args…` to its end. */
  run(args: string[], opts: { env?: Record<string, string | undefined>; stdin?: string; timeoutMs?: number } = {}): Promise<CliResult> {
    return this.spawn(args, opts).done(opts.timeoutMs ?? 30000);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A suite's engine and CLI home, there from its `before` to its `after`. */
export interface CliSuite {
  readonly sys: TestSystem;
  readonly home: CliHome;
  /** The proxy between the CLI and the API (only with `proxy: true`). */
  readonly proxy: CuttingProxy;
}

/**
 * Call inside `describe`: starts a TestSystem before the suite's tests, with a CliHome whose
 * commands carry the admin's token (PE_TOKEN), and removes both after them. `signedIn: false`
 * leaves the home without a token; `proxy: true` puts a CuttingProxy between the CLI and the API.
 */
export function cliSuite(options: TestSystemOptions, opts: { signedIn?: boolean; proxy?: boolean } = {}): CliSuite {
  let sys: TestSystem | undefined;
  let proxy: CuttingProxy | undefined;
  let home: CliHome | undefined;
  before(async () => {
    sys = await TestSystem.start(options);
    if (opts.proxy) proxy = await CuttingProxy.start(new URL(sys.url));
    home = new CliHome(proxy?.url ?? sys.url, opts.signedIn === false ? {} : { PE_TOKEN: sys.token });
  });
  after(async () => {
    home?.remove();
    await proxy?.close();
    await sys?.stop();
  });
  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`no ${what}: it is there from the suite's before() to its after()`);
    return value;
  };
  return {
    get sys() {
      return started(sys, 'test system');
    },
    get home() {
      return started(home, 'CLI home');
    },
    get proxy() {
      return started(proxy, 'proxy (cliSuite(…, { proxy: true }))');
    },
  };
}

export class RunningCli {
  stdout = '';
  stderr = '';
  private readonly exited: Promise<number | null>;
  constructor(readonly child: ChildProcess, stdin?: string) {
    child.stdout!.setEncoding('utf8').on('data', (c: string) => (this.stdout += c));
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (this.stderr += c));
    this.exited = new Promise((resolve) => child.once('close', (code) => resolve(code)));
    child.stdin!.end(stdin ?? '');
  }

  /** Resolves once stdout (or stderr) has a line matching `pattern`. */
  async waitForOutput(pattern: RegExp, timeoutMs = 15000, stream: 'stdout' | 'stderr' = 'stdout'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this[stream])) {
      if (Date.now() > deadline) throw new Error(`no ${pattern} in the CLI's output in time;\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
      if (this.child.exitCode !== null) throw new Error(`the CLI exited (${this.child.exitCode}) before printing ${pattern};\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async done(timeoutMs = 30000): Promise<CliResult> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)));
    const code = await Promise.race([this.exited, timedOut]);
    clearTimeout(timer);
    if (code === 'timeout') {
      this.child.kill('SIGKILL');
      throw new Error(`the CLI did not finish in ${timeoutMs}ms;\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
    }
    return { code, stdout: this.stdout, stderr: this.stderr };
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

/** What a result looked like, for assertion messages. */
export function shown(r: CliResult): string {
  return `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

/** A stack trace line, which the CLI must never print. */
export const STACK_LINE = /^\s+at .+\(.+:\d+:\d+\)$|^\s+at .+:\d+:\d+$/m;

/** A loopback port nothing listens on (briefly bound, then released). */
export async function closedPort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}
