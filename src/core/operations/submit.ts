import { randomUUID } from 'node:crypto';
import type { ProviderName } from '../../common/provider.js';
import type { CoreContext } from '../context.js';
import { operationJobOptions } from '../queue.js';
import { jobTraceContext } from '../telemetry.js';
import { IdempotencyKeyAnsweredError, IdempotencyKeyReusedError, type IdempotencyBinding } from '../idempotency.js';
import type { Access } from '../auth/access.js';
import type { Operation, OperationType } from './model.js';
import { indexServerOperation } from '../servers/history.js';

/** Who asks for an operation: the user, the request's trace, and its Idempotency-Key if it sent one. */
export interface Actor {
  username: string;
  traceId: string;
  idempotency?: IdempotencyBinding;
  /** What the caller may do where. */
  access: Access;
  /** Set when the request retries an operation: the new operation's id (claimed beforehand) and the original's. */
  retry?: { of: string; id: string };
}

export interface SubmitOperationInput {
  type: OperationType;
  workspace: string;
  provider: ProviderName;
  target: Record<string, unknown> | null;
  request: Record<string, unknown>;
  requestedBy: string;
  traceId: string;
  parentId?: string;
  /** Inputs the worker needs but no client may read back (e.g. user_data): stored beside the record, never shown. */
  sealed?: Record<string, string>;
  /** The request's Idempotency-Key, bound to the operation in the same write. */
  idempotency?: IdempotencyBinding;
  /** The operation this one retries (its `retry_of`). */
  retryOf?: string;
  /** The new operation's id when it was chosen beforehand (a retry claims it on the original first). */
  id?: string;
}

/** The submit fields that come from who asks. */
export function fromActor(actor: Actor): Pick<SubmitOperationInput, 'requestedBy' | 'traceId' | 'idempotency' | 'retryOf' | 'id'> {
  return { requestedBy: actor.username, traceId: actor.traceId, idempotency: actor.idempotency, ...(actor.retry ? { retryOf: actor.retry.of, id: actor.retry.id } : {}) };
}

export function newOperation(input: SubmitOperationInput, now = new Date()): Operation {
  const at = now.toISOString();
  return {
    id: input.id ?? randomUUID(),
    type: input.type,
    status: 'pending',
    workspace: input.workspace,
    provider: input.provider,
    target: input.target,
    request: input.request,
    progress: null,
    attempt: 0,
    result: null,
    error: null,
    parent_id: input.parentId ?? null,
    trace_id: input.traceId,
    requested_by: input.requestedBy,
    cancel_requested_at: null,
    cancel_requested_by: null,
    retry_of: input.retryOf ?? null,
    retried_by: null,
    created_at: at,
    updated_at: at,
    started_at: null,
    finished_at: null,
  };
}

/**
 * Accepts a request: writes the pending operation (binding the request's Idempotency-Key to it
 * in the same step), then enqueues its job under the same id. Should the enqueue fail after
 * the write (Redis restarting, the process dying), the operation is still accepted: the sweep
 * finds a pending operation with no job and enqueues it.
 *
 * When the key already names an operation (a concurrent request with the same key wrote it
 * first), that operation is the answer and nothing new is written.
 */
export async function submitOperation(ctx: CoreContext, input: SubmitOperationInput): Promise<Operation> {
  const op = newOperation(input);
  const created = await ctx.store.create(op, input.sealed, input.idempotency);
  if (created.outcome === 'bound') {
    const existing = await ctx.store.get(created.operationId);
    if (existing) return existing;
    throw new Error(`operation ${created.operationId} named by the Idempotency-Key is gone`);
  }
  if (created.outcome === 'reused') throw new IdempotencyKeyReusedError(input.idempotency!.scope);
  if (created.outcome === 'answered') throw new IdempotencyKeyAnsweredError();
  // A new random id found taken can only be this very write, applied and then sent again by
  // the Redis client after a reconnect (a restart, a Sentinel failover) whose answer was lost:
  // the operation is accepted, so it is answered as such, not as a 5xx. Its job id is the
  // operation id, so enqueueing it again adds nothing twice.
  if (created.outcome === 'exists' && (input.id !== undefined || !(await ctx.store.get(op.id)))) throw new Error(`operation id ${op.id} is taken`);
  // Before the job is queued, so the server's history lists the operation before it can do anything.
  await indexServerOperation(ctx.redis, ctx.keys, op);
  try {
    await enqueueOperation(ctx, op);
  } catch (err) {
    ctx.logger.warn('enqueue failed; the sweep will enqueue it', {
      operation_id: op.id,
      trace_id: op.trace_id,
      error: (err as Error).message,
    });
  }
  return op;
}

export async function enqueueOperation(ctx: CoreContext, op: Pick<Operation, 'id' | 'type' | 'trace_id' | 'provider'>): Promise<void> {
  await ctx.queues.queueFor(op).add(op.type, { operationId: op.id, traceId: op.trace_id, ...jobTraceContext() }, operationJobOptions(ctx.config, op.id));
}
