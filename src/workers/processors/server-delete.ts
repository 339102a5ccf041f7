import { refreshServerOnCancel } from './refresh-server.js';
import type { Processor } from '../run-operation.js';
import { runMoves } from './steps.js';

/** Deletes a server; one already gone at the provider counts as deleted. */
export const serverDelete: Processor = async (op, env) => {
  const { ctx, provider, call, progress, onCancel } = env;
  const target = op.target as { server_id: string; provider_id: string; hostname: string };
  // A delete the provider carried out before the cancel stopped it is done, not cancelled.
  onCancel(refreshServerOnCancel(ctx, provider, op, 'delete', (server) => (server === null ? { server_id: target.server_id, deleted: true, already_gone: false } : null)));
  await env.step('announce', async () => progress('delete', `deleting ${provider.name} server ${target.provider_id} (${target.hostname})`));
  // Every move is marked before it is sent, so a cancel that cuts one short knows the
  // provider may have got it and follows the server to its end.
  const { outcomes } = await runMoves(env, 'delete', () => provider.deleteStep(target.provider_id, call), { intent: true });
  await ctx.inventory.remove(target.server_id);
  return { server_id: target.server_id, deleted: true, already_gone: outcomes[0]?.existed === false };
};
