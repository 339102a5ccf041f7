import { config as loadDotenv } from 'dotenv';
import { ConfigError, loadConfig, type Config } from './config.js';

/** Reads `.env` (when present) then the environment; stops the process naming a bad setting. */
export function bootConfig(processName: string): Config {
  loadDotenv({ quiet: true });
  try {
    return loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${processName}: ${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }
}

export function requireRedisUrl(config: Config, processName: string): string {
  if (config.redisUrl === null) {
    process.stderr.write(`${processName}: configuration: REDIS_URL is required (the start command sets it for the processes it runs)\n`);
    process.exit(78);
  }
  return config.redisUrl;
}
