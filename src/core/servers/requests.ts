import type { Catalog } from '../catalog.js';
import { configuredProviders, PROVIDER_SETTING } from '../config.js';
import type { CoreContext } from '../context.js';
import { ErrorCodes, NotFoundError, ProviderNotConfiguredError, ValidationError } from '../../common/errors.js';
import type { Operation, OperationType } from '../operations/model.js';
import { fromActor, submitOperation, type Actor } from '../operations/submit.js';
import type { PowerAction, ProviderName } from '../../common/provider.js';
import type { Access } from '../auth/access.js';
import type { Permission } from '../auth/permissions.js';
import { admitInto } from '../workspaces/admit.js';
import { admitWithinQuota, quotaEffect } from '../workspaces/quota.js';
import { catalogueProblems, resizePlanProblems } from './create-check.js';
import type { ServerRecord } from './inventory.js';

export type { Actor } from '../operations/submit.js';

export interface CreateServerRequest {
  workspace: string;
  provider: ProviderName;
  plan: string;
  hostname: string;
  zone: string;
  check_mode: boolean;
  tags: string[];
  image?: string;
  ssh_keys?: string[];
  user_data?: string;
}

const RESERVED_TAG_PREFIX = 'pe-op:';

export interface SubmitChecks {
  /**
   * Check plan, zone and image against this cached catalogue before accepting: one it names
   * as unknown is a 400. When the catalogue cannot be read right now the request is accepted
   * and the worker finds out.
   */
  catalogue?: Catalog;
}

function assertConfigured(ctx: CoreContext, provider: ProviderName): void {
  if (!configuredProviders(ctx.config).includes(provider)) throw new ProviderNotConfiguredError(provider, PROVIDER_SETTING[provider]);
}

/** A server the caller may act on with `permission`; one of a workspace it cannot see answers 404 like one that does not exist. */
async function existingServer(ctx: CoreContext, id: string, access: Access, permission: Permission): Promise<ServerRecord> {
  const server = await ctx.inventory.get(id);
  const notFound = () => new NotFoundError(ErrorCodes.SERVER_NOT_FOUND, `server ${id} does not exist`);
  if (!server) throw notFound();
  access.requireOn(permission, server.workspace, notFound);
  return server;
}

export async function requestServerCreate(ctx: CoreContext, body: CreateServerRequest, actor: Actor, checks: SubmitChecks = {}): Promise<Operation> {
  const reserved = body.tags.findIndex((t) => t.startsWith(RESERVED_TAG_PREFIX));
  if (reserved >= 0) throw new ValidationError([{ field: `tags[${reserved}]`, problem: `must not start with '${RESERVED_TAG_PREFIX}', which the engine reserves` }]);
  const workspace = await admitInto(ctx, actor, 'server_create', body.workspace);
  assertConfigured(ctx, body.provider);
  if (checks.catalogue) {
    const problems = await catalogueProblems(checks.catalogue, body);
    if (problems.length > 0) throw new ValidationError(problems);
  }
  const need = [{ provider: body.provider, plan: body.plan }];
  // A check makes nothing: it reports what the create would do to the quotas instead.
  const quota = body.check_mode && checks.catalogue ? await quotaEffect(ctx, checks.catalogue, body.workspace, need) : null;
  const submit = () =>
    submitOperation(ctx, {
      type: 'server.create',
      workspace: body.workspace,
      provider: body.provider,
      target: { hostname: body.hostname },
      // user_data may carry secrets: keep that it was given, not what it said, in the record.
      request: { ...body, user_data: body.user_data === undefined ? undefined : `<${Buffer.byteLength(body.user_data)} bytes>`, ...(quota ? { quota } : {}) },
      sealed: body.user_data === undefined ? undefined : { user_data: body.user_data },
      ...fromActor(actor),
    });
  return body.check_mode || !checks.catalogue ? submit() : admitWithinQuota(ctx, checks.catalogue, body.workspace, need, submit, workspace.quotas);
}

export async function requestServerDelete(
  ctx: CoreContext,
  id: string,
  body: { workspace?: string; server_id?: string; force?: boolean },
  actor: Actor,
): Promise<Operation> {
  if (body.server_id !== undefined && body.server_id !== id) {
    throw new ValidationError([{ field: 'server_id', problem: `must match the id in the path (${id})` }]);
  }
  const server = await existingServer(ctx, id, actor.access, 'server_delete');
  if (body.workspace !== undefined && body.workspace !== server.workspace) {
    throw new ValidationError([{ field: 'workspace', problem: `server ${id} belongs to workspace '${server.workspace}'` }]);
  }
  return submitForServer(ctx, server, 'server.delete', { server_id: id, force: body.force ?? false }, actor);
}

export async function requestServerAction(ctx: CoreContext, id: string, action: PowerAction, actor: Actor): Promise<Operation> {
  return submitForServer(ctx, await existingServer(ctx, id, actor.access, 'server_action'), 'server.action', { server_id: id, action }, actor);
}

/** An operation on a server the inventory knows, in that server's workspace. */
function submitForServer(
  ctx: CoreContext,
  server: ServerRecord,
  type: OperationType,
  request: Record<string, unknown>,
  actor: Actor,
): Promise<Operation> {
  assertConfigured(ctx, server.provider);
  return submitOperation(ctx, {
    type,
    workspace: server.workspace,
    provider: server.provider,
    target: { server_id: server.id, provider_id: server.provider_id, hostname: server.hostname },
    request,
    ...fromActor(actor),
  });
}

/** A resize remembers whether the server ran when it was asked for, so a rerun restores exactly that. */
export async function requestServerResize(ctx: CoreContext, id: string, plan: string, actor: Actor, checks: SubmitChecks = {}): Promise<Operation> {
  const server = await existingServer(ctx, id, actor.access, 'server_action');
  if (server.plan === plan) throw new ValidationError([{ field: 'plan', problem: `server ${id} already has plan '${plan}'` }]);
  if (checks.catalogue && configuredProviders(ctx.config).includes(server.provider)) {
    const problems = await resizePlanProblems(checks.catalogue, server.provider, plan);
    if (problems.length > 0) throw new ValidationError(problems);
  }
  return submitForServer(ctx, server, 'server.resize', { server_id: id, plan, previous_plan: server.plan, start_after: server.status === 'running' }, actor);
}

export async function getServer(ctx: CoreContext, id: string, access: Access, permission: Permission = 'server_read'): Promise<ServerRecord> {
  return existingServer(ctx, id, access, permission);
}
