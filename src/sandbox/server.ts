/**
 * The sandbox: one loopback HTTP server that mounts every simulated provider at the paths
 * its real API uses, plus a small admin API under `/_sandbox/` so a sandbox running in
 * another process can be steered over HTTP (faults, delays, rate limits, reset, clock).
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express, type Router } from 'express';
import { type Clock, ManualClock, systemClock } from './clock.js';
import { type DigitalOceanSimulator, createDigitalOceanSimulator } from './digitalocean.js';
import type { SlidingWindowLimits } from './rate-limit.js';
import { Faults, type SandboxProvider } from './faults.js';
import { createAdminRouter } from './admin.js';

export { type Clock, ManualClock, systemClock } from './clock.js';
export type { FaultRecord, FaultRule } from './faults.js';
export type { DigitalOceanConfig, DigitalOceanSimulator } from './digitalocean.js';

export interface SandboxOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: an ephemeral port. */
  port?: number;
  /** Default: a random `sbx_` + 32 hex characters. */
  token?: string;
  /** Default: the system clock. Pass a ManualClock to drive state transitions from a test. */
  clock?: Clock;
  digitalocean?: {
    /** Default 3000. */
    activeDelayMs?: number;
    /** Default 2000. */
    actionDelayMs?: number;
    /** Default { perHour: 5000, perMinute: 250 }; false disables limiting. */
    rateLimit?: SlidingWindowLimits | false;
  };
}

export interface Sandbox {
  /** e.g. http://127.0.0.1:PORT */
  url: string;
  token: string;
  /** `${url}/v2` */
  digitaloceanBaseUrl: string;
  faults: Faults;
  clock: Clock;
  digitalocean: DigitalOceanSimulator;
  /** Forgets all simulated resources, faults and rate-limit history. */
  reset(): void;
  /** Stops listening and destroys open sockets, including ones held by `timeout` faults. */
  close(): Promise<void>;
}

/** What the server needs from each provider module; later providers implement the same. */
export interface ProviderSimulator {
  readonly provider: SandboxProvider;
  readonly mountPath: string;
  readonly router: Router;
  config(): unknown;
  configure(patch: unknown): unknown;
  reset(): void;
}

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const host = opts.host ?? '127.0.0.1';
  const token = opts.token ?? `sbx_${randomBytes(16).toString('hex')}`;
  const clock = opts.clock ?? systemClock;
  const faults = new Faults();

  const digitalocean = createDigitalOceanSimulator({
    clock,
    token,
    faults,
    activeDelayMs: opts.digitalocean?.activeDelayMs,
    actionDelayMs: opts.digitalocean?.actionDelayMs,
    rateLimit: opts.digitalocean?.rateLimit,
  });
  const providers: ProviderSimulator[] = [digitalocean];

  const reset = (): void => {
    faults.clear();
    for (const p of providers) p.reset();
  };

  const app = buildApp({ token, clock, faults, providers, reset });
  const server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });

  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve, reject) => {
      server.close((err) => (err ? reject(err) : resolve()));
      // Keep-alive and deliberately hung (timeout fault) connections would otherwise
      // keep close() waiting for as long as the client cares to wait.
      server.closeAllConnections();
    });
    return closing;
  };

  return {
    url,
    token,
    digitaloceanBaseUrl: `${url}${digitalocean.mountPath}`,
    faults,
    clock,
    digitalocean,
    reset,
    close,
  };
}

function buildApp(deps: {
  token: string;
  clock: Clock;
  faults: Faults;
  providers: ProviderSimulator[];
  reset: () => void;
}): Express {
  const app = express();
  app.disable('x-powered-by');
  // Provider APIs do not answer conditional GETs; a 304 would surprise pollers.
  app.set('etag', false);

  app.use(
    '/_sandbox',
    createAdminRouter({
      token: deps.token,
      faults: deps.faults,
      providers: deps.providers,
      reset: deps.reset,
      manualClock: deps.clock instanceof ManualClock ? deps.clock : undefined,
      clock: deps.clock,
    }),
  );
  for (const provider of deps.providers) app.use(provider.mountPath, provider.router);

  app.use((req, res) => {
    res.status(404).json({ error: 'not_found', message: `no simulated provider serves ${req.method} ${req.path}` });
  });
  return app;
}
