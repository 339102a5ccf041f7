import type { CoreContext } from '../core/context.js';
import { runRetention } from '../core/retention/run.js';

/** The maintenance queue's `retention` job: one run, and a line saying what it did (ids are not listed, counts are). */
export async function retentionJob(ctx: CoreContext): Promise<Record<string, unknown>> {
  const report = await runRetention(ctx);
  const summary = {
    removed: report.removed.length,
    archived: report.archived,
    deferred: report.deferred.length,
    batches: report.batches,
    longest_batch_us: report.longestBatchMicros,
    events_trimmed: report.eventsTrimmed,
    audit_trimmed: report.auditTrimmed,
    budget_spent: report.budgetSpent,
  };
  if (report.removed.length > 0 || report.eventsTrimmed > 0 || report.auditTrimmed > 0 || report.budgetSpent) ctx.logger.info('retention removed finished operations', summary);
  return summary;
}
