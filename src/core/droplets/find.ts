import type { Access } from '../auth/access.js';
import type { Permission } from '../auth/permissions.js';
import type { CoreContext } from '../context.js';
import { ErrorCodes, NotFoundError } from '../../common/errors.js';
import type { Operation } from '../operations/model.js';
import type { ServerRecord } from '../servers/inventory.js';
import { parseDropletId } from './ids.js';
import { dropletOfCreate, dropletOfServer, type Droplet } from './view.js';

/** How many retries of a create are followed to find the one that made the server. */
const MAX_RETRY_HOPS = 10;

/** A droplet as found: its view, the server once made, and the create behind it when it has one. */
export interface FoundDroplet {
  droplet: Droplet;
  server: ServerRecord | null;
  create: Operation | null;
}

export function dropletNotFound(id: string): NotFoundError {
  return new NotFoundError(ErrorCodes.SERVER_NOT_FOUND, `Droplet ${id} not found`);
}

/** The operation first in line on a server (its lane) that has not ended, if any: what the server is doing now. */
export async function currentOperation(ctx: CoreContext, serverId: string): Promise<Operation | null> {
  const [head] = await ctx.redis.zrange(ctx.keys.lane(serverId), '0', '0');
  if (!head) return null;
  const op = await ctx.store.get(head);
  return op && (op.status === 'pending' || op.status === 'running') ? op : null;
}

/** A create, or the retry of it that is the latest word on what it made. */
async function latestCreate(ctx: CoreContext, id: string): Promise<Operation | null> {
  let op = await ctx.store.get(id);
  for (let hop = 0; op && op.retried_by && hop < MAX_RETRY_HOPS; hop++) {
    const next = await ctx.store.get(op.retried_by);
    if (!next) break;
    op = next;
  }
  return op;
}

/**
 * The droplet an id names, for a caller who holds `permission` in its workspace. One the caller
 * may not see answers 404 like one that does not exist; so does a droplet whose server was
 * deleted, and a create that was only a dry run.
 */
export async function findDroplet(ctx: CoreContext, id: string, access: Access, permission: Permission): Promise<FoundDroplet> {
  const ref = parseDropletId(id);
  if (!ref) throw dropletNotFound(id);
  if (ref.kind === 'server') {
    const server = await ctx.inventory.get(ref.serverId);
    if (!server) throw dropletNotFound(id);
    access.requireOn(permission, server.workspace, () => dropletNotFound(id));
    return { droplet: dropletOfServer(server, await currentOperation(ctx, server.id)), server, create: null };
  }
  const create = await latestCreate(ctx, ref.operationId);
  if (!create || create.type !== 'server.create' || create.request.check_mode === true) throw dropletNotFound(id);
  access.requireOn(permission, create.workspace, () => dropletNotFound(id));
  const serverId = create.result?.server_id;
  if (typeof serverId === 'string') {
    const server = await ctx.inventory.get(serverId);
    // A create that made a server no longer in the inventory: the droplet was deleted.
    if (!server) throw dropletNotFound(id);
    return { droplet: dropletOfServer(server, await currentOperation(ctx, server.id)), server, create };
  }
  // Cancelled before a server was made: as good as deleted.
  if (create.status === 'cancelled' || create.status === 'completed') throw dropletNotFound(id);
  return { droplet: dropletOfCreate(create), server: null, create };
}
