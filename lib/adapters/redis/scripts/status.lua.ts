/**
 * status-set: writes a task status HASH (createdAt kept, meta merged field by field, payload and
 * error cleared when absent), sets its TTL and publishes the whole hash to watchers.
 *
 * Hash fields: state, attempt, name, queue, payload (json), error (json), progress (json),
 * heartbeatAt, createdAt, updatedAt, and `m:<key>` (json) per meta key.
 *
 * KEYS[1] status HASH
 * ARGV[1] channel to publish on
 * ARGV[2] ttl ms
 * ARGV[3] now epoch ms
 * ARGV[4] state
 * ARGV[5] attempt
 * ARGV[6] name ('' keeps the stored one)
 * ARGV[7] queue ('' keeps the stored one)
 * ARGV[8] payload json ('' clears it)
 * ARGV[9] error json ('' clears it)
 * ARGV[10..] meta field/value pairs (field already prefixed with "m:")
 * Returns { stored name, stored queue } ('' when unknown).
 */
export const STATUS_SET_LUA = `
local key = KEYS[1]
redis.call('HSETNX', key, 'createdAt', ARGV[3])
local fields = { 'state', ARGV[4], 'attempt', ARGV[5], 'updatedAt', ARGV[3] }
if ARGV[6] ~= '' then fields[#fields + 1] = 'name'; fields[#fields + 1] = ARGV[6] end
if ARGV[7] ~= '' then fields[#fields + 1] = 'queue'; fields[#fields + 1] = ARGV[7] end
if ARGV[8] ~= '' then fields[#fields + 1] = 'payload'; fields[#fields + 1] = ARGV[8] end
if ARGV[9] ~= '' then fields[#fields + 1] = 'error'; fields[#fields + 1] = ARGV[9] end
for i = 10, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', key, unpack(fields))
if ARGV[8] == '' then redis.call('HDEL', key, 'payload') end
if ARGV[9] == '' then redis.call('HDEL', key, 'error') end
redis.call('PEXPIRE', key, ARGV[2])
local all = redis.call('HGETALL', key)
redis.call('PUBLISH', ARGV[1], cjson.encode(all))
local name, queue = '', ''
for i = 1, #all, 2 do
  if all[i] == 'name' then name = all[i + 1] elseif all[i] == 'queue' then queue = all[i + 1] end
end
return { name, queue }
`;

/**
 * status-touch: merges progress and/or a heartbeat time into an existing status (TTL unchanged)
 * and publishes it; does nothing when the status does not exist.
 *
 * KEYS[1] status HASH
 * ARGV[1] channel to publish on
 * ARGV[2] now epoch ms
 * ARGV[3] progress json ('' to leave it)
 * ARGV[4] heartbeatAt epoch ms ('' to leave it)
 * Returns 1 when touched, 0 when there was no status.
 */
export const STATUS_TOUCH_LUA = `
local key = KEYS[1]
if redis.call('EXISTS', key) == 0 then return 0 end
local fields = { 'updatedAt', ARGV[2] }
if ARGV[3] ~= '' then fields[#fields + 1] = 'progress'; fields[#fields + 1] = ARGV[3] end
if ARGV[4] ~= '' then fields[#fields + 1] = 'heartbeatAt'; fields[#fields + 1] = ARGV[4] end
redis.call('HSET', key, unpack(fields))
redis.call('PUBLISH', ARGV[1], cjson.encode(redis.call('HGETALL', key)))
return 1
`;

/**
 * status-index: files a task id under the listing indexes (ZSETs by updatedAt): the global one,
 * its current state (and out of every other state), its queue and its name. Optionally prunes
 * entries older than a horizon from every index given.
 *
 * KEYS[1] all-statuses index
 * KEYS[2..7] state indexes (queued, running, succeeded, failed, retried, cancelled)
 * KEYS[8..] queue and/or name indexes
 * ARGV[1] task id
 * ARGV[2] updatedAt epoch ms
 * ARGV[3] position of the current state in KEYS[2..7] (1-based)
 * ARGV[4] prune horizon epoch ms ('' for none)
 * Returns 1.
 */
export const STATUS_INDEX_LUA = `
local id, score, state = ARGV[1], ARGV[2], tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], score, id)
for i = 1, 6 do
  if i == state then redis.call('ZADD', KEYS[i + 1], score, id) else redis.call('ZREM', KEYS[i + 1], id) end
end
for i = 8, #KEYS do redis.call('ZADD', KEYS[i], score, id) end
if ARGV[4] ~= '' then
  for i = 1, #KEYS do redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', '(' .. ARGV[4]) end
end
return 1
`;
