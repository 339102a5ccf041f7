import type { CoreContext } from '../../core/context.js';
import { catalogEntries } from '../../core/taskservs/catalog.js';
import { getTaskserv, requestTaskservCreate, requestTaskservDelete, taskservStore } from '../../core/taskservs/requests.js';
import { acceptedReply } from '../accepted.js';
import type { RouteMounter } from '../route.js';
import { errorRef, operationSchema, pageHeaders } from '../schemas/common.js';
import { catalogEntrySchema, createTaskservBody, deleteTaskservBody, listTaskservsQuery, taskservIdParams, taskservSchema } from '../schemas/taskservs.js';

const accepted = { description: 'Accepted: the operation, pending', schema: operationSchema };

export function taskservRoutes(route: RouteMounter, ctx: CoreContext): void {
  route({
    method: 'GET', path: '/v1/taskservs', operationId: 'listTaskservs', tag: 'taskservs', summary: 'List the task services installed on servers',
    description: 'Pages follow the `Link` header (rel="next").',
    permission: 'taskserv_read', query: listTaskservsQuery,
    responses: { 200: { description: 'One page, newest first', schema: { type: 'array', items: taskservSchema } } },
    handler: async ({ query, path, access }) => {
      const page = await taskservStore(ctx).list(query.limit, query.cursor ?? null, { workspace: query.workspace, workspaces: access.workspacesWith('taskserv_read') });
      return { status: 200, body: page.items, headers: pageHeaders(path, page.next) };
    },
  });

  // Before /{id}, which it would otherwise look like.
  route({
    method: 'GET', path: '/v1/taskservs/catalog', operationId: 'listTaskservCatalog', tag: 'taskservs', summary: 'The services the engine can install, with their parameters',
    description: "Each service's name, description, default version and the JSON Schema of its config.",
    permission: 'taskserv_read',
    responses: { 200: { description: 'Every installable service', schema: { type: 'array', items: catalogEntrySchema } } },
    handler: async () => ({ status: 200, body: catalogEntries() }),
  });

  route({
    method: 'GET', path: '/v1/taskservs/{id}', operationId: 'getTaskserv', tag: 'taskservs', summary: 'One installed task service',
    description: 'The servers it is on, its status and the last operation that changed it.',
    permission: 'taskserv_read', params: taskservIdParams,
    responses: { 200: { description: 'The task service', schema: taskservSchema }, 404: { description: 'No such task service', schema: errorRef } },
    handler: async ({ params, access }) => ({ status: 200, body: await getTaskserv(ctx, params.id, access) }),
  });

  route({
    method: 'POST', path: '/v1/taskservs/create', operationId: 'createTaskserv', tag: 'taskservs', summary: 'Install a task service on servers (over SSH)',
    description: 'Answers 202 with the `taskserv.create` operation at once; a worker installs the service on each server over SSH. Poll `GET /v1/operations/{id}` for the outcome.',
    permission: 'taskserv_create', body: createTaskservBody,
    responses: { 202: accepted, 503: { description: "The servers' provider is not configured", schema: errorRef } },
    handler: async ({ body, actor }) => {
      const op = await requestTaskservCreate(ctx, body, actor);
      return acceptedReply(op, ctx.config);
    },
  });

  route({
    method: 'DELETE', path: '/v1/taskservs/{id}', operationId: 'deleteTaskserv', tag: 'taskservs', summary: 'Remove a task service from every server it is on',
    description: 'Answers 202 with the `taskserv.delete` operation at once; a worker removes the service from each server over SSH.',
    permission: 'taskserv_delete', params: taskservIdParams, body: deleteTaskservBody, bodyOptional: true,
    responses: { 202: accepted, 404: { description: 'No such task service', schema: errorRef } },
    handler: async ({ params, body, actor }) => {
      const op = await requestTaskservDelete(ctx, params.id, body, actor);
      return acceptedReply(op, ctx.config);
    },
  });
}
