import { ROW_FUNCTIONS, ROWS_PER_BUCKET } from './rows.js';

/**
 * One page of `GET /v1/operations`, read in one script whose work is bounded whatever the data.
 *
 * It walks operation rows (see rows.ts) newest first: no record is read until it matches. A
 * page walks the buckets of its rarest filter value (the smallest bucket list, each ZCARD
 * O(1)), or every bucket when no filter has one value, and in each bucket ANDs the masks of its
 * filters' values, so it reads only the rows that match; with no filter at all it reads every
 * row. It stops after a scan budget of rows of the walked value (every row with no filter),
 * or sooner once it has run
 * for LIST_TIME_BUDGET_US (a large store's lookups miss the CPU cache; a busy host deschedules
 * Redis): whichever comes first bounds the time Redis spends on a page. What it found is the
 * page; where it stopped is the cursor. A page may then be short, even empty, and still carry a
 * cursor (AIP-158 allows that): the caller keeps paging.
 *
 * The cursor is a creation sequence, which never changes, so a page neither skips nor repeats
 * an operation while new ones arrive (they score above every cursor already handed out).
 *
 * Filters are groups: an operation matches when its status, type, workspace or provider is one
 * of its group's values (`status=failed` is a group of one; a type prefix or the workspaces a
 * caller may see are groups of several).
 *
 * KEYS: the list of every bucket. ARGV: the key prefix, upper bound (`+inf` or `(<seq>`),
 * limit, scan budget (rows), time budget (microseconds; checked between chunks, and the first
 * chunk is always read, so every page moves the cursor on), then each group: its field
 * (status | type | workspace | provider), its number of values, the values.
 *
 * Returns {next, record, record, ...}: next is the cursor ('' when every row below the bound
 * was read), each record the flat HGETALL of a match, newest first.
 */
export const LIST_OPERATIONS_PAGE = `
${ROW_FUNCTIONS}
local prefix, max, limit, budget, micros = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local function now_us()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local started = now_us()
-- Rows below upper (exclusive) are still to read.
local upper = math.huge
if max ~= '+inf' then upper = tonumber(string.sub(max, 2)) end
-- A group of many values (the workspaces a caller may see) would cost a lookup per value and
-- bucket: its masks are not read, it is checked on the rows the other masks let through.
local MASKED_VALUES = 16
local groups, checked = {}, nil
local a = 6
while a <= #ARGV do
  local group = {field = ARGV[a], values = {}, count = tonumber(ARGV[a + 1])}
  group.masks = group.count <= MASKED_VALUES and {} or nil
  for i = 1, group.count do
    group.values[ARGV[a + 1 + i]] = true
    if group.masks then group.masks[i] = mask_field(group.field, ARGV[a + 1 + i]) end
  end
  groups[#groups + 1] = group
  if not group.masks then
    checked = checked or {}
    checked[#checked + 1] = group
  end
  a = a + 2 + group.count
end
-- What to walk: the smallest bucket list of a group of one, else every bucket.
local list, size, walked = KEYS[1], nil, 1
for gi, g in ipairs(groups) do
  if g.count == 1 then
    local key = buckets_key(prefix, g.field, next(g.values))
    local n = redis.call('ZCARD', key)
    if size == nil or n < size then list, size, walked = key, n, gi end
  end
end
local found, seqs = {}, {}
local scanned, exhausted = 0, false
-- A row the masks let through; true once the page is full.
local function take(seq, value)
  if checked then
    local row = row_fields(value)
    for _, g in ipairs(checked) do
      if not g.values[row[g.field]] then return false end
    end
  end
  found[#found + 1] = string.sub(value, 1, string.find(value, '|', 1, true) - 1)
  seqs[#seqs + 1] = seq
  return #found > limit
end
-- Every row of a bucket below the cursor (a page with no filter), newest first; true once the page is full. A bucket's
-- fields are in creation order, unless the migration (newest first) or a transition of an
-- operation it had not reached yet wrote them: then they are sorted.
local function read_every_row(b)
  local flat = redis.call('HGETALL', rows_key(prefix, b))
  local order, newest_first, before = {}, true, math.huge
  for i = #flat - 1, 1, -2 do
    local seq = tonumber(flat[i])
    if seq then
      if seq > before then newest_first = false end
      before = seq
      if seq < upper then order[#order + 1] = i end
    end
  end
  if not newest_first then table.sort(order, function(x, y) return tonumber(flat[x]) > tonumber(flat[y]) end) end
  for _, i in ipairs(order) do
    scanned = scanned + 1
    if take(tonumber(flat[i]), flat[i + 1]) then return true end
  end
  return false
end
-- The rows of a bucket below the cursor that every filter matches, found by ANDing the masks of
-- each filter's values (ORed within a filter), newest first; only those rows are read. What
-- counts against the scan budget is the rows of the walked value, as if each were looked at.
local function read_matching_rows(b)
  local key = rows_key(prefix, b)
  local hi, lo, wh, wl = -1, -1, 0, 0
  for gi, g in ipairs(groups) do
    -- A group checked on the rows lets every row through here.
    local gh, gl = -1, -1
    if g.masks then
      gh, gl = 0, 0
      for _, m in ipairs(redis.call('HMGET', key, unpack(g.masks))) do
        if m then
          local h, l = mask_words(m)
          gh, gl = bit.bor(gh, h), bit.bor(gl, l)
        end
      end
    end
    hi, lo = bit.band(hi, gh), bit.band(lo, gl)
    if gi == walked then wh, wl = gh, gl end
  end
  local base = tonumber(b) * ${ROWS_PER_BUCKET}
  local from = math.min(${ROWS_PER_BUCKET} - 1, upper - base - 1)
  local here = {}
  for p = from, 0, -1 do
    local w, all, mine = bit.lshift(1, p % 32), hi, wh
    if p < 32 then all, mine = lo, wl end
    if bit.band(mine, w) ~= 0 then scanned = scanned + 1 end
    if bit.band(all, w) ~= 0 then here[#here + 1] = base + p end
  end
  if #here == 0 then return false end
  for i, value in ipairs(redis.call('HMGET', key, unpack(here))) do
    if value and take(here[i], value) then return true end
  end
  return false
end
local function spent() return scanned >= budget or now_us() - started >= micros end
-- Buckets a few at a time, newest first; the rows of each newest first.
local top = '+inf'
if upper ~= math.huge then top = string.format('%d', row_bucket(upper - 1)) end
local full = false
while not full do
  local buckets = redis.call('ZREVRANGEBYSCORE', list, top, '-inf', 'LIMIT', 0, 8)
  if #buckets == 0 then exhausted = true; break end
  for _, b in ipairs(buckets) do
    if #groups == 0 then full = read_every_row(b) else full = read_matching_rows(b) end
    if full then break end
    -- The whole bucket is read: what is left lies below it.
    upper = tonumber(b) * ${ROWS_PER_BUCKET}
    top = '(' .. b
    if spent() then break end
  end
  if not full and spent() then break end
end
local cursor = ''
if #found > limit then
  found[#found] = nil
  cursor = string.format('%d', seqs[limit])
elseif not exhausted then
  cursor = string.format('%d', upper)
end
local reply = {cursor}
for _, id in ipairs(found) do
  reply[#reply + 1] = redis.call('HGETALL', prefix .. ':op:' .. id)
end
return reply`;

/** Rows one page may read at most, when the setting does not say (OPERATIONS_LIST_SCAN_BUDGET). */
export const DEFAULT_LIST_SCAN_BUDGET = 1000;

/** How long one page may keep Redis reading rows (µs) before it answers with what it has. */
export const LIST_TIME_BUDGET_US = 2000;
