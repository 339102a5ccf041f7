import type { Redis } from 'ioredis';
import type { Keys } from '../keys.js';
import type { Logger } from '../logger.js';
import { ConfigError, type ConfigReloader } from './config-reload.js';
import { listenForReloads } from './reload-announcement.js';

/**
 * Reloads this process's configuration whenever another process announces a reload (a worker,
 * or an API replica that was not the one asked). It logs what changed by name, never a value;
 * a configuration that does not load here changes nothing here. Resolves once subscribed.
 */
export function followReloads(subscriber: Redis, keys: Keys, logger: Logger, reloader: ConfigReloader): Promise<void> {
  return listenForReloads(subscriber, keys, (announcement) => {
    try {
      const { changed, needsRestart } = reloader.reload();
      logger.info('configuration reloaded', { changed, needs_restart: needsRestart, requested_by: announcement.requested_by, trace_id: announcement.trace_id });
    } catch (err) {
      const setting = err instanceof ConfigError ? err.setting : undefined;
      logger.warn('configuration reload refused; the configuration in force stays', { setting, error: setting ? undefined : (err as Error).message, trace_id: announcement.trace_id });
    }
  });
}
