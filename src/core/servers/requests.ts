import type { Catalog } from '../catalog.js';
import { configuredProviders, PROVIDER_SETTING } from '../config.js';
import type { CoreContext } from '../context.js';
import { ErrorCodes, NotFoundError, ProviderNotConfiguredError, ValidationError } from '../errors.js';
import type { Operation, OperationType } from '../operations/model.js';
import { fromActor, submitOperation, type Actor } from '../operations/submit.js';
import type { PowerAction, ProviderName } from '../../providers/types.js';
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

async function existingServer(ctx: CoreContext, id: string): Promise<ServerRecord> {
  const server = await ctx.inventory.get(id);
  if (!server) throw new NotFoundError(ErrorCodes.SERVER_NOT_FOUND, `server ${id} does not exist`);
  return server;
}

export async function requestServerCreate(ctx: CoreContext, body: CreateServerRequest, actor: Actor, checks: SubmitChecks = {}): Promise<Operation> {
  const reserved = body.tags.findIndex((t) => t.startsWith(RESERVED_TAG_PREFIX));
  if (reserved >= 0) throw new ValidationError([{ field: `tags[${reserved}]`, problem: `must not start with '${RESERVED_TAG_PREFIX}', which the engine reserves` }]);
  assertConfigured(ctx, body.provider);
  if (checks.catalogue) {
    const problems = await catalogueProblems(checks.catalogue, body);
    if (problems.length > 0) throw new ValidationError(problems);
  }
  return submitOperation(ctx, {
    type: 'server.create',
    workspace: body.workspace,
    provider: body.provider,
    target: { hostname: body.hostname },
    // user_data may carry secrets: keep that it was given, not what it said, in the record.
    request: { ...body, user_data: body.user_data === undefined ? undefined : `<${Buffer.byteLength(body.user_data)} bytes>` },
    sealed: body.user_data === undefined ? undefined : { user_data: body.user_data },
    ...fromActor(actor),
  });
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
  const server = await existingServer(ctx, id);
  if (body.workspace !== undefined && body.workspace !== server.workspace) {
    throw new ValidationError([{ field: 'workspace', problem: `server ${id} belongs to workspace '${server.workspace}'` }]);
  }
  return submitForServer(ctx, server, 'server.delete', { server_id: id, force: body.force ?? false }, actor);
}

export async function requestServerAction(ctx: CoreContext, id: string, action: PowerAction, actor: Actor): Promise<Operation> {
  return submitForServer(ctx, await existingServer(ctx, id), 'server.action', { server_id: id, action }, actor);
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
  const server = await existingServer(ctx, id);
  if (server.plan === plan) throw new ValidationError([{ field: 'plan', problem: `server ${id} already has plan '${plan}'` }]);
  if (checks.catalogue && configuredProviders(ctx.config).includes(server.provider)) {
    const problems = await resizePlanProblems(checks.catalogue, server.provider, plan);
    if (problems.length > 0) throw new ValidationError(problems);
  }
  return submitForServer(ctx, server, 'server.resize', { server_id: id, plan, previous_plan: server.plan, start_after: server.status === 'running' }, actor);
}

export async function getServer(ctx: CoreContext, id: string): Promise<ServerRecord> {
  return existingServer(ctx, id);
}
