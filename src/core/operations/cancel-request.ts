import type { Access } from '../auth/access.js';
import type { CoreContext } from '../context.js';
import { cancelWorkflow } from '../workflows/service.js';
import { cancelOperation, type CancelOutcome } from './cancel.js';
import { forceCancelOperation } from './force-cancel.js';
import { isWorkflowType } from './model.js';
import { visibleOperation } from './visible.js';

/**
 * What `POST /v1/operations/{id}/cancel` does: a workflow is an operation too, and cancelling
 * it through either endpoint must cancel its steps at once, not leave them to the next sweep.
 * With `force`, a running operation whose cancel has had its grace is ended at once (see
 * force-cancel.ts).
 */
export async function cancelRequested(ctx: CoreContext, id: string, access: Access, requestedBy: string, opts: { force?: boolean } = {}): Promise<CancelOutcome> {
  const op = await visibleOperation(ctx, id, access, 'operation_cancel');
  if (opts.force) return forceCancelOperation(ctx, op, access, requestedBy);
  if (isWorkflowType(op.type)) return cancelWorkflow(ctx, id, access, requestedBy);
  return cancelOperation(ctx, id, requestedBy);
}
