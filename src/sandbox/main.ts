/**
 * `npm run sandbox`: runs the cloud simulator as a standalone process.
 *
 * Environment:
 *   SANDBOX_PORT                 default 8090 (0 = ephemeral)
 *   SANDBOX_HOST                 default 127.0.0.1
 *   SANDBOX_TOKEN                default random sbx_…
 *   SANDBOX_DO_ACTIVE_DELAY_MS   default 3000
 *   SANDBOX_DO_ACTION_DELAY_MS   default 2000
 *   SANDBOX_DO_RATE_LIMIT        "off" or "PER_HOUR/PER_MINUTE", default 5000/250
 *   SANDBOX_STEP_DELAY_MS        how long each step of a Hetzner, Vultr or UpCloud create or
 *                                action takes; default: each simulator's own (a few seconds)
 *   SANDBOX_RATE_LIMITS          "off" turns Hetzner's and Vultr's rate limits off
 *   SANDBOX_STATE_FILE           optional; keeps simulated resources across restarts: loaded
 *                                at start, saved while they change and on SIGINT/SIGTERM
 *   SANDBOX_STATE_SAVE_INTERVAL_MS  default 2000; how often changes are saved
 *   SANDBOX_SSH_PORT             default 0 (ephemeral); the simulated servers' SSH endpoint
 *   SANDBOX_DIGITALOCEAN_PORT, SANDBOX_HETZNER_PORT, SANDBOX_VULTR_PORT, SANDBOX_UPCLOUD_PORT
 *                                each provider is also served at the ROOT of a port of its own
 *                                (`/v2/instances`, not `/vultr/v2/instances`), for clients that
 *                                build absolute paths from the host (govultr does) and so lose
 *                                the main port's `/vultr` prefix. Same simulator, same state,
 *                                faults, rate limits and admin as the prefixed one. A port
 *                                number pins it, "off" serves none; default 0: a free port each
 *                                start, printed below with the others (so it works out of the
 *                                box; pin it when a client's settings must name it).
 *
 * When stdout is not a terminal (a supervisor started us) one extra line
 * `SANDBOX_READY {json}` is printed so the parent can parse where to connect.
 */
import { resolve } from 'node:path';
import type { SlidingWindowLimits } from './rate-limit.js';
import type { SandboxProvider } from './faults.js';
import { startSandbox } from './server.js';
import { SANDBOX_PATH_PREFIX, SIMULATOR_ENV } from './simulators.js';
import { UPCLOUD_1_2_MOUNT_PATH, UPCLOUD_SANDBOX_USERNAME } from './upcloud/simulator.js';

class ConfigError extends Error {}

function intFromEnv(name: string, fallback: number | undefined): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return Number(raw.trim());
}

function rateLimitFromEnv(name: string): SlidingWindowLimits | false | undefined {
  const raw = process.env[name]?.trim();
  if (raw === undefined || raw === '') return undefined;
  if (raw.toLowerCase() === 'off') return false;
  const match = /^(\d+)\/(\d+)$/.exec(raw);
  if (match === null || Number(match[1]) < 1 || Number(match[2]) < 1) {
    throw new ConfigError(`${name} must be "off" or "PER_HOUR/PER_MINUTE" (e.g. 5000/250), got ${JSON.stringify(raw)}`);
  }
  return { perHour: Number(match[1]), perMinute: Number(match[2]) };
}

/** SANDBOX_<PROVIDER>_PORT: "off", or a port (0 = ephemeral); default ephemeral. */
function providerPortsFromEnv(): Partial<Record<SandboxProvider, number>> {
  const ports: Partial<Record<SandboxProvider, number>> = {};
  for (const provider of Object.keys(SIMULATOR_ENV) as SandboxProvider[]) {
    const name = `SANDBOX_${provider.toUpperCase()}_PORT`;
    if (process.env[name]?.trim().toLowerCase() === 'off') continue;
    const port = intFromEnv(name, 0) as number;
    if (port > 65535) throw new ConfigError(`${name} must be "off" or a port from 0 to 65535, got ${JSON.stringify(process.env[name])}`);
    ports[provider] = port;
  }
  return ports;
}

async function main(): Promise<void> {
  let port: number | undefined;
  let activeDelayMs: number | undefined;
  let actionDelayMs: number | undefined;
  let rateLimit: SlidingWindowLimits | false | undefined;
  let stateSaveIntervalMs: number | undefined;
  let step: number | undefined;
  let sshPort: number | undefined;
  let providerPorts: Partial<Record<SandboxProvider, number>>;
  try {
    providerPorts = providerPortsFromEnv();
    sshPort = intFromEnv('SANDBOX_SSH_PORT', 0);
    step = intFromEnv('SANDBOX_STEP_DELAY_MS', undefined);
    port = intFromEnv('SANDBOX_PORT', 8090);
    activeDelayMs = intFromEnv('SANDBOX_DO_ACTIVE_DELAY_MS', undefined);
    actionDelayMs = intFromEnv('SANDBOX_DO_ACTION_DELAY_MS', undefined);
    rateLimit = rateLimitFromEnv('SANDBOX_DO_RATE_LIMIT');
    stateSaveIntervalMs = intFromEnv('SANDBOX_STATE_SAVE_INTERVAL_MS', undefined);
    if (stateSaveIntervalMs === 0) throw new ConfigError('SANDBOX_STATE_SAVE_INTERVAL_MS must be at least 1');
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`sandbox: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const token = process.env.SANDBOX_TOKEN?.trim() || undefined;
  const limitsOff = process.env.SANDBOX_RATE_LIMITS?.trim().toLowerCase() === 'off';
  // Absolute, so messages about the file say exactly which one.
  const stateFileSetting = process.env.SANDBOX_STATE_FILE?.trim();
  const stateFile = stateFileSetting ? resolve(stateFileSetting) : undefined;

  const sandbox = await startSandbox({
    host: process.env.SANDBOX_HOST?.trim() || '127.0.0.1',
    port,
    token,
    digitalocean: { activeDelayMs, actionDelayMs, rateLimit },
    hetzner: { initializeDelayMs: step, startDelayMs: step, actionDelayMs: step, deleteDelayMs: step, ...(limitsOff ? { rateLimit: false } : {}) },
    vultr: { activeDelayMs: step, bootDelayMs: step, actionDelayMs: step, resizeDelayMs: step, ...(limitsOff ? { rateLimit: false } : {}) },
    upcloud: { createDelayMs: step, stopDelayMs: step, restartDelayMs: step, modifyDelayMs: step },
    stateFile,
    stateSaveIntervalMs,
    sshPort,
    providerPorts,
  });

  const out = process.stdout;
  out.write(`sandbox listening on ${sandbox.url}\n`);
  for (const [provider, baseUrl] of Object.entries(sandbox.baseUrls) as Array<[SandboxProvider, string]>) {
    const env = SIMULATOR_ENV[provider];
    out.write(`${provider.padEnd(13)} ${baseUrl}  token=${sandbox.token}\n`);
    out.write(`  ${env.url}=${baseUrl} ${env.token}=${sandbox.token}\n`);
    const root = sandbox.rootUrls[provider];
    if (root) out.write(`  also at the root of its own port: ${root}  (API base ${root}${sandbox.simulator(provider)!.mountPath.slice(SANDBOX_PATH_PREFIX[provider].length)})\n`);
  }
  if (sandbox.baseUrls.upcloud) {
    out.write(`  (UpCloud also takes HTTP Basic: user ${UPCLOUD_SANDBOX_USERNAME}, the token as password,`);
    out.write(` and answers API 1.2 at ${sandbox.url}${UPCLOUD_1_2_MOUNT_PATH})\n`);
  }
  out.write(`admin         ${sandbox.url}/_sandbox  (same token)\n`);
  const ssh = sandbox.sshEndpoint ? `${sandbox.sshEndpoint.host}:${sandbox.sshEndpoint.port}` : undefined;
  if (ssh) out.write(`ssh           ${ssh}  (user <login>+<server address>, keys from the servers' cloud-config)\n  SSH_ENDPOINT_OVERRIDE=${ssh}\n`);
  out.write(`state file    ${stateFile ?? '(none: resources are forgotten when the sandbox stops)'}\n`);
  if (!out.isTTY) {
    // `<provider>Root`: the origin of the port serving that provider at its root.
    const roots = Object.fromEntries(Object.entries(sandbox.rootUrls).map(([provider, root]) => [`${provider}Root`, root]));
    const ready = { url: sandbox.url, token: sandbox.token, ...sandbox.baseUrls, ...roots, ...(ssh ? { ssh } : {}) };
    out.write(`SANDBOX_READY ${JSON.stringify(ready)}\n`);
  }

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`sandbox: ${signal} received, stopping${stateFile ? ' and saving state' : ''}\n`);
    sandbox.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`sandbox: error while stopping: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // Started by the supervisor with an IPC channel: its closing means the supervisor is gone.
  process.on('disconnect', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(`sandbox: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
