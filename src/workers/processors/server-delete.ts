import { refreshServerOnCancel } from './refresh-server.js';
import type { Processor } from '../run-operation.js';

/** Deletes a server; one already gone at the provider counts as deleted. */
export const serverDelete: Processor = async (op, { ctx, provider, call, progress, onCancel }) => {
  const target = op.target as { server_id: string; provider_id: string; hostname: string };
  onCancel(refreshServerOnCancel(ctx, provider, op));
  await progress('delete', `deleting ${provider.name} server ${target.provider_id} (${target.hostname})`);
  const { existed } = await provider.deleteServer(target.provider_id, call);
  await ctx.inventory.remove(target.server_id);
  return { server_id: target.server_id, deleted: true, already_gone: !existed };
};
