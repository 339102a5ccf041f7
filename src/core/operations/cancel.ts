import type { CoreContext } from '../context.js';
import { NotFoundError, OperationFinishedError, ErrorCodes } from '../../common/errors.js';
import type { Operation } from './model.js';
import { notifyWorkflow } from '../workflows/notify.js';
import { wakeJob } from '../queue.js';

export interface CancelOutcome {
  operation: Operation;
  /** true when the operation is already cancelled; false when a running worker was asked to stop. */
  cancelled: boolean;
}

/**
 * Cancels an operation. A pending one is cancelled at once and its job removed; a running
 * one is marked and the worker holding it is told over pub/sub (it aborts, cleans up and
 * ends the operation `cancelled`). A finished one cannot be cancelled.
 */
export async function cancelOperation(ctx: CoreContext, id: string, requestedBy: string): Promise<CancelOutcome> {
  // A pending operation a worker had started and handed back (see hand-back.ts) may have made
  // something at the provider: it is cancelled like a running one, by its next run, which cleans up.
  const handedBack = (await ctx.redis.hmget(ctx.keys.operation(id), 'status', 'started_at')).every((v, i) => (i === 0 ? v === 'pending' : v !== null));
  const pending = handedBack ? ({ outcome: 'conflict', previous: 'pending' } as const) : await ctx.store.transition(id, ['pending'], 'cancelled', {
    finished_at: new Date().toISOString(),
    result: { cancelled_before_start: true, cleaned_up: [] },
  });
  if (pending.outcome === 'not_found') throw new NotFoundError(ErrorCodes.OPERATION_NOT_FOUND, `operation ${id} does not exist`);
  if (pending.outcome === 'finished') throw new OperationFinishedError(id, pending.previous);
  if (pending.outcome === 'ok') {
    // The job may already be claimed by a worker; its claim then loses the CAS and it stops.
    await ctx.queues.queueFor(pending.record).remove(id).catch(() => 0);
    // A workflow step cancelled before any worker saw it: its workflow must hear of it.
    if (pending.record.parent_id) await notifyWorkflow(ctx, pending.record);
    return { operation: pending.record, cancelled: true };
  }

  const request = await ctx.store.requestCancel(id, requestedBy);
  if (request.outcome === 'not_found') throw new NotFoundError(ErrorCodes.OPERATION_NOT_FOUND, `operation ${id} does not exist`);
  if (request.outcome === 'not_running') throw new OperationFinishedError(id, request.status);
  await ctx.redis.publish(ctx.keys.cancelChannel(), id);
  const operation = (await ctx.store.get(id))!;
  // A job waiting out a retry backoff has no worker to tell: run it now so it sees the request.
  await wakeJob(ctx.queues.queueFor(operation), id);
  return { operation, cancelled: false };
}
