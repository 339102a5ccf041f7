import type { CoreContext } from '../context.js';
import type { Operation } from '../operations/model.js';
import { jobTraceContext } from '../telemetry.js';

/** Name of the jobs that advance a workflow (its own first job carries the operation type). */
export const ADVANCE_JOB = 'advance';

/**
 * Asks a worker to advance a workflow. `reason` makes the job id: the same event enqueued
 * twice (a re-delivered job, a retried notify) is one job, since BullMQ ignores a duplicate id.
 */
export async function enqueueAdvance(ctx: CoreContext, workflowId: string, traceId: string, reason: string): Promise<void> {
  await ctx.queues.workflows().add(
    ADVANCE_JOB,
    { operationId: workflowId, traceId, ...jobTraceContext() },
    {
      jobId: `adv-${workflowId}-${reason}`,
      attempts: ctx.config.worker.attempts,
      backoff: { type: 'exponential', delay: ctx.config.worker.backoffDelayMs, jitter: 0.5 },
      removeOnComplete: { age: 3600, count: 10000 },
      removeOnFail: { age: 24 * 3600 },
    },
  );
}

/** A step reached a terminal state: its workflow looks again at what can run next. */
export async function notifyWorkflow(ctx: CoreContext, step: Pick<Operation, 'id' | 'parent_id' | 'status' | 'trace_id'>): Promise<void> {
  if (!step.parent_id) return;
  await enqueueAdvance(ctx, step.parent_id, step.trace_id, `${step.id}-${step.status}`);
}

/**
 * The sweep's safety net: one advance per running workflow per sweep period, so a lost
 * notification (a worker dying between a step's last write and its notify) cannot strand it.
 */
export async function enqueueSweepAdvance(ctx: CoreContext, workflow: Pick<Operation, 'id' | 'trace_id'>, now: number): Promise<void> {
  const period = Math.floor(now / Math.max(ctx.config.worker.sweepIntervalMs, 1000));
  await enqueueAdvance(ctx, workflow.id, workflow.trace_id, `sweep-${period}`);
}
