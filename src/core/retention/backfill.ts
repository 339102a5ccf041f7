/**
 * Operations that finished before the finished index existed are not in it: the retention job
 * would never see them. This walks the terminal status indexes once, a page per call, and
 * enters each top-level operation with its finish time (NX: the transition's own entry wins).
 * Where it got to is kept in Redis, so the walk resumes across runs and processes and stops
 * for good once every status is done.
 */
import type { CoreContext } from '../context.js';
import type { OperationStatus } from '../operations/model.js';
import { finishedFieldsOf, PACKED_FIELD } from '../operations/finished-footprint.js';

const TERMINAL: OperationStatus[] = ['completed', 'failed', 'cancelled'];
const DONE = 'done';
/** What decides an operation's entry; a finished record may hold them packed (see operations/finished-footprint.ts). */
const READ = ['finished_at', 'updated_at', 'parent_id'] as const;

/** Enters up to `pageSize` operations per terminal status; returns how many it entered (0 once finished). */
export async function backfillFinishedIndex(ctx: CoreContext, pageSize = 500): Promise<number> {
  const progressKey = ctx.keys.operationsFinishedBackfill();
  const progress = await ctx.redis.hgetall(progressKey);
  let entered = 0;
  for (const status of TERMINAL) {
    const after = progress[status];
    if (after === DONE) continue;
    const page = await ctx.redis.zrangebyscore(ctx.keys.operationIndex('status', status), after === undefined ? '-inf' : `(${after}`, '+inf', 'WITHSCORES', 'LIMIT', '0', String(pageSize));
    const ids: string[] = [];
    for (let i = 0; i < page.length; i += 2) ids.push(page[i]!);
    // Nothing of this status yet: nothing to note either (a store with no history writes nothing).
    if (ids.length === 0 && after === undefined) continue;
    const reads = ctx.redis.pipeline();
    for (const id of ids) reads.hmget(ctx.keys.operation(id), ...READ, PACKED_FIELD);
    const fields = ((await reads.exec()) ?? []).map(([, v]) => (v ? finishedFieldsOf(v as Array<string | null>, READ) : []));
    const write = ctx.redis.multi();
    ids.forEach((id, i) => {
      const [finishedAt, updatedAt, parentId] = fields[i] ?? [];
      const at = Date.parse(finishedAt ?? updatedAt ?? '');
      if (parentId || Number.isNaN(at)) return;
      write.zadd(ctx.keys.operationsFinished(), 'NX', String(at), id);
      entered++;
    });
    write.hset(progressKey, status, ids.length < pageSize ? DONE : page[page.length - 1]!);
    await write.exec();
  }
  return entered;
}
