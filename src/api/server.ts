import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiKeyStore } from '../core/auth/api-keys.js';
import { Authenticator } from '../core/auth/authenticate.js';
import { ExternalTokenVerifier } from '../core/auth/external-tokens.js';
import { TokenService } from '../core/auth/tokens.js';
import { UserDirectory } from '../core/auth/users.js';
import { AuditLog } from '../core/audit.js';
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
  await users.bootstrap(announceAdminPassword);
  for (const name of config.workspaces) await ctx.workspaces.create(name);
  const tokens = await TokenService.create(config, ctx.redis, ctx.keys);
  const apiKeys = new ApiKeyStore(ctx.redis, ctx.keys);
  const external = config.auth.jwks ? new ExternalTokenVerifier({ jwksUrl: config.auth.jwks.url, issuer: config.auth.jwks.issuer, audience: config.auth.jwks.audience }) : null;
  const authenticator = new Authenticator(tokens, users, apiKeys, external);
  const audit = new AuditLog(ctx.redis, ctx.keys, config.auth.auditRetentionSeconds);
  // The API's listings and checks spend the same provider budgets as the workers.
  const providers = createProviders(
    config.providers,
    { requestTimeoutMs: config.worker.requestTimeoutMs, maxConcurrency: config.worker.providerConcurrency },
    createRequestBudgets(ctx.redis, ctx.keys, config),
  );
  const hub = new EventHub(redisUrl, ctx.keys, logger);
  const app = createApp({ ctx, tokens, users, apiKeys, authenticator, audit, providers, hub, version: VERSION });
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
