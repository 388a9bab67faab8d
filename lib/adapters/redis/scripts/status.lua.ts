/**
 * Lua helper shared by the status scripts: writes one status HASH (createdAt kept, meta merged
 * field by field, payload and error overwritten, '' meaning absent), sets its TTL, and publishes
 * the whole hash on its channel when someone watches it (the watchers counter key exists).
 *
 * Hash fields: state, attempt, name, queue, payload (json or ''), error (json or ''),
 * progress (json), heartbeatAt, createdAt, updatedAt, and `m:<key>` (json) per meta key.
 * Returns the stored queue ('' when unknown).
 */
const WRITE_STATUS_LUA = `
local function write_status(key, watchers, channel, now, ttl, state, attempt, name, queue, payload, err, meta)
  local fields = { 'state', state, 'attempt', attempt, 'updatedAt', now, 'payload', payload, 'error', err }
  if name ~= '' then fields[#fields + 1] = 'name'; fields[#fields + 1] = name end
  if queue ~= '' then fields[#fields + 1] = 'queue'; fields[#fields + 1] = queue end
  for i = 1, #meta do fields[#fields + 1] = meta[i] end
  -- every field new means the hash did not exist: state is always among the fields of a status
  if redis.call('HSET', key, unpack(fields)) * 2 == #fields then redis.call('HSET', key, 'createdAt', now) end
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
 * status-set-many: writes several statuses and files each under its queue's listing index (a
 * ZSET by updatedAt; statuses without a queue under the '' queue), in one call. Only for a
 * standalone server: it touches keys of many slots.
 *
 * KEYS[1] SET of queue names that have a listing index
 * ARGV[1] now epoch ms
 * ARGV[2] status key prefix (status key = prefix .. id .. "}", watchers = that .. ":watchers")
 * ARGV[3] channel prefix (channel = prefix .. id .. "}")
 * ARGV[4] queue index prefix (index = prefix .. queue)
 * ARGV[5] prune horizon epoch ms ('' for none)
 * ARGV[6] JSON array of strings; per status: id, ttl, state, attempt, name, queue, payload,
 *         error, meta count M, then M field/value pairs
 * Returns the number of statuses written.
 */
export const STATUS_SET_MANY_LUA = `${WRITE_STATUS_LUA}
local now = ARGV[1]
local list = cjson.decode(ARGV[6])
local pos, n = 1, 0
local queues, names = {}, {}
while pos <= #list do
  local id = list[pos]
  local key = ARGV[2] .. id .. '}'
  local count = tonumber(list[pos + 8])
  local meta = {}
  for j = 1, count * 2 do meta[j] = list[pos + 8 + j] end
  local queue = write_status(key, key .. ':watchers', ARGV[3] .. id .. '}', now, list[pos + 1], list[pos + 2], list[pos + 3],
    list[pos + 4], list[pos + 5], list[pos + 6], list[pos + 7], meta)
  pos = pos + 9 + count * 2
  n = n + 1
  redis.call('ZADD', ARGV[4] .. queue, now, id)
  if not queues[queue] then
    queues[queue] = true
    names[#names + 1] = queue
  end
end
redis.call('SADD', KEYS[1], unpack(names))
if ARGV[5] ~= '' then
  for _, queue in ipairs(names) do redis.call('ZREMRANGEBYSCORE', ARGV[4] .. queue, '-inf', '(' .. ARGV[5]) end
end
return n
`;

/**
 * status-index: files task ids under their queues' listing indexes (ZSETs by updatedAt) and
 * records the queue names. Optionally prunes entries older than a horizon. (Cluster path: every
 * index key shares the {results} hash tag.)
 *
 * KEYS[1] SET of queue names that have a listing index
 * ARGV[1] updatedAt epoch ms
 * ARGV[2] prune horizon epoch ms ('' for none)
 * ARGV[3] queue index prefix (index = prefix .. queue)
 * ARGV[4..] pairs of (task id, queue name, '' for none)
 * Returns 1.
 */
export const STATUS_INDEX_LUA = `
local seen, names = {}, {}
for i = 4, #ARGV, 2 do
  redis.call('ZADD', ARGV[3] .. ARGV[i + 1], ARGV[1], ARGV[i])
  if not seen[ARGV[i + 1]] then
    seen[ARGV[i + 1]] = true
    names[#names + 1] = ARGV[i + 1]
  end
end
if #names > 0 then redis.call('SADD', KEYS[1], unpack(names)) end
if ARGV[2] ~= '' then
  for _, queue in ipairs(names) do redis.call('ZREMRANGEBYSCORE', ARGV[3] .. queue, '-inf', '(' .. ARGV[2]) end
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
