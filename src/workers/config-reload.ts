import type { Redis } from 'ioredis';
import { startEnvironment } from '../core/boot.js';
import { ConfigReloader } from '../core/control/config-reload.js';
import { fileConfigSource } from '../core/control/config-source.js';
import { followReloads } from '../core/control/follow-reloads.js';
import type { CoreContext } from '../core/context.js';

/**
 * A worker's side of POST /reload-config: on the announcement it reads its own settings again
 * (its start environment and the same settings file) and applies the reloadable ones to its
 * live configuration: the log level, the provider accounts' rate limits (the budgets follow
 * them on their next request), the droplet identity and the force-cancel grace. It logs what
 * changed by name, never a value. A configuration that does not load changes nothing here.
 */
export async function listenForConfigReloads(subscriber: Redis, ctx: CoreContext): Promise<void> {
  const reloader = new ConfigReloader(fileConfigSource(startEnvironment(), ctx.config.configFile), ctx.config, (live, changed) => {
    if (changed.includes('LOG_LEVEL')) ctx.logger.level = live.logLevel;
  });
  await followReloads(subscriber, ctx.keys, ctx.logger, reloader);
}
