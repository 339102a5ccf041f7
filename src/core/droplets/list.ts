import type { Access } from '../auth/access.js';
import type { CoreContext } from '../context.js';
import type { Operation } from '../operations/model.js';
import { currentOperation } from './find.js';
import { dropletOfCreate, dropletOfServer, type Droplet } from './view.js';

/** How many creates still in flight the first page shows, of each status, ahead of the made droplets. */
const IN_FLIGHT_SHOWN = 50;

export interface DropletPage {
  items: Droplet[];
  next: string | null;
}

/**
 * The droplets the caller may read, newest first: on the first page the creates still in
 * flight (no server yet, so not in the inventory), then the inventory's servers page by page.
 * `project` is a workspace.
 */
export async function listDroplets(ctx: CoreContext, access: Access, query: { project?: string; limit: number; cursor: string | null }): Promise<DropletPage> {
  const workspaces = access.workspacesWith('server_read');
  const page = await ctx.inventory.list(query.limit, query.cursor, { workspace: query.project, workspaces });
  const made = await Promise.all(page.items.map(async (server) => dropletOfServer(server, await currentOperation(ctx, server.id))));
  if (query.cursor !== null) return { items: made, next: page.next };

  const filters = { type: 'server.create' as const, workspace: query.project, workspaces };
  const [pending, running] = await Promise.all([
    ctx.store.list({ ...filters, status: 'pending' }, IN_FLIGHT_SHOWN, null),
    ctx.store.list({ ...filters, status: 'running' }, IN_FLIGHT_SHOWN, null),
  ]);
  const shown = new Set(made.map((d) => d.id));
  const inFlight = [...pending.items, ...running.items]
    .filter((op: Operation) => op.request.check_mode !== true)
    .sort((a, b) => b.created_at.localeCompare(a.created_at))
    .map(dropletOfCreate)
    .filter((d) => !shown.has(d.id));
  return { items: [...inFlight, ...made], next: page.next };
}
