import { isDeepStrictEqual } from 'node:util';
import type { ProviderName } from '../../common/provider.js';
import { configuredProviders, PROVIDER_SETTING } from '../config.js';
import type { CoreContext } from '../context.js';
import { EngineError, ErrorCodes, NotFoundError, ProviderNotConfiguredError, ValidationError } from '../../common/errors.js';
import { isTerminal, type Operation } from '../operations/model.js';
import { fromActor, submitOperation } from '../operations/submit.js';
import type { Access } from '../auth/access.js';
import type { Permission } from '../auth/permissions.js';
import { admitInto } from '../workspaces/admit.js';
import type { Actor } from '../servers/requests.js';
import { findTaskserv, TASKSERV_NAMES } from './catalog.js';
import { checkTaskservConfig } from './parameters.js';
import { taskservIdFor, TaskservStore, type TaskservRecord } from './store.js';
import { resolveServers } from './targets.js';

export interface CreateTaskservRequest {
  workspace: string;
  name: string;
  /** Hostnames or engine ids (`srv-…`) of servers in the workspace. */
  servers: string[];
  config?: Record<string, unknown>;
  check_mode?: boolean;
}

/** What a taskserv.create operation's `request` holds: the input, validated and resolved. */
export interface TaskservCreateInput {
  workspace: string;
  taskserv_id: string;
  name: string;
  version: string;
  servers: string[];
  server_ids: string[];
  config: Record<string, unknown>;
  check_mode: boolean;
}

export function taskservStore(ctx: CoreContext): TaskservStore {
  return new TaskservStore(ctx.redis, ctx.keys);
}

function assertConfigured(ctx: CoreContext, provider: ProviderName): void {
  if (!configuredProviders(ctx.config).includes(provider)) throw new ProviderNotConfiguredError(provider, PROVIDER_SETTING[provider]);
}

/**
 * The record's config is the one every server it lists was installed with; a different config
 * may only be applied to all of them at once, or the remove script would no longer match.
 */
function checkConfigChange(installed: TaskservRecord | null, config: Record<string, unknown>, serverIds: string[]): void {
  if (!installed || isDeepStrictEqual(installed.config, config)) return;
  const left = installed.server_ids.filter((id) => !serverIds.includes(id));
  if (left.length === 0) return;
  const names = left.map((id) => installed.servers[installed.server_ids.indexOf(id)] ?? id);
  throw new ValidationError([
    { field: 'config', problem: `differs from the config ${installed.name} is installed with on ${names.join(', ')}; name every server it is on to change it` },
  ]);
}

/** One change at a time: a second install or removal while one runs would race it on the servers. */
async function assertNotBusy(ctx: CoreContext, record: TaskservRecord | null): Promise<void> {
  if (!record || (record.status !== 'installing' && record.status !== 'removing')) return;
  const op = await ctx.store.get(record.operation_id);
  if (op && !isTerminal(op.status)) {
    throw new EngineError(ErrorCodes.CONFLICT, `task service ${record.id} is being changed by operation ${op.id} (${op.status}); wait for it or cancel it`, { operation_id: op.id });
  }
}

/**
 * Checks an install before anything is written: the service and its config against the
 * catalogue, every server resolved. Gives what its operation is submitted with. The
 * operation runs on the queue of the first server's provider (it makes no provider calls, so
 * servers on several clouds can share one operation).
 */
export async function prepareTaskservCreate(ctx: CoreContext, body: CreateTaskservRequest) {
  const def = findTaskserv(body.name);
  if (!def) throw new ValidationError([{ field: 'name', problem: `must be one of: ${TASKSERV_NAMES.join(', ')}` }]);
  const config = checkTaskservConfig(def, body.config ?? {});
  const servers = await resolveServers(ctx, body.workspace, body.servers);
  const taskservId = taskservIdFor(body.workspace, def.name);
  const installed = await taskservStore(ctx).get(taskservId);
  checkConfigChange(installed, config, servers.map((s) => s.id));
  await assertNotBusy(ctx, installed);
  const provider = installed?.provider ?? servers[0]!.provider;
  assertConfigured(ctx, provider);

  const request: TaskservCreateInput = {
    workspace: body.workspace,
    taskserv_id: taskservId,
    name: def.name,
    version: String(config.version),
    servers: servers.map((s) => s.hostname),
    server_ids: servers.map((s) => s.id),
    config,
    check_mode: body.check_mode ?? false,
  };
  return { provider, target: { taskserv_id: taskservId, name: def.name, servers: request.servers, server_ids: request.server_ids }, request };
}

/** Accepts an install; bad input creates no operation. */
export async function requestTaskservCreate(ctx: CoreContext, body: CreateTaskservRequest, actor: Actor): Promise<Operation> {
  await admitInto(ctx, actor, 'taskserv_create', body.workspace);
  const { provider, target, request } = await prepareTaskservCreate(ctx, body);
  return submitOperation(ctx, {
    type: 'taskserv.create',
    workspace: body.workspace,
    provider,
    target,
    request: { ...request },
    ...fromActor(actor),
  });
}

/**
 * A taskserv.create operation's input. Operations made elsewhere (workflow steps) may carry
 * the short form `{name, servers: [server ids], config}`: it is checked here the same way,
 * and a bad config fails the operation naming the parameter.
 */
export function createInputOf(op: Operation): TaskservCreateInput {
  const r = op.request as Partial<TaskservCreateInput>;
  if (r.taskserv_id && r.server_ids) return r as TaskservCreateInput;
  const def = findTaskserv(String(r.name));
  if (!def) throw new ValidationError([{ field: 'name', problem: `must be one of: ${TASKSERV_NAMES.join(', ')}` }]);
  const config = checkTaskservConfig(def, r.config ?? {});
  const serverIds = r.server_ids ?? r.servers ?? [];
  return {
    workspace: op.workspace,
    taskserv_id: taskservIdFor(op.workspace, def.name),
    name: def.name,
    version: String(config.version),
    servers: serverIds,
    server_ids: serverIds,
    config,
    check_mode: r.check_mode ?? false,
  };
}

/** The task service a taskserv.delete operation removes: by id, or by name in its workspace. */
export function deleteTargetOf(op: Operation): string {
  const r = op.request as { taskserv_id?: string; name?: string };
  return r.taskserv_id ?? taskservIdFor(op.workspace, String(r.name));
}

/** A task service the caller may act on; one of a workspace it cannot see answers 404 like one that does not exist. */
export async function getTaskserv(ctx: CoreContext, id: string, access: Access, permission: Permission = 'taskserv_read'): Promise<TaskservRecord> {
  const record = await taskservStore(ctx).get(id);
  const notFound = () => new NotFoundError(ErrorCodes.TASKSERV_NOT_FOUND, `task service ${id} does not exist`);
  if (!record) throw notFound();
  access.requireOn(permission, record.workspace, notFound);
  return record;
}

/** Accepts a removal: the remove script runs on every server the service is installed on. */
export async function requestTaskservDelete(
  ctx: CoreContext,
  id: string,
  body: { workspace?: string; taskserv_id?: string },
  actor: Actor,
): Promise<Operation> {
  if (body.taskserv_id !== undefined && body.taskserv_id !== id) {
    throw new ValidationError([{ field: 'taskserv_id', problem: `must match the id in the path (${id})` }]);
  }
  const record = await getTaskserv(ctx, id, actor.access, 'taskserv_delete');
  if (body.workspace !== undefined && body.workspace !== record.workspace) {
    throw new ValidationError([{ field: 'workspace', problem: `task service ${id} belongs to workspace '${record.workspace}'` }]);
  }
  await assertNotBusy(ctx, record);
  assertConfigured(ctx, record.provider);
  return submitOperation(ctx, {
    type: 'taskserv.delete',
    workspace: record.workspace,
    provider: record.provider,
    target: { taskserv_id: id, name: record.name, servers: record.servers, server_ids: record.server_ids },
    request: { taskserv_id: id, workspace: record.workspace },
    ...fromActor(actor),
  });
}
