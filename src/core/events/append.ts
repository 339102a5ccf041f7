import type { CoreContext } from '../context.js';
import { appendServerEvent } from '../servers/history.js';

/** Roughly how many entries the stream keeps at most (retention trims it by age too). */
const STREAM_MAX_LEN = '100000';

/**
 * Appends an event that belongs to no operation (inventory drift found by the reconcile) to
 * the same stream operation transitions go to, so one reader sees everything in order. One
 * about a server (`server_id`) is also entered into that server's history, in the same step.
 */
export async function appendEvent(ctx: CoreContext, kind: string, fields: Record<string, string>): Promise<void> {
  const flat = Object.entries({ kind, at: new Date().toISOString(), ...fields }).flat();
  if (fields.server_id) {
    await appendServerEvent(ctx.redis, ctx.keys, fields.server_id, flat, STREAM_MAX_LEN);
    return;
  }
  await ctx.redis.xadd(ctx.keys.events(), 'MAXLEN', '~', STREAM_MAX_LEN, '*', ...flat);
}
