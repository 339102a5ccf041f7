import { randomUUID } from 'node:crypto';
import { DelayedError, type Job } from 'bullmq';
import type { DeadlineType } from '../core/config.js';
import type { CoreContext } from '../core/context.js';
import { holdLease } from '../core/lease.js';
import { AbortedError, ErrorCodes, isAbort, ProviderError, EngineError, type ErrorCode } from '../common/errors.js';
import { isTerminal, type Operation, type OperationError } from '../core/operations/model.js';
import { notifyWorkflow } from '../core/workflows/notify.js';
import type { OperationJobData } from '../core/queue.js';
import type { CallContext, Provider, ProviderName, ProviderServer, ServerWait } from '../common/provider.js';
import { INTAKE_RECHECK_MS, type IntakePauses } from '../core/intake/pauses.js';
import { Journal } from './journal.js';
import { beginRun, endRun, runLeaseKey } from './run-lease.js';
import { WaitRegistry } from './waiting/registry.js';
import { inJobSpan } from '../core/telemetry.js';
import { currentTraceScope, withTraceScope } from '../common/trace-scope.js';

/**
 * What a compensation did. `completed` is for work the provider had already carried out when
 * the cancel (or the deadline) came and that cannot be taken back, such as a delete: the
 * operation then ends `completed` with this result, noting that the cancel came too late.
 */
export interface CompensationOutcome {
  cleaned_up: Array<Record<string, unknown>>;
  completed?: Record<string, unknown>;
}

/** What a processor does to undo its work when the operation is cancelled midway; run again in full should a worker die during it. */
export type Compensation = (signal: AbortSignal) => Promise<Array<Record<string, unknown>> | CompensationOutcome>;

export interface ProcessorEnv {
  ctx: CoreContext;
  provider: Provider;
  /** Inputs kept out of the public record (see SubmitOperationInput.sealed). */
  sealed: Record<string, string>;
  /** Pass to every provider call: carries the abort signal and reports progress. */
  call: CallContext;
  progress(step: string, message: string): Promise<void>;
  /** Registers what to undo should the operation be cancelled, or run past its deadline, from here on. */
  onCancel(compensation: Compensation): void;
  /** Runs `fn` once per operation; a resumed run gets its kept result (see journal.ts). */
  step<T>(name: string, fn: (rerun: boolean, since: number) => Promise<T>, opts?: { intent?: boolean }): Promise<T>;
  /**
   * The server once `wait` is over. The first call parks the operation (this run ends, the
   * worker slot is free) and the account's watcher wakes it when the wait is over; the run
   * that resumes gets the server here. Throws the wait's failure as a ProviderError.
   */
  waitFor(name: string, wait: ServerWait): Promise<ProviderServer | null>;
}

export type Processor = (op: Operation, env: ProcessorEnv) => Promise<Record<string, unknown>>;

export interface RunDeps {
  ctx: CoreContext;
  providers: Map<string, Provider>;
  processors: Record<string, Processor>;
  /** Asks the BullMQ worker to abort this job's processor (worker.cancelJob). */
  cancelJob(jobId: string): void;
  /** The provider account an operation's provider calls draw on; its watcher looks after the operation's waits. */
  accountOf(provider: ProviderName): string;
  /** Intake pauses (this process's cached copy): a pending operation they cover is held, not claimed. */
  intake?: IntakePauses;
}

// When the provider names no wait, back off this long before the job runs again.
const DEFAULT_RATE_LIMIT_WAIT_MS = 5000;
// Jobs the same 429 stopped wake spread over this much, not all in the same instant.
const RATE_LIMIT_JITTER_MS = 2000;
const CANCEL_REQUESTED = 'cancel requested';
const DEADLINE_PASSED = 'deadline passed';

/** Thrown by `waitFor` to end the run and park the operation. */
class ParkRequest extends Error {
  constructor(
    readonly waitName: string,
    readonly wait: ServerWait,
  ) {
    super(`parked waiting for ${wait.label}`);
  }
}

function deadlineFor(ctx: CoreContext, type: string): number {
  return ctx.config.worker.deadlinesMs[type as DeadlineType] ?? ctx.config.worker.deadlinesMs['server.create'];
}

const CANCEL_CHECK_MS = 1000;
// A queued operation looks again this often should the announcement of its turn be missed.
const LANE_RECHECK_MS = 30_000;

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
 *
 * Waiting on the cloud ends the run without finishing the operation: the processor asks
 * `waitFor`, the wait is recorded for the account's watcher and the job sleeps in BullMQ's
 * delayed set until its deadline (park); the watcher wakes it when the wait is over, and
 * the next run replays the processor from its journal up to that point and goes on.
 */
export async function runOperation(
  deps: RunDeps,
  job: Job<OperationJobData>,
  token: string | undefined,
  signal: AbortSignal | undefined,
): Promise<Record<string, unknown>> {
  // Everything this run logs or sends to the provider carries the operation's trace, and
  // with tracing on the run is a span under the request that submitted it.
  const scope = { trace_id: job.data.traceId, operation_id: job.data.operationId };
  return withTraceScope(scope, () =>
    inJobSpan(`run ${job.name}`, job.data.traceparent, { 'operation.id': job.data.operationId, 'operation.type': job.name, 'engine.trace_id': job.data.traceId }, () => runFenced(deps, job, token, signal)),
  );
}

async function runFenced(
  deps: RunDeps,
  job: Job<OperationJobData>,
  token: string | undefined,
  signal: AbortSignal | undefined,
): Promise<Record<string, unknown>> {
  const { ctx } = deps;
  const id = job.data.operationId;
  // One run of an operation at a time. BullMQ's job lock nearly ensures it, but a worker that
  // loses its lock (Redis restarting under it, a stalled event loop) runs on while the job is
  // handed to another: two runs, two cleanups, two stop requests. The run lease is the fence:
  // a run that cannot take it sleeps a little and tries again.
  // The journal comes with the lease, in the same round trip.
  const lease = runLeaseKey(ctx.keys, id);
  const holder = randomUUID();
  const leaseMs = ctx.config.worker.lockDurationMs;
  const journalFields = await beginRun(ctx.redis, ctx.keys, id, holder, leaseMs);
  if (journalFields === null) {
    ctx.logger.warn('another run of this operation is still going; trying again shortly', { operation_id: id, trace_id: job.data.traceId });
    await job.moveToDelayed(Date.now() + Math.ceil(leaseMs / 2) + Math.floor(Math.random() * 1000), token);
    throw new DelayedError();
  }
  const renew = setInterval(() => void holdLease(ctx.redis, lease, holder, leaseMs).catch(() => false), Math.ceil(leaseMs / 3));
  const ending: RunEnding = { dropJournal: false };
  try {
    return await runLeased(deps, job, token, signal, Journal.of(ctx.redis, ctx.keys, id, journalFields), ending);
  } finally {
    clearInterval(renew);
    // A finished run's journal goes in the same step that gives the lease back.
    await endRun(ctx.redis, ctx.keys, id, holder, ending.dropJournal).catch(() => undefined);
  }
}

/** What the end of a run does besides giving the lease back. */
interface RunEnding {
  /** The run finished the operation: nothing will replay it any more, so its journal goes. */
  dropJournal: boolean;
}

async function runLeased(
  deps: RunDeps,
  job: Job<OperationJobData>,
  token: string | undefined,
  signal: AbortSignal | undefined,
  journal: Journal,
  ending: RunEnding,
): Promise<Record<string, unknown>> {
  const { ctx } = deps;
  const id = job.data.operationId;
  if (deps.intake && (await holdIfPaused(ctx, deps.intake, job, token))) throw new DelayedError();
  const claim = await ctx.store.transition(id, ['pending', 'running'], 'running', {}, { countAttempt: !journal.resuming, markStarted: true, laneCheck: true });
  if (claim.outcome === 'blocked') {
    // Another operation on the same server goes first: stay pending, slot given back, until
    // it finishes (its end announces this one; see lane-wake.ts) or LANE_RECHECK_MS passes.
    ctx.logger.info('queued behind another operation on the same server', { operation_id: id, trace_id: job.data.traceId, waiting_for: claim.waitingFor });
    await job.moveToDelayed(Date.now() + LANE_RECHECK_MS, token);
    if ((await ctx.store.laneHead(id)) === id) await job.promote().catch(() => undefined);
    throw new DelayedError();
  }
  if (claim.outcome !== 'ok') {
    ctx.logger.info('not claimed', { operation_id: id, trace_id: job.data.traceId, outcome: claim.outcome });
    if (claim.outcome === 'finished') {
      // A re-delivered job of a finished step: the worker that finished it may have died before telling its workflow.
      await notifyParent(ctx, id);
      // Ended by someone else while it slept (a force cancel of a parked operation): its wait
      // and its journal are nobody's any more.
      await letGoOfFinished(deps, id);
    }
    return { skipped: claim.outcome };
  }
  const op = claim.record;
  const scope = currentTraceScope();
  if (scope) scope.workspace = op.workspace;
  const log = ctx.logger.child({ operation_id: id, trace_id: op.trace_id, workspace: op.workspace, job_attempt: job.attemptsMade + 1 });
  if (claim.previous === 'running' && !journal.resuming) log.warn('resuming an operation an earlier attempt left running', { attempt: op.attempt });

  const processor = deps.processors[op.type];
  const provider = deps.providers.get(op.provider);
  if (!processor || !provider) {
    const message = !processor ? `no processor for operation type ${op.type}` : `provider '${op.provider}' is not configured on this worker`;
    await ctx.store.transition(id, ['running'], 'failed', { error: { code: ErrorCodes.PROVIDER_NOT_CONFIGURED, message, retryable: false }, finished_at: new Date().toISOString() });
    await notifyParent(ctx, id);
    return { failed: message };
  }
  const account = deps.accountOf(op.provider);
  const registry = new WaitRegistry(ctx.redis, ctx.keys);
  if (journal.parkedOn !== undefined || journal.resuming) await registry.clear(account, id);

  const startedAt = op.started_at ? Date.parse(op.started_at) : Date.now();
  const deadline = await journal.fixDeadline(startedAt + deadlineFor(ctx, op.type));

  // Cancellation arrives over pub/sub; checking the record too covers a missed message
  // and a cancel requested while no worker held the job.
  const abort = new AbortController();
  signal?.addEventListener('abort', () => abort.abort(signal.reason), { once: true });
  if (op.cancel_requested_at) abort.abort(CANCEL_REQUESTED);
  if (Date.now() >= deadline) abort.abort(DEADLINE_PASSED);
  const deadlineTimer = setTimeout(() => abort.abort(DEADLINE_PASSED), Math.max(0, Math.min(deadline - Date.now(), 2 ** 31 - 1)));
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
    step: (name, fn, opts) => {
      // A run that is being cut short replays what is kept but starts nothing new.
      if (abort.signal.aborted && !journal.has(name)) throw new AbortedError(abort.signal.reason);
      return journal.step(name, fn, opts);
    },
    waitFor: async (name, wait) => {
      const outcome = journal.outcome(name);
      if (outcome?.state === 'done') return outcome.server;
      if (outcome?.state === 'failed') {
        throw new ProviderError({ provider: op.provider, code: outcome.code as ErrorCode, retryable: false, message: `${op.provider}: ${outcome.message}` });
      }
      if (abort.signal.aborted) throw new AbortedError(abort.signal.reason);
      throw new ParkRequest(name, wait);
    },
  };

  // Set when the run ends with the operation still open: parked, paused, or left to BullMQ's retry.
  let handedBack = false;
  try {
    const result = await processor(op, env);
    if (abort.signal.aborted) throw new AbortedError('cancelled after the work finished');
    const done = await ctx.store.transition(id, ['running'], 'completed', { result, finished_at: new Date().toISOString(), error: null });
    if (done.outcome === 'ok') log.info('completed');
    // Force-cancelled meanwhile: that ending stands, and its ledger named what may remain.
    else log.warn('the work finished, but the operation had already ended; its result is not recorded', { outcome: done.outcome, previous: 'previous' in done ? done.previous : undefined, result });
    // The result lives in the operation record; the job keeps only how the run ended, as it
    // does for a failure or a cancel. A copy would be written twice more (the job and the
    // queue's event stream) and serialised once more for nobody.
    return { completed: done.outcome === 'ok' };
  } catch (err) {
    if (err instanceof ParkRequest && !abort.signal.aborted) {
      handedBack = true;
      const since = journal.since(err.waitName) ?? Date.now();
      // Before the job sleeps: a wake may start the next run at once.
      await journal.saveDeadline();
      await registry.register(
        { operationId: id, name: err.waitName, provider: op.provider, account, wait: { ...err.wait, since }, deadline },
        Date.now() + ctx.config.worker.watchMinIntervalMs,
      );
      await ctx.store.recordProgress(id, 'wait', `waiting for ${err.wait.label}`, { waiting_for: err.wait.label, waiting_since: new Date(since).toISOString() });
      await sleepUntil(ctx, job, token, deadline, `w:${err.waitName}`);
      throw new DelayedError();
    }
    if (abort.signal.aborted && abort.signal.reason === DEADLINE_PASSED) {
      await finishCleanedUp(ctx, id, compensations, log, 'failed', {
        code: ErrorCodes.TIMEOUT,
        message: `${op.type} did not finish within its deadline of ${Math.round(deadlineFor(ctx, op.type) / 1000)}s${journal.parkedOn ? ` (it was waiting for ${journal.parkedOn})` : ''}`,
        retryable: false,
      });
      return { failed: ErrorCodes.TIMEOUT };
    }
    const cancelRequested = abort.signal.aborted && (await ctx.store.get(id))?.cancel_requested_at;
    if (cancelRequested) {
      await finishCleanedUp(ctx, id, compensations, log, 'cancelled');
      return { cancelled: true };
    }
    if (err instanceof ProviderError && err.code === ErrorCodes.PROVIDER_RATE_LIMITED) {
      // The account's budget is spent for now, not for good: the job sleeps (its slot and its
      // lock given back) and runs again later, without spending one of its attempts.
      handedBack = true;
      const waitMs = (err.retryAfterSeconds !== undefined ? err.retryAfterSeconds * 1000 : DEFAULT_RATE_LIMIT_WAIT_MS) + Math.floor(Math.random() * RATE_LIMIT_JITTER_MS);
      await ctx.store.recordProgress(id, 'rate_limited', `${op.provider} budget spent for now; going on in about ${Math.ceil(waitMs / 1000)}s`);
      await journal.markResuming();
      await sleepUntil(ctx, job, token, Math.min(deadline, Date.now() + waitMs));
      throw new DelayedError();
    }
    const attemptsLeft = job.attemptsMade + 1 < (job.opts.attempts ?? 1);
    if (isRetryable(err) && attemptsLeft) {
      handedBack = true;
      await env.progress('retry', `attempt ${job.attemptsMade + 1} failed (${(err as Error).message}); retrying after backoff`);
      throw err;
    }
    const error = toOperationError(err);
    await ctx.store.transition(id, ['running'], 'failed', { error, finished_at: new Date().toISOString() });
    log.warn('failed', { code: error.code, error: error.message });
    return { failed: error.code };
  } finally {
    clearInterval(watch);
    clearTimeout(deadlineTimer);
    if (!handedBack) {
      // Finished: nothing will replay it any more (a re-delivered job loses its claim), so
      // its journal goes when the lease is given back (runFenced).
      ending.dropJournal = true;
      // After the final transition (not after a retry or a park, which leave it running): wake its workflow.
      if (op.parent_id) await notifyParent(ctx, id);
    } else {
      // The next run keeps the deadline this one fixed (a no-op where a journal write already took it).
      await journal.saveDeadline().catch((err: unknown) => log.warn('could not keep the deadline in the journal', { error: (err as Error).message }));
    }
  }
}

/**
 * Moves the job to the delayed set until `until`, giving back its slot and lock. A cancel
 * or a wait outcome that arrived while the job was still active could not wake it, so look
 * for both once it sleeps, and wake it at once when either is there.
 */
async function sleepUntil(ctx: CoreContext, job: Job<OperationJobData>, token: string | undefined, until: number, outcomeField?: string): Promise<void> {
  await job.moveToDelayed(Math.max(until, Date.now() + 1), token);
  const id = job.data.operationId;
  const [cancelAt, outcome] = await Promise.all([
    ctx.redis.hget(ctx.keys.operation(id), 'cancel_requested_at'),
    outcomeField ? ctx.redis.hexists(ctx.keys.journal(id), outcomeField) : Promise.resolve(0),
  ]);
  if (cancelAt || outcome) await job.promote().catch(() => undefined);
}

/**
 * Holds a pending operation back while an intake pause covers its workspace or provider: its
 * job sleeps in the delayed set until the pause is lifted (which promotes it) or
 * INTAKE_RECHECK_MS passes. With no pause anywhere this costs no Redis call at all.
 */
export async function holdIfPaused(ctx: CoreContext, intake: IntakePauses, job: Job<OperationJobData>, token: string | undefined): Promise<boolean> {
  const id = job.data.operationId;
  if ((await intake.current()).size === 0) return false;
  const [status, workspace, provider] = await ctx.redis.hmget(ctx.keys.operation(id), 'status', 'workspace', 'provider');
  // Only new work waits: one already running (resuming after a wait, a crash, a backoff) goes on.
  if (status !== 'pending' || !workspace || !provider) return false;
  const pause = await intake.pauseFor(workspace, provider);
  if (!pause || (await intake.hold(id, pause)) !== 'held') return false;
  ctx.logger.info('intake paused: holding the operation', { operation_id: id, trace_id: job.data.traceId, scope: pause.scope, name: pause.name });
  await job.moveToDelayed(Date.now() + INTAKE_RECHECK_MS, token);
  // Lifted between the hold and the sleep: its promote found the job still active, so wake it here.
  if (!(await intake.isHeld(id, pause))) await job.promote().catch(() => undefined);
  return true;
}

/** Drops the wait and the journal of an operation that ended while its job slept. */
async function letGoOfFinished(deps: RunDeps, id: string): Promise<void> {
  const { ctx } = deps;
  try {
    const op = await ctx.store.get(id);
    if (!op || !isTerminal(op.status)) return;
    await new WaitRegistry(ctx.redis, ctx.keys).clear(deps.accountOf(op.provider), id);
    await ctx.redis.del(ctx.keys.journal(id));
  } catch (err) {
    ctx.logger.warn('could not let go of a finished operation', { operation_id: id, error: (err as Error).message });
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

// Between two tries of a cleanup that met a passing provider failure.
const CLEANUP_RETRY_MS = 1000;
const CLEANUP_RETRY_MAX_MS = 30_000;

/**
 * Runs a compensation, again after a passing provider failure (a spent budget, a 429, a 5xx or
 * a timeout) until it succeeds or its deadline passes. Giving up at the first one would leave
 * a half-made server behind and the inventory saying `provisioning`; every compensation is
 * safe to run again, so trying again is the cheap way to be sure.
 */
async function compensateUntilDone(compensate: Compensation, deadline: AbortSignal): Promise<Awaited<ReturnType<Compensation>>> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await compensate(deadline);
    } catch (err) {
      const passing = err instanceof ProviderError && (err.retryable || err.code === ErrorCodes.PROVIDER_RATE_LIMITED);
      if (!passing || deadline.aborted) throw err;
      const backoff = err.retryAfterSeconds !== undefined ? err.retryAfterSeconds * 1000 : Math.min(CLEANUP_RETRY_MS * 2 ** attempt, CLEANUP_RETRY_MAX_MS);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, backoff + Math.floor(Math.random() * CLEANUP_RETRY_MS));
        deadline.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
      });
      if (deadline.aborted) throw err;
    }
  }
}

/**
 * Undoes what the operation half-made and ends it `cancelled`, or `failed` with `error` (a
 * deadline); or `completed` when a compensation found that the work itself had already
 * happened at the provider, with `cancel_too_late` (or `deadline_passed`) in its result.
 */
async function finishCleanedUp(
  ctx: CoreContext,
  id: string,
  compensations: Compensation[],
  log: CoreContext['logger'],
  to: 'cancelled' | 'failed',
  error?: OperationError,
): Promise<void> {
  const cleanedUp: Array<Record<string, unknown>> = [];
  const problems: string[] = [];
  let completed: Record<string, unknown> | undefined;
  // Compensation must not be cut short by the abort that triggered it: give it its own deadline.
  const deadline = AbortSignal.timeout(5 * 60 * 1000);
  for (const compensate of compensations.reverse()) {
    try {
      const outcome = await compensateUntilDone(compensate, deadline);
      if (Array.isArray(outcome)) cleanedUp.push(...outcome);
      else {
        cleanedUp.push(...outcome.cleaned_up);
        if (outcome.completed) completed = { ...completed, ...outcome.completed };
      }
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  const tail = { cleaned_up: cleanedUp, ...(problems.length ? { cleanup_errors: problems } : {}) };
  if (completed) {
    const result = { ...completed, ...(to === 'cancelled' ? { cancel_too_late: true } : { deadline_passed: true }), ...tail };
    await ctx.store.transition(id, ['running'], 'completed', { result, error: null, finished_at: new Date().toISOString() });
    log.info(`completed: its work was done at the provider before the ${to === 'cancelled' ? 'cancel' : 'deadline'} could stop it`, { cleaned_up: cleanedUp.length });
    return;
  }
  const result = { ...(to === 'cancelled' ? { cancelled: true } : { timed_out: true }), ...tail };
  await ctx.store.transition(id, ['running'], to, { result, ...(error ? { error } : {}), finished_at: new Date().toISOString() });
  log.info(to === 'cancelled' ? 'cancelled' : 'timed out', { cleaned_up: cleanedUp.length, cleanup_errors: problems.length });
}
