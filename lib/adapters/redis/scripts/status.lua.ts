/**
 * Lua helper shared by the status scripts: writes one status HASH (createdAt kept, meta merged
 * field by field, payload and error overwritten, '' meaning absent), sets its TTL, and publishes
 * the whole hash on its channel when someone watches it (the watchers counter key exists).
 *
 * Hash fields: state, attempt, name, queue, payload (json or ''), error (json or ''),
 * progress (json), heartbeatAt, createdAt, updatedAt, and `m:<key>` (json) per meta key.
 * Returns the stored queue ('' when unknown).
 *
 * `is_terminal(key)` says whether a status is `succeeded`, `failed` or `cancelled` (an expired
 * hash is gone, so only live statuses count).
 */
const WRITE_STATUS_LUA = `
local function is_terminal(key)
  local state = redis.call('HGET', key, 'state')
  return state == 'succeeded' or state == 'failed' or state == 'cancelled'
end

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
 * Lua helpers for packed status writes (status-set-many, publish-queued). `write_packed` writes
 * one status packed as in status-set-many (skipping it when it asks to leave a terminal status as
 * it is and the stored one is terminal), publishes it when watched, and notes it in `index`;
 * `file_index` then files the noted ids under their queues' listing indexes (ZSETs by updatedAt),
 * records the queue names and prunes entries older than the horizon ('' for none).
 */
export const PACKED_STATUS_LUA = `
local sep = string.char(31)
local packed_pattern = '^' .. string.rep('([^' .. sep .. ']*)' .. sep, 8) .. '([^' .. sep .. ']*)(.*)$'
local meta_pattern = sep .. '([^' .. sep .. ']*)' .. sep .. '([^' .. sep .. ']*)'

local function is_terminal(key)
  local state = redis.call('HGET', key, 'state')
  return state == 'succeeded' or state == 'failed' or state == 'cancelled'
end

local function new_index() return { by_queue = {}, names = {} } end

local function write_packed(packed, now, status_prefix, channel_prefix, watched, index)
  local id, ttl, unless_terminal, state, attempt, name, queue, payload, err, meta = string.match(packed, packed_pattern)
  local key = status_prefix .. id .. '}'
  if unless_terminal == '1' and is_terminal(key) then return false end
  local written, new_fields
  if meta == '' and name ~= '' and queue ~= '' then
    written = 7
    new_fields = redis.call('HSET', key, 'state', state, 'attempt', attempt, 'updatedAt', now,
      'payload', payload, 'error', err, 'name', name, 'queue', queue)
  else
    local fields = { 'state', state, 'attempt', attempt, 'updatedAt', now, 'payload', payload, 'error', err }
    local f = 10
    if name ~= '' then fields[f + 1] = 'name'; fields[f + 2] = name; f = f + 2 end
    if queue ~= '' then fields[f + 1] = 'queue'; fields[f + 2] = queue; f = f + 2 end
    if meta ~= '' then
      for k, v in string.gmatch(meta, meta_pattern) do fields[f + 1] = k; fields[f + 2] = v; f = f + 2 end
    end
    written = f / 2
    new_fields = redis.call('HSET', key, unpack(fields))
  end
  -- every field new means the hash did not exist: state is always among the fields of a status
  if new_fields == written then redis.call('HSET', key, 'createdAt', now) end
  redis.call('PEXPIRE', key, ttl)
  if watched and redis.call('EXISTS', key .. ':watchers') == 1 then
    redis.call('PUBLISH', channel_prefix .. id .. '}', cjson.encode(redis.call('HGETALL', key)))
  end
  if queue == '' then queue = redis.call('HGET', key, 'queue') or '' end
  local members = index.by_queue[queue]
  if not members then
    members = {}
    index.by_queue[queue] = members
    index.names[#index.names + 1] = queue
  end
  members[#members + 1] = now
  members[#members + 1] = id
  return true
end

local function file_index(index, now, queues_key, index_prefix, horizon)
  for _, queue in ipairs(index.names) do
    redis.call('ZADD', index_prefix .. queue, unpack(index.by_queue[queue]))
  end
  if #index.names > 0 then redis.call('SADD', queues_key, unpack(index.names)) end
  if horizon ~= '' then
    for _, queue in ipairs(index.names) do redis.call('ZREMRANGEBYSCORE', index_prefix .. queue, '-inf', '(' .. horizon) end
  end
end
`;

/**
 * status-set: writes one status (the cluster path; see status-set-many for one server).
 *
 * KEYS[1] status HASH
 * KEYS[2] watchers counter of that status
 * ARGV[1] channel, ARGV[2] now epoch ms, ARGV[3] ttl ms, ARGV[4] state, ARGV[5] attempt,
 * ARGV[6] name ('' keeps), ARGV[7] queue ('' keeps), ARGV[8] payload json ('' clears),
 * ARGV[9] error json ('' clears), ARGV[10] '1' to leave a terminal status as it is (else ''),
 * ARGV[11..] meta field/value pairs (fields prefixed "m:")
 * Returns the stored queue ('' when unknown).
 */
export const STATUS_SET_LUA = `${WRITE_STATUS_LUA}
if ARGV[10] == '1' and is_terminal(KEYS[1]) then return redis.call('HGET', KEYS[1], 'queue') or '' end
local meta = {}
for i = 11, #ARGV do meta[#meta + 1] = ARGV[i] end
return write_status(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9], meta)
`;

/**
 * status-set-many: writes several statuses and files each under its queue's listing index (a
 * ZSET by updatedAt; statuses without a queue under the '' queue), in one call. Only for a
 * standalone server: it touches keys of many slots. The per-status watchers counters are only
 * looked at while the global watch counter exists (some watch is live somewhere).
 *
 * KEYS[1] SET of queue names that have a listing index
 * KEYS[2] global watch counter
 * ARGV[1] now epoch ms
 * ARGV[2] status key prefix (status key = prefix .. id .. "}", watchers = that .. ":watchers")
 * ARGV[3] channel prefix (channel = prefix .. id .. "}")
 * ARGV[4] queue index prefix (index = prefix .. queue)
 * ARGV[5] prune horizon epoch ms ('' for none)
 * ARGV[6..] one per status, its fields joined by the unit separator (\x1f, which no field holds):
 *   id, ttl, '1' to leave a terminal status as it is (else ''), state, attempt, name ('' keeps),
 *   queue ('' keeps), payload json ('' clears), error json ('' clears), then per meta key: a separator, "m:<key>", a separator, json
 * Returns the number of statuses written.
 */
export const STATUS_SET_MANY_LUA = `${PACKED_STATUS_LUA}
local now = ARGV[1]
local watched = redis.call('EXISTS', KEYS[2]) == 1
local index = new_index()
local n = 0
for i = 6, #ARGV do
  if write_packed(ARGV[i], now, ARGV[2], ARGV[3], watched, index) then n = n + 1 end
end
file_index(index, now, KEYS[1], ARGV[4], ARGV[5])
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
