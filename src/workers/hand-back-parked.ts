import { randomUUID } from 'node:crypto';
import type { CoreContext } from '../core/context.js';
import { readHeartbeats } from '../core/heartbeats.js';
import { holdLease, releaseLease } from '../core/lease.js';
import { isWorkflowType } from '../core/operations/model.js';
import { handBackOperation } from '../core/operations/hand-back.js';

/** Running operations looked at in one stop; more than this are left to the next worker's watcher. */
const MAX_LOOKED_AT = 10_000;

/**
 * When the last worker over this Redis stops, the operations parked on the cloud (`running`,
 * their jobs asleep in BullMQ's delayed set until an account watcher wakes them) and those
 * sleeping out a retry backoff have nobody left to watch them. Each is handed back (`pending`,
 * its job waiting) so that none is left `running` with nobody working on it; the next worker
 * takes it at once and, from its journal, parks it again on the same wait (no provider call is
 * made twice).
 *
 * Call it after this worker's heartbeat is gone: of workers stopping together, each removes its
 * own heartbeat before looking at the others', so the last to look finds none and does this.
 * While any worker lives (another instance over the same Redis), nothing is touched: its
 * watchers look after the waits. Returns how many were handed back.
 */
export async function handBackParkedIfLastWorker(ctx: CoreContext, reason: string): Promise<number> {
  if ((await readHeartbeats(ctx.redis, ctx.keys)).length > 0) return 0;
  let handed = 0;
  for (const id of await ctx.store.idsWithStatus('running', MAX_LOOKED_AT)) {
    const op = await ctx.store.get(id);
    // A workflow advances through its steps, which are operations of their own.
    if (!op || op.status !== 'running' || isWorkflowType(op.type)) continue;
    // The run lease fences a run that started meanwhile (a worker starting now): while it is
    // held here no run can claim the operation, and a run that holds it is left alone.
    const lease = ctx.keys.lock(`run:${id}`);
    const holder = randomUUID();
    if (!(await holdLease(ctx.redis, lease, holder, ctx.config.worker.lockDurationMs))) continue;
    try {
      const job = await ctx.queues.queueFor(op).getJob(id);
      const state = job ? await job.getState() : 'missing';
      // Active: some worker holds it (its lock says so) and will finish or hand it back itself.
      if (!job || state === 'active' || state === 'completed' || state === 'failed') continue;
      if (!(await handBackOperation(ctx.store, ctx.redis, ctx.keys, ctx.logger, id, reason))) continue;
      if (state === 'delayed') await job.promote().catch(() => undefined);
      handed++;
    } finally {
      await releaseLease(ctx.redis, lease, holder).catch(() => undefined);
    }
  }
  return handed;
}
