import type { CoreContext } from '../core/context.js';
import { isWorkflowType, type OperationStatus } from '../core/operations/model.js';
import { enqueueSweepAdvance } from '../core/workflows/notify.js';
import { enqueueOperation } from '../core/operations/submit.js';

// A pending operation younger than this may simply be between its write and its enqueue.
const PENDING_GRACE_MS = 5000;
const BATCH = 500;

/**
 * Finds accepted operations that no job will ever carry — the API died between writing the
 * record and enqueueing, or a job was lost or given up on while its operation was still
 * open — and enqueues them again. Runs in every worker, one sweep at a time across all of
 * them (a Redis lock).
 */
export async function sweepOnce(ctx: CoreContext, now = Date.now()): Promise<number> {
  const lock = await ctx.redis.set(ctx.keys.lock('sweep'), String(process.pid), 'PX', 60000, 'NX');
  if (lock === null) return 0;
  let enqueued = 0;
  try {
    for (const status of ['pending', 'running'] as OperationStatus[]) {
      const ids = await ctx.store.idsWithStatus(status, BATCH);
      for (const op of await ctx.store.getMany(ids)) {
        if (op.status !== status) continue;
        if (status === 'pending' && now - Date.parse(op.created_at) < PENDING_GRACE_MS) continue;
        // A running workflow's own job has done its part; its steps' advances carry it on.
        if (status === 'running' && isWorkflowType(op.type)) {
          await enqueueSweepAdvance(ctx, op, now);
          continue;
        }
        const job = await ctx.queues.queueFor(op).getJob(op.id);
        const state = job ? await job.getState() : 'unknown';
        if (state === 'waiting' || state === 'active' || state === 'delayed' || state === 'prioritized' || state === 'waiting-children') continue;
        // A finished job under an unfinished operation (e.g. failed for stalling too often) must go before its id can be reused.
        if (job) await job.remove().catch(() => undefined);
        await enqueueOperation(ctx, op);
        enqueued++;
        ctx.logger.warn('sweep enqueued an operation that had no job', { operation_id: op.id, status, job_state: state, trace_id: op.trace_id });
      }
    }
  } finally {
    await ctx.redis.del(ctx.keys.lock('sweep'));
  }
  return enqueued;
}
