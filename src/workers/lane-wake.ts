import type { Redis } from 'ioredis';
import type { CoreContext } from '../core/context.js';
import { wakeJob } from '../core/queue.js';
import type { ProviderName } from '../common/provider.js';

/**
 * When an operation on a server finishes, the next one in that server's lane is announced
 * (see TRANSITION_OPERATION); its job sleeps in the delayed set, so wake it now. Every worker
 * hears it and tries; promoting a job that is no longer delayed just fails. A missed
 * announcement costs at most the queued job's recheck delay.
 */
export async function listenForLaneTurns(subscriber: Redis, ctx: CoreContext): Promise<void> {
  const channel = ctx.keys.lanesChannel();
  await subscriber.subscribe(channel);
  subscriber.on('message', (from: string, operationId: string) => {
    if (from !== channel) return;
    void wakeOperation(ctx, operationId);
  });
}

async function wakeOperation(ctx: CoreContext, id: string): Promise<void> {
  const provider = (await ctx.redis.hget(ctx.keys.operation(id), 'provider').catch(() => null)) as ProviderName | null;
  // Lanes hold server operations only, which run on their provider's queue. Promoted by
  // another worker meanwhile, or Redis busy: the job's own recheck covers it.
  if (provider) await wakeJob(ctx.queues.for(provider), id);
}
