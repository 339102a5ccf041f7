import type { Catalog } from '../catalog.js';
import type { CoreContext } from '../context.js';
import { EngineError, ErrorCodes, ValidationError } from '../../common/errors.js';
import { cancelOperation } from '../operations/cancel.js';
import type { Operation } from '../operations/model.js';
import type { Actor } from '../operations/submit.js';
import { requestServerAction, requestServerCreate, requestServerDelete, requestServerResize } from '../servers/requests.js';
import type { PowerAction } from '../../common/provider.js';
import { findDroplet, type FoundDroplet } from './find.js';
import { providerImage } from './images.js';
import { dropletOfCreate, type Droplet } from './view.js';

/** A create as the droplets API takes it (droplets-kubevirt-api.md). */
export interface DropletCreateRequest {
  name: string;
  image: string;
  plan_id: string;
  region: string;
  project_id?: string;
  ssh_key_ids?: string[];
  tags?: string[];
  volume_ids?: string[];
}

/** The engine's field names, as the droplets API says them, so a 422 names what the client sent. */
const FIELD_NAMES: Record<string, string> = { plan: 'plan_id', zone: 'region', hostname: 'name', ssh_keys: 'ssh_key_ids', workspace: 'project_id', action: 'type' };

function inDropletTerms(err: unknown): unknown {
  if (!(err instanceof ValidationError)) return err;
  return new ValidationError(
    err.problems.map((p) => {
      const [head, ...rest] = p.field.split(/(?=[.[])/);
      const renamed = FIELD_NAMES[head!];
      return renamed ? { ...p, field: [renamed, ...rest].join('') } : p;
    }),
  );
}

async function asDropletRequest<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw inDropletTerms(err);
  }
}

/**
 * A create on the configured provider (DROPLETS_PROVIDER), into `project_id` or the default
 * project, through the same service as `POST /v1/servers/create`: the same checks against the
 * cached catalogue, quotas, markers and Idempotency-Key binding.
 */
export async function requestDropletCreate(ctx: CoreContext, body: DropletCreateRequest, actor: Actor, catalogue: Catalog): Promise<Droplet> {
  if (body.volume_ids && body.volume_ids.length > 0) {
    throw new ValidationError([{ field: 'volume_ids', problem: 'volumes are not offered here: the engine attaches no block storage, so send none' }]);
  }
  const { provider, defaultProject } = ctx.config.dropletsApi;
  const op = await asDropletRequest(() =>
    requestServerCreate(
      ctx,
      {
        workspace: body.project_id ?? defaultProject,
        provider,
        plan: body.plan_id,
        hostname: body.name,
        zone: body.region,
        check_mode: false,
        tags: body.tags ?? [],
        image: providerImage(provider, body.image),
        ...(body.ssh_key_ids && body.ssh_key_ids.length > 0 ? { ssh_keys: body.ssh_key_ids } : {}),
      },
      actor,
      { catalogue },
    ),
  );
  return dropletOfCreate(op);
}

/** What a change to a droplet answers: the droplet as it is now and the operation that carries the change. */
export interface DropletChange {
  droplet: Droplet;
  operation: Operation;
}

/** A droplet whose server the provider has not made yet cannot be resized or powered: it says so as a 409. */
function madeServer(found: FoundDroplet, id: string): NonNullable<FoundDroplet['server']> {
  if (found.server) return found.server;
  throw new EngineError(ErrorCodes.CONFLICT, `Droplet ${id} is still ${found.droplet.status === 'error' ? 'failed: its create did not make a server' : 'provisioning'}; try again once it is running`);
}

export async function requestDropletResize(ctx: CoreContext, id: string, planId: string, actor: Actor, catalogue: Catalog): Promise<DropletChange> {
  const found = await findDroplet(ctx, id, actor.access, 'server_action');
  const server = madeServer(found, id);
  const operation = await asDropletRequest(() => requestServerResize(ctx, server.id, planId, actor, { catalogue }));
  return { droplet: { ...found.droplet, status: 'resizing', operation_id: operation.id }, operation };
}

export async function requestDropletAction(ctx: CoreContext, id: string, type: PowerAction, actor: Actor): Promise<DropletChange> {
  const found = await findDroplet(ctx, id, actor.access, 'server_action');
  const server = madeServer(found, id);
  const operation = await asDropletRequest(() => requestServerAction(ctx, server.id, type, actor));
  const status = type === 'reboot' ? 'rebooting' : type === 'power_off' ? 'stopping' : 'starting';
  return { droplet: { ...found.droplet, status, operation_id: operation.id }, operation };
}

/**
 * Deletes the droplet's server; a droplet still being made has its create cancelled instead,
 * which removes whatever the provider had half made.
 */
export async function requestDropletDelete(ctx: CoreContext, id: string, actor: Actor): Promise<DropletChange> {
  const found = await findDroplet(ctx, id, actor.access, 'server_delete');
  if (found.server) {
    const operation = await asDropletRequest(() => requestServerDelete(ctx, found.server!.id, {}, actor));
    return { droplet: { ...found.droplet, status: 'deleting', operation_id: operation.id }, operation };
  }
  const create = found.create!;
  if (create.status !== 'pending' && create.status !== 'running') {
    throw new EngineError(ErrorCodes.CONFLICT, `Droplet ${id} was never made (its create operation ${create.id} ${create.status}): there is nothing to delete`);
  }
  const { operation } = await cancelOperation(ctx, create.id, actor.username);
  return { droplet: { ...found.droplet, status: 'deleting', operation_id: operation.id }, operation };
}
