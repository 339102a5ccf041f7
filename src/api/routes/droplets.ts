/**
 * The droplets API (droplets-kubevirt-api.md): `/api/v1/droplets` and its sub-resources, a
 * compatibility surface over the engine for clients written against that document. Droplets
 * are the engine's servers on DROPLETS_PROVIDER; every change is an engine operation made
 * through the same services as `/v1/servers` (permissions per workspace, catalogue checks,
 * quotas, one lane per server, cancel), with `Idempotency-Key` honoured on every change.
 * Errors come in the `{"detail": …}` shape of the seeds' other droplet endpoints: 401 "Could
 * not validate credentials", 403 "Not enough permissions", 422 `[{type, loc, msg}]`.
 */
import express from 'express';
import { catalogFor, type CoreContext } from '../../core/context.js';
import { requestDropletAction, requestDropletCreate, requestDropletDelete, requestDropletResize } from '../../core/droplets/requests.js';
import { dropletEvents } from '../../core/droplets/events.js';
import { findDroplet } from '../../core/droplets/find.js';
import { listDroplets } from '../../core/droplets/list.js';
import { dropletMetrics, providerMetricsReader } from '../../core/droplets/metrics.js';
import type { Access } from '../../core/auth/access.js';
import { dropletOfCreate, type Droplet } from '../../core/droplets/view.js';
import { ErrorCodes, EngineError } from '../../common/errors.js';
import { IDEMPOTENCY_HEADER, IdempotencyStore, parseIdempotencyKey } from '../../core/idempotency.js';
import type { Operation } from '../../core/operations/model.js';
import { refuseIdempotencyKey, requestServerConsole } from '../../core/servers/console.js';
import type { Provider, ProviderName } from '../../common/provider.js';
import { operationLocation } from '../accepted.js';
import { detailRouter } from '../detail-router.js';
import type { OpenApiRegistry } from '../openapi.js';
import { routeMounter, type RouteDeps, type RouteReply } from '../route.js';
import { pageHeaders } from '../schemas/common.js';
import {
  consoleSchema,
  createDropletBody,
  detail,
  dropletActionBody,
  dropletActionSchema,
  dropletEventsQuery,
  dropletIdParams,
  dropletSchema,
  eventSchema,
  listDropletsQuery,
  metricsSchema,
  resizeDropletBody,
} from './droplets-schemas.js';
import { runDropletIdempotently } from './droplets-idempotency.js';

// Case-insensitive and with an optional trailing slash, as the router matches routes.
const DROPLETS_PATH = /^\/api\/v1\/droplets(\/[^/]+(\/(actions|console|metrics|events))?)?\/?$/i;

const BASE = '/api/v1/droplets';

/** Said in the description of every change, beside the header its route declares (`keyed`). */
const KEYED_NOTE = 'Takes an `Idempotency-Key` header: the same key with the same body answers with the original response (and `Idempotent-Replayed: true`) instead of making another operation, even when both arrive at once; with a different body, 422.';

const errors = {
  401: { description: 'Could not validate credentials', schema: detail },
  403: { description: 'Not enough permissions', schema: detail },
  422: { description: 'A field is missing or wrong: `detail` lists each as {type, loc, msg}', schema: detail },
};
const notFound = { 404: { description: 'No such droplet (or one you may not see)', schema: detail } };
const badRequest = { 400: { description: 'A request whose form is broken (a path parameter that does not decode, a body nested too deep)', schema: detail } };

export interface DropletsRouterDeps {
  ctx: CoreContext;
  registry: OpenApiRegistry;
  guards: express.RequestHandler[];
  mount: RouteDeps;
  providers: Map<ProviderName, Provider>;
}

export function dropletsRouter(deps: DropletsRouterDeps): express.Router {
  return detailRouter(DROPLETS_PATH, deps.guards, deps.ctx.logger, (router) => fillDropletsRouter(router, deps));
}

/** A change accepted: 202, where to follow its operation, and the answer's body. */
function accepted(op: Operation, body: unknown): Extract<RouteReply, { status: number }> {
  return { status: 202, body, headers: { Location: operationLocation(op) } };
}

function created(droplet: Droplet): Extract<RouteReply, { status: number }> {
  return {
    status: 201,
    body: droplet,
    headers: { Location: `${BASE}/${droplet.id}`, Link: `<${operationLocation({ id: droplet.operation_id, type: 'server.create' })}>; rel="operation"` },
  };
}

function actionOf(op: Operation, dropletId: string) {
  const status = op.status === 'pending' ? 'pending' : op.status === 'running' ? 'in-progress' : op.status === 'completed' ? 'completed' : 'errored';
  return { id: op.id, type: op.request.action, status, droplet_id: dropletId, started_at: op.created_at, operation: op };
}

function fillDropletsRouter(router: express.Router, deps: DropletsRouterDeps): void {
  const { ctx, providers } = deps;
  // A malformed Idempotency-Key is a broken request, like a body that is not JSON: refused before
  // anything else is looked at, as the /v1 routes do before validating the rest.
  router.use((req, _res, next) => {
    if (req.method === 'GET' || req.method === 'HEAD') return next();
    try {
      parseIdempotencyKey(req.headers[IDEMPOTENCY_HEADER.toLowerCase()]);
      next();
    } catch (err) {
      next(err);
    }
  });
  const route = routeMounter(router, deps.registry, deps.mount);
  const catalogue = catalogFor(ctx, providers);
  const usage = providerMetricsReader(ctx, providers);
  const answers = new IdempotencyStore(ctx.redis, ctx.keys, ctx.config.idempotencyTtlSeconds, ctx.logger);
  const tag = 'droplets';

  /** What a change answers when its key names an operation whose answer never went out. */
  const replayChange = async (op: Operation, dropletId: string, access: Access): Promise<Extract<RouteReply, { status: number }>> => {
    if (op.type === 'server.action') return accepted(op, actionOf(op, dropletId));
    // A deleted droplet is no longer found: its answer is then what is left of it, its id and the operation.
    const found = await findDroplet(ctx, dropletId, access, 'server_read').catch(() => null);
    const status = op.type === 'server.resize' ? 'resizing' : 'deleting';
    return accepted(op, found ? { ...found.droplet, status, operation_id: op.id } : { id: dropletId, status, operation_id: op.id });
  };

  route({
    method: 'GET', path: BASE, operationId: 'listDroplets', tag, permission: 'server_read', summary: 'List droplets',
    description: 'The droplets you may read, newest first; `project_id` keeps those of one project (an engine workspace). Creates still in flight come first on the first page. Further pages follow the `Link` header (rel="next").',
    query: listDropletsQuery,
    responses: { 200: { description: 'One page of droplets', schema: { type: 'array', items: dropletSchema } }, ...badRequest, ...errors },
    handler: async ({ query, path, access }) => {
      const page = await listDroplets(ctx, access, { project: query.project_id, limit: query.limit, cursor: query.cursor ?? null });
      return { status: 200, body: page.items, headers: pageHeaders(path, page.next) };
    },
  });

  route({
    method: 'POST', path: BASE, operationId: 'createDroplet', keyed: true, tag, permission: 'server_create', summary: 'Create a droplet',
    description: [
      'Answers 201 with the droplet in status `provisioning` at once; a `server.create` operation on DROPLETS_PROVIDER makes it. `Location` is the droplet; `Link: rel="operation"` (and `operation_id`) the operation, which `POST /v1/operations/{id}/cancel` cancels.',
      '`image` takes the slugs ubuntu-20-04, ubuntu-22-04, ubuntu-24-04 and debian-12 on every provider (or a provider\'s own image id); `plan_id` and `region` are the provider\'s own (DigitalOcean: `s-2vcpu-2gb`, `nyc1`), checked against the cached catalogue.',
      KEYED_NOTE,
    ].join('\n\n'),
    body: createDropletBody,
    responses: {
      201: { description: 'Accepted and being made: the droplet, `provisioning`', schema: dropletSchema },
      ...badRequest,
      404: { description: 'No such project', schema: detail },
      ...errors,
      503: { description: "The droplets' provider is not configured", schema: detail },
    },
    handler: async (input) =>
      runDropletIdempotently(
        answers,
        input,
        'POST',
        async (binding) => created(await requestDropletCreate(ctx, input.body, { ...input.actor, idempotency: binding }, catalogue)),
        async (op) => created(dropletOfCreate(op)),
        ctx.store,
      ),
  });

  route({
    method: 'GET', path: `${BASE}/{id}`, operationId: 'getDroplet', tag, permission: 'server_read', summary: 'Get a droplet',
    description: 'The full droplet: addresses, plan, status (`provisioning` while its create runs, `resizing`, `rebooting`, `deleting`… while an operation on it runs), the engine server and the last operation.',
    params: dropletIdParams,
    responses: { 200: { description: 'The droplet', schema: dropletSchema }, ...badRequest, ...notFound, ...errors },
    handler: async ({ params, access }) => ({ status: 200, body: (await findDroplet(ctx, params.id, access, 'server_read')).droplet }),
  });

  route({
    method: 'PATCH', path: `${BASE}/{id}`, operationId: 'resizeDroplet', keyed: true, tag, permission: 'server_action', summary: 'Resize a droplet',
    description: 'Answers 202 with the droplet, `resizing`, at once; a `server.resize` operation (`Location`) changes the plan, powering the droplet off and on again where the provider needs it.\n\n' + KEYED_NOTE,
    params: dropletIdParams, body: resizeDropletBody,
    responses: { 202: { description: 'Accepted: the droplet, `resizing`', schema: dropletSchema }, ...badRequest, ...notFound, 409: { description: 'The droplet is still being made', schema: detail }, ...errors },
    handler: async (input) =>
      runDropletIdempotently(
        answers,
        input,
        'PATCH',
        async (binding) => {
          const change = await requestDropletResize(ctx, input.params.id, input.body.plan_id, { ...input.actor, idempotency: binding }, catalogue);
          return accepted(change.operation, change.droplet);
        },
        (op) => replayChange(op, input.params.id, input.access),
        ctx.store,
      ),
  });

  route({
    method: 'DELETE', path: `${BASE}/{id}`, operationId: 'deleteDroplet', keyed: true, tag, permission: 'server_delete', summary: 'Delete a droplet',
    description: 'Answers 202 with the droplet, `deleting`, at once; a `server.delete` operation (`Location`) destroys it at its provider. A droplet still being made has its create cancelled instead, which removes what the provider had half made.\n\n' + KEYED_NOTE,
    params: dropletIdParams,
    responses: { 202: { description: 'Accepted: the droplet, `deleting`', schema: dropletSchema }, ...badRequest, ...notFound, 409: { description: 'The droplet was never made', schema: detail }, ...errors },
    handler: async (input) =>
      runDropletIdempotently(
        answers,
        input,
        'DELETE',
        async (binding) => {
          const change = await requestDropletDelete(ctx, input.params.id, { ...input.actor, idempotency: binding });
          return accepted(change.operation, change.droplet);
        },
        (op) => replayChange(op, input.params.id, input.access),
        ctx.store,
      ),
  });

  route({
    method: 'POST', path: `${BASE}/{id}/actions`, operationId: 'dropletAction', keyed: true, tag, permission: 'server_action', summary: 'Reboot, power off or power on a droplet',
    description: 'Answers 202 with the action at once: `id` is the `server.action` operation that carries it (`Location`). Actions on one droplet run one at a time, in order.\n\n' + KEYED_NOTE,
    params: dropletIdParams, body: dropletActionBody,
    responses: { 202: { description: 'Accepted: the action', schema: dropletActionSchema }, ...badRequest, ...notFound, 409: { description: 'The droplet is still being made', schema: detail }, ...errors },
    handler: async (input) =>
      runDropletIdempotently(
        answers,
        input,
        'POST',
        async (binding) => {
          const change = await requestDropletAction(ctx, input.params.id, input.body.type, { ...input.actor, idempotency: binding });
          return accepted(change.operation, actionOf(change.operation, change.droplet.id));
        },
        (op) => replayChange(op, input.params.id, input.access),
        ctx.store,
      ),
  });

  route({
    method: 'POST', path: `${BASE}/{id}/console`, operationId: 'getDropletConsole', tag, permission: 'server_console', summary: "A droplet's console",
    description: "Asks the droplet's provider for console access now: a VNC WebSocket URL (`websocket_url`, Hetzner) or a console URL (Vultr). Its password is shown only here, never stored, so an `Idempotency-Key` is refused. DigitalOcean and UpCloud offer no console through their APIs: 501.",
    params: dropletIdParams,
    responses: {
      200: { description: 'Console access (`Cache-Control: no-store`)', schema: consoleSchema },
      ...badRequest,
      ...notFound,
      409: { description: 'The droplet is still being made', schema: detail },
      ...errors,
      501: { description: "The droplet's provider offers no console through its API", schema: detail },
    },
    handler: async ({ params, access, headers }) => {
      refuseIdempotencyKey(headers);
      const found = await findDroplet(ctx, params.id, access, 'server_console');
      if (!found.server) throw new EngineError(ErrorCodes.CONFLICT, `Droplet ${params.id} is still being made; its console opens once it runs`);
      const console = await requestServerConsole(ctx, providers, found.server.id, access);
      const body = {
        droplet_id: found.droplet.id,
        type: console.type,
        url: console.url,
        ...(console.type === 'vnc-websocket' ? { websocket_url: console.url } : {}),
        ...(console.password !== undefined ? { password: console.password } : {}),
      };
      return { status: 200, body, headers: { 'Cache-Control': 'no-store' } };
    },
  });

  route({
    method: 'GET', path: `${BASE}/{id}/metrics`, operationId: 'getDropletMetrics', tag, permission: 'server_read', summary: "A droplet's CPU, memory and disk figures",
    description: "`cpu_usage_percent` and `memory_usage_bytes` are the latest readings of the provider's monitoring API over the last five minutes, `disk_read_bytes` and `disk_write_bytes` what was read and written in them, where the provider measures it (DigitalOcean: CPU and memory; Hetzner: CPU and disk); otherwise null. `memory_total_bytes`, `vcpus` and `disk_total_bytes` are the plan's, from the provider catalogue. `sources` says where each figure came from.",
    params: dropletIdParams,
    responses: { 200: { description: 'The figures', schema: metricsSchema }, ...badRequest, ...notFound, 409: { description: 'The droplet is still being made', schema: detail }, ...errors },
    handler: async ({ params, access }) => {
      const found = await findDroplet(ctx, params.id, access, 'server_read');
      if (!found.server) throw new EngineError(ErrorCodes.CONFLICT, `Droplet ${params.id} is still being made; it has no figures yet`);
      return { status: 200, body: await dropletMetrics(catalogue, found.server, usage) };
    },
  });

  route({
    method: 'GET', path: `${BASE}/{id}/events`, operationId: 'listDropletEvents', tag, permission: 'server_read', summary: 'What happened to a droplet',
    description: 'Events in the Kubernetes style (`type` Normal or Warning, `reason`, `message`, `timestamp`) from the engine operations that touched the droplet (create, power actions, resizes, delete), newest first. A page holds the events of up to `limit` operations; further pages follow the `Link` header (rel="next").',
    params: dropletIdParams, query: dropletEventsQuery,
    responses: { 200: { description: 'One page of events', schema: { type: 'array', items: eventSchema } }, ...badRequest, ...notFound, ...errors },
    handler: async ({ params, query, access, path }) => {
      const found = await findDroplet(ctx, params.id, access, 'server_read');
      const page = await dropletEvents(ctx, found, query.limit, query.cursor ?? null);
      return { status: 200, body: page.items, headers: pageHeaders(path, page.next) };
    },
  });
}
