/**
 * Lua helper shared by the status scripts: writes one status HASH (createdAt kept, meta merged
 * field by field, payload and error cleared when absent), sets its TTL, and publishes the whole
 * hash on its channel when someone watches it (the watchers counter key exists).
 *
 * Hash fields: state, attempt, name, queue, payload (json), error (json), progress (json),
 * heartbeatAt, createdAt, updatedAt, and `m:<key>` (json) per meta key.
 * Returns the stored queue ('' when unknown).
 */
const WRITE_STATUS_LUA = `
local function write_status(key, watchers, channel, now, ttl, state, attempt, name, queue, payload, err, meta)
  local fields = { 'state', state, 'attempt', attempt, 'updatedAt', now }
  local exists = redis.call('EXISTS', key) == 1
  if not exists then fields[#fields + 1] = 'createdAt'; fields[#fields + 1] = now end
  if name ~= '' then fields[#fields + 1] = 'name'; fields[#fields + 1] = name end
  if queue ~= '' then fields[#fields + 1] = 'queue'; fields[#fields + 1] = queue end
  if payload ~= '' then fields[#fields + 1] = 'payload'; fields[#fields + 1] = payload end
  if err ~= '' then fields[#fields + 1] = 'error'; fields[#fields + 1] = err end
  for i = 1, #meta do fields[#fields + 1] = meta[i] end
  redis.call('HSET', key, unpack(fields))
  if exists then
    if payload == '' and err == '' then redis.call('HDEL', key, 'payload', 'error')
    elseif payload == '' then redis.call('HDEL', key, 'payload')
    elseif err == '' then redis.call('HDEL', key, 'error') end
  end
  redis.call('PEXPIRE', key, ttl)
  if redis.call('EXISTS', watchers) == 1 then
    redis.call('PUBLISH', channel, cjson.encode(redis.call('HGETALL', key)))
  end
  if queue == '' then queue = redis.call('HGET', key, 'queue') or '' end
  return queue
end
`;

/**
 * status-set: writes one status (the cluster path; see status-set-many for one server).
 *
 * KEYS[1] status HASH
 * KEYS[2] watchers counter of that status
 * ARGV[1] channel, ARGV[2] now epoch ms, ARGV[3] ttl ms, ARGV[4] state, ARGV[5] attempt,
 * ARGV[6] name ('' keeps), ARGV[7] queue ('' keeps), ARGV[8] payload json ('' clears),
 * ARGV[9] error json ('' clears), ARGV[10..] meta field/value pairs (fields prefixed "m:")
 * Returns the stored queue ('' when unknown).
 */
export const STATUS_SET_LUA = `${WRITE_STATUS_LUA}
local meta = {}
for i = 10, #ARGV do meta[#meta + 1] = ARGV[i] end
return write_status(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9], meta)
`;

/**
 * status-set-many: writes several statuses and files them in the listing indexes, in one call.
 * Only for a standalone server: it touches keys of many slots.
 *
 * KEYS[1] all-statuses index ZSET
 * KEYS[2..] status HASHes (the watchers counter is "<status key>:watchers")
 * ARGV[1] now epoch ms
 * ARGV[2] channel prefix (channel = prefix .. id .. "}")
 * ARGV[3] queue index prefix (index = prefix .. queue)
 * ARGV[4] prune horizon epoch ms ('' for none)
 * ARGV[5..] per status: id, ttl, state, attempt, name, queue, payload, error, meta count M,
 *           then M field/value pairs
 * Returns 1.
 */
export const STATUS_SET_MANY_LUA = `${WRITE_STATUS_LUA}
local now, all = ARGV[1], KEYS[1]
local pos = 5
local queues = {}
for k = 2, #KEYS do
  local key, id = KEYS[k], ARGV[pos]
  local count = tonumber(ARGV[pos + 8])
  local meta = {}
  for j = 1, count * 2 do meta[j] = ARGV[pos + 8 + j] end
  local queue = write_status(key, key .. ':watchers', ARGV[2] .. id .. '}', now, ARGV[pos + 1], ARGV[pos + 2], ARGV[pos + 3],
    ARGV[pos + 4], ARGV[pos + 5], ARGV[pos + 6], ARGV[pos + 7], meta)
  pos = pos + 9 + count * 2
  redis.call('ZADD', all, now, id)
  if queue ~= '' then
    redis.call('ZADD', ARGV[3] .. queue, now, id)
    queues[ARGV[3] .. queue] = true
  end
end
if ARGV[4] ~= '' then
  redis.call('ZREMRANGEBYSCORE', all, '-inf', '(' .. ARGV[4])
  for index in pairs(queues) do redis.call('ZREMRANGEBYSCORE', index, '-inf', '(' .. ARGV[4]) end
end
return 1
`;

/**
 * status-index: files task ids in the listing indexes (ZSETs by updatedAt): the global one and
 * their queue's. Optionally prunes entries older than a horizon. (Cluster path.)
 *
 * KEYS[1] all-statuses index
 * KEYS[2..] queue indexes (referenced by position below)
 * ARGV[1] updatedAt epoch ms
 * ARGV[2] prune horizon epoch ms ('' for none)
 * ARGV[3..] pairs of (task id, position of its queue index in KEYS, 0 for none)
 * Returns 1.
 */
export const STATUS_INDEX_LUA = `
for i = 3, #ARGV, 2 do
  redis.call('ZADD', KEYS[1], ARGV[1], ARGV[i])
  local q = tonumber(ARGV[i + 1])
  if q > 0 then redis.call('ZADD', KEYS[q], ARGV[1], ARGV[i]) end
end
if ARGV[2] ~= '' then
  for i = 1, #KEYS do redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', '(' .. ARGV[2]) end
end
return 1
`;

/**
 * status-touch: merges progress and/or a heartbeat time into an existing status (TTL unchanged)
 * and publishes it when watched; does nothing when the status does not exist.
 *
 * KEYS[1] status HASH
 * KEYS[2] watchers counter of that status
 * ARGV[1] channel, ARGV[2] now epoch ms, ARGV[3] progress json ('' to leave it),
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
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('PUBLISH', ARGV[1], cjson.encode(redis.call('HGETALL', key)))
end
return 1
`;

/**
 * status-unwatch: decrements a status's watchers counter, deleting it at zero.
 *
 * KEYS[1] watchers counter
 * Returns the remaining count.
 */
export const STATUS_UNWATCH_LUA = `
local n = redis.call('DECR', KEYS[1])
if n <= 0 then redis.call('DEL', KEYS[1]) end
return n
`;
