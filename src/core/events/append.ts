import type { CoreContext } from '../context.js';

/**
 * Appends an event that belongs to no operation (inventory drift found by the reconcile) to
 * the same stream operation transitions go to, so one reader sees everything in order.
 */
export async function appendEvent(ctx: CoreContext, kind: string, fields: Record<string, string>): Promise<void> {
  const flat = Object.entries({ kind, at: new Date().toISOString(), ...fields }).flat();
  await ctx.redis.xadd(ctx.keys.events(), 'MAXLEN', '~', '100000', '*', ...flat);
}
