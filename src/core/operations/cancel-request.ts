import type { CoreContext } from '../context.js';
import { cancelWorkflow } from '../workflows/service.js';
import { cancelOperation, type CancelOutcome } from './cancel.js';
import { isWorkflowType } from './model.js';

/**
 * What `POST /v1/operations/{id}/cancel` does: a workflow is an operation too, and cancelling
 * it through either endpoint must cancel its steps at once, not leave them to the next sweep.
 */
export async function cancelRequested(ctx: CoreContext, id: string, requestedBy: string): Promise<CancelOutcome> {
  const op = await ctx.store.get(id);
  if (op && isWorkflowType(op.type)) return cancelWorkflow(ctx, id, requestedBy);
  return cancelOperation(ctx, id, requestedBy);
}
