/**
 * How many operations there are per type × status and per workspace × status, each one read
 * (issue 13). Counting by intersecting two indexes (ZINTERCARD) costs time in proportion to
 * the operations stored, on every scrape and every dashboard refresh; at a million operations
 * that is Redis busy for many milliseconds per figure. So the scripts that create, move and
 * remove operations keep counters in one hash (Keys.operationCounts) in the same write: no
 * extra round trip, no bytes per operation (a field per type × status and per workspace ×
 * status; per status, the sum of a type's).
 *
 * A store written before the counters existed is counted once, a bounded chunk at a time, by
 * backfillOperationCounts (the retention job calls it on each run). Until it is done, readers
 * fall back to intersecting the indexes. The hash's `base` is the last sequence created
 * before counting began: operations above it are counted when created; those at or below it
 * once the backfill reaches them (`backfilled`, the highest sequence it has counted). A write
 * touches the counters only of operations already counted, so nothing is counted twice.
 */
import type { Redis } from 'ioredis';
import type { Keys } from '../keys.js';
import { luaScript } from '../lua.js';
import { ROW_FUNCTIONS, ROWS_PER_BUCKET } from './rows.js';
import { OPERATION_STATUSES, OPERATION_TYPES, type OperationStatus } from './model.js';

/** Lua helpers for the operation scripts (scripts.ts) and the removal script (retention). */
export const OPERATION_COUNTS = `
local function count_op(counts, op_type, workspace, status, by)
  redis.call('HINCRBY', counts, 't|' .. op_type .. '|' .. status, by)
  redis.call('HINCRBY', counts, 'w|' .. workspace .. '|' .. status, by)
end
-- Whether the operation of sequence seq is in the counters (see counts.ts).
local function counted(counts, seq)
  local c = redis.call('HMGET', counts, 'base', 'backfilled')
  if not c[1] or not seq then return false end
  seq = tonumber(seq)
  return seq > tonumber(c[1]) or seq <= tonumber(c[2] or '0')
end
-- Counting begins, before a create takes its sequence: what exists by then is the backfill's
-- (nothing, in a new store).
local function counts_begin(prefix)
  local counts = prefix .. ':ops:counts'
  if redis.call('HEXISTS', counts, 'base') == 1 then return end
  local seq = redis.call('GET', prefix .. ':ops:seq') or '0'
  redis.call('HSET', counts, 'base', seq)
  if seq == '0' then redis.call('HSET', counts, 'backfilled', '0') end
end`;

/**
 * KEYS: the index of every operation of the layout before operation rows, the counters, the
 * list of every bucket of rows. ARGV: prefix, chunk size. Counts the next chunk of operations
 * the backfill has not reached (oldest first, up to `base`) with their status now, and moves
 * `backfilled` past them; atomic, so a transition sees each one either before it is counted (and
 * leaves the counters alone) or after. Returns 1 when done. It reads the old index while there
 * is one (the migration to rows waits for this backfill; see rows-migration.ts), else the rows.
 */
const BACKFILL_COUNTS = `
${OPERATION_COUNTS}
${ROW_FUNCTIONS}
local all, counts, buckets, prefix = KEYS[1], KEYS[2], KEYS[3], ARGV[1]
-- A store that never held an operation has nothing to count, and is left as it is.
if redis.call('EXISTS', counts) == 0 and not redis.call('GET', prefix .. ':ops:seq') then return 1 end
counts_begin(prefix)
local c = redis.call('HMGET', counts, 'base', 'backfilled')
local base, done = tonumber(c[1]), tonumber(c[2] or '0')
if done >= base then
  if not c[2] then redis.call('HSET', counts, 'backfilled', base) end
  return 1
end
local chunk = tonumber(ARGV[2])
if redis.call('EXISTS', all) == 1 then
  local entries = redis.call('ZRANGEBYSCORE', all, '(' .. done, base, 'WITHSCORES', 'LIMIT', 0, chunk)
  if #entries == 0 then
    redis.call('HSET', counts, 'backfilled', base)
    return 1
  end
  for i = 1, #entries, 2 do
    local f = redis.call('HMGET', prefix .. ':op:' .. entries[i], 'status', 'type', 'workspace')
    if f[1] then count_op(counts, f[2], f[3], f[1], 1) end
  end
  redis.call('HSET', counts, 'backfilled', entries[#entries])
  return 0
end
local found = redis.call('ZRANGEBYSCORE', buckets, row_bucket(done + 1), row_bucket(base), 'LIMIT', 0, math.max(1, math.floor(chunk / ${ROWS_PER_BUCKET})))
if #found == 0 then
  redis.call('HSET', counts, 'backfilled', base)
  return 1
end
for _, b in ipairs(found) do
  local flat = redis.call('HGETALL', rows_key(prefix, b))
  for i = 1, #flat, 2 do
    local seq = tonumber(flat[i])
    if seq and seq > done and seq <= base then
      local f = row_fields(flat[i + 1])
      count_op(counts, f.type, f.workspace, f.status, 1)
    end
  end
end
-- Every row up to the end of the last bucket read is counted (a bucket not listed has none).
redis.call('HSET', counts, 'backfilled', math.min(base, (tonumber(found[#found]) + 1) * ${ROWS_PER_BUCKET} - 1))
return 0`;

/** Operations counted per backfill call: a few milliseconds of Redis each. */
const BACKFILL_CHUNK = 1000;

/** Counts the operations written before the counters, a chunk per call, until `budgetMs` is spent; true once everything is counted. */
export async function backfillOperationCounts(redis: Redis, keys: Keys, budgetMs = 2000): Promise<boolean> {
  const run = luaScript(redis, 'peBackfillOperationCounts', BACKFILL_COUNTS, 3);
  const deadline = Date.now() + budgetMs;
  for (;;) {
    if ((await run(keys.operationIndex(), keys.operationCounts(), keys.operationBuckets(), keys.prefix, String(BACKFILL_CHUNK))) === 1) return true;
    if (Date.now() >= deadline) return false;
    // Other clients' commands go between chunks.
    await new Promise<void>((r) => setImmediate(r));
  }
}

export type CountsByStatus = Record<OperationStatus, number>;

/**
 * The counters, per status, for each of `groups` (`t|<type>` or `w|<workspace>`); null while
 * the backfill has not finished, when the caller counts another way.
 */
export async function readOperationCounts(redis: Redis, keys: Keys, groups: string[]): Promise<Map<string, CountsByStatus> | null> {
  const fields = ['base', 'backfilled', ...groups.flatMap((g) => OPERATION_STATUSES.map((s) => `${g}|${s}`))];
  const values = await redis.hmget(keys.operationCounts(), ...fields);
  const [base, backfilled] = values;
  if (base === null || backfilled === null || Number(backfilled) < Number(base)) return null;
  const out = new Map<string, CountsByStatus>();
  let i = 2;
  for (const g of groups) {
    const row = {} as CountsByStatus;
    for (const s of OPERATION_STATUSES) row[s] = Math.max(0, Number(values[i++] ?? 0));
    out.set(g, row);
  }
  return out;
}

/**
 * Operations per status, from the per-type counters; while they are still being backfilled, from
 * the status indexes of the layout before operation rows (which their migration leaves in
 * place until the counters are complete; see rows-migration.ts).
 */
export async function operationsPerStatus(redis: Redis, keys: Keys): Promise<CountsByStatus> {
  const out = Object.fromEntries(OPERATION_STATUSES.map((s) => [s, 0])) as CountsByStatus;
  const counted = await readOperationCounts(redis, keys, OPERATION_TYPES.map((t) => `t|${t}`));
  if (counted) {
    for (const row of counted.values()) for (const s of OPERATION_STATUSES) out[s] += row[s];
    return out;
  }
  const pipeline = redis.pipeline();
  for (const s of OPERATION_STATUSES) pipeline.zcard(keys.operationIndex('status', s));
  const replies = (await pipeline.exec()) ?? [];
  OPERATION_STATUSES.forEach((s, i) => (out[s] = Number(replies[i]?.[1] ?? 0)));
  return out;
}
