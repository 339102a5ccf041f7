/**
 * The Lua scripts behind each provider account's shared request budget. Every decision
 * (count, compare, record) happens inside one script, so no two processes can both see the
 * last free request. Time is Redis's own clock (TIME), the one clock every process shares;
 * durations handed in (pauses) are relative, so a process's clock skew cannot move them.
 *
 * Keys, all under `<prefix>:budget:<accountId>`:
 *   …:state       hash: paused_until (ms, Redis clock), and for a token bucket tokens + at
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
 * request takes to reach the provider), the most requests this priority may see in it, and
 * the count from which this priority is paced (-1: never): then it may take one request per
 * span ÷ (requests it has left), so what is left lasts until the window frees. After the
 * windows: 'record' (a mutation: a refusal records that mutations are waiting) or 'yield' (a
 * poll: while mutations were refused in the last `demand ms`, it is paced whatever the
 * count, so waiting creates get the requests that free up), and that demand ms.
 * Returns {1, 0} when granted (counted in every window), else {0, ms until it could be}.
 */
export const TAKE_FROM_WINDOWS = `
${NOW}
local state = ARGV[1]
${PAUSED}
local n = tonumber(ARGV[3])
local mode, demand_ms = ARGV[4 + n * 4], tonumber(ARGV[5 + n * 4] or '0')
local yielding = false
if mode == 'yield' then
  yielding = now - tonumber(redis.call('HGET', state, 'demand_at') or '0') < demand_ms
end
local wait = 0
local paced = {}
for i = 0, n - 1 do
  local key, span, cap, pace_from = ARGV[4 + i * 4], tonumber(ARGV[5 + i * 4]), tonumber(ARGV[6 + i * 4]), tonumber(ARGV[7 + i * 4])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - span)
  local count = redis.call('ZCARD', key)
  if count >= cap then
    -- Below the cap again once the (count - cap + 1) oldest entries have left the window.
    local entry = redis.call('ZRANGE', key, count - cap, count - cap, 'WITHSCORES')
    local w = tonumber(entry[2]) + span - now + 1
    if w > wait then wait = w end
  elseif pace_from >= 0 and (count >= pace_from or yielding) then
    local gap = span / math.max(1, cap - count)
    local last = tonumber(redis.call('HGET', state, 'paced:' .. key) or '0')
    if now - last < gap then
      local w = last + gap - now
      if w > wait then wait = w end
    end
    paced[#paced + 1] = key
  end
end
if wait > 0 then
  if mode == 'record' then redis.call('HSET', state, 'demand_at', tostring(now)) end
  return {0, math.ceil(wait)}
end
for i = 0, n - 1 do
  local key, span = ARGV[4 + i * 4], tonumber(ARGV[5 + i * 4])
  redis.call('ZADD', key, now, ARGV[2])
  redis.call('PEXPIRE', key, span)
end
for _, key in ipairs(paced) do redis.call('HSET', state, 'paced:' .. key, tostring(now)) end
if #paced > 0 then redis.call('PEXPIRE', state, math.max(redis.call('PTTL', state), 3600000)) end
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
 * must leave in the bucket. Returns {1, 0} when a token was taken, else {0, ms until one can be}.
 */
export const TAKE_FROM_BUCKET = `
${NOW}
local state = ARGV[1]
${PAUSED}
${REFILL}
local reserve = tonumber(ARGV[4])
local granted, wait = 0, 0
if tokens - 1 >= reserve then
  tokens = tokens - 1
  granted = 1
else
  wait = math.ceil((reserve + 1 - tokens) * 1000 / refill)
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
