import type { PowerAction } from '../../providers/types.js';
import type { Processor } from '../run-operation.js';
import { refreshServerOnCancel } from './refresh-server.js';

/** Runs a power action, waits for the provider to finish it and records the new status. */
export const serverAction: Processor = async (op, { ctx, provider, call, progress, onCancel }) => {
  const target = op.target as { server_id: string; provider_id: string; hostname: string };
  onCancel(refreshServerOnCancel(ctx, provider, op));
  const action = (op.request as { action: PowerAction }).action;
  await progress('action', `${action} on ${provider.name} server ${target.provider_id}`);
  const server = await provider.powerAction(target.provider_id, action, call);
  const record = await ctx.inventory.upsert(server, { workspace: op.workspace, operationId: op.id });
  return { server_id: record.id, action, status: record.status };
};
