/**
 * Joining the mesh: when REGISTRY_URL is set, the API registers this droplet with the registry
 * (`POST <registry>/register`) in the background and then tells it every REGISTRY_HEARTBEAT_MS
 * that it is alive (`POST <registry>/heartbeat`).
 *
 * The registry is someone else's service on someone else's network: it may be down when the
 * API starts, or go away later. None of that may hold up or break the API. So the client runs
 * beside it, never throws into it, retries registering with growing, jittered pauses (1 s up
 * to 60 s, so many droplets restarted together do not stampede the registry), registers again
 * when the registry says it does not know this droplet, logs when its state changes rather
 * than at every failure, and stops at once when the API closes.
 */
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { DropletSigner } from './signing.js';

export type RegistryState = 'registering' | 'registered' | 'heartbeat_failing' | 'stopped';

export interface RegistryClientOptions {
  config: Pick<Config, 'droplet'>;
  logger: Logger;
  /** The droplet's signer, for the bearer token; loading it may fail while Redis is away (then it is a failed attempt). */
  signer: () => Promise<DropletSigner>;
  version: string;
  capabilities: readonly string[];
  /** Shortest and longest pause between two registration attempts. */
  minRetryMs?: number;
  maxRetryMs?: number;
  /** Per request. */
  timeoutMs?: number;
  random?: () => number;
}

const DEFAULT_MIN_RETRY_MS = 1000;
const DEFAULT_MAX_RETRY_MS = 60_000;
const DEFAULT_TIMEOUT_MS = 5000;

/** Why one call did not go through: the registry's status, or no answer at all. */
class RegistryCallFailed extends Error {
  constructor(
    readonly status: number | null,
    message: string,
  ) {
    super(message);
  }
}

export class RegistryClient {
  #state: RegistryState = 'registering';
  readonly #abort = new AbortController();
  #loop: Promise<void> | null = null;
  /** Registrations and heartbeats the registry accepted (for tests and /dependencies). */
  registrations = 0;
  heartbeats = 0;

  constructor(private readonly opts: RegistryClientOptions) {}

  get state(): RegistryState {
    return this.#state;
  }

  /** Starts in the background and returns at once. */
  start(): this {
    const url = this.opts.config.droplet.registryUrl;
    if (url === null || this.#loop !== null) return this;
    this.#loop = this.run(url).catch((err: unknown) => {
      // Nothing above should throw; if something does, the API carries on without the registry.
      this.opts.logger.error('registry client stopped unexpectedly', { error: (err as Error).message });
    });
    return this;
  }

  /** Ends the loop, including a request in flight; resolves when it has. */
  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#loop;
    this.#state = 'stopped';
  }

  private get stopped(): boolean {
    return this.#abort.signal.aborted;
  }

  private async run(registryUrl: string): Promise<void> {
    const { droplet } = this.opts.config;
    while (!this.stopped) {
      await this.registerUntilAccepted(registryUrl);
      // Heartbeats until the registry says it no longer knows this droplet; then register again.
      while (!this.stopped) {
        await sleep(droplet.registryHeartbeatMs, this.#abort.signal);
        if (this.stopped) return;
        try {
          await this.call(registryUrl, '/heartbeat', { id: droplet.id, status: 'active', updated_at: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') });
          this.heartbeats++;
          this.enter('registered', 'registry heartbeats go through again');
        } catch (err) {
          if (this.stopped) return;
          const failed = err as RegistryCallFailed;
          if (failed.status === 404 || failed.status === 410) {
            this.enter('registering', 'the registry no longer knows this droplet; registering again', { status: failed.status });
            break;
          }
          this.enter('heartbeat_failing', 'registry heartbeats are failing; retrying at the next beat', { error: failed.message });
        }
      }
    }
  }

  private async registerUntilAccepted(registryUrl: string): Promise<void> {
    const { droplet } = this.opts.config;
    const min = this.opts.minRetryMs ?? DEFAULT_MIN_RETRY_MS;
    const max = this.opts.maxRetryMs ?? DEFAULT_MAX_RETRY_MS;
    const random = this.opts.random ?? Math.random;
    let failures = 0;
    let lastProblem: string | null = null;
    while (!this.stopped) {
      try {
        await this.call(registryUrl, '/register', {
          id: droplet.id,
          name: droplet.name,
          steward: droplet.steward,
          endpoint: droplet.endpoint,
          version: this.opts.version,
          capabilities: [...this.opts.capabilities],
          jwks_url: `${droplet.endpoint}/.well-known/jwks.json`,
        });
        this.registrations++;
        this.enter('registered', 'registered with the mesh registry', { registry: registryUrl, attempts: failures + 1 });
        return;
      } catch (err) {
        if (this.stopped) return;
        const problem = (err as Error).message;
        // Once per kind of failure, not once per attempt: a registry down for an hour is one line.
        if (problem !== lastProblem) this.opts.logger.warn('cannot register with the mesh registry yet; retrying in the background', { registry: registryUrl, error: problem });
        lastProblem = problem;
        const ceiling = Math.min(max, min * 2 ** Math.min(failures, 30));
        failures++;
        await sleep(Math.round(ceiling * (0.5 + random() * 0.5)), this.#abort.signal);
      }
    }
  }

  private enter(state: RegistryState, message: string, meta: Record<string, unknown> = {}): void {
    if (this.#state === state) return;
    this.#state = state;
    this.opts.logger.info(message, { registry_state: state, ...meta });
  }

  private async call(registryUrl: string, path: string, body: Record<string, unknown>): Promise<void> {
    let token: string;
    try {
      token = (await this.opts.signer()).bearerFor(registryUrl);
    } catch (err) {
      throw new RegistryCallFailed(null, `the droplet's signing key is not available (${(err as Error).message})`);
    }
    const signal = AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.opts.timeoutMs ?? DEFAULT_TIMEOUT_MS)]);
    let res: Response;
    try {
      res = await fetch(`${registryUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
        signal,
        redirect: 'error',
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      throw new RegistryCallFailed(null, `no answer from the registry (${cause ?? (err as Error).name})`);
    }
    await res.body?.cancel().catch(() => undefined);
    if (!res.ok) throw new RegistryCallFailed(res.status, `the registry answered HTTP ${res.status} to ${path}`);
  }
}

/** Waits `ms`, or less when `signal` aborts; never rejects, and holds no process open. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    timer.unref();
    signal.addEventListener('abort', done, { once: true });
  });
}
