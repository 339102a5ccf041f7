/**
 * The system under test, every part its own process: redis-server with its AOF, the sandbox
 * cloud, the API and N workers. The chaos kills them with SIGKILL and starts them again on
 * the same ports and the same data; any that dies when nobody killed it is started again too,
 * and noted.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { SIMULATOR_ENV } from '../src/sandbox/simulators.js';
import { freePort } from '../src/supervisor/free-port.js';
import { type ChildProc, ProcessFactory, type Watchdog } from './processes.js';
import type { ChaosSettings } from './settings.js';

export interface SandboxAddress {
  url: string;
  token: string;
  /** Base URL of each simulated provider, e.g. digitalocean → http://127.0.0.1:P/v2. */
  baseUrls: Record<string, string>;
}

export class ChaosSystem {
  redis!: ChildProc;
  sandboxProc!: ChildProc;
  sandbox!: SandboxAddress;
  api!: ChildProc;
  readonly workers = new Set<ChildProc>();
  /** Things that happened that nobody asked for (a process that died by itself). */
  readonly notes: string[] = [];
  /** What the chaos did, for the report. */
  readonly counts = { workerKills: 0, redisKills: 0, apiKills: 0 };
  readonly apiUrl: string;
  private readonly engineEnv: Record<string, string>;
  private workerSeq = 0;
  private stopping = false;
  private readonly procs: ProcessFactory;

  private constructor(
    readonly settings: ChaosSettings,
    readonly dir: string,
    watchdog: Watchdog,
    readonly redisPort: number,
    readonly apiPort: number,
    readonly adminPassword: string,
  ) {
    this.procs = new ProcessFactory(join(dir, 'logs'), watchdog);
    this.apiUrl = `http://127.0.0.1:${apiPort}`;
    this.engineEnv = {
      ...settings.engineEnv,
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      KEY_PREFIX: 'chaos',
      WORKSPACES: 'chaos',
      // A run is longer than the default 15 minutes; the clients log in once.
      ACCESS_TOKEN_TTL_SECONDS: '7200',
      HOST: '127.0.0.1',
      PORT: String(apiPort),
      ADMIN_PASSWORD: adminPassword,
      // Fixed, so the clients' tokens stay valid across API restarts.
      JWT_SECRET: randomBytes(32).toString('hex'),
      LOG_LEVEL: settings.logLevel,
      // The clients are one admin polling hard; the per-identity budget stays on, far above them.
      RATE_LIMIT_API: '1000000/1s',
    };
  }

  static async start(settings: ChaosSettings, dir: string, watchdog: Watchdog): Promise<ChaosSystem> {
    const system = new ChaosSystem(settings, dir, watchdog, await freePort(), await freePort(), randomBytes(12).toString('hex'));
    try {
      await system.startRedis();
      await system.startSandbox();
      await system.startApi();
      await Promise.all(Array.from({ length: settings.workers }, () => system.startWorker(true)));
      return system;
    } catch (err) {
      await system.stop();
      throw err;
    }
  }

  get logDir(): string {
    return this.procs.logDir;
  }

  // ---- redis ------------------------------------------------------------------------------

  private async startRedis(): Promise<void> {
    const proc = await this.procs.redis(this.redisPort, join(this.dir, 'redis'));
    this.redis = proc;
    this.superviseUnplanned(proc, () => this.startRedis(), () => this.redis === proc);
  }

  /** SIGKILL, a pause, and a new redis-server on the same port reading the same AOF. */
  async killRedis(downMs: number): Promise<void> {
    if (!this.redis.running) return;
    this.counts.redisKills++;
    await this.redis.kill();
    await sleep(downMs);
    if (!this.stopping) await this.startRedis();
  }

  // ---- sandbox ----------------------------------------------------------------------------

  private async startSandbox(): Promise<void> {
    const { doActiveDelayMs, doActionDelayMs, stepDelayMs } = this.settings.sandbox;
    const proc = this.procs.node('sandbox', 'src/sandbox/main.ts', {
      SANDBOX_PORT: '0',
      SANDBOX_HOST: '127.0.0.1',
      SANDBOX_TOKEN: `sbx_${randomBytes(16).toString('hex')}`,
      SANDBOX_DO_ACTIVE_DELAY_MS: String(doActiveDelayMs),
      SANDBOX_DO_ACTION_DELAY_MS: String(doActionDelayMs),
      SANDBOX_STEP_DELAY_MS: String(stepDelayMs),
      // The providers' own rate limits stay on; only the state file is left out.
      SANDBOX_DO_RATE_LIMIT: undefined,
      SANDBOX_RATE_LIMITS: undefined,
      SANDBOX_STATE_FILE: '',
      SANDBOX_SSH_PORT: '0',
    });
    this.sandboxProc = proc;
    const line = await proc.waitForLine('SANDBOX_READY ', 30000);
    const ready = JSON.parse(line.slice(line.indexOf('SANDBOX_READY ') + 'SANDBOX_READY '.length)) as Record<string, string>;
    const baseUrls: Record<string, string> = {};
    for (const provider of Object.keys(SIMULATOR_ENV)) {
      if (!ready[provider]) throw new Error(`the sandbox serves no ${provider}`);
      baseUrls[provider] = ready[provider];
      this.engineEnv[SIMULATOR_ENV[provider as keyof typeof SIMULATOR_ENV].url] = ready[provider];
      this.engineEnv[SIMULATOR_ENV[provider as keyof typeof SIMULATOR_ENV].token] = ready.token!;
    }
    if (ready.ssh) this.engineEnv.SSH_ENDPOINT_OVERRIDE = ready.ssh;
    this.sandbox = { url: ready.url!, token: ready.token!, baseUrls };
    // The sandbox holds the providers' state: losing it would void every check.
    void proc.exited.then(() => {
      if (!proc.killedOnPurpose) this.notes.push(`the sandbox exited by itself (${proc.exitDescription}); the checks below are void${proc.describeTail()}`);
    });
  }

  // ---- api --------------------------------------------------------------------------------

  private async startApi(): Promise<void> {
    const proc = this.procs.node('api', 'src/api/main.ts', this.engineEnv);
    this.api = proc;
    this.superviseUnplanned(proc, () => this.startApi(), () => this.api === proc);
    const deadline = Date.now() + 30000;
    for (;;) {
      if (!proc.running) {
        // Started while Redis was down, it may give up; the supervisor starts another.
        return;
      }
      // Any answer will do: /health says 503 while Redis is away, and the API is up all the same.
      const ok = await fetch(`${this.apiUrl}/health`, { signal: AbortSignal.timeout(2000) }).then(() => true, () => false);
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`the API did not answer /health within 30 s${proc.describeTail()}`);
      await sleep(100);
    }
  }

  /** SIGKILL, a pause, and a new API on the same port. */
  async killApi(downMs: number): Promise<void> {
    // One that died by itself is being started again by its supervisor.
    if (!this.api.running) return;
    this.counts.apiKills++;
    await this.api.kill();
    await sleep(downMs);
    if (!this.stopping) await this.startApi();
  }

  // ---- workers ----------------------------------------------------------------------------

  async startWorker(waitUntilStarted = false): Promise<void> {
    const name = `worker-${++this.workerSeq}`;
    const proc = this.procs.node(name, 'src/workers/main.ts', { ...this.engineEnv, WORKER_NAME: name });
    this.workers.add(proc);
    void proc.exited.then(() => this.workers.delete(proc));
    this.superviseUnplanned(proc, () => this.startWorker());
    if (waitUntilStarted) await proc.waitForLine('"worker started"', 60000);
  }

  /** SIGKILL one worker (the one `pick` chooses) and start its replacement at once. */
  async killWorker(pick: <T>(items: readonly T[]) => T): Promise<void> {
    const live = [...this.workers].filter((w) => w.running);
    if (live.length === 0) return;
    this.counts.workerKills++;
    const victim = pick(live);
    await victim.kill();
    if (!this.stopping) await this.startWorker();
  }

  // ---- all --------------------------------------------------------------------------------

  /**
   * Starts a process again when it died without being killed by the chaos, and says so;
   * not when a newer one has taken its place already (`current` says whether it still has it).
   */
  private superviseUnplanned(proc: ChildProc, restart: () => Promise<void>, current: () => boolean = () => true): void {
    void proc.exited.then(async () => {
      if (proc.killedOnPurpose || this.stopping || !current()) return;
      this.notes.push(`${proc.name} exited by itself (${proc.exitDescription}); started again${proc.describeTail()}`);
      await sleep(500);
      if (!this.stopping) await restart().catch((err: Error) => this.notes.push(`could not start ${proc.name} again: ${err.message}`));
    });
  }

  /** Workers and API first, then the sandbox, then Redis. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.workers].map((w) => w.stop(3000)));
    await this.api?.stop(3000);
    await this.sandboxProc?.stop(3000);
    await this.redis?.stop(3000);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
