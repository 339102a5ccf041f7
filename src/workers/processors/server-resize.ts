import type { Processor } from '../run-operation.js';
import { refreshServerOnCancel } from './refresh-server.js';
import { runMoves, serverAfterMoves } from './steps.js';

/** Changes a server's plan; the adapter does the power dance its provider needs and says each move. */
export const serverResize: Processor = async (op, env) => {
  const { ctx, provider, call, progress, onCancel } = env;
  const target = op.target as { server_id: string; provider_id: string; hostname: string };
  const request = op.request as { plan: string; previous_plan: string; start_after: boolean };
  // A resize the provider finished before the cancel stopped it is done, not cancelled; either
  // way the inventory gets the plan and status the server settles in.
  onCancel(
    refreshServerOnCancel(ctx, provider, op, 'resize', (server) => {
      const done = server !== null && server.plan === request.plan && (!request.start_after || server.status === 'running');
      return done ? { server_id: target.server_id, plan: server.plan, previous_plan: request.previous_plan, status: server.status } : null;
    }),
  );
  await env.step('announce', async () => progress('resize', `resizing ${provider.name} server ${target.provider_id} from ${request.previous_plan} to ${request.plan}`));
  // Marked before each move is sent, so a cancel that cuts one short follows the server to its end.
  const moved = await runMoves(env, 'resize', () => provider.resizeStep(target.provider_id, request.plan, request.start_after, call), { intent: true });
  const server = await serverAfterMoves(env, target.provider_id, moved, 'the resize');
  const record = await ctx.inventory.upsert(server, { workspace: op.workspace, operationId: op.id });
  return { server_id: record.id, plan: record.plan, previous_plan: request.previous_plan, status: record.status };
};
