import type { CoreContext } from '../../core/context.js';
import type { Operation } from '../../core/operations/model.js';
import type { Provider } from '../../providers/types.js';
import type { Compensation } from '../run-operation.js';

/**
 * A delete or action cut short by a cancel cannot be undone, but the provider may already
 * have carried it out: re-read the server so the inventory says what is really there.
 */
export function refreshServerOnCancel(ctx: CoreContext, provider: Provider, op: Operation): Compensation {
  const target = op.target as { server_id: string; provider_id: string };
  return async (signal) => {
    const server = await provider.getServer(target.provider_id, { signal });
    if (server === null) {
      await ctx.inventory.remove(target.server_id);
      return [{ resource: 'server', provider_id: target.provider_id, action: 'removed from inventory: already gone at the provider' }];
    }
    const record = await ctx.inventory.upsert(server, { workspace: op.workspace, operationId: op.id });
    return [{ resource: 'server', provider_id: target.provider_id, action: `inventory refreshed: ${record.status}` }];
  };
}
