/**
 * The Lua scripts that are the only writers of operation records. Each runs atomically in
 * Redis, so a status check and the write that depends on it can never interleave with
 * another process's: two workers, or a worker and a cancelling API, cannot both win.
 *
 * Every script takes the key prefix as ARGV[1] and the operation id as ARGV[2] and builds
 * its keys from them (the set of index keys depends on the record's own fields).
 */

import { COMPACT_FINISHED } from './finished-footprint.js';
import { OPERATION_COUNTS } from './counts.js';
import { ROW_FUNCTIONS } from './rows.js';

const TERMINAL = `local function terminal(s) return s == 'completed' or s == 'failed' or s == 'cancelled' end`;

// Each event also goes on its operation's own list of stream ids, so one operation's history
// replays without scanning the whole stream.
export const APPEND_EVENT = `
local function append_event(prefix, id, kind, op_type, workspace, from, to, at, message, trace_id, provider)
  -- The operation's trace and provider go with each of its events: a caller that has read
  -- the record passes them (false when the record has none), any other leaves them to be read here.
  if trace_id == nil then
    local op = redis.call('HMGET', prefix .. ':op:' .. id, 'trace_id', 'provider')
    trace_id, provider = op[1], op[2]
  end
  local event_id = redis.call('XADD', prefix .. ':events', 'MAXLEN', '~', 100000, '*',
    'kind', kind, 'operation_id', id, 'operation_type', op_type, 'workspace', workspace,
    'from', from, 'to', to, 'at', at, 'message', message, 'trace_id', trace_id or '', 'provider', provider or '')
  redis.call('RPUSH', prefix .. ':op:' .. id .. ':events', event_id)
end`;

/**
 * The lane of a server: operations that change it, by acceptance sequence. Its head is the
 * one open operation allowed to run; one that finished but is somehow still listed is dropped.
 */
const LANE_HEAD = `
local function lane_head(prefix, lane)
  local lane_key = prefix .. ':lane:' .. lane
  while true do
    local head = redis.call('ZRANGE', lane_key, 0, 0)[1]
    if not head then return nil end
    local s = redis.call('HGET', prefix .. ':op:' .. head, 'status')
    if s and not terminal(s) then return head end
    redis.call('ZREM', lane_key, head)
  end
end`;

/**
 * ARGV: prefix, id, fields (JSON object of string values, including status/type/workspace/provider/created_at,
 * and `lane` for an operation that changes one server), then for a request that carries an
 * Idempotency-Key: the key's Redis key, the request's fingerprint, the key's TTL in seconds and
 * the request's token (all '' otherwise).
 *
 * The operation and its Idempotency-Key are written together: a retry that arrives at any
 * moment afterwards, even after the API died before answering, finds the key bound to this
 * operation. Returns {'created'}, {'exists'} (the id is taken), {'bound', id} (the key already
 * names an operation), {'reused'} (the key was used for another request) or {'answered'} (the
 * key already holds an answer without an operation, e.g. a 400).
 */
export const CREATE_OPERATION = `
${APPEND_EVENT}
${OPERATION_COUNTS}
${ROW_FUNCTIONS}
local prefix, id = ARGV[1], ARGV[2]
local idem = ARGV[4]
if idem ~= '' then
  local held = redis.call('HMGET', idem, 'fingerprint', 'operation_id', 'status')
  if held[1] and held[1] ~= ARGV[5] then return {'reused'} end
  if held[2] then return {'bound', held[2]} end
  if held[3] then return {'answered'} end
end
local key = prefix .. ':op:' .. id
if redis.call('EXISTS', key) == 1 then return {'exists'} end
local f = cjson.decode(ARGV[3])
local function written(v) if v == nil or v == cjson.null then return false end return v end
counts_begin(prefix)
local seq = redis.call('INCR', prefix .. ':ops:seq')
local args = {'seq', tostring(seq)}
for k, v in pairs(f) do
  if v ~= cjson.null then args[#args + 1] = k; args[#args + 1] = v end
end
redis.call('HSET', key, unpack(args))
row_create(prefix, seq, id, f.status, f.type, f.workspace, written(f.provider))
count_op(prefix .. ':ops:counts', f.type, f.workspace, f.status, 1)
if f.lane and f.lane ~= cjson.null then redis.call('ZADD', prefix .. ':lane:' .. f.lane, seq, id) end
append_event(prefix, id, 'state', f.type, f.workspace, '', f.status, f.created_at, '', written(f.trace_id), written(f.provider))
if idem ~= '' then
  redis.call('HSET', idem, 'fingerprint', ARGV[5], 'operation_id', id, 'token', ARGV[7], 'created_at', f.created_at)
  redis.call('EXPIRE', idem, tonumber(ARGV[6]))
end
return {'created'}`;

/**
 * Lua: join_lane(prefix, id, lane). Puts an open operation into a server's lane after it was
 * accepted: a create learns its server's id only once the provider has made it, and must then go
 * first (its sequence is older than anything submitted for that server since). Run by the
 * inventory's upsert of the server a create made (servers/inventory.ts), so a create costs one
 * round trip for both and nothing comes between them. Returns 1, or 0 when the operation is gone
 * or finished.
 */
export const JOIN_LANE_FUNCTION = `
${TERMINAL}
local function join_lane(prefix, id, lane)
  local key = prefix .. ':op:' .. id
  local cur = redis.call('HMGET', key, 'status', 'seq')
  if not cur[1] or terminal(cur[1]) then return 0 end
  redis.call('HSET', key, 'lane', lane)
  redis.call('ZADD', prefix .. ':lane:' .. lane, tonumber(cur[2]), id)
  return 1
end`;

/**
 * The compare-and-set. ARGV: prefix, id, allowed current statuses (comma list), new status,
 * now (ISO), patch (JSON object; string values set, null values delete), '1' to count an attempt,
 * '1' to set started_at to now unless already set, '1' to hold a pending operation back while
 * another one of its server's lane is ahead of it.
 * ARGV[10]: now in epoch ms, a finished operation's finish time in its row (see rows.ts).
 * Returns {outcome, previous status, ...the record's fields after the write when ok}:
 * outcome is ok | finished | conflict | not_found | blocked (then the third item is the
 * operation it waits for; its progress says so).
 *
 * An operation that finishes leaves its lane, and the next one in it is announced on the
 * lanes channel so a worker wakes its job at once.
 */
export const TRANSITION_OPERATION = `
${TERMINAL}
${APPEND_EVENT}
${LANE_HEAD}
${COMPACT_FINISHED}
${OPERATION_COUNTS}
${ROW_FUNCTIONS}
local prefix, id, allowed, to, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local key = prefix .. ':op:' .. id
-- Everything the script reads of the record, in one read.
local cur = redis.call('HMGET', key, 'status', 'seq', 'type', 'workspace', 'trace_id', 'provider', 'lane', 'blocked_by', 'parent_id')
local status = cur[1]
if not status then return {'not_found', ''} end
if terminal(status) then return {'finished', status} end
local permitted = false
for s in string.gmatch(allowed, '[^,]+') do
  if s == status then permitted = true end
end
if not permitted then return {'conflict', status} end
local trace_id, provider, lane = cur[5] or false, cur[6] or false, cur[7]
if ARGV[9] == '1' and status == 'pending' and lane then
  local head = lane_head(prefix, lane)
  if head and head ~= id then
    if cur[8] ~= head then
      local head_type = redis.call('HGET', prefix .. ':op:' .. head, 'type') or 'operation'
      local message = 'queued behind ' .. head_type .. ' operation ' .. head .. ' on server ' .. lane
      local progress = cjson.encode({step = 'queued', message = message, at = now, waiting_for_operation = head})
      redis.call('HSET', key, 'blocked_by', head, 'progress', progress, 'updated_at', now)
      append_event(prefix, id, 'progress', cur[3], cur[4], status, status, now, message, trace_id, provider)
    end
    return {'blocked', status, head}
  end
end
if cur[8] then redis.call('HDEL', key, 'blocked_by', 'progress') end
local patch = cjson.decode(ARGV[6])
local sets = {'status', to, 'updated_at', now}
local dels = {}
for k, v in pairs(patch) do
  if v == cjson.null then dels[#dels + 1] = k else sets[#sets + 1] = k; sets[#sets + 1] = v end
end
redis.call('HSET', key, unpack(sets))
if #dels > 0 then redis.call('HDEL', key, unpack(dels)) end
if ARGV[7] == '1' then redis.call('HINCRBY', key, 'attempt', 1) end
if ARGV[8] == '1' then redis.call('HSETNX', key, 'started_at', now) end
if status ~= to then
  -- When it finished (ARGV[10], epoch ms), for the retention job; a step goes with its workflow, so only top-level ones.
  local finished = ''
  if terminal(to) and not cur[9] and tonumber(ARGV[10]) then finished = ARGV[10] end
  row_move(prefix, cur[2], id, status, to, cur[3], cur[4], provider, finished)
  local counts = prefix .. ':ops:counts'
  if counted(counts, cur[2]) then
    count_op(counts, cur[3], cur[4], status, -1)
    count_op(counts, cur[3], cur[4], to, 1)
  end
  -- A claim that resumes a running operation changes no state: watchers hear nothing.
  append_event(prefix, id, 'state', cur[3], cur[4], status, to, now, '', trace_id, provider)
  if terminal(to) then
    -- Finished operations per minute, by final state and by workspace (the dashboard's throughput).
    local minute = prefix .. ':stats:finished:' .. string.sub(now, 1, 16)
    redis.call('HINCRBY', minute, to, 1)
    redis.call('HINCRBY', minute, (cur[4] or '') .. '|' .. to, 1)
    redis.call('EXPIRE', minute, 7200)
    -- The droplet's proof (GET /proof) names the latest completed operation; kept here, in the
    -- write that completes it, so finding it costs no scan and no round trip of its own.
    if to == 'completed' then redis.call('SET', prefix .. ':udc:last-completed', id) end
  end
end
if lane and terminal(to) then
  redis.call('ZREM', prefix .. ':lane:' .. lane, id)
  local next_op = lane_head(prefix, lane)
  if next_op then redis.call('PUBLISH', prefix .. ':lanes', next_op) end
end
-- What only a running operation needs goes now, in the write that ends it (see finished-footprint.ts).
if terminal(to) then compact_finished(prefix, key) end
local reply = {'ok', status}
for _, v in ipairs(redis.call('HGETALL', key)) do reply[#reply + 1] = v end
return reply`;

/**
 * ARGV: prefix, id, progress (JSON), now, message, log line limit. Only a running operation
 * takes progress; the message also becomes an engine line of the operation's log (see log.ts).
 */
export const RECORD_PROGRESS = `
${APPEND_EVENT}
local prefix, id = ARGV[1], ARGV[2]
local key = prefix .. ':op:' .. id
local cur = redis.call('HMGET', key, 'status', 'type', 'workspace', 'trace_id', 'provider')
if cur[1] ~= 'running' then return 0 end
redis.call('HSET', key, 'progress', ARGV[3], 'updated_at', ARGV[4])
append_event(prefix, id, 'progress', cur[2], cur[3], 'running', 'running', ARGV[4], ARGV[5], cur[4] or false, cur[5] or false)
local log = key .. ':logs'
if redis.call('LLEN', log) < tonumber(ARGV[6]) then
  -- An engine line, in its short form (see encodeLogLine in log.ts).
  redis.call('RPUSH', log, cjson.encode({line = ARGV[5], at = ARGV[4]}))
end
return 1`;

/**
 * ARGV: prefix, id, now, requested_by. Marks a running operation for cancellation, or a pending
 * one that a worker had started and handed back (it has `started_at`: it may have made
 * something at the provider, so it is not simply dropped; its next run cleans up and ends it).
 * Returns {outcome, status}: ok | already | not_running | not_found.
 */
export const REQUEST_CANCEL = `
${APPEND_EVENT}
local prefix, id, now = ARGV[1], ARGV[2], ARGV[3]
local key = prefix .. ':op:' .. id
local cur = redis.call('HMGET', key, 'status', 'type', 'workspace', 'cancel_requested_at', 'started_at')
if not cur[1] then return {'not_found', ''} end
if cur[1] ~= 'running' and not (cur[1] == 'pending' and cur[5]) then return {'not_running', cur[1]} end
if cur[4] then return {'already', cur[1]} end
redis.call('HSET', key, 'cancel_requested_at', now, 'cancel_requested_by', ARGV[4], 'updated_at', now)
append_event(prefix, id, 'cancel_requested', cur[2], cur[3], cur[1], cur[1], now, 'cancel requested by ' .. ARGV[4])
return {'ok', cur[1]}`;
