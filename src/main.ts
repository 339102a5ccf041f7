/**
 * The whole system in one command: Redis (unless REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES is set), the sandbox cloud (when
 * no provider credentials are configured), the API and two workers. Ctrl-C or SIGTERM stops
 * them in order: API and workers first (letting active jobs finish), then the sandbox, then Redis.
 * Each has SHUTDOWN_TIMEOUT_MS to stop and is killed if it has not a little after; this
 * process exits only once every one of them has. A second Ctrl-C or SIGTERM means now.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { isStopMessage, STOP_NOW } from './core/control/supervisor-messages.js';
import { bootConfig } from './core/boot.js';
import { configuredProviders } from './core/config.js';
import { SupervisedChild, type Ended } from './supervisor/child.js';
import { managedRedisPassword, startManagedRedis, type ManagedRedis } from './supervisor/managed-redis.js';
import { bootSecretBox } from './core/secrets/boot.js';
import { SIMULATOR_ENV } from './sandbox/simulators.js';
import { sandboxToken } from './supervisor/sandbox-token.js';

const WORKERS = Number(process.env.WORKER_PROCESSES ?? 2);
const config = bootConfig('start');
// The engine's secret key: made here on the very first start (<DATA_DIR>/secret.key, mode
// 0600) before any child needs it; a bad one stops everything now, naming its setting.
const secrets = bootSecretBox(config, 'start');
const say = (msg: string) => process.stdout.write(`[start] ${msg}\n`);
// A terminal that closed (SIGHUP) fails every write: the stop it started still goes to its end.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
/** Each child has SHUTDOWN_TIMEOUT_MS to stop on its own; past this margin more it is killed. */
const KILL_MARGIN_MS = 2000;
const graceMs = config.shutdownTimeoutMs + KILL_MARGIN_MS;

let redis: ManagedRedis | null = null;
const children: SupervisedChild[] = [];
let sandbox: SupervisedChild | null = null;
let stopping: Promise<never> | null = null;
let stopRequested: () => void = () => undefined;
/** Resolves when a stop begins: the start below waits on nothing more then. */
const stopRequest = new Promise<void>((r) => (stopRequested = r));
/** The start below, while it runs. */
let started: Promise<void> = Promise.resolve();

function report(name: string, ended: Ended | null): void {
  if (ended === null) return;
  const how = ended.signal ?? `exit ${ended.code}`;
  if (ended.already) say(`${name} had already exited (${how})`);
  else if (ended.killed) say(`${name} had not stopped ${graceMs} ms after its SIGTERM (SHUTDOWN_TIMEOUT_MS=${config.shutdownTimeoutMs} and ${KILL_MARGIN_MS} ms more); killed it (SIGKILL)`);
  else say(`${name} stopped (${how}) after ${ended.ms} ms`);
}

/** Stops everything, in order, once (later calls get the same stop), then exits with `code`. */
function stopAll(code: number): Promise<never> {
  stopping ??= (async (): Promise<never> => {
    const began = Date.now();
    // Whatever ends a child from now on, nothing is restarted.
    for (const child of [...children, sandbox]) child?.noMoreRestarts();
    stopRequested();
    say(`stopping: the API and workers finish what they are doing (at most ${config.shutdownTimeoutMs} ms, SHUTDOWN_TIMEOUT_MS), then the sandbox and Redis stop…`);
    // A start in progress goes no further (starting Redis ends within its own timeout); what it started is stopped below.
    await started.catch(() => undefined);
    await Promise.all(children.map(async (child) => report(child.name, await child.stop(graceMs))));
    // The API and workers are gone: what they used can stop now.
    if (sandbox) report('sandbox', await sandbox.stop(graceMs));
    if (redis) report('redis', await redis.stop(graceMs));
    say(`stopped after ${Date.now() - began} ms`);
    process.exit(code);
  })();
  return stopping;
}
/**
 * An emergency stop asked over the API: the API and workers are killed at once (no grace; the
 * operations they held are taken over by other workers once their locks expire), then the
 * sandbox and Redis stop as usual. Nothing is restarted. A stop already under way is overtaken.
 */
async function stopNow(): Promise<never> {
  for (const child of [...children, sandbox]) child?.noMoreRestarts();
  stopRequested();
  say('emergency stop asked over the API: killing the API and workers now (SIGKILL)');
  const killed = Promise.all(
    children.map(async (child) => {
      const ended = await child.kill();
      if (ended) say(`${child.name} killed (SIGKILL) after ${ended.ms} ms`);
    }),
  );
  // A graceful stop already under way goes on from here (its waits end with the kills) and exits.
  stopping ??= (async (): Promise<never> => {
    await killed;
    await started.catch(() => undefined);
    if (sandbox) report('sandbox', await sandbox.stop(graceMs));
    if (redis) report('redis', await redis.stop(graceMs));
    say('stopped (emergency stop)');
    process.exit(0);
  })();
  return stopping;
}

/** The API asks, over its IPC channel, for the instance to stop (POST /shutdown, POST /emergency-stop). */
function onApiMessage(message: unknown): void {
  if (!isStopMessage(message)) return;
  if (message.type === STOP_NOW) {
    void stopNow();
    return;
  }
  say(`shutdown asked over the API${message.reason ? ` (${message.reason.replace(/[\u0000-\u001f]/g, ' ')})` : ''}`);
  void stopAll(0);
}

function onSignal(signal: NodeJS.Signals): void {
  if (stopping === null) {
    void stopAll(0);
    return;
  }
  // Stopping already: a second Ctrl-C or SIGTERM means now. Our processes take a second SIGTERM
  // as that; the supervisor still waits for each to exit (and kills one that does not).
  say(`${signal} again: telling the API, workers and sandbox to stop now`);
  for (const child of [...children, sandbox]) child?.signal('SIGTERM');
}
process.on('SIGINT', () => onSignal('SIGINT'));
process.on('SIGTERM', () => onSignal('SIGTERM'));
// The terminal closing: the children, each in its own session, do not get its SIGHUP.
process.on('SIGHUP', () => onSignal('SIGHUP'));
// `npm start` does not pass a SIGTERM on to us; when whoever started us is gone, stop too.
const parentPid = process.ppid;
setInterval(() => process.ppid !== parentPid && void stopAll(0), 1000).unref();
const giveUp = () => void stopAll(1);
/** Whether a stop has begun (the start checks it before starting anything more). */
const stopBegun = () => stopping !== null;

started = (async () => {
  let redisUrl = config.redisUrl;
  if (config.redisCluster !== null) {
    // The children read REDIS_CLUSTER_NODES themselves and learn the slot map from those nodes.
    say(`redis: the Redis Cluster reached through ${config.redisCluster.nodes.map((n) => (n.host.includes(':') ? `[${n.host}]:${n.port}` : `${n.host}:${n.port}`)).join(', ')}, keys under the hash tag ${config.keyPrefix}`);
  } else if (config.redisSentinel !== null) {
    // The children read REDIS_SENTINELS themselves and follow whichever primary the sentinels name.
    const sentinels = config.redisSentinel.sentinels.map((s) => (s.host.includes(':') ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`));
    say(`redis: the primary sentinels ${sentinels.join(', ')} name for '${config.redisSentinel.masterName}'`);
  } else if (redisUrl === null) {
    redis = await startManagedRedis(config.dataDir, config.managedRedisPort, config.managedRedisFsync, managedRedisPassword(secrets));
    // The URL with the password goes to the children's environment only; what is shown has none.
    redisUrl = redis.url;
    say(`redis ${redis.displayUrl}, password required (data in ${resolve(config.dataDir, 'redis')}, appendfsync ${config.managedRedisFsync})`);
  }
  if (stopBegun()) return;

  // The children find the same data directory (and so the same secret key) whatever their
  // working directory, and stop within the same deadline this process waits for.
  const env: Record<string, string> = { ...(redisUrl !== null ? { REDIS_URL: redisUrl } : {}), DATA_DIR: resolve(config.dataDir), SHUTDOWN_TIMEOUT_MS: String(config.shutdownTimeoutMs) };
  // The children read the same settings file this process read, wherever their working directory.
  if (existsSync(config.configFile)) env.CONFIG_FILE = config.configFile;
  if (configuredProviders(config).length === 0) {
    const token = sandboxToken(config.dataDir);
    const sandboxEnv: Record<string, string> = { SANDBOX_PORT: String(config.sandbox.port), SANDBOX_TOKEN: token, SANDBOX_STATE_FILE: resolve(config.dataDir, 'sandbox-state.json') };
    const ready = new Promise<Record<string, string>>((resolveReady) => {
      sandbox = new SupervisedChild(
        {
          name: 'sandbox',
          entry: 'src/sandbox/main.ts',
          env: sandboxEnv,
          onLine: (line) => {
            if (!line.startsWith('SANDBOX_READY ')) return;
            const urls = JSON.parse(line.slice('SANDBOX_READY '.length)) as Record<string, string>;
            // The workers keep the SSH endpoint they were started with: a restarted sandbox takes the same port.
            if (urls.ssh) sandboxEnv.SANDBOX_SSH_PORT ??= urls.ssh.slice(urls.ssh.lastIndexOf(':') + 1);
            resolveReady(urls);
          },
        },
        giveUp,
      );
      sandbox.start();
    });
    const urls = await Promise.race([ready, stopRequest.then(() => null)]);
    if (urls === null || stopBegun()) return;
    for (const [provider, names] of Object.entries(SIMULATOR_ENV)) {
      if (!urls[provider]) continue;
      env[names.url] = urls[provider]!;
      env[names.token] = token;
    }
    // The simulated servers answer SSH at one endpoint; task services reach them through it.
    if (urls.ssh && config.ssh.endpointOverride === null) env.SSH_ENDPOINT_OVERRIDE = urls.ssh;
    const served = Object.keys(SIMULATOR_ENV).filter((p) => urls[p]).map((p) => `${p} at ${urls[p]}`);
    say(`no provider credentials set: using the sandbox cloud (${served.join(', ')}; SSH at ${urls.ssh ?? 'none'})`);
  }

  const api = new SupervisedChild({ name: 'api', entry: 'src/api/main.ts', env, onMessage: onApiMessage }, giveUp);
  children.push(api);
  api.start();
  for (let i = 1; i <= WORKERS; i++) {
    const worker = new SupervisedChild({ name: `worker-${i}`, entry: 'src/workers/main.ts', env: { ...env, WORKER_NAME: `worker-${i}` } }, giveUp);
    children.push(worker);
    worker.start();
  }
  say(`api on port ${config.port}, ${WORKERS} workers; docs at http://127.0.0.1:${config.port}/docs — Ctrl-C stops everything`);
})();
try {
  await started;
} catch (err) {
  process.stderr.write(`start failed: ${(err as Error).message}\n`);
  await stopAll(1);
}
