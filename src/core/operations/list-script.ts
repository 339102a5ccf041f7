/**
 * One page of `GET /v1/operations`, read in one script whose work is bounded whatever the data.
 *
 * A filtered page used to walk one index from the API, loading whole records, until it had
 * found a page: a rare combination (say `failed` in a small workspace among a million
 * operations) read most of the store for one page. Here the walk happens inside Redis, starts
 * from the smallest of the indexes the filters name (each ZCARD is O(1)), checks the other
 * filters a chunk at a time with one ZMSCORE per other index (no record is read until it
 * matches), and stops after a scan budget of index entries, or sooner once it has run for
 * LIST_TIME_BUDGET_US (a large store's lookups miss the CPU cache; a busy host deschedules
 * Redis): whichever comes first bounds the time Redis spends on a page. What it found is the page; where
 * it stopped is the cursor. A page may then be short, even empty, and still carry a cursor
 * (AIP-158 allows that): the caller keeps paging.
 *
 * Adds nothing per operation: it reads the indexes the create and transition scripts already
 * keep (scored by creation sequence, which never changes), so a page neither skips nor repeats
 * an operation while new ones arrive (they score above every cursor already handed out).
 *
 * Filters are groups of index keys: an operation matches when it is in at least one index of
 * every group (`status=failed` is a group of one; a type prefix or the workspaces a caller may
 * see are groups of several). Only a group of one can be walked; with none, the index of every
 * operation is.
 *
 * Call as: number of keys, then KEYS: the index of every operation, then each group's keys in
 * turn. ARGV: the key prefix (the records are read from it, as the other operation scripts
 * do), upper bound (`+inf` or `(<seq>`), limit, scan budget (index entries), time budget
 * (microseconds; checked between chunks, and the first chunk is always read, so every page
 * moves the cursor on), then the size of each group.
 *
 * Returns {next, record, record, ...}: next is the cursor ('' when the walked index was read to
 * its end), each record the flat HGETALL of a match, newest first.
 */
export const LIST_OPERATIONS_PAGE = `
local prefix, max, limit, budget, micros = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local function now_us()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local started = now_us()
local groups = {}
local k = 2
for g = 6, #ARGV do
  local group = {}
  for _ = 1, tonumber(ARGV[g]) do
    group[#group + 1] = KEYS[k]
    k = k + 1
  end
  groups[#groups + 1] = group
end
-- Walk the smallest group of one (ZCARD is O(1)); the other groups are checked.
local index, walked, size = KEYS[1], nil, nil
for g, group in ipairs(groups) do
  if #group == 1 then
    local n = redis.call('ZCARD', group[1])
    if size == nil or n < size then index, walked, size = group[1], g, n end
  end
end
local found, scores = {}, {}
local scanned, last, exhausted = 0, nil, false
-- Read in chunks, the first just a page long and each next one twice the last: a common
-- filter's page reads hardly more than the page; a rare one's gets through its budget in a few calls.
local chunk = limit + 1
while scanned < budget and #found <= limit do
  local want = math.min(chunk, budget - scanned)
  chunk = math.min(chunk * 2, 1000)
  local entries = redis.call('ZREVRANGEBYSCORE', index, max, '-inf', 'WITHSCORES', 'LIMIT', 0, want)
  local count = #entries / 2
  if count == 0 then
    exhausted = true
    break
  end
  local ids = {}
  for i = 1, count do ids[i] = entries[2 * i - 1] end
  -- ok[i]: entry i is, so far, in every group checked.
  local ok = {}
  for i = 1, count do ok[i] = true end
  for g, group in ipairs(groups) do
    if g ~= walked then
      local member = {}
      for _, key in ipairs(group) do
        local got = redis.call('ZMSCORE', key, unpack(ids))
        for i = 1, count do
          if got[i] then member[i] = true end
        end
      end
      for i = 1, count do
        if not member[i] then ok[i] = false end
      end
    end
  end
  for i = 1, count do
    scanned = scanned + 1
    last = entries[2 * i]
    if ok[i] then
      found[#found + 1] = ids[i]
      scores[#scores + 1] = last
      if #found > limit then break end
    end
  end
  if #found > limit then break end
  if count < want then
    exhausted = true
    break
  end
  if now_us() - started >= micros then break end
  max = '(' .. last
end
local next = ''
if #found > limit then
  found[#found] = nil
  next = scores[limit]
elseif not exhausted and last then
  next = last
end
local reply = {next}
for _, id in ipairs(found) do
  reply[#reply + 1] = redis.call('HGETALL', prefix .. ':op:' .. id)
end
return reply`;

/** Index entries one page may read at most, when the setting does not say (OPERATIONS_LIST_SCAN_BUDGET). */
export const DEFAULT_LIST_SCAN_BUDGET = 1000;

/** How long one page may keep Redis reading index entries (µs) before it answers with what it has. */
export const LIST_TIME_BUDGET_US = 2000;
