import type { Processor } from '../run-operation.js';
import { refreshServerOnCancel } from './refresh-server.js';
import { runMoves, serverAfterMoves } from './steps.js';

/** Changes a server's plan; the adapter does the power dance its provider needs and says each move. */
export const serverResize: Processor = async (op, env) => {
  const { ctx, provider, call, progress, onCancel } = env;
  const target = op.target as { server_id: string; provider_id: string; hostname: string };
  const request = op.request as { plan: string; previous_plan: string; start_after: boolean };
  onCancel(refreshServerOnCancel(ctx, provider, op));
  await env.step('announce', async () => progress('resize', `resizing ${provider.name} server ${target.provider_id} from ${request.previous_plan} to ${request.plan}`));
  const moved = await runMoves(env, 'resize', () => provider.resizeStep(target.provider_id, request.plan, request.start_after, call));
  const server = await serverAfterMoves(env, target.provider_id, moved, 'the resize');
  const record = await ctx.inventory.upsert(server, { workspace: op.workspace, operationId: op.id });
  return { server_id: record.id, plan: record.plan, previous_plan: request.previous_plan, status: record.status };
};
