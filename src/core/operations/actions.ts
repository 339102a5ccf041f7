import type { Config } from '../config.js';
import { isWorkflowType, type Operation, type OperationActions } from './model.js';

export type { OperationActions } from './model.js';

export type WithActions<T extends Operation = Operation> = T & { actions: OperationActions };

/** When a force cancel becomes allowed (epoch ms), or null while no normal cancel was requested. */
export function forceCancelAllowedAt(op: Pick<Operation, 'cancel_requested_at'>, graceMs: number): number | null {
  if (!op.cancel_requested_at) return null;
  const at = Date.parse(op.cancel_requested_at);
  return Number.isFinite(at) ? at + graceMs : null;
}

/**
 * Why a failed or cancelled operation cannot be retried from its record, or null when it can:
 * a reason a client can show. Its status is checked by the caller.
 */
export function retryBlocker(op: Operation): { code: 'OPERATION_ALREADY_RETRIED' | 'OPERATION_NOT_RETRYABLE' | 'RETRY_INPUTS_GONE'; message: string } | null {
  if (op.retried_by) return { code: 'OPERATION_ALREADY_RETRIED', message: `operation ${op.id} was already retried by operation ${op.retried_by}; retry that one instead` };
  if (op.parent_id) return { code: 'OPERATION_NOT_RETRYABLE', message: `operation ${op.id} is a step of workflow ${op.parent_id}; retry the workflow instead` };
  const gone = sealedInputsNeeded(op);
  if (gone.length > 0) {
    return {
      code: 'RETRY_INPUTS_GONE',
      message: `operation ${op.id} was given ${gone.join(', ')}, a secret input the engine drops once an operation has ended; submit the request again with it instead`,
    };
  }
  return null;
}

/**
 * The secret inputs (kept sealed beside the record and dropped once it ended) the operation
 * was given: a retry would have to run without them, so it is refused instead.
 */
function sealedInputsNeeded(op: Operation): string[] {
  if (op.type === 'server.create' && typeof op.request.user_data === 'string') return ['user_data'];
  if (isWorkflowType(op.type)) {
    const steps = (op.request as { steps?: Array<{ id?: unknown; parameters?: Record<string, unknown> }> }).steps ?? [];
    return steps
      .filter((s) => typeof s?.parameters?.user_data === 'object' && s.parameters.user_data !== null)
      .map((s) => `the user_data of step '${String(s.id)}'`);
  }
  return [];
}

export function actionsOf(op: Operation, graceMs: number, now = Date.now()): OperationActions {
  const allowedAt = op.status === 'running' ? forceCancelAllowedAt(op, graceMs) : null;
  return {
    cancel: op.status === 'pending' || (op.status === 'running' && !op.cancel_requested_at),
    force_cancel: allowedAt !== null && now >= allowedAt,
    retry: (op.status === 'failed' || op.status === 'cancelled') && retryBlocker(op) === null,
  };
}

/** The record as the API serves it: with `actions`. */
export function withActions<T extends Operation>(op: T, config: Pick<Config, 'forceCancelGraceMs'>, now = Date.now()): WithActions<T> {
  return { ...op, actions: actionsOf(op, config.forceCancelGraceMs, now) };
}
