import type { Job } from 'bullmq';
import type { CoreContext } from '../core/context.js';
import type { OperationJobData } from '../core/queue.js';
import { advanceWorkflow, type AdvanceReport } from '../core/workflows/advance.js';

/**
 * Every job on the workflows queue — a workflow's own first job and each later advance —
 * does the same thing: one advance. A thrown error is retried by BullMQ; an advance repeated
 * after a crash starts nothing twice.
 */
export async function runWorkflowJob(ctx: CoreContext, job: Job<OperationJobData>): Promise<AdvanceReport> {
  const report = await advanceWorkflow(ctx, job.data.operationId);
  if (report.started.length) ctx.logger.info('workflow started steps', { operation_id: job.data.operationId, trace_id: job.data.traceId, steps: report.started });
  return report;
}
