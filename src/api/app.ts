import express from 'express';
import swaggerUi from 'swagger-ui-express';
import type { ApiKeyStore } from '../core/auth/api-keys.js';
import type { Authenticator } from '../core/auth/authenticate.js';
import type { TokenService } from '../core/auth/tokens.js';
import type { UserDirectory } from '../core/auth/users.js';
import type { AuditLog } from '../core/audit.js';
import type { CoreContext } from '../core/context.js';
import { errorHandler, notFoundHandler } from './middleware/errors.js';
import { traceId } from './middleware/trace.js';
import { OpenApiRegistry } from './openapi.js';
import { routeMounter } from './route.js';
import { IdempotencyStore } from '../core/idempotency.js';
import { authRoutes } from './routes/auth.js';
import { operationRoutes } from './routes/operations.js';
import { workflowRoutes } from './routes/workflows.js';
import { serverRoutes } from './routes/servers.js';
import { catalogRoutes } from './routes/catalog.js';
import { eventRoutes } from './routes/events.js';
import { taskservRoutes } from './routes/taskservs.js';
import type { EventHub } from '../core/events/hub.js';
import { multiCloudRoutes } from './routes/multi-cloud.js';
import { detailErrorHandler } from './middleware/detail-errors.js';
import { catalogFor } from '../core/context.js';
import type { Provider, ProviderName } from '../providers/types.js';
import { systemRoutes } from './routes/system.js';
import { userRoutes } from './routes/users.js';
import { apiKeyRoutes } from './routes/api-keys.js';
import { workspaceRoutes } from './routes/workspaces.js';
import { auditRoutes } from './routes/audit.js';

export interface ApiDeps {
  ctx: CoreContext;
  /** Adapters for read-only calls made while the client waits (catalogue, listings, console). */
  providers: Map<ProviderName, Provider>;
  /** Tails the event stream for long-polls and server-sent events. */
  hub: EventHub;
  tokens: TokenService;
  users: UserDirectory;
  apiKeys: ApiKeyStore;
  authenticator: Authenticator;
  audit: AuditLog;
  version: string;
}

const MULTI_CLOUD_PATH = /^\/(do|hetzner|vultr|upcloud|multi)\//;

export function createApp(deps: ApiDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(traceId);
  // Any content type is read as JSON: a body that is not JSON gets a clear 400, not silence.
  // Parsed inside each router, so a bad body is answered in that router's error shape.
  const jsonBody = express.json({ limit: '256kb', type: () => true });

  const registry = new OpenApiRegistry();
  // The multi-cloud manager's endpoints answer errors in that contract's {"detail": …} shape.
  const multiCloud = express.Router();
  multiCloud.use((req, res, next) => (MULTI_CLOUD_PATH.test(req.path) ? jsonBody(req, res, next) : next()));
  const audit = { log: deps.audit, logger: deps.ctx.logger };
  multiCloudRoutes(routeMounter(multiCloud, registry, { authenticator: deps.authenticator, audit }), deps.ctx, deps.providers, deps.hub);
  multiCloud.use(detailErrorHandler(deps.ctx.logger));
  app.use(multiCloud);

  const router = express.Router();
  router.use(jsonBody);
  const idempotency = new IdempotencyStore(deps.ctx.redis, deps.ctx.keys, deps.ctx.config.idempotencyTtlSeconds, deps.ctx.logger);
  const route = routeMounter(router, registry, { authenticator: deps.authenticator, idempotency: { store: idempotency, operations: deps.ctx.store }, audit });
  const catalog = catalogFor(deps.ctx, deps.providers);
  systemRoutes(route, deps.ctx, deps.version, Date.now());
  authRoutes(route, deps.users, deps.tokens);
  userRoutes(route, deps.users, deps.apiKeys, deps.tokens);
  apiKeyRoutes(route, deps.apiKeys);
  workspaceRoutes(route, deps.ctx, catalog);
  auditRoutes(route, deps.audit);
  serverRoutes(route, deps.ctx, deps.providers);
  catalogRoutes(route, catalog);
  operationRoutes(route, deps.ctx, deps.hub);
  workflowRoutes(route, deps.ctx, catalog);
  eventRoutes(route, deps.ctx, deps.hub);
  taskservRoutes(route, deps.ctx);
  app.use(router);

  const document = registry.document(deps.version);
  app.get('/openapi.json', (_req, res) => void res.json(document));
  app.use('/docs', swaggerUi.serve, swaggerUi.setup(undefined, { swaggerOptions: { url: '/openapi.json' } }));

  app.use(notFoundHandler);
  app.use(errorHandler(deps.ctx.logger));
  return app;
}
