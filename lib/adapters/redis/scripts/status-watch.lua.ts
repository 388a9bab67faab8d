/**
 * status-touch: merges progress and/or a heartbeat time into an existing status (TTL unchanged)
 * and publishes it when watched; does nothing when the status does not exist.
 *
 * KEYS[1] status HASH
 * KEYS[2] watchers counter of that status
 * ARGV[1] channel, ARGV[2] now epoch ms, ARGV[3] progress json ('' to leave it),
 * ARGV[4] heartbeatAt epoch ms ('' to leave it), ARGV[5..] meta field/value pairs ("m:<key>", json)
 * Returns 1 when touched, 0 when there was no status.
 */
export const STATUS_TOUCH_LUA = `
local key = KEYS[1]
if redis.call('EXISTS', key) == 0 then return 0 end
local fields = { 'updatedAt', ARGV[2] }
if ARGV[3] ~= '' then fields[#fields + 1] = 'progress'; fields[#fields + 1] = ARGV[3] end
if ARGV[4] ~= '' then fields[#fields + 1] = 'heartbeatAt'; fields[#fields + 1] = ARGV[4] end
for i = 5, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', key, unpack(fields))
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('PUBLISH', ARGV[1], cjson.encode(redis.call('HGETALL', key)))
end
return 1
`;

/**
 * status-watch: marks a status as watched for a day (re-armed by every watch of it) and, when a
 * global watch counter is given, counts the watch there too.
 *
 * KEYS[1] watchers counter of the status
 * KEYS[2] global watch counter (optional; standalone servers only)
 * ARGV[1] ttl ms of both counters
 * Returns the status's watch count.
 */
export const STATUS_WATCH_LUA = `
local n = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
if KEYS[2] then
  redis.call('INCR', KEYS[2])
  redis.call('PEXPIRE', KEYS[2], ARGV[1])
end
return n
`;

/**
 * status-unwatch: decrements a status's watchers counter, deleting it at zero, and the global
 * watch counter when given (only if the status's counter was still there, so a watch whose
 * marker expired does not take away another one's count).
 *
 * KEYS[1] watchers counter
 * KEYS[2] global watch counter (optional)
 * Returns the remaining count.
 */
export const STATUS_UNWATCH_LUA = `
local n = redis.call('DECR', KEYS[1])
if n <= 0 then redis.call('DEL', KEYS[1]) end
if KEYS[2] and n >= 0 then
  if redis.call('DECR', KEYS[2]) <= 0 then redis.call('DEL', KEYS[2]) end
end
return n
`;
