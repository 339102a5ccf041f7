/**
 * The move of a store written before operation rows (see rows.ts) to them: each operation of
 * the old index of every operation gets its row, newest first (so the pages a caller reads
 * first are whole soonest), and leaves the old indexes, a chunk per script call. The retention
 * job runs it, a time budget per run, once the operation counters are complete (their backfill
 * walks the old index). Until it is done a listing shows the operations it has reached and
 * every one created since; the old indexes of the open statuses are the new ones and stay.
 *
 * A transition of an operation not yet reached writes its row itself (rows.ts, row_move): the
 * migration then leaves that fresher row as it is and only clears the old entries.
 */
import type { Redis } from 'ioredis';
import type { Keys } from '../keys.js';
import { luaScript } from '../lua.js';
import { PROVIDER_NAMES } from '../../common/provider.js';
import { finishedFieldsOf, PACKED_FIELD } from './finished-footprint.js';
import { OPERATION_TYPES } from './model.js';
import { BUCKET_OPENED_FIELD, ROW_FUNCTIONS } from './rows.js';

const DONE = 'done';
const MOVING = 'moving';
/** Operations moved per script call: a few milliseconds of Redis. */
const CHUNK = 100;
/** What a row needs of a record; provider and the times may be packed (finished-footprint.ts). */
const READ = ['status', 'type', 'workspace', 'provider', 'parent_id', 'finished_at', 'updated_at', 'created_at'] as const;

/**
 * ARGV: prefix, then per operation: id, seq, status, type, workspace, provider, finished (epoch
 * ms or ''), created (epoch seconds). An operation whose record is gone only leaves the index of
 * every operation and the finished index.
 */
const MIGRATE_ROWS = `
${ROW_FUNCTIONS}
local prefix = ARGV[1]
for i = 2, #ARGV, 8 do
  local id, seq, status, op_type, workspace, provider, finished, created = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], ARGV[i + 6], ARGV[i + 7]
  redis.call('ZREM', prefix .. ':ops:all', id)
  redis.call('ZREM', prefix .. ':ops:finished', id)
  if status ~= '' and redis.call('EXISTS', prefix .. ':op:' .. id) == 1 then
    local b = row_bucket(seq)
    local rows = rows_key(prefix, b)
    local now = redis.call('HGET', prefix .. ':op:' .. id, 'status')
    if redis.call('HEXISTS', rows, seq) == 0 then
      -- Read by the caller just before: a finished status never changes, an open one is re-read here.
      if open_status(now) then finished = '' end
      redis.call('HSET', rows, seq, row_value(id, now, op_type, workspace, provider, finished))
      row_enter(prefix, seq, op_type, workspace, provider)
      row_status_enter(prefix, seq, id, now)
    end
    -- The bucket opened when its oldest row was created, not when the migration wrote it.
    local opened = tonumber(redis.call('HGET', rows, '${BUCKET_OPENED_FIELD}'))
    if created ~= '' and (not opened or tonumber(created) < opened) then redis.call('HSET', rows, '${BUCKET_OPENED_FIELD}', created) end
    if not open_status(now) then redis.call('ZREM', prefix .. ':ops:status:' .. now, id) end
    redis.call('ZREM', prefix .. ':ops:type:' .. op_type, id)
    redis.call('ZREM', prefix .. ':ops:workspace:' .. workspace, id)
    if provider ~= '' then redis.call('ZREM', prefix .. ':ops:provider:' .. provider, id) end
  end
end
return 1`;

const seconds = (iso: string | null): string => {
  const ms = Date.parse(iso ?? '');
  return Number.isNaN(ms) ? '' : String(Math.floor(ms / 1000));
};

/** Moves chunks of the old layout to rows until `budgetMs` is spent; true once nothing is left to move. */
export async function migrateToRows(redis: Redis, keys: Keys, budgetMs = 5000): Promise<boolean> {
  const progress = keys.operationRowsMigration();
  let state = await redis.get(progress);
  if (state === DONE) return true;
  const migrate = luaScript(redis, 'peMigrateOperationRows', MIGRATE_ROWS);
  const deadline = Date.now() + budgetMs;
  for (;;) {
    const page = await redis.zrevrangebyscore(keys.operationIndex(), '+inf', '-inf', 'WITHSCORES', 'LIMIT', 0, CHUNK);
    if (page.length === 0) {
      // A store begun with rows has nothing to move, and nothing is written to it.
      if (state === null) return true;
      await clearOldIndexes(redis, keys);
      await redis.set(progress, DONE);
      return true;
    }
    if (state === null) await redis.set(progress, (state = MOVING));
    const reads = redis.pipeline();
    for (let i = 0; i < page.length; i += 2) reads.hmget(keys.operation(page[i]!), ...READ, PACKED_FIELD);
    const replies = (await reads.exec()) ?? [];
    const args: string[] = [keys.prefix];
    for (let i = 0; i < page.length; i += 2) {
      const [err, values] = replies[i / 2]!;
      if (err) throw err;
      const [status, type, workspace, provider, parentId, finishedAt, updatedAt, createdAt] = finishedFieldsOf(values as Array<string | null>, READ);
      const finishedMs = Date.parse(finishedAt ?? updatedAt ?? '');
      const finished = status && !parentId && !Number.isNaN(finishedMs) ? String(finishedMs) : '';
      args.push(page[i]!, page[i + 1]!, status ?? '', type ?? '', workspace ?? '', provider ?? '', finished, seconds(createdAt));
    }
    await migrate(...args);
    if (Date.now() >= deadline) return false;
    await new Promise<void>((r) => setImmediate(r));
  }
}

/**
 * The old per-value indexes, emptied by the moves (Redis drops an empty sorted set), except
 * where an entry named an operation whose record was already gone: every name they may have
 * is known (each type, provider and finished status; the workspaces the counters name).
 */
async function clearOldIndexes(redis: Redis, keys: Keys): Promise<void> {
  const workspaces = new Set<string>();
  for (const field of await redis.hkeys(keys.operationCounts())) {
    const [kind, name] = field.split('|');
    if (kind === 'w' && name) workspaces.add(name);
  }
  const old = [
    keys.operationsFinished(),
    keys.operationsFinishedBackfill(),
    ...(['completed', 'failed', 'cancelled'] as const).map((s) => keys.operationIndex('status', s)),
    ...OPERATION_TYPES.map((t) => keys.operationIndex('type', t)),
    ...PROVIDER_NAMES.map((p) => keys.operationIndex('provider', p)),
    ...[...workspaces].map((w) => keys.operationIndex('workspace', w)),
  ];
  for (let i = 0; i < old.length; i += 100) await redis.unlink(...old.slice(i, i + 100));
}
