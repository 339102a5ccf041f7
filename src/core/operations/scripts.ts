/**
 * The Lua scripts that are the only writers of operation records. Each runs atomically in
 * Redis, so a status check and the write that depends on it can never interleave with
 * another process's: two workers, or a worker and a cancelling API, cannot both win.
 *
 * Every script takes the key prefix as ARGV[1] and the operation id as ARGV[2] and builds
 * its keys from them (the set of index keys depends on the record's own fields).
 */

const TERMINAL = `local function terminal(s) return s == 'completed' or s == 'failed' or s == 'cancelled' end`;

// Each event also goes on its operation's own list of stream ids, so one operation's history
// replays without scanning the whole stream.
const APPEND_EVENT = `
local function append_event(prefix, id, kind, op_type, workspace, from, to, at, message)
  local event_id = redis.call('XADD', prefix .. ':events', 'MAXLEN', '~', 100000, '*',
    'kind', kind, 'operation_id', id, 'operation_type', op_type, 'workspace', workspace,
    'from', from, 'to', to, 'at', at, 'message', message)
  redis.call('RPUSH', prefix .. ':op:' .. id .. ':events', event_id)
end`;

/** ARGV: prefix, id, fields (JSON object of string values, including status/type/workspace/provider/created_at). Returns 1, or 0 when the id exists. */
export const CREATE_OPERATION = `
${APPEND_EVENT}
local prefix, id = ARGV[1], ARGV[2]
local key = prefix .. ':op:' .. id
if redis.call('EXISTS', key) == 1 then return 0 end
local f = cjson.decode(ARGV[3])
local seq = redis.call('INCR', prefix .. ':ops:seq')
local args = {'seq', tostring(seq)}
for k, v in pairs(f) do
  if v ~= cjson.null then args[#args + 1] = k; args[#args + 1] = v end
end
redis.call('HSET', key, unpack(args))
redis.call('ZADD', prefix .. ':ops:all', seq, id)
redis.call('ZADD', prefix .. ':ops:status:' .. f.status, seq, id)
redis.call('ZADD', prefix .. ':ops:type:' .. f.type, seq, id)
redis.call('ZADD', prefix .. ':ops:workspace:' .. f.workspace, seq, id)
redis.call('ZADD', prefix .. ':ops:provider:' .. f.provider, seq, id)
append_event(prefix, id, 'state', f.type, f.workspace, '', f.status, f.created_at, '')
return 1`;

/**
 * The compare-and-set. ARGV: prefix, id, allowed current statuses (comma list), new status,
 * now (ISO), patch (JSON object; string values set, null values delete), '1' to count an attempt,
 * '1' to set started_at to now unless already set.
 * Returns {outcome, previous status, ...the record's fields after the write when ok}:
 * outcome is ok | finished | conflict | not_found.
 */
export const TRANSITION_OPERATION = `
${TERMINAL}
${APPEND_EVENT}
local prefix, id, allowed, to, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local key = prefix .. ':op:' .. id
local cur = redis.call('HMGET', key, 'status', 'seq', 'type', 'workspace')
local status = cur[1]
if not status then return {'not_found', ''} end
if terminal(status) then return {'finished', status} end
local permitted = false
for s in string.gmatch(allowed, '[^,]+') do
  if s == status then permitted = true end
end
if not permitted then return {'conflict', status} end
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
  redis.call('ZREM', prefix .. ':ops:status:' .. status, id)
  redis.call('ZADD', prefix .. ':ops:status:' .. to, tonumber(cur[2]), id)
  -- A claim that resumes a running operation changes no state: watchers hear nothing.
  append_event(prefix, id, 'state', cur[3], cur[4], status, to, now, '')
end
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
local cur = redis.call('HMGET', key, 'status', 'type', 'workspace')
if cur[1] ~= 'running' then return 0 end
redis.call('HSET', key, 'progress', ARGV[3], 'updated_at', ARGV[4])
append_event(prefix, id, 'progress', cur[2], cur[3], 'running', 'running', ARGV[4], ARGV[5])
local log = key .. ':logs'
if redis.call('LLEN', log) < tonumber(ARGV[6]) then
  redis.call('RPUSH', log, cjson.encode({source = 'engine', stream = 'engine', line = ARGV[5], at = ARGV[4]}))
end
return 1`;

/**
 * ARGV: prefix, id, now, requested_by. Marks a running operation for cancellation.
 * Returns {outcome, status}: ok | already | not_running | not_found.
 */
export const REQUEST_CANCEL = `
${APPEND_EVENT}
local prefix, id, now = ARGV[1], ARGV[2], ARGV[3]
local key = prefix .. ':op:' .. id
local cur = redis.call('HMGET', key, 'status', 'type', 'workspace', 'cancel_requested_at')
if not cur[1] then return {'not_found', ''} end
if cur[1] ~= 'running' then return {'not_running', cur[1]} end
if cur[4] then return {'already', cur[1]} end
redis.call('HSET', key, 'cancel_requested_at', now, 'cancel_requested_by', ARGV[4], 'updated_at', now)
append_event(prefix, id, 'cancel_requested', cur[2], cur[3], 'running', 'running', now, 'cancel requested by ' .. ARGV[4])
return {'ok', cur[1]}`;
