/**
 * Droplet ids (`dpl_…`) are the engine's own ids written another way, so no mapping is
 * stored and none can go missing:
 * - `dpl_<32 hex>`: the id of the `server.create` operation that made the droplet (without
 *   its dashes). A droplet has it from the moment the create is accepted, long before the
 *   provider has a server, and the server's inventory record keeps that operation's id.
 * - `dpl_<12 hex>`: a server the engine holds that no create of its own made (one adopted by
 *   the multi-cloud endpoints): its inventory id `srv-<12 hex>`.
 */

export const DROPLET_ID_PATTERN = '^dpl_([0-9a-f]{32}|[0-9a-f]{12})$';

const OPERATION_FORM = /^dpl_([0-9a-f]{8})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{12})$/;
const SERVER_FORM = /^dpl_([0-9a-f]{12})$/;

export type DropletRef = { kind: 'operation'; operationId: string } | { kind: 'server'; serverId: string };

export function dropletIdForOperation(operationId: string): string {
  return 'dpl_' + operationId.replace(/-/g, '').toLowerCase();
}

/** The droplet id of a server record: its create operation's, or its own when no create of the engine made it. */
export function dropletIdForServer(server: { id: string; operation_id: string }): string {
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(server.operation_id)) return dropletIdForOperation(server.operation_id);
  return 'dpl_' + server.id.replace(/^srv-/, '');
}

/** What a droplet id names, or null when it is not one. */
export function parseDropletId(id: string): DropletRef | null {
  const op = OPERATION_FORM.exec(id);
  if (op) return { kind: 'operation', operationId: op.slice(1, 6).join('-') };
  const srv = SERVER_FORM.exec(id);
  if (srv) return { kind: 'server', serverId: `srv-${srv[1]}` };
  return null;
}
