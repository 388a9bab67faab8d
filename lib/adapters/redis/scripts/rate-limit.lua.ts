/**
 * rate-limit: a token bucket on the server clock, shared by every worker. Holds `capacity`
 * tokens, refilled continuously at capacity per interval.
 *
 * KEYS[1] bucket HASH (t = tokens, u = last update ms)
 * ARGV[1] capacity (tokens per interval)
 * ARGV[2] interval ms
 * ARGV[3] tokens to take (negative: tokens to give back, up to the capacity; always allowed)
 * Returns { 1, 0 } when allowed, { 0, ms until enough tokens } when denied.
 */
export const RATE_LIMIT_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local capacity, interval, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local rate = capacity / interval
local bucket = redis.call('HMGET', KEYS[1], 't', 'u')
local tokens = tonumber(bucket[1]) or capacity
local updated = tonumber(bucket[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - updated) * rate)
local allowed, retry = 0, 0
if tokens >= cost then
  tokens = math.min(capacity, tokens - cost)
  allowed = 1
else
  retry = math.max(1, math.ceil((cost - tokens) / rate))
end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'u', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(interval) + 1000)
return { allowed, retry }
`;
