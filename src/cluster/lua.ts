/**
 * The Lua scripts that make each fleet operation atomic in Redis (EVAL runs a script with no
 * other command in between: https://redis.io/docs/latest/develop/interactive/programmability/eval-intro/).
 * Time is the server's (TIME), so instances' clocks never decide a lease. Limits travel as
 * strings: Redis turns a Lua number into an integer reply, which would cut 1.5 to 1.
 */

/** Shared head: `now` in ms, and the lane's limit in force (nil: not engaged; a value that is not a number from 1 up counts as none), letting an unconfigured one go after a quiet spell. */
const PRELUDE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function limit_of(key, max, quiet)
  local l = tonumber(redis.call('HGET', key, 'limit'))
  if l ~= nil and not (l >= 1 and l < math.huge) then l = nil end
  if l == nil then
    if max > 0 then return max end
    return nil
  end
  if max > 0 then return math.min(l, max) end
  local last = tonumber(redis.call('HGET', key, 'last_overload')) or 0
  if now - last >= quiet then
    redis.call('DEL', key)
    return nil
  end
  return l
end
local function shown(l)
  if l == nil then return '' end
  return tostring(l)
end
`;

/** The most instance names, slot holders and walls one view reads. */
export const VIEW_MAX = 64;

/** How long a lane's limit is kept with no verdict at all (a configured lane then starts again at its max). */
export const LIMIT_KEEP_MS = 3_600_000;

/**
 * KEYS: slots, limit, h1, flowing. ARGV: holder, lease ms, max, quiet ms. A granted holder is not flowing (a name a restarted instance reuses).
 * Expired leases go first, and so do leases ending further ahead than any instance writes one
 * (twice the lease: Redis is shared, and a slot held "for a century" must not fill the lane);
 * the holder gets a slot when fewer than the limit are held.
 * Returns {granted 0/1, slots held, limit ('' when not engaged), h1 cool-down ms left}.
 */
export const ACQUIRE = `${PRELUDE}
local lease = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '(' .. (now + 2 * lease), '+inf')
local limit = limit_of(KEYS[2], tonumber(ARGV[3]), tonumber(ARGV[4]))
local held = redis.call('ZCARD', KEYS[1])
local granted = 0
if limit == nil or held < math.max(1, math.floor(limit)) then
  redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
  redis.call('PEXPIRE', KEYS[1], lease)
  if redis.call('TYPE', KEYS[4]).ok == 'set' then redis.call('SREM', KEYS[4], ARGV[1]) end
  held = held + 1
  granted = 1
end
return {granted, held, shown(limit), math.max(0, redis.call('PTTL', KEYS[3]))}
`;

/** KEYS: slots. ARGV: lease ms, holders... Extends the leases still held (an expired one is not revived); returns how many. */
export const RENEW = `${PRELUDE}
local lease = tonumber(ARGV[1])
local renewed = 0
for i = 2, #ARGV do
  local s = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[i]))
  if s ~= nil and s > now then
    redis.call('ZADD', KEYS[1], now + lease, ARGV[i])
    renewed = renewed + 1
  end
end
if renewed > 0 then redis.call('PEXPIRE', KEYS[1], lease) end
return renewed
`;

/** The most flowing holders one overload counts (the set is Redis's, another tenant may have filled it). */
const FLOWING_MAX = 256;

/** Lua: the flowing set at KEYS[n] is replaced when another tenant wrote something else there (SADD on it would fail every call). */
const flowingIsSet = (n: number) => `if redis.call('TYPE', KEYS[${n}]).ok ~= 'set' then redis.call('DEL', KEYS[${n}]) end`;

/**
 * KEYS: slots, limit, flowing. ARGV: max, quiet ms, decrease-every ms, concurrency (1: the
 * provider said too many at once), the refused holder (not counted). Holders whose stream the
 * provider admitted (flowing, still holding a slot) say what it takes: it refused one more than
 * those, so the limit goes to that many, and for a concurrency refusal that many is the ceiling
 * growth keeps under for the quiet spell (a ceiling older than a quiet spell is forgotten). None flowing: engage at half the slots held, or halve unless the last halving was
 * within decrease-every (one burst of refusals is one signal; a lasting storm halves on, down to 1).
 * Returns the limit.
 */
export const OVERLOAD = `${PRELUDE}
local max = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
${flowingIsSet(3)}
if ARGV[5] ~= nil and ARGV[5] ~= '' then redis.call('SREM', KEYS[3], ARGV[5]) end
local admitted = 0
for _, h in ipairs(redis.call('ZRANGE', KEYS[1], 0, ${FLOWING_MAX - 1})) do
  if redis.call('SISMEMBER', KEYS[3], h) == 1 then admitted = admitted + 1 end
end
for _, h in ipairs(redis.call('SRANDMEMBER', KEYS[3], 16)) do
  if not redis.call('ZSCORE', KEYS[1], h) then redis.call('SREM', KEYS[3], h) end
end
local limit = limit_of(KEYS[2], max, tonumber(ARGV[2]))
local prev = tonumber(redis.call('HGET', KEYS[2], 'last_overload'))
if prev == nil or now - prev >= tonumber(ARGV[2]) then redis.call('HDEL', KEYS[2], 'ceiling') end
local last = tonumber(redis.call('HGET', KEYS[2], 'last_decrease'))
local recent = last ~= nil and now - last < tonumber(ARGV[3])
local decreased = true
if admitted > 0 then
  limit = math.min(limit or admitted, admitted)
  if ARGV[4] == '1' then redis.call('HSET', KEYS[2], 'ceiling', admitted) end
elseif limit == nil then
  limit = math.max(1, redis.call('ZCARD', KEYS[1]) / 2)
elseif not recent then
  limit = math.max(1, limit / 2)
else
  decreased = false
end
if decreased then redis.call('HSET', KEYS[2], 'last_decrease', now) end
redis.call('HSET', KEYS[2], 'limit', tostring(limit), 'last_overload', now)
redis.call('PEXPIRE', KEYS[2], ${LIMIT_KEEP_MS})
return shown(limit)
`;

/**
 * KEYS: limit, slots, flowing. ARGV: max, quiet ms, holder.
 * An admitted stream: its holder counts as flowing while it holds its slot; an engaged limit
 * grows by 1/limit, up to max and, for the quiet spell after the last overload, the ceiling.
 * Returns the limit.
 */
export const SUCCESS = `${PRELUDE}
local max = tonumber(ARGV[1])
local quiet = tonumber(ARGV[2])
${flowingIsSet(3)}
if redis.call('ZSCORE', KEYS[2], ARGV[3]) then
  redis.call('SADD', KEYS[3], ARGV[3])
  redis.call('PEXPIRE', KEYS[3], ${LIMIT_KEEP_MS})
end
local limit = limit_of(KEYS[1], max, quiet)
if limit == nil then return '' end
local top = limit + 1 / limit
if max > 0 then top = math.min(max, top) end
local ceiling = tonumber(redis.call('HGET', KEYS[1], 'ceiling'))
local last = tonumber(redis.call('HGET', KEYS[1], 'last_overload')) or 0
if ceiling ~= nil and ceiling >= 1 and now - last < quiet then top = math.min(top, ceiling) end
limit = math.max(limit, top)
redis.call('HSET', KEYS[1], 'limit', tostring(limit))
redis.call('PEXPIRE', KEYS[1], ${LIMIT_KEEP_MS})
return shown(limit)
`;

/** KEYS: slots, flowing. ARGV: holder. A slot given back: no longer held, no longer flowing. */
export const RELEASE = `
redis.call('ZREM', KEYS[1], ARGV[1])
${flowingIsSet(2)}
redis.call('SREM', KEYS[2], ARGV[1])
return 1
`;

/** KEYS: instances of each lane. ARGV: instance, ttl ms. */
export const HEARTBEAT = `${PRELUDE}
local ttl = tonumber(ARGV[2])
for i = 1, #KEYS do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
  redis.call('ZADD', KEYS[i], now + ttl, ARGV[1])
  redis.call('PEXPIRE', KEYS[i], ttl)
end
return #KEYS
`;

/** KEYS: walls. ARGV: window, wall JSON, ttl ms. The key lives as long as its longest wall. */
export const WALL = `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local ttl = tonumber(ARGV[3])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
`;

/**
 * KEYS: slots, limit, h1, walls, instances. ARGV: max, quiet ms, horizon ms (twice the lease).
 * Entries past their time or further ahead than the horizon go first. Returns at most
 * VIEW_MAX names of each kind, whatever another tenant of the Redis wrote:
 * {instances array, holders array, limit, h1 ms, walls array, slots held}.
 */
export const VIEW = `${PRELUDE}
local horizon = '(' .. (now + tonumber(ARGV[3]))
for _, k in ipairs({KEYS[1], KEYS[5]}) do
  redis.call('ZREMRANGEBYSCORE', k, '-inf', now)
  redis.call('ZREMRANGEBYSCORE', k, horizon, '+inf')
end
local limit = limit_of(KEYS[2], tonumber(ARGV[1]), tonumber(ARGV[2]))
local walls = redis.call('HSCAN', KEYS[4], 0, 'COUNT', ${VIEW_MAX})[2]
local values = {}
for i = 2, math.min(#walls, 2 * ${VIEW_MAX}), 2 do values[#values + 1] = walls[i] end
return {
  redis.call('ZRANGE', KEYS[5], 0, ${VIEW_MAX - 1}),
  redis.call('ZRANGE', KEYS[1], 0, ${VIEW_MAX - 1}),
  shown(limit),
  math.max(0, redis.call('PTTL', KEYS[3])),
  values,
  redis.call('ZCARD', KEYS[1]),
}
`;
