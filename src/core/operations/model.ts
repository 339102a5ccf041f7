/**
 * Glossary
 * - operation: one accepted request (create, delete, action, …) and everything the engine
 *   did about it. It is created `pending` by the API and moves forward:
 *   pending → running → completed | failed | cancelled, or pending → cancelled.
 *   Terminal states never change. The one step back is a hand-back (see hand-back.ts):
 *   running → pending when the worker holding it stops, so it is never left `running` with
 *   nobody working on it; its journal stays, and the next run resumes from it.
 * - transition: the one way an operation's status changes: an atomic compare-and-set in
 *   Redis that also rewrites the operation's row and appends an event (see store.ts).
 * - row: what listing and retention read of an operation (id, status, type, workspace,
 *   provider, when it finished), one field of a small hash of 64 by creation sequence (see rows.ts).
 * - job: the BullMQ job that carries an operation to a worker. Its id IS the operation id,
 *   so enqueueing twice is harmless and the sweep can tell which operations lack one.
 * - attempt: how many times a worker has claimed the operation (re-runs after a crash or a
 *   retryable provider failure count).
 * - cancel request: `cancel_requested_at` set on a running operation; the worker holding it
 *   aborts, cleans up what it half-made and ends it `cancelled`.
 * - force cancel: once a cancel request has had FORCE_CANCEL_GRACE_MS, the API may end the
 *   operation `cancelled` itself (the same compare-and-set), with a ledger of what may remain
 *   at the provider (see force-cancel.ts).
 * - retry: a new operation made from a failed or cancelled one's request (`retry_of` names the
 *   original, whose `retried_by` names the new one; see retry.ts).
 */
import type { ProviderName } from '../../common/provider.js';

export type OperationStatus = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled';

export const OPERATION_STATUSES: readonly OperationStatus[] = ['pending', 'running', 'completed', 'failed', 'cancelled'];

export const TERMINAL_STATUSES: ReadonlySet<OperationStatus> = new Set(['completed', 'failed', 'cancelled']);

export type WorkflowOperationType = 'workflow.cluster_create' | 'workflow.cluster_delete' | 'workflow.server_batch_create' | 'workflow.custom';

export const WORKFLOW_OPERATION_TYPES: readonly WorkflowOperationType[] = ['workflow.cluster_create', 'workflow.cluster_delete', 'workflow.server_batch_create', 'workflow.custom'];

export type OperationType = 'server.create' | 'server.delete' | 'server.action' | 'server.resize' | 'taskserv.create' | 'taskserv.delete' | WorkflowOperationType;

export const OPERATION_TYPES: readonly OperationType[] = ['server.create', 'server.delete', 'server.action', 'server.resize', 'taskserv.create', 'taskserv.delete', ...WORKFLOW_OPERATION_TYPES];

/** Workflows run on their own queue and have no processor: their steps are operations of their own. */
export function isWorkflowType(type: string): type is WorkflowOperationType {
  return type.startsWith('workflow.');
}

export interface OperationError {
  code: string;
  message: string;
  retryable: boolean;
}

export interface OperationProgress {
  step: string;
  message: string;
  at: string;
  /** While the operation waits on its provider: what for, since when, and the last status the provider reported. */
  waiting_for?: string;
  waiting_since?: string;
  provider_status?: string;
  /** While a pending operation is queued behind another on the same server: that operation's id. */
  waiting_for_operation?: string;
}

export interface Operation {
  id: string;
  type: OperationType;
  status: OperationStatus;
  workspace: string;
  provider: ProviderName;
  target: Record<string, unknown> | null;
  request: Record<string, unknown>;
  progress: OperationProgress | null;
  attempt: number;
  result: Record<string, unknown> | null;
  error: OperationError | null;
  parent_id: string | null;
  trace_id: string;
  requested_by: string;
  cancel_requested_at: string | null;
  cancel_requested_by: string | null;
  /** The operation this one retries (POST /v1/operations/{id}/retry), or null. */
  retry_of: string | null;
  /** The operation that retries this one, once retried, or null. */
  retried_by: string | null;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
}

/**
 * What a client may do with an operation right now, from its record alone (HCP Terraform's
 * `actions` object). Every record the API serves carries it, so a CLI or a dashboard shows
 * only the buttons that will work:
 *
 * - `cancel`: pending, or running with no cancel requested yet. Once a cancel has been
 *   requested it is false: asking again is harmless (the endpoint still answers 202 and
 *   tells the worker again) but changes nothing; after FORCE_CANCEL_GRACE_MS `force_cancel`
 *   is the next step.
 * - `force_cancel`: running, a normal cancel was requested, and FORCE_CANCEL_GRACE_MS has
 *   passed since `cancel_requested_at`.
 * - `retry`: failed or cancelled, not retried yet, not a workflow step (those are retried
 *   with their workflow), and nothing the retry needs is gone (see `retryBlocker`).
 *
 * actions.ts works them out (`actionsOf`).
 */
export interface OperationActions {
  cancel: boolean;
  force_cancel: boolean;
  retry: boolean;
}

/** Fields stored as JSON inside the Redis hash; the rest are plain strings. */
export const JSON_FIELDS = ['target', 'request', 'progress', 'result', 'error'] as const;

export function isTerminal(status: OperationStatus): boolean {
  return TERMINAL_STATUSES.has(status);
}

/** Operation types that change one existing server: they run one at a time per server (its lane). */
const LANE_TYPES: readonly string[] = ['server.delete', 'server.action', 'server.resize'];

/** The lane (the server's id) an operation waits its turn in, or null for one that changes no single existing server. */
export function laneOf(op: Pick<Operation, 'type' | 'target'>): string | null {
  const serverId = op.target?.server_id;
  return LANE_TYPES.includes(op.type) && typeof serverId === 'string' ? serverId : null;
}
