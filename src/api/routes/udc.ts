/**
 * The UDC v1.0 droplet endpoints that only read (udc-droplet-response-standards.md and
 * multi-cloud-manager-api.md): `/capabilities`, `/state`, `/dependencies`, `/version`. Any
 * authenticated caller (bearer token or API key) may read them; their errors come in the
 * seeds' `{"detail": …}` shape. `/health`, public, is in system.ts.
 */
import express from 'express';
import type { CoreContext } from '../../core/context.js';
import type { ApiMetrics } from '../../core/metrics/index.js';
import { buildInfo } from '../../core/udc/build-info.js';
import { dependencyReport } from '../../core/udc/dependencies.js';
import { capabilities, versionInfo } from '../../core/udc/identity.js';
import { CpuMeter, processState } from '../../core/udc/process-state.js';
import { RequestRates } from '../../core/udc/request-rates.js';
import { detailError as detail, detailRouter } from '../detail-router.js';
import type { OpenApiRegistry } from '../openapi.js';
import { routeMounter, type RouteDeps } from '../route.js';
import type { JsonSchema } from '../validation.js';

// Case-insensitive and with an optional trailing slash, as the router matches routes.
const UDC_PATH = /^\/(capabilities|state|dependencies|version)\/?$/i;

const errors = {
  401: { description: 'Could not validate credentials: no valid bearer token or API key', schema: detail },
};

const str: JsonSchema = { type: 'string' };
const strings: JsonSchema = { type: 'array', items: str };

const capabilitiesSchema: JsonSchema = {
  type: 'object',
  required: ['version', 'udc_version', 'features', 'dependencies', 'metadata'],
  properties: {
    version: { type: 'string', description: "The engine's package version" },
    udc_version: { type: 'string', description: 'The UDC specification version this droplet follows' },
    features: strings,
    dependencies: { ...strings, description: 'What this droplet depends on (see /dependencies)' },
    backward_compatible: { ...strings, description: 'Earlier UDC versions still understood' },
    metadata: {
      type: 'object',
      required: ['build_date', 'commit_hash', 'environment'],
      properties: { build_date: str, commit_hash: str, environment: str },
    },
  },
};

const stateSchema: JsonSchema = {
  type: 'object',
  required: ['cpu_percent', 'memory_mb', 'uptime_seconds', 'requests_total', 'errors_total', 'requests_per_minute', 'errors_last_hour', 'last_restart', 'status'],
  properties: {
    cpu_percent: { type: 'number', description: 'CPU this API process used since the previous reading, as a percentage of one core' },
    memory_mb: { type: 'number', description: 'Resident memory of this API process, in MiB' },
    uptime_seconds: { type: 'integer' },
    requests_total: { type: 'integer', description: 'Requests this process answered (droplet_requests_total)' },
    errors_total: { type: 'integer', description: 'Of those, answered with a 5xx (droplet_errors_total)' },
    requests_per_minute: { type: 'integer', description: 'Requests answered in the last minute' },
    errors_last_hour: { type: 'integer', description: '5xx answers in the last hour' },
    last_restart: { type: 'string', format: 'date-time', description: 'When this process started' },
    status: { type: 'string', enum: ['active'] },
  },
};

const dependencyEntry: JsonSchema = {
  type: 'object',
  required: ['id', 'name', 'status'],
  properties: {
    id: str,
    name: str,
    status: { type: 'string', enum: ['connected', 'available', 'unreachable', 'not_configured'] },
    url: str,
    required: { type: 'boolean', description: 'On entries under `missing`: whether the droplet needs it' },
  },
};

const dependenciesSchema: JsonSchema = {
  type: 'object',
  required: ['required', 'optional', 'missing', 'connected'],
  properties: {
    required: { type: 'array', items: dependencyEntry, description: 'Needed and reachable now' },
    optional: { type: 'array', items: dependencyEntry, description: 'Not needed, reachable now' },
    missing: { type: 'array', items: dependencyEntry, description: 'Unreachable now or not configured' },
    connected: { ...strings, description: 'Ids of the dependencies reachable now' },
  },
};

const versionSchema: JsonSchema = {
  type: 'object',
  required: ['version', 'udc_version', 'build_date', 'commit_hash', 'environment', 'deployed_by', 'droplet_id', 'name', 'jwt_algorithms'],
  properties: {
    version: str,
    udc_version: str,
    build_date: { type: 'string', description: '`YYYY-MM-DD`, or `unknown`' },
    commit_hash: { type: 'string', description: 'The git commit, or `unknown`' },
    environment: str,
    deployed_by: { type: 'string', description: "The droplet's steward" },
    droplet_id: { type: 'integer' },
    name: str,
    droplet_domain: str,
    endpoint: str,
    registry_url: { type: ['string', 'null'] },
    jwks_url: { type: ['string', 'null'] },
    jwt_algorithms: { type: 'object', required: ['outgoing', 'incoming'], properties: { outgoing: str, incoming: str } },
    node_version: str,
  },
};

export interface UdcRouterDeps {
  ctx: CoreContext;
  version: string;
  registry: OpenApiRegistry;
  /** The request guards every router runs first (path parameters, JSON body). */
  guards: express.RequestHandler[];
  /** The API's metrics, whose request and error counters `/state` reads. */
  metrics: ApiMetrics;
  mount: RouteDeps;
}

export function udcRouter(deps: UdcRouterDeps): express.Router {
  const { ctx, version } = deps;
  return detailRouter(UDC_PATH, deps.guards, ctx.logger, (router) => fillUdcRouter(router, deps));
}

function fillUdcRouter(router: express.Router, deps: UdcRouterDeps): void {
  const { ctx, version } = deps;
  const route = routeMounter(router, deps.registry, deps.mount);
  const tag = 'udc';
  // The build (git commit and date) is read once, now, rather than on the first request.
  buildInfo(ctx.config.droplet);
  const cpu = new CpuMeter();
  const rates = new RequestRates(deps.metrics.droplet);
  // Sampling ends when the API closes.
  ctx.closers.push(() => rates.stop());

  route({
    method: 'GET', path: '/capabilities', operationId: 'getCapabilities', tag, summary: 'What this droplet can do',
    description: 'The engine version, the UDC version it follows, its features and dependencies, and its build (date, commit, environment).',
    responses: { 200: { description: 'Capabilities', schema: capabilitiesSchema }, ...errors },
    handler: async () => ({ status: 200, body: capabilities(ctx.config, version) }),
  });

  route({
    method: 'GET', path: '/state', operationId: 'getState', tag, summary: "This API process's resource use and request counts",
    description: 'CPU and memory of this API process, its uptime and start time, the requests it answered (in total and in the last minute) and its 5xx answers (in total and in the last hour). Each API replica answers for itself.',
    responses: { 200: { description: 'State', schema: stateSchema }, ...errors },
    handler: async () => ({ status: 200, body: await processState(cpu, rates) }),
  });

  route({
    method: 'GET', path: '/dependencies', operationId: 'getDependencies', tag, summary: 'Dependencies and whether each is reachable now',
    description: 'Redis (required), the mesh registry (`REGISTRY_URL`, optional) and each peer of `MESH_PEERS` (by its droplet id; required or optional as its entry says), each checked now with a short timeout, all at once. A reachable dependency is listed under `required` or `optional`; one unreachable or not configured under `missing`, with `required` saying whether the droplet needs it.',
    responses: { 200: { description: 'Dependencies', schema: dependenciesSchema }, ...errors },
    handler: async () => ({ status: 200, body: await dependencyReport(ctx.redis, ctx.config.droplet) }),
  });

  route({
    method: 'GET', path: '/version', operationId: 'getVersion', tag, summary: 'Build and version information',
    description: 'The package version, build date and git commit (read at start), the environment, the droplet identity and registry, and the JWT algorithms (HS256 for tokens this engine signs, RS256 for the mesh tokens it verifies through JWKS).',
    responses: { 200: { description: 'Version', schema: versionSchema }, ...errors },
    handler: async () => ({ status: 200, body: versionInfo(ctx.config, version) }),
  });

}
