/**
 * Shared plumbing for the sandbox tests: a sandbox on an ephemeral port driven by a
 * manual clock, and a tiny HTTP client that returns status, headers and parsed JSON.
 */
import { ManualClock } from '../src/sandbox/clock.js';
import { type Sandbox, type SandboxOptions, startSandbox } from '../src/sandbox/server.js';

export interface TestSandbox {
  sandbox: Sandbox;
  clock: ManualClock;
  /** Calls the simulated DigitalOcean API (paths relative to the /v2 base) with the sandbox token. */
  doApi: (method: string, path: string, init?: CallInit) => Promise<CallResult>;
  /** Calls the admin API under /_sandbox with the sandbox token. */
  admin: (method: string, path: string, init?: CallInit) => Promise<CallResult>;
}

export interface CallInit {
  body?: unknown;
  /** Sent as-is instead of JSON-encoding `body`. */
  rawBody?: string;
  /** Overrides the bearer token; null sends no Authorization header. */
  token?: string | null;
  signal?: AbortSignal;
}

export interface CallResult {
  status: number;
  headers: Headers;
  /** Parsed JSON, or null for an empty body. */
  body: any;
}

export async function call(url: string, method: string, token: string | null, init: CallInit = {}): Promise<CallResult> {
  const headers: Record<string, string> = {};
  const effectiveToken = init.token === undefined ? token : init.token;
  if (effectiveToken !== null) headers.authorization = `Bearer ${effectiveToken}`;
  let payload: string | undefined;
  if (init.rawBody !== undefined) payload = init.rawBody;
  else if (init.body !== undefined) payload = JSON.stringify(init.body);
  if (payload !== undefined) headers['content-type'] = 'application/json';

  const res = await fetch(url, { method, headers, body: payload, signal: init.signal });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === '' ? null : JSON.parse(text) };
}

/** A test stuck on a request the sandbox never answers fails after this, instead of hanging the run. */
const TEST_DEADLINE_MS = 15_000;

/** Starts a sandbox, runs `fn`, and always closes the sandbox afterwards. */
export async function withSandbox(
  fn: (t: TestSandbox) => Promise<void>,
  options: Omit<SandboxOptions, 'clock'> = {},
): Promise<void> {
  const clock = new ManualClock();
  const sandbox = await startSandbox({
    ...options,
    clock,
    digitalocean: { activeDelayMs: 3000, actionDelayMs: 2000, ...options.digitalocean },
  });
  let deadline: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn({
        sandbox,
        clock,
        doApi: (method, path, init) => call(`${sandbox.digitaloceanBaseUrl}${path}`, method, sandbox.token, init),
        admin: (method, path, init) => call(`${sandbox.url}/_sandbox${path}`, method, sandbox.token, init),
      }),
      new Promise<never>((_, reject) => {
        deadline = setTimeout(() => reject(new Error(`test did not finish within ${TEST_DEADLINE_MS}ms`)), TEST_DEADLINE_MS);
      }),
    ]);
  } finally {
    clearTimeout(deadline);
    // Closing destroys any request still held open, so a timed-out test leaves nothing behind.
    await sandbox.close();
  }
}

export const VALID_DROPLET = {
  name: 'web-1',
  region: 'nyc3',
  size: 's-1vcpu-1gb',
  image: 'ubuntu-24-04-x64',
} as const;

/** Creates a droplet and moves the clock past its create delay so it is `active`. */
export async function createActiveDroplet(t: TestSandbox, overrides: Record<string, unknown> = {}): Promise<any> {
  const created = await t.doApi('POST', '/droplets', { body: { ...VALID_DROPLET, ...overrides } });
  if (created.status !== 202) throw new Error(`create failed: ${created.status} ${JSON.stringify(created.body)}`);
  t.clock.advance(t.sandbox.digitalocean.config().activeDelayMs);
  const fetched = await t.doApi('GET', `/droplets/${created.body.droplet.id}`);
  return fetched.body.droplet;
}
