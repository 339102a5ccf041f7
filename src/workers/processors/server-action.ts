import type { PowerAction } from '../../common/provider.js';
import type { Processor } from '../run-operation.js';
import { refreshServerOnCancel } from './refresh-server.js';
import { runMoves, serverAfterMoves } from './steps.js';

/** Runs a power action, waits (parked) for the provider to finish it and records the new status. */
export const serverAction: Processor = async (op, env) => {
  const { ctx, provider, call, onCancel } = env;
  const target = op.target as { server_id: string; provider_id: string; hostname: string };
  const action = (op.request as { action: PowerAction }).action;
  // An action the provider carried out before the cancel stopped it is done, not cancelled;
  // either way the inventory gets the status the server settles in. A reboot leaves the
  // server as it found it, so only the provider's acceptance of it says it happened.
  onCancel(
    refreshServerOnCancel(ctx, provider, op, 'action', (server, accepted) => {
      const done = action === 'power_off' ? server?.status === 'stopped' : action === 'power_on' ? server?.status === 'running' : accepted && server !== null;
      return done ? { server_id: target.server_id, action, status: server!.status } : null;
    }),
  );
  // A reboot is not undone by reading the server: every move is marked before it is sent.
  const moved = await runMoves(env, 'action', (earlier) => provider.powerStep(target.provider_id, action, call, earlier), { intent: true });
  const server = await serverAfterMoves(env, target.provider_id, moved, action);
  const record = await ctx.inventory.upsert(server, { workspace: op.workspace, operationId: op.id });
  return { server_id: record.id, action, status: record.status };
};
