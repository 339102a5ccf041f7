import type { Access } from '../auth/access.js';
import type { CoreContext } from '../context.js';
import { EngineError, ErrorCodes, OperationFinishedError } from '../../common/errors.js';
import { wakeJob } from '../queue.js';
import { serverIdFor, type ServerRecord } from '../servers/inventory.js';
import { readWorkflow } from '../workflows/advance.js';
import { notifyWorkflow } from '../workflows/notify.js';
import { markerTag, type ProviderName } from '../../common/provider.js';
import { forceCancelAllowedAt } from './actions.js';
import { cancelOperation, type CancelOutcome } from './cancel.js';
import { isTerminal, isWorkflowType, type Operation } from './model.js';

/**
 * Force cancel: a running operation whose normal cancel has gone unanswered for
 * FORCE_CANCEL_GRACE_MS (its worker hung, its cleanup stuck against a provider that keeps
 * refusing) is ended `cancelled` by the API itself, through the same compare-and-set a worker
 * uses. A worker still holding the job then loses every write it tries (the record is
 * terminal); it may still finish its cleanup at the provider, which only removes things.
 *
 * Nothing is asked of the provider here: the result says what the journal and the inventory
 * already know, `cleaned_up` (servers an earlier cleanup deleted and the inventory no longer
 * holds) and `may_remain` (everything the operation may have left at the provider, with the
 * marker to find it by).
 */

/** One thing a forced operation may have left at its provider, and how to find it there. */
export interface MayRemain {
  provider: ProviderName;
  what: string;
  server_id?: string;
  provider_id?: string;
  hostname?: string;
  /** The tag (DigitalOcean, Vultr) or label (Hetzner `pe-op=<id>`, UpCloud) the engine put on the server; null for one it did not make. */
  marker: string | null;
  /** For a workflow: the step operation it comes from. */
  operation_id?: string;
}

export interface ForceLedger {
  cleaned_up: Array<Record<string, unknown>>;
  may_remain: MayRemain[];
}

const ms = (n: number) => new Date(n).toISOString();

/** Refuses a force cancel that comes too early: no normal cancel yet, or its grace not over. */
function assertGraceOver(ctx: CoreContext, op: Operation, now: number): void {
  const allowedAt = forceCancelAllowedAt(op, ctx.config.forceCancelGraceMs);
  if (allowedAt === null) {
    throw new EngineError(ErrorCodes.FORCE_CANCEL_NOT_YET, `operation ${op.id} has no cancel requested: cancel it normally first; force is allowed ${ctx.config.forceCancelGraceMs} ms after that`, {
      allowed_at: null,
      cancel_requested_at: null,
      grace_ms: ctx.config.forceCancelGraceMs,
    });
  }
  if (now < allowedAt) {
    throw new EngineError(ErrorCodes.FORCE_CANCEL_NOT_YET, `operation ${op.id} is still being cancelled by its worker; force is allowed from ${ms(allowedAt)}`, {
      allowed_at: ms(allowedAt),
      cancel_requested_at: op.cancel_requested_at,
      grace_ms: ctx.config.forceCancelGraceMs,
    });
  }
}

/**
 * `POST /v1/operations/{id}/cancel {"force": true}` for an operation the caller may cancel.
 * A pending one is cancelled as a normal cancel does it (at once); a running one only once its
 * grace is over; a workflow together with its running steps.
 */
export async function forceCancelOperation(ctx: CoreContext, op: Operation, access: Access, requestedBy: string, now = Date.now()): Promise<CancelOutcome> {
  if (isTerminal(op.status)) throw new OperationFinishedError(op.id, op.status);
  if (op.status === 'pending') {
    try {
      return await cancelOperation(ctx, op.id, requestedBy);
    } catch (err) {
      // It started meanwhile: it has no cancel requested, so force is not allowed yet.
      if (!(err instanceof OperationFinishedError)) throw err;
      const current = await ctx.store.get(op.id);
      if (!current || isTerminal(current.status)) throw err;
      op = current;
    }
  }
  assertGraceOver(ctx, op, now);
  if (isWorkflowType(op.type)) {
    access.requireOn('workflow_cancel', op.workspace, () => new EngineError(ErrorCodes.OPERATION_NOT_FOUND, `operation ${op.id} does not exist`));
    return forceWorkflow(ctx, op, requestedBy);
  }
  const ledger = await ledgerOf(ctx, op);
  const ended = await endForced(ctx, op, requestedBy, ledger);
  return { operation: ended, cancelled: true };
}

/** The one write: running → cancelled with the ledger; then the worker (if any) is told, and the workflow. */
async function endForced(ctx: CoreContext, op: Operation, requestedBy: string, ledger: ForceLedger, extra: Record<string, unknown> = {}): Promise<Operation> {
  const outcome = await ctx.store.transition(op.id, ['running'], 'cancelled', {
    result: { cancelled: true, forced: true, forced_by: requestedBy, ...extra, cleaned_up: ledger.cleaned_up, may_remain: ledger.may_remain },
    finished_at: new Date().toISOString(),
  });
  if (outcome.outcome === 'not_found') throw new EngineError(ErrorCodes.OPERATION_NOT_FOUND, `operation ${op.id} does not exist`);
  // Its worker finished it meanwhile: that ending stands.
  if (outcome.outcome !== 'ok') throw new OperationFinishedError(op.id, outcome.previous);
  ctx.logger.warn('operation force-cancelled', { operation_id: op.id, trace_id: op.trace_id, workspace: op.workspace, by: requestedBy, may_remain: ledger.may_remain.length });
  // A worker still running it aborts (and its writes lose the compare-and-set); a job asleep
  // (parked on a wait, backing off) runs now, finds the operation finished and lets go of its wait.
  await ctx.redis.publish(ctx.keys.cancelChannel(), op.id).catch(() => 0);
  await wakeJob(ctx.queues.queueFor(op), op.id);
  if (outcome.record.parent_id) await notifyWorkflow(ctx, outcome.record);
  return outcome.record;
}

/**
 * A workflow and everything of it still open. The workflow is ended first, with every running
 * step's ledger, so that no advance its steps' endings wake can end it another way meanwhile
 * (an advance of a finished workflow does nothing); then pending steps are cancelled as usual
 * and running ones (rollback steps too) are forced without a grace of their own: the
 * workflow's is what was waited out.
 */
async function forceWorkflow(ctx: CoreContext, workflow: Operation, requestedBy: string): Promise<CancelOutcome> {
  const state = await readWorkflow(ctx, workflow);
  const open = [...state.ops.values(), ...state.rollbackOps.values()].filter((op) => !isTerminal(op.status));
  const running = open.filter((op) => op.status === 'running');
  const ledgers = new Map<string, ForceLedger>();
  for (const step of running) ledgers.set(step.id, await ledgerOf(ctx, step));
  const ledger: ForceLedger = {
    cleaned_up: running.flatMap((step) => ledgers.get(step.id)!.cleaned_up.map((c) => ({ ...c, operation_id: step.id }))),
    may_remain: running.flatMap((step) => ledgers.get(step.id)!.may_remain.map((m) => ({ ...m, operation_id: step.id }))),
  };
  const steps = Object.fromEntries(state.request.steps.map((s) => {
    const status = state.ops.get(s.id)?.status;
    return [s.id, status === undefined ? 'skipped' : isTerminal(status) ? status : 'cancelled'];
  }));
  let ended: Operation;
  try {
    ended = await endForced(ctx, workflow, requestedBy, ledger, { steps, forced_steps: running.map((s) => s.id) });
  } catch (err) {
    // An advance ended it `cancelled` just before: its open steps are still to be stopped.
    const current = await ctx.store.get(workflow.id);
    if (!(err instanceof OperationFinishedError) || current?.status !== 'cancelled') throw err;
    ended = current;
  }
  for (const step of open) {
    if (step.status === 'pending') {
      await cancelOperation(ctx, step.id, requestedBy).catch(() => undefined);
      // Claimed meanwhile: that cancel asked its worker to stop (and clean up); force it like the others.
      const now = await ctx.store.get(step.id);
      if (now?.status !== 'running') continue;
      await endForced(ctx, now, requestedBy, await ledgerOf(ctx, now)).catch((err) => {
        if (!(err instanceof OperationFinishedError)) throw err;
      });
      continue;
    }
    // Its worker cleans up only what a requested cancel stopped: make sure one is on record first.
    await ctx.store.requestCancel(step.id, requestedBy);
    await endForced(ctx, step, requestedBy, ledgers.get(step.id)!).catch((err) => {
      // Its worker finished it meanwhile: that ending stands.
      if (!(err instanceof OperationFinishedError)) throw err;
    });
  }
  return { operation: ended, cancelled: true };
}

/** What the journal and the inventory say the operation may have left at the provider. */
export async function ledgerOf(ctx: CoreContext, op: Operation): Promise<ForceLedger> {
  const journal = await ctx.redis.hgetall(ctx.keys.journal(op.id));
  const ledger: ForceLedger = { cleaned_up: [], may_remain: [] };
  const markerOf = (server: ServerRecord | null) => (server?.operation_id ? markerTag(server.operation_id) : null);

  if (op.type === 'server.create') {
    if ((op.request as { check_mode?: unknown }).check_mode === true) return ledger;
    const begun = 'i:create' in journal || 's:create' in journal;
    const candidates = new Map<string, { providerId: string; hostname?: string }>();
    const kept = parse<{ server?: { provider: ProviderName; providerId: string; name?: string } }>(journal['s:create']);
    if (kept?.server) candidates.set(serverIdFor(kept.server.provider, kept.server.providerId), { providerId: kept.server.providerId, hostname: kept.server.name });
    // Servers a cleanup found and set about deleting (noted before each delete).
    const noted = new Set<string>();
    for (const [field, raw] of Object.entries(journal)) {
      if (!field.startsWith('c:')) continue;
      const note = parse<{ providerId: string; hostname?: string }>(raw);
      if (!note) continue;
      noted.add(field.slice(2));
      candidates.set(field.slice(2), { providerId: note.providerId, hostname: note.hostname });
    }
    if (begun) for (const r of await ctx.inventory.writtenFirstBy(op.provider, op.id)) if (!candidates.has(r.id)) candidates.set(r.id, { providerId: r.provider_id, hostname: r.hostname });
    const marker = markerTag(op.id);
    for (const [serverId, c] of candidates) {
      const inInventory = (await ctx.inventory.get(serverId)) !== null;
      if (noted.has(serverId) && !inInventory) {
        // The cleanup waited for the provider to report it gone before it removed the entry.
        ledger.cleaned_up.push({ resource: 'server', provider: op.provider, server_id: serverId, provider_id: c.providerId, hostname: c.hostname, action: 'deleted' });
      } else {
        ledger.may_remain.push({ provider: op.provider, what: noted.has(serverId) ? 'server (its delete was begun, not confirmed)' : 'server', server_id: serverId, provider_id: c.providerId, hostname: c.hostname, marker });
      }
    }
    if (begun && candidates.size === 0) ledger.may_remain.push({ provider: op.provider, what: 'server (the create request may have reached the provider)', marker });
    return ledger;
  }

  const serverIds = serverIdsOf(op);
  for (const serverId of serverIds) {
    const server = await ctx.inventory.get(serverId);
    const what =
      op.type === 'server.delete'
        ? 'server (its delete may not have finished)'
        : op.type === 'server.action'
          ? `server in an unknown state (its ${String(op.request.action ?? 'power action')} may be under way)`
          : op.type === 'server.resize'
            ? `server in an unknown state (its resize to ${String(op.request.plan ?? 'another plan')} may be under way; it may be powered off)`
            : op.type === 'taskserv.create'
              ? `task service ${String(op.target?.name ?? op.request.name ?? '')} partly installed`.replace('  ', ' ')
              : `task service ${String(op.target?.name ?? '')} partly removed`.replace('  ', ' ');
    if (op.type === 'server.delete' && !server) continue;
    ledger.may_remain.push({
      provider: server?.provider ?? op.provider,
      what,
      server_id: serverId,
      ...(server ? { provider_id: server.provider_id, hostname: server.hostname } : typeof op.target?.provider_id === 'string' ? { provider_id: op.target.provider_id } : {}),
      marker: markerOf(server),
    });
  }
  return ledger;
}

function serverIdsOf(op: Operation): string[] {
  const target = op.target ?? {};
  if (Array.isArray(target.server_ids)) return target.server_ids.filter((s): s is string => typeof s === 'string');
  if (Array.isArray(target.servers) && op.type.startsWith('taskserv.')) return target.servers.filter((s): s is string => typeof s === 'string' && s.startsWith('srv-'));
  return typeof target.server_id === 'string' ? [target.server_id] : [];
}

function parse<T>(raw: string | undefined): T | null {
  if (raw === undefined) return null;
  try {
    return JSON.parse(raw) as T;
  } catch {
    return null;
  }
}
