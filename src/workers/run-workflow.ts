import { DelayedError, type Job } from 'bullmq';
import type { CoreContext } from '../core/context.js';
import type { IntakePauses } from '../core/intake/pauses.js';
import type { OperationJobData } from '../core/queue.js';
import { advanceWorkflow, type AdvanceReport } from '../core/workflows/advance.js';
import { ADVANCE_JOB } from '../core/workflows/notify.js';
import { holdIfPaused } from './run-operation.js';
import { inJobSpan } from '../core/telemetry.js';
import { currentTraceScope, withTraceScope } from '../common/trace-scope.js';

/**
 * Every job on the workflows queue — a workflow's own first job and each later advance —
 * does the same thing: one advance. A thrown error is retried by BullMQ; an advance repeated
 * after a crash starts nothing twice. A workflow not started yet whose workspace or provider
 * has its intake paused waits `pending`, as any new operation does (see run-operation.ts).
 */
export async function runWorkflowJob(ctx: CoreContext, job: Job<OperationJobData>, token?: string, intake?: IntakePauses): Promise<AdvanceReport> {
  // The steps an advance submits carry the workflow's trace, and with tracing on their runs are children of this one.
  return withTraceScope({ trace_id: job.data.traceId, operation_id: job.data.operationId }, () =>
    inJobSpan(`run ${job.name}`, job.data.traceparent, { 'operation.id': job.data.operationId, 'operation.type': job.name, 'engine.trace_id': job.data.traceId }, () => advanceOnce(ctx, job, token, intake)),
  );
}

async function advanceOnce(ctx: CoreContext, job: Job<OperationJobData>, token?: string, intake?: IntakePauses): Promise<AdvanceReport> {
  // Its lines name the workflow's workspace too, as an operation's run does.
  const scope = currentTraceScope();
  if (scope) scope.workspace = (await ctx.redis.hget(ctx.keys.operation(job.data.operationId), 'workspace')) ?? undefined;
  if (intake && job.name !== ADVANCE_JOB && token !== undefined && (await holdIfPaused(ctx, intake, job, token))) throw new DelayedError();
  const report = await advanceWorkflow(ctx, job.data.operationId);
  if (report.started.length) ctx.logger.info('workflow started steps', { operation_id: job.data.operationId, trace_id: job.data.traceId, steps: report.started });
  return report;
}
