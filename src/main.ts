/**
 * The whole system in one command: Redis (unless REDIS_URL is set), the sandbox cloud (when
 * no provider credentials are configured), the API and two workers. Ctrl-C or SIGTERM stops
 * them in order: API and workers first (letting active jobs finish), then the sandbox, then Redis.
 */
import { resolve } from 'node:path';
import { bootConfig } from './core/boot.js';
import { configuredProviders } from './core/config.js';
import { SupervisedChild } from './supervisor/child.js';
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

let redis: ManagedRedis | null = null;
const children: SupervisedChild[] = [];
let sandbox: SupervisedChild | null = null;
let stopping = false;

async function stopAll(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    say('stopping…');
    await Promise.all(children.map((c) => c.stop()));
    await sandbox?.stop(5000);
    await redis?.stop();
    say('stopped');
  }
  process.exit(code);
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));
// `npm start` does not pass a SIGTERM on to us; when whoever started us is gone, stop too.
const parentPid = process.ppid;
setInterval(() => process.ppid !== parentPid && void stopAll(0), 1000).unref();
const giveUp = () => void stopAll(1);

try {
  let redisUrl = config.redisUrl;
  if (redisUrl === null) {
    redis = await startManagedRedis(config.dataDir, config.managedRedisPort, config.managedRedisFsync, managedRedisPassword(secrets));
    // The URL with the password goes to the children's environment only; what is shown has none.
    redisUrl = redis.url;
    say(`redis ${redis.displayUrl}, password required (data in ${resolve(config.dataDir, 'redis')}, appendfsync ${config.managedRedisFsync})`);
  }

  // The children find the same data directory (and so the same secret key) whatever their working directory.
  const env: Record<string, string> = { REDIS_URL: redisUrl, DATA_DIR: resolve(config.dataDir) };
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
    const urls = await ready;
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

  const api = new SupervisedChild({ name: 'api', entry: 'src/api/main.ts', env }, giveUp);
  children.push(api);
  api.start();
  for (let i = 1; i <= WORKERS; i++) {
    const worker = new SupervisedChild({ name: `worker-${i}`, entry: 'src/workers/main.ts', env: { ...env, WORKER_NAME: `worker-${i}` } }, giveUp);
    children.push(worker);
    worker.start();
  }
  say(`api on port ${config.port}, ${WORKERS} workers; docs at http://127.0.0.1:${config.port}/docs — Ctrl-C stops everything`);
} catch (err) {
  process.stderr.write(`start failed: ${(err as Error).message}\n`);
  await stopAll(1);
}
