/**
 * The Lua scripts behind each provider account's shared request budget. Every decision
 * (count, compare, record) happens inside one script, so no two processes can both see the
 * last free request. Time is Redis's own clock (TIME), the one clock every process shares;
 * durations handed in (pauses) are relative, so a process's clock skew cannot move them.
 *
 * Keys, all under `<prefix>:budget:<accountId>`:
 *   …:state       hash: paused_until (ms, Redis clock), and for a token bucket tokens + at;
 *                 what mutations and polls last asked for in vain (demand_at, poll_demand_at),
 *                 and the polls' floor credit (floor… / floor_at…, per window for windows)
 *   …:w:<ms>      sorted set per sliding window: one member per request (score = when it was
 *                 taken), plus "phantom" members for requests the provider reported that we
 *                 did not make (another client of the same token)
 */

const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

const PAUSED = `
local paused = tonumber(redis.call('HGET', state, 'paused_until') or '0')
if paused > now then return {0, paused - now} end`;

/**
 * Sliding windows (DigitalOcean, Vultr, UpCloud). ARGV: state key, member (unique per take),
 * n, then per window: its sorted set, span in ms (the window plus a margin for the time a
 * request takes to reach the provider), the most requests this priority may see in it, the
 * count from which this priority is paced (-1: never): then it may take one request per
 * span ÷ (requests it has left), so what is left lasts until the window frees; the window's
 * real limit, and the polls' floor in it (see below). After the windows: 'record' (a
 * mutation: a refusal records that mutations are waiting), 'yield' (a poll: while mutations
 * were refused in the last `demand ms`, it is paced whatever the count, so waiting creates get
 * the requests that free up) or '' (a read); that demand ms; and the poll demand ms.
 *
 * The floor: polls earn credit at `floor` per span (at most `floor` banked, `floor:<set>` and
 * `floor_at:<set>` in the state hash, from the first poll that asks). A poll the rules above
 * refuse still goes with a whole credit while the window is under its real limit. A refused
 * poll records `poll_demand_at`; while that is recent, every other take leaves the whole
 * credits free (never the last request of the limit), so mutations pressing on every request
 * that frees up cannot take the polls' share. (Not cleared by a grant: a round's next request
 * follows at once, and mutations refilling the window in between would leave it a whole span
 * to wait.) Without polls short of requests, nothing is held back: mutations still come
 * first when nobody is short.
 * Returns {1, 0} when granted (counted in every window), else {0, ms until it could be}.
 */
export const TAKE_FROM_WINDOWS = `
${NOW}
local state = ARGV[1]
${PAUSED}
local n = tonumber(ARGV[3])
local tail = 4 + n * 6
local mode, demand_ms, poll_demand_ms = ARGV[tail], tonumber(ARGV[tail + 1] or '0'), tonumber(ARGV[tail + 2] or '0')
local polling = mode == 'yield'
local yielding, polls_waiting = false, false
if polling then
  yielding = now - tonumber(redis.call('HGET', state, 'demand_at') or '0') < demand_ms
else
  polls_waiting = now - tonumber(redis.call('HGET', state, 'poll_demand_at') or '0') < poll_demand_ms
end
-- ms until fewer than 'below' requests are counted: once the (count - below + 1) oldest have left.
local function until_below(key, count, below, span)
  if count < below then return 0 end
  local entry = redis.call('ZRANGE', key, count - below, count - below, 'WITHSCORES')
  return tonumber(entry[2]) + span - now + 1
end
local wait = 0
local paced, credits = {}, {}
for i = 0, n - 1 do
  local at = 4 + i * 6
  local key, span, cap, pace_from = ARGV[at], tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2]), tonumber(ARGV[at + 3])
  local limit, floor_n = tonumber(ARGV[at + 4]), tonumber(ARGV[at + 5])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - span)
  local count = redis.call('ZCARD', key)
  local credit = 0
  if floor_n > 0 then
    local banked = tonumber(redis.call('HGET', state, 'floor:' .. key) or '0')
    local since = tonumber(redis.call('HGET', state, 'floor_at:' .. key) or tostring(now))
    credit = math.min(floor_n, banked + math.max(0, now - since) * floor_n / span)
    credits[#credits + 1] = {key, credit}
  end
  if polls_waiting and credit >= 1 then
    cap = math.min(cap, math.max(1, limit - math.floor(credit)))
  end
  local w = until_below(key, count, cap, span)
  if w == 0 and pace_from >= 0 and (count >= pace_from or yielding) then
    local gap = span / math.max(1, cap - count)
    local last = tonumber(redis.call('HGET', state, 'paced:' .. key) or '0')
    if now - last < gap then w = last + gap - now end
    paced[#paced + 1] = key
  end
  if polling and floor_n > 0 and w > 0 then
    local f = until_below(key, count, limit, span)
    if credit < 1 then f = math.max(f, (1 - credit) * span / floor_n) end
    if f < w then w = f end
  end
  if w > wait then wait = w end
end
if polling then
  if wait > 0 then redis.call('HSET', state, 'poll_demand_at', tostring(now)) end
  for _, c in ipairs(credits) do
    local left = c[2]
    if wait == 0 then left = math.max(0, left - 1) end
    redis.call('HSET', state, 'floor:' .. c[1], tostring(left), 'floor_at:' .. c[1], tostring(now))
  end
end
if wait > 0 then
  if mode == 'record' then redis.call('HSET', state, 'demand_at', tostring(now)) end
  if polling then redis.call('PEXPIRE', state, math.max(redis.call('PTTL', state), 3600000)) end
  return {0, math.ceil(wait)}
end
for i = 0, n - 1 do
  local key, span = ARGV[4 + i * 6], tonumber(ARGV[5 + i * 6])
  redis.call('ZADD', key, now, ARGV[2])
  redis.call('PEXPIRE', key, span)
end
for _, key in ipairs(paced) do redis.call('HSET', state, 'paced:' .. key, tostring(now)) end
if #paced > 0 or polling then redis.call('PEXPIRE', state, math.max(redis.call('PTTL', state), 3600000)) end
return {1, 0}`;

const REFILL = `
local capacity, refill = tonumber(ARGV[2]), tonumber(ARGV[3])
local tokens = tonumber(redis.call('HGET', state, 'tokens') or ARGV[2])
local at = tonumber(redis.call('HGET', state, 'at') or tostring(now))
tokens = math.min(capacity, tokens + math.max(0, now - at) * refill / 1000)`;

// Kept until the bucket would be full again (a missing bucket reads as full) or the pause ends.
const STORE_BUCKET = `
redis.call('HSET', state, 'tokens', tostring(tokens), 'at', tostring(now))
local paused_left = tonumber(redis.call('HGET', state, 'paused_until') or '0') - now
redis.call('PEXPIRE', state, math.ceil(math.max((capacity - tokens) * 1000 / refill, paused_left, 0)) + 60000)`;

/**
 * Token bucket (Hetzner). ARGV: state key, capacity, refill per second, tokens this priority
 * must leave in the bucket, then 'yield' (a poll) or '' (anything else), the polls' floor
 * (the most credits they bank) and its rate in credits per second, and the poll demand ms.
 * The floor works as for windows (TAKE_FROM_WINDOWS): a poll refused by its reserve still
 * takes a token with a whole credit, and while a refused poll waits every other take leaves
 * the whole credits in the bucket. Without it, mutations taking each token as it refills
 * would keep the bucket under the polls' reserve for as long as they keep coming.
 * Returns {1, 0} when a token was taken, else {0, ms until one can be}.
 */
export const TAKE_FROM_BUCKET = `
${NOW}
local state = ARGV[1]
${PAUSED}
${REFILL}
local reserve = tonumber(ARGV[4])
local polling = ARGV[5] == 'yield'
local floor_n, floor_rate, poll_demand_ms = tonumber(ARGV[6] or '0'), tonumber(ARGV[7] or '0'), tonumber(ARGV[8] or '0')
local credit = 0
if floor_n > 0 and floor_rate > 0 then
  local banked = tonumber(redis.call('HGET', state, 'floor') or '0')
  local since = tonumber(redis.call('HGET', state, 'floor_at') or tostring(now))
  credit = math.min(floor_n, banked + math.max(0, now - since) * floor_rate / 1000)
end
if not polling and credit >= 1 and now - tonumber(redis.call('HGET', state, 'poll_demand_at') or '0') < poll_demand_ms then
  reserve = math.max(reserve, math.floor(credit))
end
local granted, wait = 0, 0
if tokens - 1 >= reserve or (polling and credit >= 1 and tokens >= 1) then
  tokens = tokens - 1
  granted = 1
else
  wait = (reserve + 1 - tokens) * 1000 / refill
  if polling and floor_rate > 0 then
    local f = math.max(0, (1 - tokens) * 1000 / refill, (1 - credit) * 1000 / floor_rate)
    if f < wait then wait = f end
  end
  wait = math.ceil(wait)
end
if polling and floor_rate > 0 then
  if granted == 1 then
    credit = math.max(0, credit - 1)
  else
    redis.call('HSET', state, 'poll_demand_at', tostring(now))
  end
  redis.call('HSET', state, 'floor', tostring(credit), 'floor_at', tostring(now))
end
${STORE_BUCKET}
return {granted, wait}`;

const PAUSE = `
local function pause(ms)
  local until_ms = math.max(tonumber(redis.call('HGET', state, 'paused_until') or '0'), now + ms)
  redis.call('HSET', state, 'paused_until', tostring(until_ms))
  return until_ms
end`;

/**
 * An answer from a sliding-window account. ARGV: state key, pause ms (-1: none, this was no
 * 429), remaining the provider reported (-1: none), then the window that number describes:
 * its sorted set, span, limit, and a unique prefix for phantom members.
 * When the provider reports fewer remaining than our own count leaves, someone else spends
 * the same budget: record the difference as phantom requests, made now, so every process
 * holds back. (Now rather than when they really happened, which we cannot know: they then
 * count a little longer than at the provider, which errs on the side of fewer requests.)
 */
export const SETTLE_WINDOWS = `
${NOW}
local state = ARGV[1]
${PAUSE}
local pause_ms, remaining = tonumber(ARGV[2]), tonumber(ARGV[3])
if pause_ms >= 0 then
  local until_ms = pause(pause_ms)
  redis.call('PEXPIRE', state, until_ms - now + 1000)
end
local key, span, limit, prefix = ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]
local added = 0
if remaining >= 0 and key ~= '' then
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - span)
  local missing = math.min(limit, limit - redis.call('ZCARD', key) - remaining)
  for i = 1, missing do
    redis.call('ZADD', key, now, prefix .. i)
  end
  if missing > 0 then
    redis.call('PEXPIRE', key, span)
    added = missing
  end
end
return added`;

/**
 * An answer from a token-bucket account. ARGV: state key, capacity, refill per second, pause
 * ms (-1: none), remaining the provider reported (-1: none). A bucket holding more than the
 * provider says it has is lowered to the provider's count; a 429 empties it and pauses.
 */
export const SETTLE_BUCKET = `
${NOW}
local state = ARGV[1]
${PAUSE}
${REFILL}
local pause_ms, remaining = tonumber(ARGV[4]), tonumber(ARGV[5])
if pause_ms >= 0 then
  pause(pause_ms)
  tokens = 0
end
if remaining >= 0 and remaining < tokens then tokens = remaining end
${STORE_BUCKET}
return math.floor(tokens)`;
