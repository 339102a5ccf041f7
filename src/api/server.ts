import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TokenService } from '../core/auth/tokens.js';
import { UserDirectory } from '../core/auth/users.js';
import type { Config } from '../core/config.js';
import { closeCoreContext, createCoreContext, type CoreContext } from '../core/context.js';
import type { Logger } from '../core/logger.js';
import { VERSION } from '../core/version.js';
import { createApp } from './app.js';
import { EventHub } from '../core/events/hub.js';
import { createProviders } from '../providers/registry.js';
import { createRequestBudgets } from '../core/rate-budget/index.js';

export interface RunningApi {
  url: string;
  ctx: CoreContext;
  close(): Promise<void>;
}

/**
 * Starts the API on the configured port. `announceAdminPassword` receives the generated
 * admin password on the very first start, once; nothing else ever sees it.
 */
export async function startApi(
  config: Config,
  redisUrl: string,
  logger: Logger,
  announceAdminPassword: (password: string) => void,
): Promise<RunningApi> {
  const ctx = createCoreContext(config, redisUrl, logger, 'api');
  const users = new UserDirectory(config, ctx.redis, ctx.keys);
  await users.ensureAdmin(announceAdminPassword);
  const tokens = await TokenService.create(config, ctx.redis, ctx.keys);
  // The API's listings and checks spend the same provider budgets as the workers.
  const providers = createProviders(
    config.providers,
    { requestTimeoutMs: config.worker.requestTimeoutMs, maxConcurrency: config.worker.providerConcurrency },
    createRequestBudgets(ctx.redis, ctx.keys, config),
  );
  const hub = new EventHub(redisUrl, ctx.keys, logger);
  const app = createApp({ ctx, tokens, users, providers, hub, version: VERSION });
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(config.port, config.host, () => resolve(s));
    s.once('error', reject);
  });
  server.keepAliveTimeout = 65000;
  const { port } = server.address() as AddressInfo;
  const host = config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
  return {
    url: `http://${host}:${port}`,
    ctx,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 2000).unref();
      });
      await hub.close();
      await closeCoreContext(ctx);
    },
  };
}
