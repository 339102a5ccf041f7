/**
 * The sandbox: one loopback HTTP server that mounts every simulated provider at the paths
 * its real API uses, plus a small admin API under `/_sandbox/` so a sandbox running in
 * another process can be steered over HTTP (faults, delays, rate limits, reset, clock).
 * With `stateFile` set, the simulated resources are kept in that file across restarts.
 *
 * On the main port every provider but DigitalOcean sits under a prefix of its name
 * (`/vultr/v2/…`). Clients that build absolute paths from the host (govultr resolves
 * `/v2/instances` against its base URL) drop that prefix, so with `providerPorts` a provider
 * is also served at the root of a port of its own (`/v2/instances` there). Both ways in reach
 * the same simulator: same resources, faults, rate limits, request counts and admin.
 */
import { randomBytes } from 'node:crypto';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express, type Request, type RequestHandler, type Response, type Router } from 'express';
import { type Clock, ManualClock, systemClock } from './clock.js';
import type { DigitalOceanSimulator } from './digitalocean/simulator.js';
import { SANDBOX_PATH_PREFIX, createSimulators, type SimulatorSettings } from './simulators.js';
import { Faults, type SandboxProvider } from './faults.js';
import { createAdminRouter } from './admin.js';
import { RequestCounts, type RequestCountsReport } from './request-counts.js';
import { SshHostState } from './ssh-state.js';
import { startSshHost, type SandboxSshHost } from './ssh-host.js';
import { DEFAULT_STATE_SAVE_INTERVAL_MS, SandboxStatePersistence } from './state-persistence.js';
import {
  type PersistentProvider,
  type SandboxState,
  captureSandboxState,
  restoreSandboxState,
} from './state-snapshot.js';

export { type Clock, ManualClock, systemClock } from './clock.js';
export type { FaultRecord, FaultRule } from './faults.js';
export type { DigitalOceanConfig, DigitalOceanSimulator, DigitalOceanSnapshot } from './digitalocean/simulator.js';
export type { SandboxState } from './state-snapshot.js';
export type { CredentialRequestCounts, RequestCountsReport } from './request-counts.js';
export { SnapshotFormatError } from './snapshot-fields.js';

export interface SandboxOptions extends SimulatorSettings {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: an ephemeral port. */
  port?: number;
  /** Default: a random `sbx_` + 32 hex characters. */
  token?: string;
  /** Default: the system clock. Pass a ManualClock to drive state transitions from a test. */
  clock?: Clock;
  /**
   * Keeps simulated resources across restarts: restored from this file at start (a
   * missing file means none yet; an unreadable one is reported via `warn`, moved aside and
   * ignored), saved periodically while something changes, and saved by `close()`.
   */
  stateFile?: string;
  /** How often changes are saved to `stateFile`. Default 2000. */
  stateSaveIntervalMs?: number;
  /** Where problems with the state file are reported. Default: a `sandbox:` line on stderr. */
  warn?: (message: string) => void;
  /** Serve the servers' SSH endpoint (ssh-host.ts). Default true. */
  ssh?: boolean;
  /** Its port; default 0, an ephemeral one. */
  sshPort?: number;
  /**
   * Providers also served at the root of a port of their own (0: an ephemeral one), on
   * `host` like the main port. Default: none, every provider only under the main port.
   */
  providerPorts?: Partial<Record<SandboxProvider, number>>;
}

export interface Sandbox {
  /** e.g. http://127.0.0.1:PORT */
  url: string;
  token: string;
  /** `${url}/v2` */
  digitaloceanBaseUrl: string;
  /** Each simulated provider's API base URL, as its clients expect it (DigitalOcean's ends in /v2). */
  baseUrls: Partial<Record<SandboxProvider, string>>;
  /**
   * The origin (`http://127.0.0.1:PORT`, no path) of each provider served at the root of a
   * port of its own (`providerPorts`); its API paths start right there (`/v2/instances`).
   */
  rootUrls: Partial<Record<SandboxProvider, string>>;
  faults: Faults;
  clock: Clock;
  digitalocean: DigitalOceanSimulator;
  /** Any simulated provider, by name. */
  simulator(provider: SandboxProvider): ProviderSimulator | undefined;
  /** Requests each provider received per credential, and its 429s (also GET /_sandbox/requests). */
  requestCounts(): RequestCountsReport;
  /** Forgets all simulated resources, faults, rate-limit history and request counts. */
  reset(): void;
  /** Every provider's resources and id counters as plain JSON, the state file's format. */
  snapshot(): SandboxState;
  /**
   * Replaces every provider's resources with a snapshot's. A malformed snapshot throws
   * SnapshotFormatError and leaves every provider empty rather than half restored.
   */
  restore(state: unknown): void;
  /** Undefined unless the sandbox was started with one. */
  stateFile: string | undefined;
  /** Where the simulated servers answer SSH (the engine's SSH_ENDPOINT_OVERRIDE), unless started with `ssh: false`. */
  sshEndpoint: { host: string; port: number } | null;
  /** The SSH host itself: what each server was asked to run. */
  ssh: SandboxSshHost | null;
  /**
   * Stops listening and destroys open sockets, including ones held by `timeout` faults,
   * then writes the state file if there is one (rejecting if that write fails).
   */
  close(): Promise<void>;
}

/** What the server needs from each provider module; later providers implement the same. */
export interface ProviderSimulator extends PersistentProvider {
  readonly provider: SandboxProvider;
  readonly mountPath: string;
  readonly router: Router;
  /** Further API versions served beside `mountPath` (UpCloud's 1.2), each with its own path. */
  readonly otherMounts?: ReadonlyArray<{ mountPath: string; router: Router }>;
  config(): unknown;
  configure(patch: unknown): unknown;
  reset(): void;
}

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const host = opts.host ?? '127.0.0.1';
  const token = opts.token ?? `sbx_${randomBytes(16).toString('hex')}`;
  const clock = opts.clock ?? systemClock;
  const faults = new Faults();
  const requestCounts = new RequestCounts(clock);

  const providers = createSimulators({ clock, token, faults }, opts);
  const digitalocean = providers.find((p) => p.provider === 'digitalocean') as unknown as DigitalOceanSimulator & ProviderSimulator;

  // Kept in the state file beside the providers' resources (but not part of snapshot()).
  const sshState = new SshHostState();
  let ssh: SandboxSshHost | null = null;

  const reset = (): void => {
    faults.clear();
    requestCounts.reset();
    for (const p of providers) p.reset();
    sshState.reset();
    ssh?.clear();
  };

  const persistence =
    opts.stateFile === undefined
      ? undefined
      : new SandboxStatePersistence({
          file: opts.stateFile,
          providers: [...providers, sshState],
          clock,
          saveIntervalMs: opts.stateSaveIntervalMs ?? DEFAULT_STATE_SAVE_INTERVAL_MS,
          warn: opts.warn ?? ((message) => process.stderr.write(`sandbox: ${message}\n`)),
        });
  // Before listening, so no request ever sees the sandbox without its saved resources.
  persistence?.load();

  const app = buildApp({ token, clock, faults, providers, reset, sshState, requestCounts, sshCommands: () => ssh?.commands() ?? [] });
  const server = createServer(app);
  await listen(server, opts.port ?? 0, host);

  // Each on its own port, in front of the very same simulator as the prefixed mount.
  const rootServers = new Map<SandboxProvider, Server>();
  const closeAll = async (): Promise<void> => {
    for (const s of [server, ...rootServers.values()]) {
      if (!s.listening) continue;
      await new Promise<void>((resolve, reject) => {
        s.close((err) => (err ? reject(err) : resolve()));
        // Keep-alive and deliberately hung (timeout fault) connections would otherwise
        // keep close() waiting for as long as the client cares to wait.
        s.closeAllConnections();
      });
    }
  };
  try {
    for (const [provider, providerPort] of Object.entries(opts.providerPorts ?? {}) as Array<[SandboxProvider, number | undefined]>) {
      const simulator = providers.find((p) => p.provider === provider);
      if (simulator === undefined || providerPort === undefined) continue;
      const rootServer = createServer(buildRootApp(simulator, { sshState, requestCounts }));
      rootServers.set(provider, rootServer);
      await listen(rootServer, providerPort, host);
    }
  } catch (err) {
    await closeAll().catch(() => undefined);
    throw err;
  }

  if (opts.ssh !== false) {
    ssh = await startSshHost({ host, port: opts.sshPort ?? 0, state: sshState }).catch(async (err: unknown) => {
      await closeAll().catch(() => undefined);
      throw err;
    });
  }

  persistence?.startPeriodicSaves();

  const origin = (s: Server): string => `http://${host.includes(':') ? `[${host}]` : host}:${(s.address() as AddressInfo).port}`;
  const url = origin(server);

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      await closeAll();
      await ssh?.close();
      // Saved after the server stops so no request can change state after the last save.
      await persistence?.stop();
    })();
    return closing;
  };

  return {
    url,
    token,
    digitaloceanBaseUrl: `${url}${digitalocean.mountPath}`,
    baseUrls: Object.fromEntries(providers.map((p) => [p.provider, `${url}${p.mountPath}`])),
    rootUrls: Object.fromEntries([...rootServers].map(([provider, s]) => [provider, origin(s)])),
    faults,
    clock,
    digitalocean,
    simulator: (provider) => providers.find((p) => p.provider === provider),
    requestCounts: () => requestCounts.report(),
    reset,
    snapshot: () => captureSandboxState(providers, clock),
    restore: (state) => restoreSandboxState(providers, state),
    stateFile: opts.stateFile,
    sshEndpoint: ssh ? { host: ssh.host, port: ssh.port } : null,
    ssh,
    close,
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Express as every sandbox port uses it. */
function sandboxExpress(): Express {
  const app = express();
  app.disable('x-powered-by');
  // Provider APIs do not answer conditional GETs; a 304 would surprise pollers.
  app.set('etag', false);
  return app;
}

/** A server created with keys in its cloud-config lets those keys in, as cloud-init would. */
function learnSshKeys(sshState: SshHostState): RequestHandler {
  // Read after the simulator parsed and accepted the request, so only real creates count.
  return (req, res, next) => {
    if (req.method === 'POST') res.once('finish', () => res.statusCode < 300 && sshState.learnFromCreateBody(req.body));
    next();
  };
}

/** Every API path a provider serves, as mounted on the main port. */
function mountsOf(provider: ProviderSimulator): Array<{ mountPath: string; router: Router }> {
  return [{ mountPath: provider.mountPath, router: provider.router }, ...(provider.otherMounts ?? [])];
}

function notServed(req: Request, res: Response): void {
  res.status(404).json({ error: 'not_found', message: `no simulated provider serves ${req.method} ${req.path}` });
}

/** One provider at the root of its own port: its API paths without the sandbox's prefix. */
function buildRootApp(provider: ProviderSimulator, deps: { sshState: SshHostState; requestCounts: RequestCounts }): Express {
  const app = sandboxExpress();
  app.use(learnSshKeys(deps.sshState));
  const prefix = SANDBOX_PATH_PREFIX[provider.provider];
  for (const { mountPath, router } of mountsOf(provider)) {
    if (!mountPath.startsWith(prefix)) throw new Error(`${provider.provider} is mounted at ${mountPath}, outside its prefix ${prefix}`);
    app.use(mountPath.slice(prefix.length), deps.requestCounts.middleware(provider.provider), router);
  }
  app.use(notServed);
  return app;
}

function buildApp(deps: {
  token: string;
  clock: Clock;
  faults: Faults;
  providers: ProviderSimulator[];
  reset: () => void;
  sshState: SshHostState;
  requestCounts: RequestCounts;
  sshCommands: () => unknown[];
}): Express {
  const app = sandboxExpress();

  // What the simulated servers were asked to run (the admin router answers its 401).
  app.get('/_sandbox/ssh/commands', (req, res, next) => {
    if (req.headers.authorization !== `Bearer ${deps.token}`) return next();
    res.json({ commands: deps.sshCommands() });
  });
  app.use(
    '/_sandbox',
    createAdminRouter({
      token: deps.token,
      faults: deps.faults,
      providers: deps.providers,
      reset: deps.reset,
      manualClock: deps.clock instanceof ManualClock ? deps.clock : undefined,
      clock: deps.clock,
      requestCounts: () => deps.requestCounts.report(),
      requestLog: deps.requestCounts.log,
    }),
  );
  app.use(learnSshKeys(deps.sshState));
  // Counted in front of each simulator, so its rate limiter, faults and auth all lie behind the count.
  for (const provider of deps.providers) {
    for (const { mountPath, router } of mountsOf(provider)) app.use(mountPath, deps.requestCounts.middleware(provider.provider), router);
  }

  app.use(notServed);
  return app;
}
