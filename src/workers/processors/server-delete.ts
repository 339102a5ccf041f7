import { refreshServerOnCancel } from './refresh-server.js';
import type { Processor } from '../run-operation.js';
import { runMoves } from './steps.js';

/** Deletes a server; one already gone at the provider counts as deleted. */
export const serverDelete: Processor = async (op, env) => {
  const { ctx, provider, call, progress, onCancel } = env;
  const target = op.target as { server_id: string; provider_id: string; hostname: string };
  onCancel(refreshServerOnCancel(ctx, provider, op));
  await env.step('announce', async () => progress('delete', `deleting ${provider.name} server ${target.provider_id} (${target.hostname})`));
  const { outcomes } = await runMoves(env, 'delete', () => provider.deleteStep(target.provider_id, call));
  await ctx.inventory.remove(target.server_id);
  return { server_id: target.server_id, deleted: true, already_gone: outcomes[0]?.existed === false };
};
