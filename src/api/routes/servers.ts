import { catalogFor, type CoreContext } from '../../core/context.js';
import { refuseIdempotencyKey, requestServerConsole } from '../../core/servers/console.js';
import { getServer, requestServerAction, requestServerCreate, requestServerDelete, requestServerResize } from '../../core/servers/requests.js';
import type { Provider, ProviderName } from '../../common/provider.js';
import { acceptedReply } from '../accepted.js';
import { serverReadingRoutes } from './server-readings.js';
import type { RouteMounter } from '../route.js';
import { errorRef, operationSchema, pageHeaders, serverSchema } from '../schemas/common.js';
import { consoleSchema, createServerBody, deleteServerBody, listServersQuery, resizeServerBody, serverActionBody, serverIdParams } from '../schemas/servers.js';

const accepted = { description: 'Accepted: the operation, pending', schema: operationSchema };

export function serverRoutes(route: RouteMounter, ctx: CoreContext, providers: Map<ProviderName, Provider>): void {
  // Creates and resizes are checked against the cached catalogue at submit: an unknown plan, zone or image is a 400.
  const checks = { catalogue: catalogFor(ctx, providers) };
  route({
    method: 'GET', path: '/v1/servers', operationId: 'listServers', tag: 'servers', summary: 'List the servers the engine manages',
    description: 'From the inventory the engine keeps; no provider is asked. Pages follow the `Link` header (rel="next").',
    permission: 'server_read', query: listServersQuery,
    responses: { 200: { description: 'One page of servers, newest first', schema: { type: 'array', items: serverSchema } } },
    handler: async ({ query, path, access }) => {
      const page = await ctx.inventory.list(query.limit, query.cursor ?? null, { workspace: query.workspace, provider: query.provider, workspaces: access.workspacesWith('server_read') });
      return { status: 200, body: page.items, headers: pageHeaders(path, page.next) };
    },
  });

  route({
    method: 'POST', path: '/v1/servers/create', operationId: 'createServer', tag: 'servers', summary: 'Create a server',
    description: 'Answers 202 with the `server.create` operation, `pending`, at once; a worker creates the server and waits until it runs. Poll `GET /v1/operations/{id}` (or wait with `?wait=30s`) for the outcome, or cancel it with `POST /v1/operations/{id}/cancel`, which also removes a half-made server.',
    permission: 'server_create', body: createServerBody,
    responses: {
      202: accepted,
      400: { description: 'Bad input, including a plan, zone or image the cached provider catalogue does not know', schema: errorRef },
      503: { description: 'The provider is not configured', schema: errorRef },
    },
    handler: async ({ body, actor }) => {
      const op = await requestServerCreate(ctx, body, actor, checks);
      return acceptedReply(op, ctx.config);
    },
  });

  route({
    method: 'GET', path: '/v1/servers/{id}/status', operationId: 'getServer', tag: 'servers', summary: 'One server as the inventory knows it',
    description: 'The server as the engine last saw it at its provider.',
    permission: 'server_read', params: serverIdParams,
    responses: { 200: { description: 'The server', schema: serverSchema }, 404: { description: 'No such server', schema: errorRef } },
    handler: async ({ params, access }) => ({ status: 200, body: await getServer(ctx, params.id, access) }),
  });

  route({
    method: 'DELETE', path: '/v1/servers/{id}', operationId: 'deleteServer', tag: 'servers', summary: 'Delete a server',
    description: 'Answers 202 with the `server.delete` operation at once; a worker deletes the server at its provider.',
    permission: 'server_delete', params: serverIdParams, body: deleteServerBody, bodyOptional: true,
    responses: { 202: accepted, 404: { description: 'No such server', schema: errorRef } },
    handler: async ({ params, body, actor }) => {
      const op = await requestServerDelete(ctx, params.id, body, actor);
      return acceptedReply(op, ctx.config);
    },
  });

  route({
    method: 'POST', path: '/v1/servers/{id}/actions', operationId: 'serverAction', tag: 'servers', summary: 'Reboot, power off or power on a server',
    description: 'Answers 202 with the `server.action` operation at once. Operations on one server run one at a time, in order.',
    permission: 'server_action', params: serverIdParams, body: serverActionBody,
    responses: { 202: accepted, 404: { description: 'No such server', schema: errorRef } },
    handler: async ({ params, body, actor }) => {
      const op = await requestServerAction(ctx, params.id, body.action, actor);
      return acceptedReply(op, ctx.config);
    },
  });

  route({
    method: 'PATCH', path: '/v1/servers/{id}', operationId: 'resizeServer', tag: 'servers', summary: 'Resize a server (powering it off and on again where the provider needs it)',
    description: 'Answers 202 with the `server.resize` operation at once; the new plan is first checked against the cached catalogue.',
    permission: 'server_action', params: serverIdParams, body: resizeServerBody,
    responses: { 202: accepted, 404: { description: 'No such server', schema: errorRef } },
    handler: async ({ params, body, actor }) => {
      const op = await requestServerResize(ctx, params.id, body.plan, actor, checks);
      return acceptedReply(op, ctx.config);
    },
  });

  route({
    method: 'POST', path: '/v1/servers/{id}/console', operationId: 'getServerConsole', tag: 'servers', summary: "The provider's console access for a server",
    description: 'Asks the provider now. The answer (its URL and password) is a secret: shown once, stored nowhere, never replayed.',
    permission: 'server_console', params: serverIdParams,
    // Its answer is a secret (the console password and URL): never kept for replay, so an
    // Idempotency-Key is refused with a 400 rather than honoured (see refuseIdempotencyKey).
    idempotent: false,
    responses: {
      200: { description: 'Console access; a password in it is shown only here, never stored (`Cache-Control: no-store`)', schema: consoleSchema },
      400: { description: 'An `Idempotency-Key` was sent: this answer cannot be replayed', schema: errorRef },
      404: { description: 'No such server', schema: errorRef },
      501: { description: 'The provider offers no console through its API', schema: errorRef },
    },
    handler: async ({ params, access, headers }) => {
      refuseIdempotencyKey(headers);
      return { status: 200, body: await requestServerConsole(ctx, providers, params.id, access), headers: { 'Cache-Control': 'no-store' } };
    },
  });

  serverReadingRoutes(route, ctx, providers);
}
