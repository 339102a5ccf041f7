import type { CoreContext } from '../core/context.js';
import { luaScript } from '../core/lua.js';
import { isWorkflowType, type Operation, type OperationStatus } from '../core/operations/model.js';
import { wakeJob, type OperationQueue } from '../core/queue.js';
import { enqueueSweepAdvance } from '../core/workflows/notify.js';
import { enqueueOperation } from '../core/operations/submit.js';

// A pending operation younger than this may simply be between its write and its enqueue.
const PENDING_GRACE_MS = 5000;
const BATCH = 500;

/**
 * Whether an operation is still open and no job carries it, read in one atomic step: the
 * operation's status and its BullMQ job's state cannot change between the two reads, so an
 * operation that finishes (its job completed, perhaps already removed) while the sweep looks
 * is never taken for one whose job was lost.
 *
 * ARGV: prefix, operation id, the job's hash key, then the queue's wait, paused, active
 * (lists), delayed, prioritized and waiting-children (sorted sets) keys.
 * Returns {status, job}: status is the operation's ('' when there is none); job is
 *   live      — the id is in one of the lists or sets a worker takes jobs from or will;
 *   overslept — delayed, though what it waits for is there (an outcome, a cancel, its turn);
 *   finished — the job hash is there with finishedOn (completed or failed);
 *   stranded — the job hash is there but in none of those (its id must be freed before reuse);
 *   none     — no job hash at all.
 */
const CHECK_JOB = `
local prefix, id, job_key = ARGV[1], ARGV[2], ARGV[3]
local status = redis.call('HGET', prefix .. ':op:' .. id, 'status')
if not status then status = '' end
if status ~= 'pending' and status ~= 'running' then return {status, 'closed'} end
if redis.call('EXISTS', job_key) == 0 then return {status, 'none'} end
if redis.call('HEXISTS', job_key, 'finishedOn') == 1 then return {status, 'finished'} end
if redis.call('ZSCORE', ARGV[7], id) then
  -- Delayed, yet what it sleeps for has come: a wake (a watcher's promote, a cancel's, the
  -- announcement of its turn on a server) was lost to a crash or a Redis restart.
  local op = prefix .. ':op:' .. id
  if redis.call('HEXISTS', op, 'cancel_requested_at') == 1 then return {status, 'overslept'} end
  local journal = op .. ':journal'
  local parked = redis.call('HGET', journal, 'parked')
  if parked and redis.call('HEXISTS', journal, 'w:' .. parked) == 1 then return {status, 'overslept'} end
  local lane = redis.call('HGET', op, 'lane')
  if status == 'pending' and lane and redis.call('ZRANGE', prefix .. ':lane:' .. lane, 0, 0)[1] == id then return {status, 'overslept'} end
  return {status, 'live'}
end
for i = 8, 9 do
  if redis.call('ZSCORE', ARGV[i], id) then return {status, 'live'} end
end
for i = 4, 6 do
  if redis.call('LPOS', ARGV[i], id) then return {status, 'live'} end
end
return {status, 'stranded'}`;

type JobCheck = 'closed' | 'live' | 'overslept' | 'finished' | 'stranded' | 'none';

async function checkJob(ctx: CoreContext, queue: OperationQueue, id: string): Promise<{ status: string; job: JobCheck }> {
  const run = luaScript(ctx.redis, 'peSweepCheckJob', CHECK_JOB);
  const k = queue.keys;
  const [status, job] = (await run(ctx.keys.prefix, id, queue.toKey(id), k.wait!, k.paused!, k.active!, k.delayed!, k.prioritized!, k['waiting-children']!)) as [string, JobCheck];
  return { status, job };
}

/**
 * Finds accepted operations that no job will ever carry — the API died between writing the
 * record and enqueueing, or a job was lost or given up on while its operation was still
 * open — and enqueues them again. Runs in every worker, one sweep at a time across all of
 * them (a Redis lock).
 */
export async function sweepOnce(ctx: CoreContext, now = Date.now()): Promise<number> {
  const lock = await ctx.redis.set(ctx.keys.lock('sweep'), String(process.pid), 'PX', 60000, 'NX');
  if (lock === null) return 0;
  let enqueued = 0;
  try {
    for (const status of ['pending', 'running'] as const) {
      const ids = await ctx.store.idsWithStatus(status, BATCH);
      for (const op of await ctx.store.getMany(ids)) {
        if (op.status !== status) continue;
        if (status === 'pending' && now - Date.parse(op.created_at) < PENDING_GRACE_MS) continue;
        // A running workflow's own job has done its part; its steps' advances carry it on.
        if (status === 'running' && isWorkflowType(op.type)) {
          await enqueueSweepAdvance(ctx, op, now);
          continue;
        }
        if (await enqueueIfJobless(ctx, op)) enqueued++;
      }
    }
  } finally {
    await ctx.redis.del(ctx.keys.lock('sweep'));
  }
  return enqueued;
}

/**
 * Enqueues `op` again when, at this moment, it is still open and has no live job. The batch
 * read above is only a list of candidates: by now the operation may have finished and its
 * job completed (or been removed), so the decision is the one atomic check.
 *
 * Enqueueing after that check, not inside it, is still safe. An open operation with no live
 * job has nothing that could finish it or give it a job between the check and the add: only
 * a job's run moves it on, and it has none (the API's own enqueue of a new operation is what
 * the pending grace is for, and a duplicate job id is ignored by BullMQ anyway). The one
 * thing that may happen meanwhile is an API cancel of a pending operation; then the new
 * job's claim loses the compare-and-set and that job ends without doing anything.
 */
async function enqueueIfJobless(ctx: CoreContext, op: Operation): Promise<boolean> {
  const queue = ctx.queues.queueFor(op);
  const { status, job } = await checkJob(ctx, queue, op.id);
  if (job === 'closed' || job === 'live') return false;
  if (job === 'overslept') {
    // Its wake was lost: run it now rather than at its deadline.
    await wakeJob(queue, op.id);
    ctx.logger.warn('sweep woke an operation whose wake was lost', { operation_id: op.id, status, trace_id: op.trace_id });
    return false;
  }
  // A finished job under an unfinished operation (e.g. failed for stalling too often) must go before its id can be reused.
  if (job === 'finished' || job === 'stranded') await queue.remove(op.id).catch(() => 0);
  await enqueueOperation(ctx, op);
  ctx.logger.warn('sweep enqueued an operation that had no job', { operation_id: op.id, status, job_state: job, trace_id: op.trace_id });
  return true;
}
