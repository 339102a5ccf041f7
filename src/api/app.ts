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
import { serverSpans } from './middleware/server-span.js';
import { logClientErrors } from './middleware/client-errors.js';
import { jsonBody, rejectMalformedPathParams } from './middleware/request-guards.js';
import { docsContentSecurityPolicy, securityHeaders } from './middleware/security-headers.js';
import { OpenApiRegistry } from './openapi.js';
import { routeMounter } from './route.js';
import { ApiLimits } from './middleware/rate-limit.js';
import { IdempotencyStore } from '../core/idempotency.js';
import { authRoutes } from './routes/auth.js';
import { operationRoutes } from './routes/operations.js';
import { workflowRoutes } from './routes/workflows.js';
import { serverRoutes } from './routes/servers.js';
import { catalogRoutes } from './routes/catalog.js';
import { eventRoutes } from './routes/events.js';
import { taskservRoutes } from './routes/taskservs.js';
import { intakeRoutes } from './routes/intake.js';
import type { EventHub } from '../core/events/hub.js';
import { multiCloudRoutes } from './routes/multi-cloud.js';
import { detailRouter } from './detail-router.js';
import { catalogFor } from '../core/context.js';
import type { Provider, ProviderName } from '../common/provider.js';
import { systemRoutes } from './routes/system.js';
import { probeRoutes } from './routes/probes.js';
import { userRoutes } from './routes/users.js';
import { apiKeyRoutes } from './routes/api-keys.js';
import { workspaceRoutes } from './routes/workspaces.js';
import { auditRoutes } from './routes/audit.js';
import { overviewRoutes } from './routes/overview.js';
import { meRoutes } from './routes/me.js';
import { dashboard } from './ui.js';
import { ApiMetrics } from '../core/metrics/index.js';
import { httpMetrics } from './middleware/http-metrics.js';
import { prometheusRoutes } from './routes/prometheus.js';
import { udcRouter } from './routes/udc.js';
import { udcLogsRouter } from './routes/udc-logs.js';
import { udcControlRouter } from './routes/udc-control.js';
import { refuseWhileDraining } from './middleware/refuse-while-draining.js';
import { RecordingControl, type InstanceControl } from '../core/control/instance-control.js';
import { fixedConfigSource, type ConfigSource } from '../core/control/config-source.js';
import { udcMessagesRouter } from './routes/udc-messages.js';
import { udcSendRouter } from './routes/udc-send.js';
import { webhookRoutes } from './routes/webhooks.js';
import { outboxQueue } from '../core/outbox/queue.js';
import { dropletsRouter } from './routes/droplets.js';

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
  /**
   * How this instance stops when asked over the API, and where its settings are read again
   * (POST /shutdown, /emergency-stop, /reload-config). Absent: the requests are recorded, nothing stops, nothing reloads.
   */
  control?: { instance: InstanceControl; configSource: ConfigSource };
  /** Made before the app when the providers' calls are to be counted in it (server.ts); else made here. */
  metrics?: ApiMetrics;
}

// Case-insensitive, as the router matches routes.
const MULTI_CLOUD_PATH = /^\/(do|hetzner|vultr|upcloud|multi)\//i;

/** The largest JSON body a route reads; a larger one (decompressed) is a 413. */
const BODY_LIMIT = '256kb';

/** Swagger UI at `/docs`, reading `/openapi.json`; no validator badge (an image from swagger.io the CSP would block). */
const DOCS_OPTIONS = { swaggerOptions: { url: '/openapi.json', validatorUrl: null } };

export function createApp(deps: ApiDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', deps.ctx.config.apiLimits.trustProxy);
  const limits = ApiLimits.forContext(deps.ctx);
  app.use(securityHeaders());
  const metrics = deps.metrics ?? new ApiMetrics(deps.ctx, deps.ctx.config.keyPrefix);
  app.use(httpMetrics(metrics));
  // The request's span first: a trace id not given by the caller is then the span's.
  app.use(serverSpans);
  app.use(traceId);
  app.use(logClientErrors(deps.ctx.logger));
  // Once a scheduled shutdown has begun: readiness 503, new mutating requests 503.
  const control = deps.control ?? { instance: new RecordingControl(), configSource: fixedConfigSource({}) };
  app.use(refuseWhileDraining(control.instance));
  // The one place answers are marked uncacheable: they are per caller (tokens, inventories,
  // operations), so no shared or browser cache may keep them. Swagger UI's files under /docs
  // are the same for everyone and keep their own caching.
  app.use((req, res, next) => {
    if (req.path !== '/docs' && !req.path.startsWith('/docs/')) res.setHeader('Cache-Control', 'no-store');
    next();
  });
  // Each router reads the body itself (as JSON, any content type; see request-guards.ts) and
  // checks its path parameters' percent-encoding, so a malformed request is answered in that
  // router's error shape. `documentedPaths` is read at the first request, once every route is declared.
  let documentedPaths: string[] = [];
  const guards = [rejectMalformedPathParams(() => documentedPaths), jsonBody(BODY_LIMIT)];

  const registry = new OpenApiRegistry();
  // The multi-cloud manager's endpoints answer errors in that contract's {"detail": …} shape.
  const audit = { log: deps.audit, logger: deps.ctx.logger };
  // How every seed-family route authenticates, audits and spends the caller's budget.
  const mount = { authenticator: deps.authenticator, audit, limits };
  app.use(
    detailRouter(MULTI_CLOUD_PATH, guards, deps.ctx.logger, (router) =>
      multiCloudRoutes(routeMounter(router, registry, mount), deps.ctx, deps.providers, deps.hub),
    ),
  );
  app.use(udcRouter({ ctx: deps.ctx, version: deps.version, registry, guards, metrics, mount }));
  app.use(udcLogsRouter({ ctx: deps.ctx, registry, guards, mount }));
  app.use(udcControlRouter({ ctx: deps.ctx, registry, guards, mount, control: control.instance, configSource: control.configSource, limits }));
  app.use(udcMessagesRouter({ ctx: deps.ctx, version: deps.version, registry, guards, providers: deps.providers, mount }));
  // Mesh messages (`/send`) and webhook events leave through the outbox, whose workers deliver them.
  const outbox = outboxQueue(deps.ctx.redis, deps.ctx.keys);
  // Its errors reach the callers of its commands (a /send answers them); a Redis that is gone the API's other connections report.
  outbox.on('error', () => undefined);
  app.use(udcSendRouter({ ctx: deps.ctx, registry, guards, queue: outbox, mount }));
  // The droplets API (/api/v1/droplets), in the {"detail": …} shape of the seeds' droplet endpoints.
  app.use(dropletsRouter({ ctx: deps.ctx, registry, guards, providers: deps.providers, mount }));
  // The operators' dashboard (dist/ui, built by `npm run build:ui`), under its own content-security policy.
  app.use('/ui', dashboard());

  const router = express.Router();
  router.use(...guards);
  const idempotency = new IdempotencyStore(deps.ctx.redis, deps.ctx.keys, deps.ctx.config.idempotencyTtlSeconds, deps.ctx.logger);
  const route = routeMounter(router, registry, { authenticator: deps.authenticator, idempotency: { store: idempotency, operations: deps.ctx.store, config: deps.ctx.config }, audit, limits });
  const catalog = catalogFor(deps.ctx, deps.providers);
  systemRoutes(route, deps.ctx, deps.version, Date.now());
  prometheusRoutes(route, metrics, () => deps.ctx.config.metricsToken, deps.authenticator);
  probeRoutes(route, deps.ctx);
  authRoutes(route, deps.users, deps.tokens);
  meRoutes(route);
  userRoutes(route, deps.users, deps.apiKeys);
  apiKeyRoutes(route, deps.apiKeys);
  workspaceRoutes(route, deps.ctx, catalog);
  webhookRoutes(route, deps.ctx, outbox);
  auditRoutes(route, deps.audit);
  serverRoutes(route, deps.ctx, deps.providers);
  catalogRoutes(route, catalog);
  operationRoutes(route, deps.ctx, deps.hub);
  workflowRoutes(route, deps.ctx, catalog);
  eventRoutes(route, deps.ctx, deps.hub);
  taskservRoutes(route, deps.ctx);
  intakeRoutes(route, deps.ctx);
  overviewRoutes(route, deps.ctx);
  app.use(router);

  const document = registry.document(deps.version);
  documentedPaths = Object.keys(document.paths as object);
  app.get('/openapi.json', (_req, res) => void res.json(document));
  // The page's own policy (per route, in place of the API's), allowing what this very page loads.
  app.use('/docs', docsContentSecurityPolicy(swaggerUi.generateHTML(undefined, DOCS_OPTIONS)), swaggerUi.serve, swaggerUi.setup(undefined, DOCS_OPTIONS));

  app.use(notFoundHandler);
  app.use(errorHandler(deps.ctx.logger));
  return app;
}
