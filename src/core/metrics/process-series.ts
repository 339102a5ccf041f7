/**
 * The engine's series that each process counts for itself: what it saw happen (provider calls,
 * operations its own compare-and-set ended, cancels, retries). Every process that does engine
 * work (the API and each worker) holds one set in its own registry; the API's `GET /metrics`
 * sums them across processes (see metrics/merge.ts), so the names, help and label sets here
 * are the one definition every process shares.
 *
 * Labels stay few and bounded: operation type and final state, provider, HTTP method, error
 * kind. Never an id, a path, an account or a workspace.
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import type { ProviderCall } from '../../providers/call-observer.js';
import type { OperationObserver } from '../operations/observer.js';
import type { Operation, OperationStatus } from '../operations/model.js';

/** From under a second (a refused request) to the half hour a slow multi-step workflow may take; 30–90 s boots fall in the middle. */
const OPERATION_BUCKETS = [0.5, 1, 2.5, 5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600, 1800];
/** A provider answers in tens to hundreds of ms; a slow one in seconds, up to the per-attempt timeout. */
const PROVIDER_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export type ProviderErrorKind = 'rate_limited' | 'client_error' | 'server_error' | 'timeout' | 'connection';

/** What an attempt's outcome counts as in `engine_provider_errors_total`, or null for a success. */
export function providerErrorKind(call: ProviderCall): ProviderErrorKind | null {
  if (call.outcome !== 'answered') return call.outcome;
  const status = call.status ?? 0;
  if (status === 429) return 'rate_limited';
  if (status >= 500) return 'server_error';
  // A 4xx refusal, or an answer the client cannot use (a redirect it does not follow).
  if (status < 200 || status >= 300) return 'client_error';
  return null;
}

function seconds(from: string | null, to: string | null): number | null {
  if (!from || !to) return null;
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) && ms >= 0 ? ms / 1000 : null;
}

export class EngineProcessSeries {
  private readonly finished: Counter<'type' | 'state'>;
  private readonly totalDuration: Histogram<'type'>;
  private readonly runDuration: Histogram<'type'>;
  private readonly providerDuration: Histogram<'provider' | 'method'>;
  private readonly providerErrors: Counter<'provider' | 'kind'>;
  private readonly rateLimited: Counter<'provider'>;
  private readonly cancelRequested: Counter<'while'>;
  private readonly cancelEnded: Counter<'state'>;
  private readonly operationsRetried: Counter<'type'>;
  private readonly jobsRetried: Counter<'queue'>;
  private readonly stepsFinished: Counter<'state'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.finished = new Counter({ name: 'engine_operations_finished_total', help: 'Operations that reached a final state, by type and state (counted once, by the process that ended it)', labelNames: ['type', 'state'], registers });
    this.totalDuration = new Histogram({ name: 'engine_operation_duration_seconds', help: 'Seconds from an operation\'s acceptance to its final state, by type', labelNames: ['type'], buckets: OPERATION_BUCKETS, registers });
    this.runDuration = new Histogram({ name: 'engine_operation_run_duration_seconds', help: 'Seconds from a worker\'s first claim of an operation to its final state, by type (operations never claimed are not observed)', labelNames: ['type'], buckets: OPERATION_BUCKETS, registers });
    this.providerDuration = new Histogram({ name: 'engine_provider_request_duration_seconds', help: 'Seconds each request attempt to a provider\'s API took on the wire, by provider and HTTP method', labelNames: ['provider', 'method'], buckets: PROVIDER_BUCKETS, registers });
    this.providerErrors = new Counter({ name: 'engine_provider_errors_total', help: 'Provider request attempts that failed, by provider and kind (rate_limited, client_error, server_error, timeout, connection)', labelNames: ['provider', 'kind'], registers });
    this.rateLimited = new Counter({ name: 'engine_provider_rate_limited_total', help: 'Provider answers of 429 Too Many Requests, by provider', labelNames: ['provider'], registers });
    this.cancelRequested = new Counter({ name: 'engine_cancellations_requested_total', help: 'Cancels accepted, by the state the operation was in (pending ones end at once; running ones are asked to stop)', labelNames: ['while'], registers });
    this.cancelEnded = new Counter({ name: 'engine_cancellations_finished_total', help: 'Operations with a cancel request that reached a final state, by that state (completed: the work was done before the cancel could stop it)', labelNames: ['state'], registers });
    this.operationsRetried = new Counter({ name: 'engine_operations_retried_total', help: 'Failed or cancelled operations retried as a new linked operation, by type', labelNames: ['type'], registers });
    this.jobsRetried = new Counter({ name: 'engine_jobs_retried_total', help: 'Job runs that failed and were handed back to the queue for another attempt after a backoff, by queue', labelNames: ['queue'], registers });
    this.stepsFinished = new Counter({ name: 'engine_workflow_steps_finished_total', help: 'Workflow steps (the operations a workflow runs) that reached a final state, by state', labelNames: ['state'], registers });
  }

  /** Watches a store's writes (give it the process's `ctx.store.observers`). */
  readonly operations: OperationObserver = {
    created: (op) => {
      if (op.retry_of) this.operationsRetried.inc({ type: op.type });
    },
    finished: (op, previous) => this.operationFinished(op, previous),
    cancelRequested: () => this.cancelRequested.inc({ while: 'running' }),
  };

  /** For the provider HTTP clients' `observer` option. */
  readonly providerCall = (call: ProviderCall): void => {
    this.providerDuration.observe({ provider: call.provider, method: call.method }, call.seconds);
    const kind = providerErrorKind(call);
    if (kind) this.providerErrors.inc({ provider: call.provider, kind });
    if (kind === 'rate_limited') this.rateLimited.inc({ provider: call.provider });
  };

  /** A job run that failed and goes back to its queue for another attempt. */
  jobRetried(queue: string): void {
    this.jobsRetried.inc({ queue });
  }

  private operationFinished(op: Operation, previous: OperationStatus): void {
    this.finished.inc({ type: op.type, state: op.status });
    const total = seconds(op.created_at, op.finished_at ?? op.updated_at);
    if (total !== null) this.totalDuration.observe({ type: op.type }, total);
    const run = seconds(op.started_at, op.finished_at ?? op.updated_at);
    if (run !== null) this.runDuration.observe({ type: op.type }, run);
    // A pending operation is cancelled at once by the request itself, with no cancel_requested_at.
    const cancelledWhilePending = previous === 'pending' && op.status === 'cancelled';
    if (cancelledWhilePending) this.cancelRequested.inc({ while: 'pending' });
    if (cancelledWhilePending || op.cancel_requested_at) this.cancelEnded.inc({ state: op.status });
    if (op.parent_id) this.stepsFinished.inc({ state: op.status });
  }
}
