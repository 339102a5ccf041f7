import express from 'express';
import swaggerUi from 'swagger-ui-express';
import type { TokenService } from '../core/auth/tokens.js';
import type { UserDirectory } from '../core/auth/users.js';
import type { CoreContext } from '../core/context.js';
import { errorHandler, notFoundHandler } from './middleware/errors.js';
import { traceId } from './middleware/trace.js';
import { OpenApiRegistry } from './openapi.js';
import { routeMounter } from './route.js';
import { authRoutes } from './routes/auth.js';
import { operationRoutes } from './routes/operations.js';
import { serverRoutes } from './routes/servers.js';
import { catalogRoutes } from './routes/catalog.js';
import { Catalog } from '../core/catalog.js';
import type { Provider, ProviderName } from '../providers/types.js';
import { systemRoutes } from './routes/system.js';

export interface ApiDeps {
  ctx: CoreContext;
  /** Adapters for read-only calls made while the client waits (catalogue, listings, console). */
  providers: Map<ProviderName, Provider>;
  tokens: TokenService;
  users: UserDirectory;
  version: string;
}

export function createApp(deps: ApiDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(traceId);
  // Any content type is read as JSON: a body that is not JSON gets a clear 400, not silence.
  app.use(express.json({ limit: '256kb', type: () => true }));

  const registry = new OpenApiRegistry();
  const router = express.Router();
  const route = routeMounter(router, registry, deps.tokens);
  systemRoutes(route, deps.ctx, deps.version, Date.now());
  authRoutes(route, deps.users, deps.tokens);
  serverRoutes(route, deps.ctx, deps.providers);
  catalogRoutes(route, new Catalog(deps.ctx.redis, deps.ctx.keys, deps.providers, deps.ctx.config.catalogTtlSeconds));
  operationRoutes(route, deps.ctx);
  app.use(router);

  const document = registry.document(deps.version);
  app.get('/openapi.json', (_req, res) => void res.json(document));
  app.use('/docs', swaggerUi.serve, swaggerUi.setup(undefined, { swaggerOptions: { url: '/openapi.json' } }));

  app.use(notFoundHandler);
  app.use(errorHandler(deps.ctx.logger));
  return app;
}
