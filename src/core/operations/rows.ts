/**
 * The operation rows (issue 13: at most 1 KB of Redis per finished operation): what lists,
 * filters and retires operations, kept in small compact hashes instead of a sorted set per
 * filter value.
 *
 * Six sorted sets of operation ids (every operation; per status, type, workspace, provider; the
 * finished ones by finish time) cost about 135 bytes per entry each, 800 bytes per operation
 * whatever its record weighs. Instead each operation has one row: a field of the hash of its
 * bucket of creation sequences (ROWS_PER_BUCKET of them, `Keys.operationRows(seq / 64)`),
 * named by its sequence, whose value holds what a filter or the retention job asks of it:
 *
 *     <id>|<status>|<type>|<workspace>|<provider>|<finished, epoch ms; '' while open or for a workflow step>
 *
 * Which rows of a bucket have a given status, type, workspace or provider is a mask field of
 * the same bucket (`m|<field>|<value>`: 64 bits as 16 hex digits), and which buckets have any
 * is a small sorted set of bucket numbers per value (`Keys.operationBuckets`). A bucket of 64
 * rows and their few masks stays one listpack (Redis's compact encoding: at most 128 fields; a
 * bucket of unusually many distinct values becomes a hash table, larger but as correct), about
 * 110 bytes per row. A filtered page walks the buckets of its rarest filter value, newest
 * first, ANDs the masks of its filters and reads only the rows that match (see list-script.ts).
 * Open operations are also in one sorted set of ids per open status
 * (`Keys.operationIndex('status', 'pending' | 'running')`), small by nature, which the sweep and
 * bulk cancel read oldest first.
 *
 * Each bucket also holds field `t`: when its first row was written (epoch seconds). No row of
 * it, nor of any later bucket, was created before then, so the retention job stops there.
 *
 * Only the functions of this file write rows: the create (row_create), the transition
 * (row_move), the removal (row_remove) and the migration (row_enter, row_status_enter).
 */

import type { Redis } from 'ioredis';
import type { Keys } from '../keys.js';

/** Rows per bucket: a mask of them is two 32-bit words, and with their masks they stay under Redis's hash-max-listpack-entries (128). */
export const ROWS_PER_BUCKET = 64;

/** The bucket's field that says when its first row was written (epoch seconds). */
export const BUCKET_OPENED_FIELD = 't';

/** A row's fields, in order. */
export interface OperationRow {
  seq: number;
  id: string;
  status: string;
  type: string;
  workspace: string;
  provider: string;
  /** Epoch ms; null while open, and for a workflow step (it goes with its workflow). */
  finished: number | null;
}

/** The bucket of a creation sequence. */
export function rowBucket(seq: number): number {
  return Math.floor(seq / ROWS_PER_BUCKET);
}

/** The rows of one bucket's HGETALL (its other fields left out), in creation order. */
export function parseRows(bucket: Record<string, string>): OperationRow[] {
  const rows: OperationRow[] = [];
  for (const [field, value] of Object.entries(bucket)) {
    const seq = Number(field);
    if (!Number.isInteger(seq)) continue;
    const [id, status, type, workspace, provider, finished] = value.split('|');
    rows.push({ seq, id: id!, status: status!, type: type!, workspace: workspace!, provider: provider ?? '', finished: finished ? Number(finished) : null });
  }
  return rows.sort((a, b) => a.seq - b.seq);
}

/** The rows of one bucket, in creation order. */
export async function readRows(redis: Redis, keys: Keys, bucket: number | string): Promise<OperationRow[]> {
  return parseRows(await redis.hgetall(keys.operationRows(bucket)));
}

/** Lua: the row functions, for the scripts that create, move, list and remove operations. */
export const ROW_FUNCTIONS = `
local function open_status(s) return s == 'pending' or s == 'running' end
local function row_bucket(seq) return math.floor(tonumber(seq) / ${ROWS_PER_BUCKET}) end
local function rows_key(prefix, bucket) return prefix .. ':ops:rows:' .. bucket end
local function buckets_key(prefix, dim, value)
  if dim == nil then return prefix .. ':ops:in:all' end
  return prefix .. ':ops:in:' .. dim .. ':' .. value
end
local function row_value(id, status, op_type, workspace, provider, finished)
  return id .. '|' .. status .. '|' .. op_type .. '|' .. workspace .. '|' .. (provider or '') .. '|' .. (finished or '')
end
local function row_fields(value)
  local id, status, op_type, workspace, provider, finished = string.match(value, '^([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)$')
  return {id = id, status = status, type = op_type, workspace = workspace, provider = provider, finished = finished}
end
-- A mask: which of a bucket's 64 rows have a value, as two 32-bit words (high, low); stored as 16 hex digits.
local function mask_field(dim, value) return 'm|' .. dim .. '|' .. value end
local function mask_words(text)
  if not text then return 0, 0 end
  return bit.tobit(tonumber(string.sub(text, 1, 8), 16)), bit.tobit(tonumber(string.sub(text, 9, 16), 16))
end
local function row_bit(seq)
  local p = tonumber(seq) % ${ROWS_PER_BUCKET}
  if p >= 32 then return bit.lshift(1, p - 32), 0 end
  return 0, bit.lshift(1, p)
end
-- Sets or clears one row's bit in a value's mask; false when no row of the bucket has the value any more.
local function mask_put(key, dim, value, seq, on)
  local field = mask_field(dim, value)
  local hi, lo = mask_words(redis.call('HGET', key, field) or nil)
  local bh, bl = row_bit(seq)
  if on then
    hi, lo = bit.bor(hi, bh), bit.bor(lo, bl)
  else
    hi, lo = bit.band(hi, bit.bnot(bh)), bit.band(lo, bit.bnot(bl))
  end
  if hi == 0 and lo == 0 then
    redis.call('HDEL', key, field)
    return false
  end
  redis.call('HSET', key, field, bit.tohex(hi, 8) .. bit.tohex(lo, 8))
  return true
end
-- The row's type, workspace and provider: in the bucket's masks, and the bucket in their lists (and every bucket's list).
local function row_enter(prefix, seq, op_type, workspace, provider)
  local b = row_bucket(seq)
  local key = rows_key(prefix, b)
  redis.call('HSETNX', key, '${BUCKET_OPENED_FIELD}', redis.call('TIME')[1])
  redis.call('ZADD', buckets_key(prefix), b, b)
  for _, dv in ipairs({{'type', op_type}, {'workspace', workspace}, {'provider', provider}}) do
    if dv[2] and dv[2] ~= '' then
      mask_put(key, dv[1], dv[2], seq, true)
      redis.call('ZADD', buckets_key(prefix, dv[1], dv[2]), b, b)
    end
  end
end
-- The row's status: in the bucket's mask and the bucket in its list; an open one also in its sorted set of ids.
local function row_status_enter(prefix, seq, id, status)
  local b = row_bucket(seq)
  mask_put(rows_key(prefix, b), 'status', status, seq, true)
  redis.call('ZADD', buckets_key(prefix, 'status', status), b, b)
  if open_status(status) then redis.call('ZADD', prefix .. ':ops:status:' .. status, seq, id) end
end
local function row_status_leave(prefix, seq, id, status)
  local b = row_bucket(seq)
  if not mask_put(rows_key(prefix, b), 'status', status, seq, false) then redis.call('ZREM', buckets_key(prefix, 'status', status), b) end
  if open_status(status) then redis.call('ZREM', prefix .. ':ops:status:' .. status, id) end
end
local function row_create(prefix, seq, id, status, op_type, workspace, provider)
  redis.call('HSET', rows_key(prefix, row_bucket(seq)), seq, row_value(id, status, op_type, workspace, provider, ''))
  row_enter(prefix, seq, op_type, workspace, provider)
  row_status_enter(prefix, seq, id, status)
end
-- A status change. An operation created before rows existed gets its row here (the migration
-- enters the rest; see rows-migration.ts).
local function row_move(prefix, seq, id, from, to, op_type, workspace, provider, finished)
  local fresh = redis.call('HSET', rows_key(prefix, row_bucket(seq)), seq, row_value(id, to, op_type, workspace, provider, finished))
  if fresh == 1 then row_enter(prefix, seq, op_type, workspace, provider) end
  row_status_leave(prefix, seq, id, from)
  row_status_enter(prefix, seq, id, to)
end
-- Removes a row, its bits, and its bucket from the list of each value no row of it has any more
-- (and the bucket itself once it holds no row); returns the row's fields, nil when it had none.
local function row_remove(prefix, seq)
  local b = row_bucket(seq)
  local key = rows_key(prefix, b)
  local value = redis.call('HGET', key, seq)
  if not value then return nil end
  redis.call('HDEL', key, seq)
  local f = row_fields(value)
  row_status_leave(prefix, seq, f.id, f.status)
  for _, dim in ipairs({'type', 'workspace', 'provider'}) do
    local v = f[dim]
    if v ~= '' and not mask_put(key, dim, v, seq, false) then redis.call('ZREM', buckets_key(prefix, dim, v), b) end
  end
  -- Every row is in a type's mask: with none left, only the opening time is.
  if redis.call('HLEN', key) <= 1 then
    redis.call('DEL', key)
    redis.call('ZREM', buckets_key(prefix), b)
  end
  return f
end`;
