import type { Access } from '../auth/access.js';
import type { Catalog } from '../catalog.js';
import type { CoreContext } from '../context.js';
import { admitInto } from '../workspaces/admit.js';
import { admitWithinQuota, needOfStep, type Need } from '../workspaces/quota.js';
import { ErrorCodes, NotFoundError, OperationFinishedError } from '../../common/errors.js';
import { cancelOperation } from '../operations/cancel.js';
import { isWorkflowType, type Operation, type OperationStatus, type WorkflowOperationType } from '../operations/model.js';
import type { OperationPage } from '../operations/store.js';
import { fromActor, submitOperation } from '../operations/submit.js';
import type { Actor } from '../servers/requests.js';
import { readWorkflow } from './advance.js';
import { sealedUserDataName, type SubmitWorkflowBody, type WorkflowRequest } from './model.js';
import { SUBMIT_PERMISSION } from '../auth/permissions.js';
import { enqueueAdvance } from './notify.js';
import { compileWorkflow } from './validate.js';
import { withActions } from '../operations/actions.js';
import type { StepView, WorkflowView } from './view.js';

/**
 * A create step's `user_data` may carry secrets: it is kept in the workflow's sealed inputs
 * (encrypted, dropped when the workflow ends), and the step and the client's parameters keep
 * only a marker naming it, which the step's start swaps back (see advance.ts).
 */
function sealStepUserData(request: WorkflowRequest): Record<string, string> | undefined {
  const sealed: Record<string, string> = {};
  for (const step of request.steps) {
    const value = step.parameters.user_data;
    if (step.type !== 'server.create' || typeof value !== 'string') continue;
    const name = sealedUserDataName(step.id);
    sealed[name] = value;
    step.parameters.user_data = { sealed: name, bytes: Buffer.byteLength(value) };
  }
  if (Object.keys(sealed).length === 0) return undefined;
  // The client's own copy of the steps (custom workflows) carries the same values.
  const given = (request.parameters as { steps?: Array<{ id?: unknown; parameters?: Record<string, unknown> }> }).steps;
  for (const step of Array.isArray(given) ? given : []) {
    if (step?.parameters && typeof step.parameters.user_data === 'string') step.parameters.user_data = `<${Buffer.byteLength(step.parameters.user_data)} bytes>`;
  }
  return sealed;
}

/** Checks and accepts a workflow: one pending `workflow.<type>` operation on the workflows queue. */
export async function submitWorkflow(ctx: CoreContext, body: SubmitWorkflowBody, actor: Actor, catalog?: Catalog): Promise<Operation> {
  await admitInto(ctx, actor, 'workflow_submit', body.workspace);
  const { request, provider } = await compileWorkflow(ctx, body);
  // A workflow does nothing its submitter could not do step by step; a rollback deletes what it made.
  const needed = new Set(request.steps.map((s) => SUBMIT_PERMISSION[s.type]));
  if (body.on_failure === 'rollback' && needed.has('server_create')) needed.add('server_delete');
  for (const permission of needed) actor.access.requireIn(permission, body.workspace);
  const sealed = sealStepUserData(request);
  const submit = () =>
    submitOperation(ctx, {
      type: `workflow.${request.workflow_type}` as WorkflowOperationType,
      workspace: body.workspace,
      provider,
      target: null,
      request: request as unknown as Record<string, unknown>,
      sealed,
      ...fromActor(actor),
    });
  // The servers the workflow will create count against the workspace's quotas when it is accepted.
  const needs: Need[] = request.steps.filter((s) => s.type === 'server.create').map((s) => needOfStep(s.parameters, provider));
  return catalog && needs.length > 0 ? admitWithinQuota(ctx, catalog, body.workspace, needs, submit) : submit();
}

/** A workflow the caller may act on; one of a workspace it cannot see answers 404 like one that does not exist. */
async function existingWorkflow(ctx: CoreContext, id: string, access: Access, permission: 'workflow_read' | 'workflow_cancel'): Promise<Operation> {
  const op = await ctx.store.get(id);
  const notFound = () => new NotFoundError(ErrorCodes.OPERATION_NOT_FOUND, `workflow ${id} does not exist`);
  if (!op || !isWorkflowType(op.type)) throw notFound();
  access.requireOn(permission, op.workspace, notFound);
  return op;
}

function stepView(id: string, type: string, depends_on: string[], op: Operation | undefined, never: boolean): StepView {
  return {
    id, type, depends_on,
    operation_id: op?.id ?? null,
    status: op?.status ?? (never ? 'skipped' : 'waiting'),
    started_at: op?.started_at ?? null,
    finished_at: op?.finished_at ?? null,
    result: op?.result ?? null,
    error: op?.error ?? null,
  };
}

/** The workflow operation with every step (and rollback step) as its own operation stands. */
export async function getWorkflow(ctx: CoreContext, id: string, access: Access): Promise<WorkflowView> {
  const workflow = await existingWorkflow(ctx, id, access, 'workflow_read');
  const state = await readWorkflow(ctx, workflow);
  const over = workflow.status !== 'pending' && workflow.status !== 'running';
  const request = workflow.request as unknown as WorkflowRequest;
  return withActions({
    ...workflow,
    workflow_type: request.workflow_type,
    steps: request.steps.map((s) => stepView(s.id, s.type, s.depends_on, state.ops.get(s.id), over || state.blocked.has(s.id))),
    // In the order the rollback ran them.
    rollback: state.rollbackPlan
      .filter((s) => state.rollbackOps.has(s.id))
      .map((s) => stepView(`rollback:${s.id}`, 'server.delete', [], state.rollbackOps.get(s.id), over)),
  }, ctx.config);
}

/**
 * Cancels a workflow. A pending one is cancelled at once. A running one is marked, its
 * pending and running steps are cancelled as single operations are (a running one aborts
 * and cleans up), and an advance then rolls back if the policy asks and ends it `cancelled`.
 */
export async function cancelWorkflow(ctx: CoreContext, id: string, access: Access, requestedBy: string): Promise<{ operation: Operation; cancelled: boolean }> {
  const workflow = await existingWorkflow(ctx, id, access, 'workflow_cancel');
  if (workflow.status === 'pending') {
    try {
      const outcome = await cancelOperation(ctx, id, requestedBy);
      return { ...outcome, operation: withActions(outcome.operation, ctx.config) };
    } catch (err) {
      // It started between the read and the cancel: go on as for a running one.
      if (!(err instanceof OperationFinishedError)) throw err;
    }
  }
  const request = await ctx.store.requestCancel(id, requestedBy);
  if (request.outcome === 'not_found') throw new NotFoundError(ErrorCodes.OPERATION_NOT_FOUND, `workflow ${id} does not exist`);
  if (request.outcome === 'not_running') throw new OperationFinishedError(id, request.status);
  const marked = (await ctx.store.get(id))!;
  const state = await readWorkflow(ctx, marked);
  for (const op of state.ops.values()) {
    if (op.status === 'pending' || (op.status === 'running' && !op.cancel_requested_at)) await cancelOperation(ctx, op.id, requestedBy).catch(() => undefined);
  }
  await enqueueAdvance(ctx, id, marked.trace_id, 'cancel');
  return { operation: withActions((await ctx.store.get(id))!, ctx.config), cancelled: false };
}

export async function listWorkflows(ctx: CoreContext, access: Access, filters: { status?: OperationStatus; workspace?: string; provider?: string; workflow_type?: string }, limit: number, cursor: string | null): Promise<OperationPage> {
  const { workflow_type, ...rest } = filters;
  const page = await ctx.store.list({ ...rest, workspaces: access.workspacesWith('workflow_read'), ...(workflow_type ? { type: `workflow.${workflow_type}` as WorkflowOperationType } : { typePrefix: 'workflow.' }) }, limit, cursor);
  const now = Date.now();
  return { ...page, items: page.items.map((op) => withActions(op, ctx.config, now)) };
}
