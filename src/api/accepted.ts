import type { Config } from '../core/config.js';
import { withActions } from '../core/operations/actions.js';
import { isWorkflowType, type Operation } from '../core/operations/model.js';
import type { RouteReply } from './route.js';

/** Where an accepted operation is polled: a workflow at its own resource, anything else as an operation. */
export function operationLocation(op: Pick<Operation, 'id' | 'type'>): string {
  return isWorkflowType(op.type) ? `/v1/workflows/${op.id}` : `/v1/operations/${op.id}`;
}

/**
 * The answer to a request that was accepted: 202, the operation (with its `actions`; see
 * core/operations/actions.ts), and where to poll it. An Idempotency-Key whose request died
 * before answering is answered with this too.
 */
export function acceptedReply(op: Operation, config: Pick<Config, 'forceCancelGraceMs'>): Extract<RouteReply, { status: number }> & { headers: Record<string, string> } {
  return { status: 202, body: withActions(op, config), headers: { Location: operationLocation(op) } };
}
