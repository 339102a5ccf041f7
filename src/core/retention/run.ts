/**
 * The retention job (issue 13): finished operations are kept whole for OPERATION_RETENTION,
 * then removed with their indexes, events and logs, optionally archived first; the events
 * stream and the audit log are trimmed by age. It runs on the maintenance queue, one run at a
 * time across every worker (see workers/worker.ts), and may run as often as one likes: it
 * only ever removes what is past its retention.
 *
 * Operations are found through their rows (each holds when it finished; see due.ts), oldest
 * first, and removed a batch per script call; the job yields between batches and stops at a
 * time budget, leaving the rest for its next run.
 */
import type { CoreContext } from '../context.js';
import { isTerminal, isWorkflowType, type Operation } from '../operations/model.js';
import { ROLLBACK_PREFIX, stepOperationId, type WorkflowRequest } from '../workflows/model.js';
import { appendToArchive, archiveFileFor, type ArchivedOperation } from './archive.js';
import { KEYS_PER_OPERATION, REMOVE_FINISHED_OPERATIONS } from './remove-script.js';
import { trimStreamBefore } from './trim-stream.js';
import { FINISHED_EVENTS_FIELD, FINISHED_LOG_FIELD, finishedEventIds, finishedFieldsOf, PACKED_FIELD } from '../operations/finished-footprint.js';
import { decodeLogLine } from '../operations/log.js';
import { dueOperations, type DueOperation } from './due.js';
import { forgetServerOperations } from '../servers/history.js';
import { backfillOperationCounts } from '../operations/counts.js';
import { migrateToRows } from '../operations/rows-migration.js';
import type { Redis } from 'ioredis';

export interface RetentionOptions {
  /** The time the job acts at (epoch ms); by default the clock plus RETENTION_CLOCK_OFFSET_MS. */
  now?: number;
  /** Top-level operations looked at per batch (a workflow brings its steps along). */
  batchSize?: number;
  /** How long one run may go on (wall clock) before it leaves the rest for the next run. */
  budgetMs?: number;
}

export interface RetentionReport {
  /** Ids of the operations removed (workflow steps included). */
  removed: string[];
  /** How many of them were archived first. */
  archived: number;
  /** Workflows left for later because one of their steps has not finished. */
  deferred: string[];
  batches: number;
  /** The longest removal script, as Redis measured it (microseconds). */
  longestBatchMicros: number;
  eventsTrimmed: number;
  auditTrimmed: number;
  /** True when the run stopped at its budget with more to remove. */
  budgetSpent: boolean;
}

const DEFAULT_BATCH = 100;
const DEFAULT_BUDGET_MS = 10_000;

const yieldToOthers = () => new Promise<void>((r) => setImmediate(r));

/** The clock the job reads: RETENTION_CLOCK_OFFSET_MS moves it forward for tests and drills. */
export function retentionNow(ctx: CoreContext): number {
  return Date.now() + ctx.config.retention.clockOffsetMs;
}

export async function runRetention(ctx: CoreContext, opts: RetentionOptions = {}): Promise<RetentionReport> {
  const settings = ctx.config.retention;
  const now = opts.now ?? retentionNow(ctx);
  const report: RetentionReport = { removed: [], archived: 0, deferred: [], batches: 0, longestBatchMicros: 0, eventsTrimmed: 0, auditTrimmed: 0, budgetSpent: false };
  const deadline = Date.now() + (opts.budgetMs ?? DEFAULT_BUDGET_MS);
  // Operations written before the per-type and per-workspace counters existed are counted, a bounded chunk per run.
  // Then a store written before operation rows gets them (its old index of every operation is what the count backfill walks).
  if (await backfillOperationCounts(ctx.redis, ctx.keys)) await migrateToRows(ctx.redis, ctx.keys);
  if (settings.operationsMs !== null) {
    const cutoff = now - settings.operationsMs;
    const batchSize = opts.batchSize ?? DEFAULT_BATCH;
    let from = 0;
    for (;;) {
      if (Date.now() >= deadline) {
        report.budgetSpent = true;
        break;
      }
      const { due, resumeAt } = await dueOperations(ctx, cutoff, from, batchSize);
      for (let i = 0; i < due.length; i += batchSize) await removeBatch(ctx, due.slice(i, i + batchSize), cutoff, now, batchSize, report);
      if (resumeAt === null) break;
      from = resumeAt;
      await yieldToOthers();
    }
  }
  // Left over past the budget, with archiving on: their events are kept until they are archived (the count cap still holds).
  const keepForArchive = report.budgetSpent && settings.archive;
  if (settings.eventsMs !== null && !keepForArchive) report.eventsTrimmed = await trimStreamBefore(ctx.redis, ctx.keys.events(), now - settings.eventsMs);
  // The audit log trims itself as it is written; a quiet one is trimmed here.
  report.auditTrimmed = await trimStreamBefore(ctx.redis, ctx.keys.audit(), now - ctx.config.auth.auditRetentionSeconds * 1000);
  return report;
}

/** One operation to remove (its record, unless that is already gone), and the operation whose finish time decides (itself, or its workflow). */
interface Doomed {
  id: string;
  op?: Operation;
  root: string;
  rootSeq: number;
}

/** Removes what of `due` (and their workflows' steps) is still due and finished. */
async function removeBatch(ctx: CoreContext, due: DueOperation[], cutoff: number, now: number, batchSize: number, report: RetentionReport): Promise<void> {
  const records = new Map((await ctx.store.getMany(due.map((d) => d.id))).map((op) => [op.id, op]));
  const doomed: Doomed[] = [];
  for (const { id, seq } of due) {
    const op = records.get(id);
    // Its record gone (damage): the removal script drops its row and leftover keys.
    if (!op) {
      doomed.push({ id, root: id, rootSeq: seq });
      continue;
    }
    if (!isTerminal(op.status)) continue;
    if (!isWorkflowType(op.type)) {
      doomed.push({ id, op, root: id, rootSeq: seq });
      continue;
    }
    const steps = await ctx.store.getMany(stepIdsOf(op));
    // A workflow with a step still open is met again by the next run.
    if (steps.some((s) => !isTerminal(s.status))) {
      report.deferred.push(id);
      continue;
    }
    for (const step of steps) doomed.push({ id: step.id, op: step, root: id, rootSeq: seq });
    doomed.push({ id, op, root: id, rootSeq: seq });
  }
  if (doomed.length === 0) return;

  const archived = doomed.flatMap((d) => (d.op ? [d.op] : []));
  if (ctx.config.retention.archive && archived.length > 0) {
    await appendToArchive(archiveFileFor(ctx.config.dataDir, new Date(now)), await archiveLines(ctx, archived));
    report.archived += archived.length;
  }
  // A workflow's steps may make a batch larger than asked: it is cut into script calls of at most
  // batchSize operations, steps still ahead of their workflow.
  for (let i = 0; i < doomed.length; i += batchSize) {
    const chunk = doomed.slice(i, i + batchSize);
    const keys = [ctx.keys.operationBuckets(), ctx.keys.lastCompleted(), ctx.keys.operationCounts(), ...chunk.flatMap((d) => removalKeys(ctx, d.id))];
    const args = [ctx.keys.prefix, String(cutoff), ...chunk.flatMap((d) => [d.id, d.root, String(d.rootSeq)])];
    const [spent, ...removed] = (await removeScript(ctx.redis)(String(keys.length), ...keys, ...args)) as [number, ...string[]];
    report.batches++;
    report.longestBatchMicros = Math.max(report.longestBatchMicros, Number(spent));
    report.removed.push(...removed);
    const gone = chunk.flatMap((d) => (d.op && removed.includes(d.id) ? [d.op] : []));
    await forgetServerOperations(ctx.redis, ctx.keys, gone);
    await forgetJobs(ctx, gone);
    if (i + batchSize < doomed.length) await yieldToOthers();
  }
}

type RemoveScript = (...args: string[]) => Promise<unknown>;

/** The removal script on this connection; its number of keys varies with the batch, so it is the first argument of each call. */
function removeScript(redis: Redis): RemoveScript {
  const commands = redis as unknown as Record<string, RemoveScript>;
  if (!commands.peRemoveFinishedOperations) redis.defineCommand('peRemoveFinishedOperations', { lua: REMOVE_FINISHED_OPERATIONS });
  return (...args) => commands.peRemoveFinishedOperations!.call(redis, ...args);
}

/**
 * The job each removed operation ran as (its id is the operation's): BullMQ keeps finished jobs
 * a day or a week by its own rule, which a shorter OPERATION_RETENTION would outlast. Best
 * effort: a job BullMQ will not remove (locked) is left to that rule.
 */
async function forgetJobs(ctx: CoreContext, ops: Operation[]): Promise<void> {
  const results = await Promise.allSettled(ops.map((op) => ctx.queues.queueFor(op).remove(op.id)));
  const failed = results.filter((r) => r.status === 'rejected').length;
  if (failed > 0) ctx.logger.warn('retention could not remove some finished jobs; BullMQ removes them by age', { jobs: failed });
}

/** Every step a workflow may have made: one per step of its graph, and the rollback of each. */
function stepIdsOf(workflow: Operation): string[] {
  const steps = (workflow.request as unknown as Partial<WorkflowRequest>).steps ?? [];
  return steps.flatMap((s) => [stepOperationId(workflow.id, s.id), stepOperationId(workflow.id, ROLLBACK_PREFIX + s.id)]);
}

/** The keys of one finished operation, in the order the removal script takes them. */
function removalKeys(ctx: CoreContext, id: string): string[] {
  const k = ctx.keys;
  const keys = [k.operation(id), k.operationEvents(id), k.operationLogs(id), k.journal(id)];
  if (keys.length !== KEYS_PER_OPERATION) throw new Error('removal keys out of step with the removal script');
  return keys;
}

/** Each operation with its events (read back from the stream by the ids its list holds) and its logs. */
async function archiveLines(ctx: CoreContext, ops: Operation[]): Promise<ArchivedOperation[]> {
  const lists = ctx.redis.pipeline();
  // A finished operation's event ids, and a short log, are fields of its record (see operations/finished-footprint.ts); older ones' lists.
  for (const op of ops) {
    lists.lrange(ctx.keys.operationEvents(op.id), 0, -1).lrange(ctx.keys.operationLogs(op.id), 0, -1);
    lists.hmget(ctx.keys.operation(op.id), FINISHED_EVENTS_FIELD, FINISHED_LOG_FIELD, PACKED_FIELD);
  }
  const replies = ((await lists.exec()) ?? []).map(([err, value]) => {
    if (err) throw err;
    return value;
  });
  const listed = ops.flatMap((_, i) => {
    const [eventList, logs, fields] = replies.slice(3 * i, 3 * i + 3) as [string[], string[], Array<string | null>];
    // Packed into one field once finished (see finished-footprint.ts), or not.
    const [foldedEvents, foldedLog] = finishedFieldsOf(fields, [FINISHED_EVENTS_FIELD, FINISHED_LOG_FIELD]);
    const foldedLines = foldedLog ? (JSON.parse(foldedLog) as unknown[]).map((line) => JSON.stringify(line)) : [];
    return [eventList.length > 0 ? eventList : finishedEventIds(foldedEvents), [...foldedLines, ...logs]];
  });
  const reads = ctx.redis.pipeline();
  ops.forEach((_, i) => {
    for (const eventId of listed[2 * i]!) reads.xrange(ctx.keys.events(), eventId, eventId);
  });
  const entries = ((await reads.exec()) ?? []).map(([err, value]) => {
    if (err) throw err;
    return value as Array<[string, string[]]>;
  });
  const archivedAt = new Date().toISOString();
  let next = 0;
  return ops.map((op, i) => {
    const events: ArchivedOperation['events'] = [];
    for (let n = 0; n < listed[2 * i]!.length; n++) {
      const found = entries[next++]![0];
      if (!found) continue;
      const [id, flat] = found;
      const fields: Record<string, string> = {};
      for (let f = 0; f < flat.length; f += 2) fields[flat[f]!] = flat[f + 1]!;
      events.push({ ...fields, id });
    }
    const logs = listed[2 * i + 1]!.map((line) => {
      try {
        return decodeLogLine(line) as unknown;
      } catch {
        return line;
      }
    });
    return { operation: op, events, logs, archived_at: archivedAt };
  });
}
