import { Worker, type Job } from 'bullmq';
import type { CoreContext } from '../core/context.js';
import { ErrorCodes, isAbort, ProviderError, EngineError } from '../core/errors.js';
import { isTerminal, type Operation, type OperationError } from '../core/operations/model.js';
import { notifyWorkflow } from '../core/workflows/notify.js';
import type { OperationJobData } from '../core/queue.js';
import type { CallContext, Provider } from '../providers/types.js';

/** What a processor does to undo its work when the operation is cancelled midway. */
export type Compensation = (signal: AbortSignal) => Promise<Array<Record<string, unknown>>>;

export interface ProcessorEnv {
  ctx: CoreContext;
  provider: Provider;
  /** Inputs kept out of the public record (see SubmitOperationInput.sealed). */
  sealed: Record<string, string>;
  /** Pass to every provider call: carries the abort signal and reports progress. */
  call: CallContext;
  progress(step: string, message: string): Promise<void>;
  /** Registers what to undo should the operation be cancelled from here on. */
  onCancel(compensation: Compensation): void;
}

export type Processor = (op: Operation, env: ProcessorEnv) => Promise<Record<string, unknown>>;

export interface RunDeps {
  ctx: CoreContext;
  providers: Map<string, Provider>;
  processors: Record<string, Processor>;
  /** Asks the BullMQ worker to abort this job's processor (worker.cancelJob). */
  cancelJob(jobId: string): void;
  /** Pauses this provider's queue on this worker for `ms` (worker.rateLimit). */
  rateLimit(ms: number): Promise<void>;
}

// When the provider names no wait, back off this long before its queue runs again.
const DEFAULT_RATE_LIMIT_WAIT_MS = 5000;

const CANCEL_CHECK_MS = 1000;

function toOperationError(err: unknown): OperationError {
  if (err instanceof ProviderError) return { code: err.code, message: err.message, retryable: err.retryable };
  if (err instanceof EngineError) return { code: err.code, message: err.message, retryable: false };
  return { code: ErrorCodes.INTERNAL, message: (err as Error)?.message ?? String(err), retryable: true };
}

function isRetryable(err: unknown): boolean {
  if (err instanceof ProviderError) return err.retryable;
  return !(err instanceof EngineError) && !isAbort(err);
}

/**
 * Carries one operation through a worker: claim (CAS to running), run its processor with an
 * abort signal, and finish with exactly one CAS to completed, failed or cancelled. A
 * retryable failure with attempts left is thrown back to BullMQ, which runs the job again
 * after a backoff; the operation stays running meanwhile.
 */
export async function runOperation(
  deps: RunDeps,
  job: Job<OperationJobData>,
  signal: AbortSignal | undefined,
): Promise<Record<string, unknown>> {
  const { ctx } = deps;
  const id = job.data.operationId;
  const claim = await ctx.store.transition(id, ['pending', 'running'], 'running', {}, { countAttempt: true, markStarted: true });
  if (claim.outcome !== 'ok') {
    ctx.logger.info('not claimed', { operation_id: id, trace_id: job.data.traceId, outcome: claim.outcome });
    // A re-delivered job of a finished step: the worker that finished it may have died before telling its workflow.
    if (claim.outcome === 'finished') await notifyParent(ctx, id);
    return { skipped: claim.outcome };
  }
  const op = claim.record;
  const log = ctx.logger.child({ operation_id: id, trace_id: op.trace_id, workspace: op.workspace, job_attempt: job.attemptsMade + 1 });
  if (claim.previous === 'running') log.warn('resuming an operation an earlier attempt left running', { attempt: op.attempt });

  const processor = deps.processors[op.type];
  const provider = deps.providers.get(op.provider);
  if (!processor || !provider) {
    const message = !processor ? `no processor for operation type ${op.type}` : `provider '${op.provider}' is not configured on this worker`;
    await ctx.store.transition(id, ['running'], 'failed', { error: { code: ErrorCodes.PROVIDER_NOT_CONFIGURED, message, retryable: false }, finished_at: new Date().toISOString() });
    await notifyParent(ctx, id);
    return { failed: message };
  }

  // Cancellation arrives over pub/sub; checking the record too covers a missed message
  // and a cancel requested while no worker held the job.
  const abort = new AbortController();
  signal?.addEventListener('abort', () => abort.abort(signal.reason), { once: true });
  if (op.cancel_requested_at) abort.abort('cancel requested');
  const watch = setInterval(() => {
    ctx.redis.hget(ctx.keys.operation(id), 'cancel_requested_at').then((at) => {
      if (at && !abort.signal.aborted) deps.cancelJob(id);
    }, () => undefined);
  }, CANCEL_CHECK_MS);

  const compensations: Compensation[] = [];
  const env: ProcessorEnv = {
    ctx,
    provider,
    sealed: claim.sealed,
    call: {
      signal: abort.signal,
      traceId: op.trace_id,
      onProgress: (message) => void ctx.store.recordProgress(id, 'provider', message),
    },
    progress: async (step, message) => {
      log.info(message, { step });
      await ctx.store.recordProgress(id, step, message);
    },
    onCancel: (c) => void compensations.push(c),
  };

  try {
    const result = await processor(op, env);
    if (abort.signal.aborted) throw new Error('cancelled after the work finished');
    await ctx.store.transition(id, ['running'], 'completed', { result, finished_at: new Date().toISOString(), error: null });
    log.info('completed');
    return result;
  } catch (err) {
    const cancelRequested = abort.signal.aborted && (await ctx.store.get(id))?.cancel_requested_at;
    if (cancelRequested) {
      await finishCancelled(ctx, id, compensations, log);
      return { cancelled: true };
    }
    if (err instanceof ProviderError && err.code === ErrorCodes.PROVIDER_RATE_LIMITED) {
      // The provider refused for now, not for good: pause its queue and run the job again
      // later, without spending one of its attempts.
      const waitMs = err.retryAfterSeconds !== undefined ? err.retryAfterSeconds * 1000 : DEFAULT_RATE_LIMIT_WAIT_MS;
      await env.progress('rate_limited', `${op.provider} is rate limiting; waiting ${Math.ceil(waitMs / 1000)}s before going on`);
      await deps.rateLimit(waitMs);
      throw Worker.RateLimitError();
    }
    const attemptsLeft = job.attemptsMade + 1 < (job.opts.attempts ?? 1);
    if (isRetryable(err) && attemptsLeft) {
      await env.progress('retry', `attempt ${job.attemptsMade + 1} failed (${(err as Error).message}); retrying after backoff`);
      throw err;
    }
    const error = toOperationError(err);
    await ctx.store.transition(id, ['running'], 'failed', { error, finished_at: new Date().toISOString() });
    log.warn('failed', { code: error.code, error: error.message });
    return { failed: error.code };
  } finally {
    clearInterval(watch);
    // After the final transition (not after a retry, which leaves it running): wake its workflow.
    if (op.parent_id) await notifyParent(ctx, id);
  }
}

/** Tells a step's workflow that the step finished; a no-op for other operations or unfinished ones. */
async function notifyParent(ctx: CoreContext, id: string): Promise<void> {
  try {
    const op = await ctx.store.get(id);
    if (op?.parent_id && isTerminal(op.status)) await notifyWorkflow(ctx, op);
  } catch (err) {
    // The sweep's periodic advance of running workflows covers a notify that never arrived.
    ctx.logger.warn('could not notify the workflow', { operation_id: id, error: (err as Error).message });
  }
}

async function finishCancelled(ctx: CoreContext, id: string, compensations: Compensation[], log: CoreContext['logger']): Promise<void> {
  const cleanedUp: Array<Record<string, unknown>> = [];
  const problems: string[] = [];
  // Compensation must not be cut short by the abort that triggered it: give it its own deadline.
  const deadline = AbortSignal.timeout(5 * 60 * 1000);
  for (const compensate of compensations.reverse()) {
    try {
      cleanedUp.push(...(await compensate(deadline)));
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  await ctx.store.transition(id, ['running'], 'cancelled', {
    result: { cancelled: true, cleaned_up: cleanedUp, ...(problems.length ? { cleanup_errors: problems } : {}) },
    finished_at: new Date().toISOString(),
  });
  log.info('cancelled', { cleaned_up: cleanedUp.length, cleanup_errors: problems.length });
}
