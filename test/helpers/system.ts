import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { startApi, type RunningApi } from '../../src/api/server.js';
import { loadConfig, type Config } from '../../src/core/config.js';
import { createLogger } from '../../src/core/logger.js';
import { redisAddressOf } from '../../src/core/redis.js';
import { RecordingControl, type InstanceControl } from '../../src/core/control/instance-control.js';
import { fixedConfigSource } from '../../src/core/control/config-source.js';
import type { Operation } from '../../src/core/operations/model.js';
import type { SandboxProvider } from '../../src/sandbox/faults.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/server.js';
import { createProviders } from '../../src/providers/registry.js';
import { createRequestBudgets } from '../../src/core/rate-budget/index.js';
import { markerTag, type Provider, type ProviderName, type ProviderServer } from '../../src/common/provider.js';
import { SIMULATOR_ENV } from '../../src/sandbox/simulators.js';
import { http, type HttpReply } from './http.js';
import { startTestRedis, type TestRedis } from './redis-server.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Points the engine at every provider the sandbox simulates. */
function sandboxProviderEnv(sandbox: Sandbox): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [provider, baseUrl] of Object.entries(sandbox.baseUrls) as Array<[SandboxProvider, string]>) {
    env[SIMULATOR_ENV[provider].url] = baseUrl;
    env[SIMULATOR_ENV[provider].token] = sandbox.token;
  }
  return env;
}

export interface TestSystemOptions {
  /** Worker processes to start (each a real child process). Default 1. */
  workers?: number;
  doActiveDelayMs?: number;
  doActionDelayMs?: number;
  /** How long Hetzner, Vultr and UpCloud take for each step of a create or an action. Default 100. */
  otherDelayMs?: number;
  /** Extra environment for the API config and the workers. */
  env?: Record<string, string>;
  /** Leave DigitalOcean unconfigured. */
  noProvider?: boolean;
  /** A Redis the caller started (e.g. a Sentinel-managed one, with its `env`) instead of a throwaway one; stopped with the system. */
  redis?: TestRedis;
  /** How the in-process API carries out POST /shutdown and /emergency-stop; default: recorded, nothing stops. */
  control?: InstanceControl;
}

export class WorkerProcess {
  readonly logs: string[] = [];
  readonly exited: Promise<void>;
  constructor(readonly child: ChildProcess) {
    this.exited = new Promise((r) => child.once('exit', () => r()));
  }
  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}

/**
 * A whole engine for one test: its own redis-server, a sandbox cloud on loopback, the API
 * over real HTTP and worker child processes, all under a fresh key prefix.
 */
export class TestSystem {
  readonly workers: WorkerProcess[] = [];
  token = '';

  private constructor(
    readonly redis: TestRedis,
    readonly sandbox: Sandbox,
    readonly api: RunningApi,
    readonly config: Config,
    readonly env: Record<string, string>,
    readonly adminPassword: string,
  ) {}

  static async start(opts: TestSystemOptions = {}): Promise<TestSystem> {
    const redis = opts.redis ?? (await startTestRedis());
    const step = opts.otherDelayMs ?? 100;
    const sandbox = await startSandbox({
      digitalocean: { activeDelayMs: opts.doActiveDelayMs ?? 300, actionDelayMs: opts.doActionDelayMs ?? 200, rateLimit: false },
      hetzner: { initializeDelayMs: step, startDelayMs: step, actionDelayMs: step, deleteDelayMs: step, rateLimit: false },
      vultr: { activeDelayMs: step, bootDelayMs: step, actionDelayMs: step, resizeDelayMs: step, rateLimit: false },
      upcloud: { createDelayMs: step, stopDelayMs: step, restartDelayMs: step, modifyDelayMs: step },
    });
    const adminPassword = randomBytes(12).toString('hex');
    const env: Record<string, string> = {
      ...(redis.env ?? { REDIS_URL: redis.url }),
      KEY_PREFIX: 't' + randomBytes(4).toString('hex'),
      WORKSPACES: 'default,production,staging,w',
      PORT: '0',
      HOST: '127.0.0.1',
      ADMIN_PASSWORD: adminPassword,
      JWT_SECRET: randomBytes(32).toString('hex'),
      PROVIDER_POLL_MS: '50',
      WORKER_LOCK_MS: '3000',
      SWEEP_INTERVAL_MS: '500',
      JOB_BACKOFF_MS: '100',
      LOG_LEVEL: 'info',
      // The sandbox above runs without rate limits, so the engine's shared budgets do too
      // (tests polling every 50 ms would otherwise spend DigitalOcean's 250 a minute quickly).
      RATE_LIMIT_DIGITALOCEAN: 'off',
      RATE_LIMIT_HETZNER: 'off',
      RATE_LIMIT_VULTR: 'off',
      RATE_LIMIT_UPCLOUD: 'off',
      // Tests poll every 50 ms and try wrong credentials on purpose: the API's own limits stay
      // on (every request still goes through them) but far above what a test sends.
      RATE_LIMIT_API: '1000000/1s',
      RATE_LIMIT_AUTH: '100000/1m',
      SSE_MAX_STREAMS_PER_IDENTITY: '100000',
      ...(opts.noProvider ? {} : sandboxProviderEnv(sandbox)),
      // The sandbox's servers answer SSH at one loopback endpoint.
      ...(sandbox.sshEndpoint ? { SSH_ENDPOINT_OVERRIDE: `${sandbox.sshEndpoint.host}:${sandbox.sshEndpoint.port}` } : {}),
      ...opts.env,
    };
    const config = loadConfig(env);
    // Inside this test process: a stop asked over the API is recorded, not carried out, and a reload reads these settings.
    const api = await startApi(config, redisAddressOf(config)!, createLogger('api', 'error'), () => undefined, { control: opts.control ?? new RecordingControl(), configSource: fixedConfigSource(env) });
    const system = new TestSystem(redis, sandbox, api, config, env, adminPassword);
    const login = await system.request('POST', '/v1/auth/login', { body: { username: 'admin', password: adminPassword }, auth: false });
    if (login.status !== 200) throw new Error(`login failed: ${login.status} ${JSON.stringify(login.body)}`);
    system.token = login.body.token;
    for (let i = 0; i < (opts.workers ?? 1); i++) await system.startWorker();
    return system;
  }

  /** Starts one more worker process and waits until it is taking jobs. */
  async startWorker(): Promise<WorkerProcess> {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/workers/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, ...this.env, WORKER_NAME: `worker-${this.workers.length + 1}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const worker = new WorkerProcess(child);
    this.workers.push(worker);
    const started = new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        for (const line of chunk.toString().split('\n')) {
          if (!line) continue;
          worker.logs.push(line);
          if (line.includes('"worker started"')) resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code) => reject(new Error(`worker exited (${code}) before starting:\n${worker.logs.join('\n')}`)));
    });
    await started;
    return worker;
  }

  get url(): string {
    return this.api.url;
  }

  request<T = any>(method: string, path: string, opts: { body?: unknown; headers?: Record<string, string>; auth?: boolean } = {}): Promise<HttpReply<T>> {
    return http<T>(this.api.url, method, path, { ...opts, token: opts.auth === false ? undefined : this.token });
  }

  /** Polls the API until the operation reaches one of `statuses`. */
  async waitForStatus(id: string, statuses: string[], timeoutMs = 20000): Promise<Operation> {
    const deadline = Date.now() + timeoutMs;
    let last: Operation | undefined;
    while (Date.now() < deadline) {
      const res = await this.request<Operation>('GET', `/v1/operations/${id}`);
      last = res.body;
      if (res.status === 200 && statuses.includes(res.body.status)) return res.body;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`operation ${id} did not reach ${statuses.join('|')} in ${timeoutMs}ms; last: ${JSON.stringify(last)}\nworker logs:\n${this.workers.flatMap((w) => w.logs).slice(-40).join('\n')}`);
  }

  /** Polls until `check` returns a value other than undefined. */
  async eventually<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 20000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const value = await check();
      if (value !== undefined) return value;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`timed out waiting for ${what}\nworker logs:\n${this.workers.flatMap((w) => w.logs).slice(-40).join('\n')}`);
  }

  /** Adapters pointed at the sandbox, for looking at what each provider holds over its own API. */
  get adapters(): Map<ProviderName, Provider> {
    // Over the API's Redis connection: the test's own look at a provider spends the same budget as the engine.
    this.providerAdapters ??= createProviders(this.config.providers, { pollIntervalMs: 50 }, createRequestBudgets(this.api.ctx.redis, this.api.ctx.keys, this.config));
    return this.providerAdapters;
  }
  private providerAdapters?: Map<ProviderName, Provider>;

  /** The servers at a provider that carry an operation's marker. */
  async serversMarkedBy(provider: ProviderName, operationId: string): Promise<ProviderServer[]> {
    const all = await this.adapters.get(provider)!.listServers({});
    return all.filter((s) => s.tags.includes(markerTag(operationId)));
  }

  /** The droplets the sandbox holds, asked over DigitalOcean's own API. */
  async droplets(query = ''): Promise<Array<{ id: number; name: string; status: string; tags: string[] }>> {
    const res = await http(this.sandbox.digitaloceanBaseUrl, 'GET', `/droplets?per_page=200${query}`, { token: this.sandbox.token });
    if (res.status !== 200) throw new Error(`sandbox list failed: ${res.status}`);
    return res.body.droplets;
  }

  async createServer(overrides: Record<string, unknown> = {}): Promise<Operation> {
    const res = await this.request<Operation>('POST', '/v1/servers/create', {
      body: { workspace: 'production', provider: 'digitalocean', plan: 's-1vcpu-1gb', hostname: 'web-01', zone: 'nyc3', check_mode: false, tags: ['web'], ...overrides },
    });
    if (res.status !== 202) throw new Error(`create answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body;
  }

  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.kill('SIGTERM')));
    await this.api.close();
    await this.sandbox.close();
    await this.redis.stop();
  }
}
