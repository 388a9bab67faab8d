/**
 * schedule-cas: compare-and-set of one schedule entry on its version.
 *
 * KEYS[1] entries HASH (id → entry JSON)
 * KEYS[2] due ZSET (id scored by nextRunAt, enabled entries only)
 * ARGV[1] entry id
 * ARGV[2] expected version (0: the entry must not exist)
 * ARGV[3] entry JSON
 * ARGV[4] due score ('' when the entry is not due: disabled or no next run)
 * Returns {1, 0} when written, {0, stored version or -1 when missing} on conflict.
 */
export const SCHEDULE_CAS_LUA = `
local current = redis.call('HGET', KEYS[1], ARGV[1])
local version = 0
if current then version = tonumber(cjson.decode(current).version) end
if version ~= tonumber(ARGV[2]) then
  if current then return {0, version} end
  return {0, -1}
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
if ARGV[4] == '' then redis.call('ZREM', KEYS[2], ARGV[1]) else redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1]) end
return {1, 0}
`;

/**
 * schedule-remove: removes one schedule entry.
 *
 * KEYS[1] entries HASH
 * KEYS[2] due ZSET
 * ARGV[1] entry id
 * Returns 1 when it existed, else 0.
 */
export const SCHEDULE_REMOVE_LUA = `
redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('HDEL', KEYS[1], ARGV[1])
`;
