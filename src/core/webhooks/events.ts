import type { EngineEvent } from '../events/event.js';
import { isWorkflowType, TERMINAL_STATUSES, type OperationStatus } from '../operations/model.js';
import type { WebhookEventType } from './model.js';

/**
 * A webhook event read off the engine's event stream. Its id is the stream entry's id (with a
 * suffix when one entry makes two events), so the same entry read twice makes the same events.
 */
export interface WebhookEvent {
  id: string;
  type: WebhookEventType;
  workspace: string;
  created_at: string;
  /** The operation (or workflow) whose state changed; absent for drift. */
  operationId?: string;
  from?: string;
  to?: string;
  /** The trace of the request behind the operation, when the entry carries it. */
  traceId?: string;
  /** What the reconcile found (drift.found). */
  drift?: Record<string, unknown>;
}

/**
 * The webhook events one stream entry makes: a state change is `operation.<status>`, and a
 * workflow's reaching a terminal state is also `workflow.finished`; a drift entry is
 * `drift.found`. Progress lines and cancel requests make none.
 */
export function webhookEventsOf(entry: EngineEvent): WebhookEvent[] {
  if (!entry.workspace) return [];
  const base = { workspace: entry.workspace, created_at: entry.at, ...(entry.trace_id ? { traceId: entry.trace_id } : {}) };
  if (entry.kind === 'state' && entry.operation_id && entry.to) {
    const to = entry.to as OperationStatus;
    const events: WebhookEvent[] = [{ ...base, id: entry.id, type: `operation.${to}` as WebhookEventType, operationId: entry.operation_id, from: entry.from, to }];
    if (entry.operation_type && isWorkflowType(entry.operation_type) && TERMINAL_STATUSES.has(to)) {
      events.push({ ...base, id: `${entry.id}-workflow`, type: 'workflow.finished', operationId: entry.operation_id, from: entry.from, to });
    }
    return events;
  }
  if (entry.kind === 'drift') {
    let changes: unknown;
    try {
      changes = entry.changes ? JSON.parse(entry.changes) : undefined;
    } catch {
      changes = undefined;
    }
    return [{ ...base, id: entry.id, type: 'drift.found', drift: { server_id: entry.server_id, provider: entry.provider, message: entry.message, ...(changes ? { changes } : {}) } }];
  }
  return [];
}
