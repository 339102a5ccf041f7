import type { Processor } from '../run-operation.js';
import { refreshServerOnCancel } from './refresh-server.js';

/** Changes a server's plan; the adapter does the power dance its provider needs and says so. */
export const serverResize: Processor = async (op, { ctx, provider, call, progress, onCancel }) => {
  const target = op.target as { server_id: string; provider_id: string; hostname: string };
  const request = op.request as { plan: string; previous_plan: string; start_after: boolean };
  onCancel(refreshServerOnCancel(ctx, provider, op));
  await progress('resize', `resizing ${provider.name} server ${target.provider_id} from ${request.previous_plan} to ${request.plan}`);
  const server = await provider.resize(target.provider_id, request.plan, request.start_after, {
    ...call,
    onProgress: (message) => void progress('resize', message),
  });
  const record = await ctx.inventory.upsert(server, { workspace: op.workspace, operationId: op.id });
  return { server_id: record.id, plan: record.plan, previous_plan: request.previous_plan, status: record.status };
};
