/**
 * Which finished operations are past their retention: found by reading operation rows (see
 * operations/rows.ts) from the oldest bucket up. A row's finish time is in it; a bucket opened
 * (its first row written) at or after the cutoff holds no row, and is followed by none, created
 * before it, so nothing there or beyond can be due and the walk ends.
 */
import type { CoreContext } from '../context.js';
import { BUCKET_OPENED_FIELD, parseRows } from '../operations/rows.js';

export interface DueOperation {
  id: string;
  seq: number;
}

export interface DueBatch {
  due: DueOperation[];
  /** The bucket to go on from, or null when the walk is over. */
  resumeAt: number | null;
}

/** Buckets read per round trip. */
const BUCKETS_PER_READ = 16;

/** Due operations (top-level: a workflow step goes with its workflow) from bucket `from` on, whole buckets until there are at least `limit`. */
export async function dueOperations(ctx: CoreContext, cutoff: number, from: number, limit: number): Promise<DueBatch> {
  const due: DueOperation[] = [];
  let at = from;
  for (;;) {
    const buckets = await ctx.redis.zrangebyscore(ctx.keys.operationBuckets(), String(at), '+inf', 'LIMIT', '0', String(BUCKETS_PER_READ));
    if (buckets.length === 0) return { due, resumeAt: null };
    const reads = ctx.redis.pipeline();
    for (const b of buckets) reads.hgetall(ctx.keys.operationRows(b));
    const replies = (await reads.exec()) ?? [];
    for (let i = 0; i < buckets.length; i++) {
      const bucket = Number(buckets[i]);
      const [err, hash] = replies[i]!;
      if (err) throw err;
      const fields = hash as Record<string, string>;
      const opened = Number(fields[BUCKET_OPENED_FIELD]) * 1000;
      if (opened >= cutoff) return { due, resumeAt: null };
      for (const row of parseRows(fields)) {
        if (row.finished !== null && row.finished <= cutoff) due.push({ id: row.id, seq: row.seq });
      }
      // Whole buckets: the next batch starts after this one, so a row left alone is not met again.
      if (due.length >= limit) return { due, resumeAt: bucket + 1 };
      at = bucket + 1;
    }
  }
}
