import { indexServerOperation } from '../servers/history.js';
import type { CoreContext } from '../context.js';
import { ErrorCodes } from '../../common/errors.js';
import type { Operation, OperationType } from '../operations/model.js';
import { enqueueOperation, newOperation, type SubmitOperationInput } from '../operations/submit.js';
import type { ProviderName } from '../../common/provider.js';
import { stepOperationId, type WorkflowStep } from './model.js';
import { notifyWorkflow } from './notify.js';

type StepInput = Omit<SubmitOperationInput, 'parentId' | 'requestedBy' | 'traceId' | 'workspace'>;

/**
 * The operation a step runs, from its resolved parameters. Steps on an existing server read
 * it from the inventory now, when the step starts: an earlier step may have just made it.
 */
export async function stepInput(ctx: CoreContext, workspace: string, step: WorkflowStep, p: Record<string, unknown>): Promise<StepInput> {
  if (step.type === 'server.create') {
    const { user_data, ...rest } = p;
    // Anything but the text itself (a sealed marker not swapped back) would reach the server as garbage.
    if (user_data !== undefined && typeof user_data !== 'string') throw new Error('its user_data is not text');
    return {
      type: 'server.create',
      provider: p.provider as ProviderName,
      target: { hostname: p.hostname },
      request: { workspace, check_mode: false, tags: [], ...rest, ...(user_data === undefined ? {} : { user_data: `<${Buffer.byteLength(user_data)} bytes>` }) },
      sealed: user_data === undefined ? undefined : { user_data },
    };
  }
  const serverIds = step.type.startsWith('taskserv.') ? (p.servers as string[]) : [p.server_id as string];
  const servers = [];
  for (const id of serverIds) {
    const server = await ctx.inventory.get(id);
    if (!server) throw new Error(`server ${id} does not exist`);
    servers.push(server);
  }
  const server = servers[0]!;
  const target = { server_id: server.id, provider_id: server.provider_id, hostname: server.hostname };
  switch (step.type) {
    case 'server.delete':
      return { type: 'server.delete', provider: server.provider, target, request: { server_id: server.id, force: p.force ?? false } };
    case 'server.action':
      return { type: 'server.action', provider: server.provider, target, request: { server_id: server.id, action: p.action } };
    case 'server.resize':
      // As for a single resize: remember whether it ran, so a rerun restores exactly that.
      return { type: 'server.resize', provider: server.provider, target, request: { server_id: server.id, plan: p.plan, previous_plan: server.plan, start_after: server.status === 'running' } };
    default:
      // Task-service steps: their operation type and processor belong to the task-service engine.
      return { type: step.type as OperationType, provider: server.provider, target: { servers: servers.map((s) => s.id) }, request: { name: p.name, servers: servers.map((s) => s.id), config: p.config ?? {} } };
  }
}

/**
 * Starts one step as a child operation with its derived id. Running this again for the same
 * step writes nothing (the record exists) and enqueues nothing (the job id exists).
 */
export async function submitStep(ctx: CoreContext, workflow: Operation, key: string, input: StepInput): Promise<Operation> {
  const op: Operation = {
    ...newOperation({ ...input, workspace: workflow.workspace, parentId: workflow.id, requestedBy: workflow.requested_by, traceId: workflow.trace_id }),
    id: stepOperationId(workflow.id, key),
  };
  const created = await ctx.store.create(op, input.sealed);
  const stored = created.outcome === 'created' ? op : ((await ctx.store.get(op.id)) ?? op);
  // Entered again on a rerun: the index keeps the first entry, so this adds nothing twice.
  await indexServerOperation(ctx.redis, ctx.keys, stored);
  if (stored.status === 'pending') await enqueueOperation(ctx, stored);
  return stored;
}

/**
 * A step that cannot even start (a reference without a value, a server gone since the
 * workflow was accepted) is recorded as a failed operation, so the workflow sees it fail like
 * any other step.
 */
export async function failStepAtStart(ctx: CoreContext, workflow: Operation, key: string, input: StepInput, message: string): Promise<Operation> {
  const op: Operation = {
    ...newOperation({ ...input, workspace: workflow.workspace, parentId: workflow.id, requestedBy: workflow.requested_by, traceId: workflow.trace_id }),
    id: stepOperationId(workflow.id, key),
  };
  await ctx.store.create(op);
  await indexServerOperation(ctx.redis, ctx.keys, op);
  const t = await ctx.store.transition(op.id, ['pending'], 'failed', { error: { code: ErrorCodes.VALIDATION_FAILED, message, retryable: false }, finished_at: new Date().toISOString() });
  const stored = t.outcome === 'ok' ? t.record : ((await ctx.store.get(op.id)) ?? op);
  await notifyWorkflow(ctx, stored);
  return stored;
}
