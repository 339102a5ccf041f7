import type { Access } from '../auth/access.js';
import type { AuditEntryInput, AuditLog } from '../audit.js';
import type { CoreContext } from '../context.js';
import { EngineError } from '../../common/errors.js';
import { cancelRequested } from './cancel-request.js';
import { isWorkflowType, type Operation, type OperationStatus, type OperationType } from './model.js';

/** At most this many operations are cancelled by one request; `truncated` says when more matched. */
export const BULK_CANCEL_CAP = 1000;
/** How many of the matched ids the answer lists. */
const IDS_SHOWN = 100;
const BATCH = 500;

export interface BulkCancelFilter {
  /** Pending or running; both when absent. */
  status?: 'pending' | 'running';
  type?: OperationType;
  workspace?: string;
  provider?: string;
  /** ISO date-time: only operations created before it. */
  created_before?: string;
  dry_run?: boolean;
}

export interface BulkCancelReport {
  dry_run: boolean;
  /** How many open operations matched (at most BULK_CANCEL_CAP). */
  matched: number;
  /** The first matched ids, oldest first. */
  ids: string[];
  /** Cancelled at once (they had not started). */
  cancelled: string[];
  /** Running: their workers were asked to stop; each ends `cancelled` once it has cleaned up. */
  requested: string[];
  skipped: Array<{ id: string; reason: string }>;
  /** More operations matched than one request handles: send it again for the rest. */
  truncated: boolean;
}

/** Who asks, as the audit log records it. */
export interface BulkCaller {
  username: string;
  actor: Pick<AuditEntryInput, 'actor' | 'actor_kind' | 'key_id'>;
  ip?: string;
  traceId: string;
  action: string;
}

/**
 * Cancels every open operation matching the filter in the workspaces where the caller holds
 * `operation_cancel`, each through the same path as `POST /v1/operations/{id}/cancel`, and
 * writes one audit entry per operation. With `dry_run` it only counts. Workflows go first, so
 * steps their cancel already reached are reported as such rather than cancelled twice.
 */
export async function cancelMatching(ctx: CoreContext, access: Access, filter: BulkCancelFilter, caller: BulkCaller, audit?: AuditLog): Promise<BulkCancelReport> {
  const { ops, truncated } = await openMatching(ctx, access, filter);
  const report: BulkCancelReport = { dry_run: filter.dry_run === true, matched: ops.length, ids: ops.slice(0, IDS_SHOWN).map((o) => o.id), cancelled: [], requested: [], skipped: [], truncated };
  if (report.dry_run) return report;
  const ordered = [...ops.filter((o) => isWorkflowType(o.type)), ...ops.filter((o) => !isWorkflowType(o.type))];
  for (const op of ordered) {
    let status: number;
    let detail: Record<string, unknown>;
    try {
      const outcome = await cancelRequested(ctx, op.id, access, caller.username);
      (outcome.cancelled ? report.cancelled : report.requested).push(op.id);
      status = outcome.cancelled ? 200 : 202;
      detail = { bulk: true, outcome: outcome.cancelled ? 'cancelled' : 'requested' };
    } catch (err) {
      if (!(err instanceof EngineError)) throw err;
      const reason = err.code === 'OPERATION_FINISHED' ? `already ${(err.details as { status?: string } | undefined)?.status ?? 'finished'}` : err.message;
      report.skipped.push({ id: op.id, reason });
      status = err.httpStatus;
      detail = { bulk: true, outcome: 'skipped', error: err.code, message: err.message };
    }
    await audit
      ?.append({
        ...caller.actor,
        action: caller.action,
        resource_type: 'operation',
        resource_id: op.id,
        workspace: op.workspace,
        result: status < 400 ? 'success' : status === 403 ? 'denied' : 'failed',
        status,
        ip: caller.ip,
        trace_id: caller.traceId,
        detail,
      })
      .catch((err: Error) => ctx.logger.warn('audit entry not written', { trace_id: caller.traceId, operation_id: op.id, error: err.message }));
  }
  return report;
}

/** Open operations matching the filter that the caller may cancel, oldest first, at most the cap. */
async function openMatching(ctx: CoreContext, access: Access, filter: BulkCancelFilter): Promise<{ ops: Operation[]; truncated: boolean }> {
  const statuses: OperationStatus[] = filter.status ? [filter.status] : ['pending', 'running'];
  const allowed = access.workspacesWith('operation_cancel');
  const allowedSet = allowed === null ? null : new Set(allowed);
  if (allowedSet && allowedSet.size === 0) return { ops: [], truncated: false };
  const before = filter.created_before !== undefined ? Date.parse(filter.created_before) : null;
  const matches = (op: Operation) =>
    statuses.includes(op.status) &&
    (!filter.type || op.type === filter.type) &&
    (!filter.workspace || op.workspace === filter.workspace) &&
    (!filter.provider || op.provider === filter.provider) &&
    (!allowedSet || allowedSet.has(op.workspace)) &&
    (before === null || Date.parse(op.created_at) < before);

  const found: Array<{ op: Operation; seq: number }> = [];
  let truncated = false;
  for (const status of statuses) {
    // Open operations have a sorted set per status (see rows.ts), small by nature; read oldest first.
    const index = ctx.keys.operationIndex('status', status);
    let ofThisStatus = 0;
    for (let start = 0; ; start += BATCH) {
      const page = await ctx.redis.zrange(index, String(start), String(start + BATCH - 1), 'WITHSCORES');
      if (page.length === 0) break;
      const ids: string[] = [];
      const seqs = new Map<string, number>();
      for (let i = 0; i < page.length; i += 2) {
        ids.push(page[i]!);
        seqs.set(page[i]!, Number(page[i + 1]));
      }
      for (const op of await ctx.store.getMany(ids)) {
        if (!matches(op)) continue;
        found.push({ op, seq: seqs.get(op.id)! });
        ofThisStatus++;
      }
      // One beyond the cap tells that more matched.
      if (ofThisStatus > BULK_CANCEL_CAP || page.length < BATCH * 2) break;
    }
  }
  found.sort((a, b) => a.seq - b.seq);
  if (found.length > BULK_CANCEL_CAP) {
    truncated = true;
    found.length = BULK_CANCEL_CAP;
  }
  return { ops: found.map((f) => f.op), truncated };
}
