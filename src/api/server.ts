import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiKeyStore } from '../core/auth/api-keys.js';
import { Authenticator } from '../core/auth/authenticate.js';
import { PeerTokenVerifier } from '../core/auth/peer-tokens.js';
import { ExternalTokenVerifier } from '../core/auth/external-tokens.js';
import { TokenService } from '../core/auth/tokens.js';
import { UserDirectory } from '../core/auth/users.js';
import { AuditLog } from '../core/audit.js';
import type { Config } from '../core/config.js';
import { closeCoreContext, createCoreContext, type CoreContext } from '../core/context.js';
import type { Logger } from '../core/logger.js';
import type { RedisAddress } from '../core/redis.js';
import { VERSION } from '../core/version.js';
import { createApp } from './app.js';
import { ProcessInstanceControl } from './instance-control.js';
import type { InstanceControl } from '../core/control/instance-control.js';
import { fileConfigSource, type ConfigSource } from '../core/control/config-source.js';
import { startEnvironment } from '../core/boot.js';
import { EventHub } from '../core/events/hub.js';
import { createProviders } from '../providers/registry.js';
import { createRequestBudgets } from '../core/rate-budget/index.js';
import { RegistryClient } from '../core/udc/registry-client.js';
import { FEATURES } from '../core/udc/identity.js';
import { signerFor } from '../core/udc/proof.js';
import { ApiMetrics } from '../core/metrics/index.js';

export interface StartApiOptions {
  /** How the instance stops when asked over the API; default: this process (see instance-control.ts). A program that starts the API inside itself passes one that does not end it. */
  control?: InstanceControl;
  /** Where a reload reads the settings; default: the start environment and the settings file, as bootConfig read them. */
  configSource?: ConfigSource;
}

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
  redisUrl: RedisAddress,
  logger: Logger,
  announceAdminPassword: (password: string) => void,
  options: StartApiOptions = {},
): Promise<RunningApi> {
  const ctx = createCoreContext(config, redisUrl, logger, 'api');
  const users = new UserDirectory(config, ctx.redis, ctx.keys);
  await users.bootstrap(announceAdminPassword);
  for (const name of config.workspaces) await ctx.workspaces.create(name);
  const tokens = await TokenService.create(config, ctx.redis, ctx.keys);
  // The droplet's signing key, read (or made, once for all replicas) now: a bad DROPLET_SIGNING_KEY_FILE stops the start naming it.
  await signerFor(ctx);
  const apiKeys = new ApiKeyStore(ctx.redis, ctx.keys);
  const external = config.auth.jwks ? new ExternalTokenVerifier({ jwksUrl: config.auth.jwks.url, issuer: config.auth.jwks.issuer, audience: config.auth.jwks.audience }) : null;
  // Peer droplets' own tokens are accepted only from droplets MESH_PEERS lists.
  const peers = config.droplet.meshPeers.length > 0 ? new PeerTokenVerifier(config) : null;
  const authenticator = new Authenticator(tokens, users, apiKeys, external, peers);
  const audit = new AuditLog(ctx.redis, ctx.keys, config.auth.auditRetentionSeconds);
  const metrics = new ApiMetrics(ctx, config.keyPrefix);
  // The API's listings and checks spend the same provider budgets as the workers.
  const providers = createProviders(
    config.providers,
    { requestTimeoutMs: config.worker.requestTimeoutMs, maxConcurrency: config.worker.providerConcurrency, observer: metrics.engine.providerCall },
    createRequestBudgets(ctx.redis, ctx.keys, config),
  );
  const hub = new EventHub(redisUrl, ctx.keys, logger);
  // By default a stop asked over the API stops this process (or the start command's tree), and a reload reads what the entry point read.
  const control = {
    instance: options.control ?? new ProcessInstanceControl(logger),
    configSource: options.configSource ?? fileConfigSource(startEnvironment(), config.configFile),
  };
  const app = createApp({ ctx, tokens, users, apiKeys, authenticator, audit, providers, hub, version: VERSION, metrics, control });
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(config.port, config.host, () => resolve(s));
    s.once('error', reject);
  });
  server.keepAliveTimeout = 65000;
  const { port } = server.address() as AddressInfo;
  const host = config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
  // Joining the mesh happens beside the API, never before it: a registry that is down delays nothing.
  const registry = new RegistryClient({ config, logger, signer: () => signerFor(ctx), version: VERSION, capabilities: FEATURES }).start();
  return {
    url: `http://${host}:${port}`,
    ctx,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 2000).unref();
      });
      await registry.stop();
      await metrics.close();
      await hub.close();
      await closeCoreContext(ctx);
    },
  };
}
