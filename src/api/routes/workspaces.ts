import type { Access } from '../../core/auth/access.js';
import type { CoreContext } from '../../core/context.js';
import { ErrorCodes, NotFoundError } from '../../common/errors.js';
import { workspaceUsage } from '../../core/workspaces/quota.js';
import type { Catalog } from '../../core/catalog.js';
import type { RouteMounter } from '../route.js';
import { errorRef } from '../schemas/common.js';
import { changeWorkspaceBody, createWorkspaceBody, workspaceParams, workspaceSchema, workspaceUsageSchema } from '../schemas/identity.js';

const notFound = (name: string) => () => new NotFoundError(ErrorCodes.WORKSPACE_NOT_FOUND, `workspace '${name}' does not exist`);

/** A workspace the caller may see; any other answers 404, like one that does not exist. */
async function visibleWorkspace(ctx: CoreContext, access: Access, name: string) {
  access.requireOn('workspace_read', name, notFound(name));
  return ctx.workspaces.require(name);
}

export function workspaceRoutes(route: RouteMounter, ctx: CoreContext, catalog: Catalog): void {
  route({
    method: 'GET', path: '/v1/workspaces', operationId: 'listWorkspaces', tag: 'workspaces', summary: 'The workspaces you are a member of (admins: all)', permission: 'workspace_read',
    description: 'By name, with path, active flag and quotas.',
    responses: { 200: { description: 'Workspaces, by name', schema: { type: 'array', items: workspaceSchema } } },
    handler: async ({ access }) => ({ status: 200, body: await ctx.workspaces.list(access.workspacesWith('workspace_read')) }),
  });

  route({
    method: 'POST', path: '/v1/workspaces/create', operationId: 'createWorkspace', tag: 'workspaces', summary: 'Create a workspace', permission: 'workspace_create',
    description: 'Optionally with quotas (servers, vCPUs, monthly cost per currency) that requests in it are checked against.',
    body: createWorkspaceBody,
    responses: { 201: { description: 'The workspace', schema: workspaceSchema }, 409: { description: 'The name is taken', schema: errorRef } },
    handler: async ({ body }) => {
      let ws = await ctx.workspaces.add(body.name, { path: body.path ?? null, active: body.activate });
      if (body.quotas) ws = await ctx.workspaces.change(body.name, { quotas: body.quotas });
      return { status: 201, body: ws, headers: { Location: `/v1/workspaces/${ws.name}` }, audit: { resource_type: 'workspace', resource_id: ws.name, workspace: ws.name } };
    },
  });

  route({
    method: 'GET', path: '/v1/workspaces/{name}', operationId: 'getWorkspace', tag: 'workspaces', summary: 'One workspace', permission: 'workspace_read', params: workspaceParams,
    description: 'Its path, active flag and quotas; a workspace you are not a member of answers 404.',
    responses: { 200: { description: 'The workspace', schema: workspaceSchema }, 404: { description: 'No such workspace', schema: errorRef } },
    handler: async ({ params, access }) => ({ status: 200, body: await visibleWorkspace(ctx, access, params.name) }),
  });

  route({
    method: 'PATCH', path: '/v1/workspaces/{name}', operationId: 'updateWorkspace', tag: 'workspaces', summary: "Change a workspace's path, active flag or quotas", permission: 'workspace_manage',
    description: 'Changes apply to requests from now on.',
    params: workspaceParams, body: changeWorkspaceBody,
    responses: { 200: { description: 'The workspace', schema: workspaceSchema }, 404: { description: 'No such workspace', schema: errorRef } },
    handler: async ({ params, body }) => {
      const ws = await ctx.workspaces.change(params.name, body);
      return { status: 200, body: ws, audit: { resource_type: 'workspace', resource_id: ws.name, workspace: ws.name, detail: { changed: Object.keys(body) } } };
    },
  });

  route({
    method: 'GET', path: '/v1/workspaces/{name}/usage', operationId: 'getWorkspaceUsage', tag: 'workspaces', summary: "A workspace's usage against its quotas", permission: 'workspace_read', params: workspaceParams,
    description: "What the workspace's servers use now (count, vCPUs, monthly cost per currency) beside its quotas.",
    responses: { 200: { description: 'Usage and limits', schema: workspaceUsageSchema }, 404: { description: 'No such workspace', schema: errorRef } },
    handler: async ({ params, access }) => {
      const ws = await visibleWorkspace(ctx, access, params.name);
      return { status: 200, body: { workspace: ws.name, usage: await workspaceUsage(ctx, catalog, ws.name), limits: ws.quotas } };
    },
  });
}
