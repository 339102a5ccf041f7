/**
 * What a finished operation keeps in Redis (issue 13: its footprint). It is kept for as long
 * as OPERATION_RETENTION says, which may be weeks, while what only a running operation needs
 * is of no use to anyone once it has ended. The finishing transition runs this in the same
 * script, so a finished record is never seen in its long form and it costs no round trip.
 *
 * - Its lane bookkeeping goes (a finished operation is in no lane).
 * - Its own list of event ids becomes one field of the record (FINISHED_EVENTS_FIELD, the
 *   ids comma-separated, oldest first) holding only its state changes and cancel requests:
 *   its progress notes stay in its log, and a list key of its own costs several times the
 *   bytes of its few ids.
 * - A short log (most server operations write a handful of engine lines) likewise becomes one
 *   field (FINISHED_LOG_FIELD, a JSON array of the stored lines, in order), short enough that a
 *   record stays in Redis's compact encoding (see supervisor/redis-tuning.ts); a longer one
 *   stays a list, capped as it was written (MAX_LOG_LINES). Positions do not change, so a
 *   reader paging through it goes on where it was.
 */

/** The record's field that holds a finished operation's event ids, comma-separated, oldest first. */
export const FINISHED_EVENTS_FIELD = 'events';

/** The record's field that holds a finished operation's short log: a JSON array of its stored lines. */
export const FINISHED_LOG_FIELD = 'logs';

/** A log is folded into its record only when it has at most this many lines, of at most FOLDED_LOG_BYTES together. */
export const FOLDED_LOG_LINES = 32;
/** Under the managed Redis's hash-max-listpack-value (1024), so the record keeps its compact encoding. */
export const FOLDED_LOG_BYTES = 960;

/** Lua: compact_finished(prefix, key), for the transition script once the operation has reached a terminal state. */
export const COMPACT_FINISHED = `
local function compact_finished(prefix, key)
  redis.call('HDEL', key, 'lane', 'blocked_by')
  local log = key .. ':logs'
  local lines = redis.call('LLEN', log)
  if lines > 0 and lines <= ${FOLDED_LOG_LINES} and redis.call('HEXISTS', key, '${FINISHED_LOG_FIELD}') == 0 then
    local folded = '[' .. table.concat(redis.call('LRANGE', log, 0, -1), ',') .. ']'
    if #folded <= ${FOLDED_LOG_BYTES} then
      redis.call('HSET', key, '${FINISHED_LOG_FIELD}', folded)
      redis.call('DEL', log)
    end
  end
  local list = key .. ':events'
  local kept = {}
  for _, event_id in ipairs(redis.call('LRANGE', list, 0, -1)) do
    local entry = redis.call('XRANGE', prefix .. ':events', event_id, event_id)[1]
    -- An id the stream has already trimmed away would be skipped by every reader: it is not kept.
    if entry then
      local fields, kind = entry[2], nil
      for i = 1, #fields, 2 do
        if fields[i] == 'kind' then kind = fields[i + 1]; break end
      end
      if kind ~= 'progress' then kept[#kept + 1] = event_id end
    end
  end
  redis.call('HSET', key, '${FINISHED_EVENTS_FIELD}', table.concat(kept, ','))
  redis.call('DEL', list)
end`;

/** A finished operation's event ids from its record's field; [] when it has none. */
export function finishedEventIds(field: string | null | undefined): string[] {
  return field ? field.split(',').filter((id) => id !== '') : [];
}
