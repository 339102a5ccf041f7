import { config as loadDotenv } from 'dotenv';
import { ConfigError, configFileSetting, loadConfig, type Config } from './config.js';
import { redisAddressOf, type RedisAddress } from './redis.js';

/** The environment this process was started with, before a settings file was read into it. */
let started: Record<string, string | undefined> | null = null;

/**
 * The environment as it was before `bootConfig` read the settings file into it: what a reload
 * reads again (beside the file), and what the start command hands its children (which read the
 * file themselves, so a reload there sees the file's new values rather than inherited ones).
 */
export function startEnvironment(): Record<string, string | undefined> {
  return { ...(started ?? process.env) };
}

/** Reads the settings file (CONFIG_FILE, or `.env` when present) then the environment; stops the process naming a bad setting. */
export function bootConfig(processName: string): Config {
  started ??= { ...process.env };
  try {
    loadDotenv({ path: configFileSetting(process.env), quiet: true });
    return loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${processName}: ${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }
}

/** Where this process finds Redis: REDIS_CLUSTER_NODES or REDIS_SENTINELS when set, else REDIS_URL; stops the process when neither is. */
export function requireRedisUrl(config: Config, processName: string): RedisAddress {
  const address = redisAddressOf(config);
  if (address === null) {
    process.stderr.write(`${processName}: configuration: REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES is required (the start command sets REDIS_URL for the processes it runs)\n`);
    process.exit(78);
  }
  return address;
}
