import type { CoreContext } from '../context.js';
import { ErrorCodes } from '../../common/errors.js';
import { cancelOperation } from '../operations/cancel.js';
import { isTerminal, type Operation } from '../operations/model.js';
import { workflowResult } from './builtins.js';
import { ROLLBACK_PREFIX, sealedUserDataName, stepOperationId, type WorkflowRequest, type WorkflowStep } from './model.js';
import { resolveReferences } from './references.js';
import { failStepAtStart, stepInput, submitStep } from './steps.js';

/** What an advance did, for logs and tests. */
export interface AdvanceReport {
  status: Operation['status'] | 'missing';
  started: string[];
}

export interface WorkflowState {
  workflow: Operation;
  request: WorkflowRequest;
  /** Each step's operation, when it has one. */
  ops: Map<string, Operation>;
  /** Steps that will never start: a dependency failed, was cancelled or was itself blocked. */
  blocked: Set<string>;
  /** Completed `server.create` steps in the order rollback undoes them (last finished first). */
  rollbackPlan: WorkflowStep[];
  rollbackOps: Map<string, Operation>;
}

/** Reads a workflow and every step operation it has; the state is derived from those alone. */
export async function readWorkflow(ctx: CoreContext, workflow: Operation): Promise<WorkflowState> {
  const request = workflow.request as unknown as WorkflowRequest;
  const ids = request.steps.map((s) => stepOperationId(workflow.id, s.id));
  const rbIds = request.steps.map((s) => stepOperationId(workflow.id, ROLLBACK_PREFIX + s.id));
  const found = new Map((await ctx.store.getMany([...ids, ...rbIds])).map((op) => [op.id, op]));
  const ops = new Map<string, Operation>();
  const rollbackOps = new Map<string, Operation>();
  request.steps.forEach((s, i) => {
    if (found.has(ids[i]!)) ops.set(s.id, found.get(ids[i]!)!);
    if (found.has(rbIds[i]!)) rollbackOps.set(s.id, found.get(rbIds[i]!)!);
  });
  const byId = new Map(request.steps.map((s) => [s.id, s]));
  const blocked = new Set<string>();
  const isBlocked = (id: string): boolean =>
    byId.get(id)!.depends_on.some((d) => {
      const st = ops.get(d)?.status;
      return st === 'failed' || st === 'cancelled' || isBlocked(d);
    });
  for (const s of request.steps) if (!ops.has(s.id) && isBlocked(s.id)) blocked.add(s.id);
  const rollbackPlan = request.steps
    .filter((s) => s.type === 'server.create' && ops.get(s.id)?.status === 'completed' && ops.get(s.id)?.result?.server_id)
    .sort((a, b) => (ops.get(b.id)!.finished_at ?? '').localeCompare(ops.get(a.id)!.finished_at ?? ''));
  return { workflow, request, ops, blocked, rollbackPlan, rollbackOps };
}

/**
 * One look at a workflow: start every step whose dependencies have completed, apply the
 * failure policy, and finish the workflow once nothing is left to run. Safe to run any number
 * of times, concurrently too: steps have derived ids (submitting one twice is a no-op) and
 * the workflow's own status only changes by compare-and-set.
 */
export async function advanceWorkflow(ctx: CoreContext, workflowId: string): Promise<AdvanceReport> {
  let workflow = await ctx.store.get(workflowId);
  if (!workflow) return { status: 'missing', started: [] };
  if (isTerminal(workflow.status)) return { status: workflow.status, started: [] };
  if (workflow.status === 'pending') {
    const claim = await ctx.store.transition(workflowId, ['pending'], 'running', {}, { countAttempt: true, markStarted: true });
    if (claim.outcome === 'ok') workflow = claim.record;
    else if (claim.outcome === 'conflict') workflow = (await ctx.store.get(workflowId))!;
    else return { status: claim.outcome === 'finished' ? claim.previous : 'missing', started: [] };
  }

  const state = await readWorkflow(ctx, workflow);
  const { request, ops } = state;
  const cancelling = workflow.cancel_requested_at !== null;
  const failed = request.steps.filter((s) => {
    const st = ops.get(s.id)?.status;
    // A step cancelled on its own (not by cancelling the workflow) counts as a failure.
    return st === 'failed' || (st === 'cancelled' && !cancelling);
  });
  const started: string[] = [];

  if (cancelling) await cancelSteps(ctx, state);
  else if (failed.length === 0 || request.on_failure === 'continue') {
    for (const step of request.steps) {
      if (ops.has(step.id) || state.blocked.has(step.id)) continue;
      if (!step.depends_on.every((d) => ops.get(d)?.status === 'completed')) continue;
      ops.set(step.id, await startStep(ctx, state, step));
      started.push(step.id);
    }
    // A cancel that arrived while steps were being started must reach those too.
    if (started.length && (await ctx.store.get(workflowId))?.cancel_requested_at) await cancelSteps(ctx, { ...state, workflow: (await ctx.store.get(workflowId))! });
  }

  if (request.steps.some((s) => ops.has(s.id) && !isTerminal(ops.get(s.id)!.status))) return { status: 'running', started };
  const failedNow = request.steps.filter((s) => {
    const st = ops.get(s.id)?.status;
    return st === 'failed' || (st === 'cancelled' && !cancelling);
  });
  if (request.on_failure === 'rollback' && (failedNow.length > 0 || cancelling)) {
    const pendingRollback = await advanceRollback(ctx, state);
    if (pendingRollback) return { status: 'running', started };
  }
  return { status: await finish(ctx, state, failedNow, cancelling), started };
}

/** The step's parameters with its sealed `user_data` (see submitWorkflow) put back, for its own operation's sealed inputs. */
async function unsealed(ctx: CoreContext, workflow: Operation, step: WorkflowStep, parameters: Record<string, unknown>): Promise<Record<string, unknown>> {
  const marker = parameters.user_data as { sealed?: unknown } | undefined;
  if (step.type !== 'server.create' || typeof marker !== 'object' || marker === null || typeof marker.sealed !== 'string') return parameters;
  const value = (await ctx.store.sealedInputs(workflow.id))[sealedUserDataName(step.id)];
  if (value === undefined) throw new Error('its user_data is no longer held (the workflow has ended)');
  return { ...parameters, user_data: value };
}

async function startStep(ctx: CoreContext, state: WorkflowState, step: WorkflowStep): Promise<Operation> {
  const { workflow, ops } = state;
  let parameters: Record<string, unknown> = step.parameters;
  try {
    parameters = resolveReferences(step.parameters, (id) => ops.get(id)?.result);
    const input = await stepInput(ctx, workflow.workspace, step, await unsealed(ctx, workflow, step, parameters));
    return await submitStep(ctx, workflow, step.id, input);
  } catch (err) {
    const fallback = { type: step.type as Operation['type'], provider: workflow.provider, target: null, request: parameters };
    return failStepAtStart(ctx, workflow, step.id, fallback, `step '${step.id}' could not start: ${(err as Error).message}`);
  }
}

/** Cancels every step still pending or running, through the same path as a single operation. */
async function cancelSteps(ctx: CoreContext, state: WorkflowState): Promise<void> {
  const by = state.workflow.cancel_requested_by ?? state.workflow.requested_by;
  for (const op of state.ops.values()) {
    if (isTerminal(op.status) || op.cancel_requested_at) continue;
    const outcome = await cancelOperation(ctx, op.id, by).catch(() => null);
    if (outcome) state.ops.set([...state.ops.entries()].find(([, o]) => o.id === op.id)![0], outcome.operation);
  }
}

/**
 * Undoes completed creates one at a time, last finished first. Returns true while a rollback
 * step is still to run (the next advance, triggered by its finish, goes on).
 */
async function advanceRollback(ctx: CoreContext, state: WorkflowState): Promise<boolean> {
  for (const step of state.rollbackPlan) {
    const existing = state.rollbackOps.get(step.id);
    if (existing) {
      if (!isTerminal(existing.status)) return true;
      continue;
    }
    const serverId = state.ops.get(step.id)!.result!.server_id as string;
    // A later step may already have deleted it: then there is nothing to undo.
    if (!(await ctx.inventory.get(serverId))) continue;
    const rollback: WorkflowStep = { id: ROLLBACK_PREFIX + step.id, type: 'server.delete', depends_on: [], parameters: { server_id: serverId, force: false } };
    const op = await startStep(ctx, { ...state, ops: new Map() }, rollback);
    state.rollbackOps.set(step.id, op);
    if (!isTerminal(op.status)) return true;
  }
  return false;
}

function rollbackRecord(state: WorkflowState): Array<Record<string, unknown>> {
  return state.rollbackPlan
    .filter((s) => state.rollbackOps.has(s.id))
    .map((s) => {
      const op = state.rollbackOps.get(s.id)!;
      return { step: s.id, action: 'server.delete', server_id: op.request.server_id, operation_id: op.id, status: op.status, error: op.error };
    });
}

async function finish(ctx: CoreContext, state: WorkflowState, failed: WorkflowStep[], cancelled: boolean): Promise<Operation['status']> {
  const { workflow, request, ops } = state;
  const now = new Date().toISOString();
  const summary = Object.fromEntries(request.steps.map((s) => [s.id, ops.get(s.id)?.status ?? 'skipped']));
  const rollback = request.on_failure === 'rollback' ? { rollback: rollbackRecord(state) } : {};
  let outcome;
  if (cancelled) {
    outcome = await ctx.store.transition(workflow.id, ['running'], 'cancelled', { result: { cancelled: true, steps: summary, ...rollback }, finished_at: now });
  } else if (failed.length > 0) {
    const first = failed[0]!;
    const cause = ops.get(first.id)!.error?.message ?? ops.get(first.id)!.status;
    outcome = await ctx.store.transition(workflow.id, ['running'], 'failed', {
      result: { steps: summary, ...rollback },
      error: { code: ErrorCodes.WORKFLOW_STEP_FAILED, message: `step '${first.id}' (${first.type}) failed: ${cause}`, retryable: false },
      finished_at: now,
    });
  } else {
    const results = new Map(request.steps.map((s) => [s.id, ops.get(s.id)?.result ?? null]));
    outcome = await ctx.store.transition(workflow.id, ['running'], 'completed', { result: workflowResult(request.workflow_type, request.parameters, results, request.steps), error: null, finished_at: now });
  }
  if (outcome.outcome === 'ok') ctx.logger.info('workflow finished', { operation_id: workflow.id, trace_id: workflow.trace_id, status: outcome.record.status });
  return outcome.outcome === 'ok' ? outcome.record.status : outcome.outcome === 'not_found' ? workflow.status : outcome.previous;
}
