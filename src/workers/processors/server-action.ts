import type { PowerAction } from '../../providers/types.js';
import type { Processor } from '../run-operation.js';
import { refreshServerOnCancel } from './refresh-server.js';
import { runMoves, serverAfterMoves } from './steps.js';

/** Runs a power action, waits (parked) for the provider to finish it and records the new status. */
export const serverAction: Processor = async (op, env) => {
  const { ctx, provider, call, onCancel } = env;
  const target = op.target as { server_id: string; provider_id: string; hostname: string };
  onCancel(refreshServerOnCancel(ctx, provider, op));
  const action = (op.request as { action: PowerAction }).action;
  // A reboot is not undone by reading the server: every move is marked before it is sent.
  const moved = await runMoves(env, 'action', (earlier) => provider.powerStep(target.provider_id, action, call, earlier), { intent: true });
  const server = await serverAfterMoves(env, target.provider_id, moved, action);
  const record = await ctx.inventory.upsert(server, { workspace: op.workspace, operationId: op.id });
  return { server_id: record.id, action, status: record.status };
};
