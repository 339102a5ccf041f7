/**
 * The operation rows (issue 13: at most 1 KB of Redis per finished operation): what lists,
 * filters and retires operations, kept in compact small hashes instead of a sorted set per filter.
 *
 * Six sorted sets of operation ids (every operation; per status, type, workspace, provider; the
 * finished ones by finish time) cost about 135 bytes per entry each, 800 bytes per operation
 * whatever its record weighs. Instead each operation has one row: a field of the hash of its
 * bucket of creation sequences (ROWS_PER_BUCKET of them, `Keys.operationRows(seq / 128)`),
 * named by its sequence, whose value holds what a filter or the retention job asks of it:
 *
 *     <id>|<status>|<type>|<workspace>|<provider>|<finished, epoch ms; '' while open or for a workflow step>
 *
 * A bucket of at most 128 short fields stays one listpack (Redis's compact encoding), about
 * 100 bytes per row. Which buckets hold a row of a given type, workspace, provider or finished
 * status is kept in a small sorted set of bucket numbers per value (`Keys.operationBuckets`),
 * a few bytes per operation; a filtered page walks the buckets of its rarest filter, newest first,
 * and checks the others on the rows it reads (see list-script.ts). Open operations stay in
 * one plain sorted set per open status (`Keys.operationIndex('status', 'pending' | 'running')`),
 * small by nature, which the sweep, bulk cancel and a page of pending or running walk.
 *
 * Each bucket also holds field `t`: when its first row was written (epoch seconds). No row of
 * it, nor of any later bucket, was created before then, so the retention job stops there.
 *
 * Only the scripts of this file write rows: the create (row_create), the transition (row_move)
 * and the removal (row_remove, then rows_tidy).
 */

/** Rows per bucket: Redis's hash-max-listpack-entries default, so a bucket stays a listpack. */
export const ROWS_PER_BUCKET = 128;

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

/** The rows of one bucket's HGETALL, in creation order. */
export function parseRows(flat: string[]): OperationRow[] {
  const rows: OperationRow[] = [];
  for (let i = 0; i < flat.length; i += 2) {
    if (flat[i] === BUCKET_OPENED_FIELD) continue;
    const [id, status, type, workspace, provider, finished] = flat[i + 1]!.split('|');
    rows.push({ seq: Number(flat[i]), id: id!, status: status!, type: type!, workspace: workspace!, provider: provider ?? '', finished: finished ? Number(finished) : null });
  }
  return rows.sort((a, b) => a.seq - b.seq);
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
-- The bucket enters the lists of the row's type, workspace and provider (and every bucket's list).
local function row_enter(prefix, b, op_type, workspace, provider)
  redis.call('HSETNX', rows_key(prefix, b), '${BUCKET_OPENED_FIELD}', redis.call('TIME')[1])
  redis.call('ZADD', buckets_key(prefix), b, b)
  redis.call('ZADD', buckets_key(prefix, 'type', op_type), b, b)
  redis.call('ZADD', buckets_key(prefix, 'workspace', workspace), b, b)
  if provider and provider ~= '' then redis.call('ZADD', buckets_key(prefix, 'provider', provider), b, b) end
end
-- Where the row's status is found: an open one's sorted set of ids, a finished one's bucket list.
local function row_status_enter(prefix, seq, id, status)
  if open_status(status) then
    redis.call('ZADD', prefix .. ':ops:status:' .. status, seq, id)
  else
    local b = row_bucket(seq)
    redis.call('ZADD', buckets_key(prefix, 'status', status), b, b)
  end
end
local function row_create(prefix, seq, id, status, op_type, workspace, provider)
  local b = row_bucket(seq)
  redis.call('HSET', rows_key(prefix, b), seq, row_value(id, status, op_type, workspace, provider, ''))
  row_enter(prefix, b, op_type, workspace, provider)
  row_status_enter(prefix, seq, id, status)
end
-- A status change. An operation created before rows existed gets its row here (the migration
-- enters the rest; see rows-migration.ts).
local function row_move(prefix, seq, id, from, to, op_type, workspace, provider, finished)
  local b = row_bucket(seq)
  local fresh = redis.call('HSET', rows_key(prefix, b), seq, row_value(id, to, op_type, workspace, provider, finished))
  if fresh == 1 then row_enter(prefix, b, op_type, workspace, provider) end
  if open_status(from) then redis.call('ZREM', prefix .. ':ops:status:' .. from, id) end
  row_status_enter(prefix, seq, id, to)
end
-- Removes a row; returns its fields (nil when it has none). Its bucket is tidied by rows_tidy
-- once the whole batch is removed, with what left it in 'touched' (bucket -> list of fields).
local function row_remove(prefix, seq, touched)
  local b = row_bucket(seq)
  local key = rows_key(prefix, b)
  local value = redis.call('HGET', key, seq)
  if not value then return nil end
  redis.call('HDEL', key, seq)
  local f = row_fields(value)
  if open_status(f.status) then redis.call('ZREM', prefix .. ':ops:status:' .. f.status, f.id) end
  touched[b] = touched[b] or {}
  table.insert(touched[b], f)
  return f
end
-- A bucket leaves the list of a value none of its remaining rows has, and goes when it has no rows.
local function rows_tidy(prefix, touched)
  for b, gone in pairs(touched) do
    local key = rows_key(prefix, b)
    local left = redis.call('HGETALL', key)
    local has, rows = {}, 0
    for i = 1, #left, 2 do
      if left[i] ~= '${BUCKET_OPENED_FIELD}' then
        rows = rows + 1
        local f = row_fields(left[i + 1])
        has['type:' .. f.type] = true
        has['workspace:' .. f.workspace] = true
        has['provider:' .. f.provider] = true
        has['status:' .. f.status] = true
      end
    end
    if rows == 0 then
      redis.call('DEL', key)
      redis.call('ZREM', buckets_key(prefix), b)
    end
    for _, f in ipairs(gone) do
      for _, dim in ipairs({'type', 'workspace', 'provider', 'status'}) do
        local value = f[dim]
        if value ~= '' and not has[dim .. ':' .. value] and not (dim == 'status' and open_status(value)) then
          redis.call('ZREM', buckets_key(prefix, dim, value), b)
        end
      end
    end
  end
end`;
