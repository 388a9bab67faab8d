/**
 * Lua helper of the status writes: whether a write's guard ('' none; '1' leave a terminal status
 * as it is; 'a' leave a status of this attempt or a later one as it is; '1a' both) drops it,
 * given the stored state and attempt (nil when there is no live status).
 */
const WRITE_GUARD_LUA = `
local function guard_skips(guard, old_state, old_attempt, attempt)
  if guard == '' or old_state == nil or old_state == false then return false end
  if string.find(guard, '1', 1, true) and (old_state == 'succeeded' or old_state == 'failed' or old_state == 'cancelled') then return true end
  if string.find(guard, 'a', 1, true) and tonumber(old_attempt or '-1') >= tonumber(attempt) then return true end
  return false
end
`;

/**
 * Lua helper shared by the status scripts: writes one status HASH (createdAt kept, meta merged
 * field by field, payload and error overwritten, '' meaning absent), sets its TTL, and publishes
 * the whole hash on its channel when someone watches it (the watchers counter key exists).
 *
 * Hash fields: state, attempt, name, queue, payload (json or ''), error (json or ''),
 * progress (json), heartbeatAt, createdAt, updatedAt, and `m:<key>` (json) per meta key.
 * Returns the stored queue ('' when unknown).
 */
const WRITE_STATUS_LUA = `${WRITE_GUARD_LUA}
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
 * Lua helpers for packed status writes (status-set-many, publish-queued, status-index).
 * `write_packed` writes one status packed as in status-set-many (skipping it when its guard
 * keeps the stored status, see `guard_skips`; a new hash gets no field whose value is '', which
 * readers take as absent), publishes it when watched,
 * and notes it in `index`; an unwatched write followed by another of the same status in the same
 * call is sent in one HSET with it (status-set-many says which writes are followed); `note_status` notes a written status for the operations indexes;
 * `file_index` then, once per script, files every noted id: out of the state index it was in when
 * the script began, into the one of its last state (several writes of one id in one call, such
 * as `running` then `succeeded`, cost one move), into the id index when new and into its queue's
 * listing index (ZSETs by updatedAt), each index key in one command; sets each written status's
 * TTL (its last write's); records the queue names, adds the finished counts of this minute and
 * prunes entries older than the horizon ('' for none). Nothing else runs between the writes and
 * the filing (one script), so readers see the same indexes as with one move per write. The
 * operations index keys start with the queues SET's name minus its trailing "queues" (see
 * `RedisKeys.statusIndexBase`).
 */
export const PACKED_STATUS_LUA = `${WRITE_GUARD_LUA}
local sep = string.char(31)
local find, sub = string.find, string.sub
local states = { 'queued', 'running', 'succeeded', 'failed', 'retried', 'cancelled' }

local function new_index(queues_key)
  return { ids = {}, noted = {}, last = {}, held = {}, ttls = {}, ttl_keys = {}, finished = {}, base = string.sub(queues_key, 1, #queues_key - 6) }
end

-- Notes that status id is now in (state, queue); old_state/old_queue are what it was before this
-- write (old_state nil when new). The first write of an id in the call keeps its old ones.
local function note_status(index, now, id, queue, state, old_state, old_queue, is_new)
  if (state == 'succeeded' or state == 'failed') and old_state ~= state then
    local f = string.sub(state, 1, 1)
    index.finished[f] = (index.finished[f] or 0) + 1
    index.finished[f .. '|' .. queue] = (index.finished[f .. '|' .. queue] or 0) + 1
  end
  local n = index.noted[id]
  if n then
    n.state = state
    n.queue = queue
    if is_new then n.is_new = true end
  else
    index.noted[id] = { old_state = old_state, old_queue = old_queue, state = state, queue = queue, is_new = is_new }
    index.ids[#index.ids + 1] = id
  end
end

-- Sends the fields of earlier writes of a status that were held back for a later one.
local function flush_fields(index, key)
  local held = index.held[key]
  if held then
    redis.call('HSET', key, unpack(held))
    index.held[key] = nil
  end
end

-- The fields of a packed status, split at the unit separator by plain searches (a pattern would
-- test every byte against a character class, which costs far more on long payloads).
local function split_packed(packed)
  local parts, n, pos = {}, 0, 1
  while true do
    local at = find(packed, sep, pos, true)
    n = n + 1
    if not at then
      parts[n] = sub(packed, pos)
      return parts, n
    end
    parts[n] = sub(packed, pos, at - 1)
    pos = at + 1
  end
end

-- The id of a packed status (its first field).
local function packed_id(packed)
  local at = find(packed, sep, 1, true)
  return at and sub(packed, 1, at - 1) or packed
end

-- later: another write of this status follows in the same call; unless someone watches it, its
-- fields are then held back and sent in one HSET with the later write's (later fields win, as
-- they would one HSET after the other).
local function write_packed(packed, now, status_prefix, channel_prefix, watched, index, later)
  local p, count = split_packed(packed)
  if count < 9 then error('status-set-many: malformed status ' .. sub(packed, 1, 64)) end
  local id, ttl, guard, state, attempt, name, queue, payload, err = p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9]
  local key = status_prefix .. id .. '}'
  local old_state, old_queue, old_attempt
  local last = index.last[id]
  if last then
    old_state, old_queue, old_attempt = last[1], last[2], last[3]
  else
    local old = redis.call('HMGET', key, 'state', 'queue', 'attempt')
    old_state, old_queue, old_attempt = old[1], old[2] or '', old[3]
  end
  if guard_skips(guard, old_state, old_attempt, attempt) then
    flush_fields(index, key)
    return false
  end
  -- no state means no status: every write stores one, and nothing else creates the hash
  local is_new = not old_state
  local fields = index.held[key] or {}
  local f = #fields
  fields[f + 1] = 'state'; fields[f + 2] = state; fields[f + 3] = 'attempt'; fields[f + 4] = attempt
  fields[f + 5] = 'updatedAt'; fields[f + 6] = now
  f = f + 6
  -- a new hash leaves out the fields that would be '' (absent): smaller, and a shorter HSET
  if payload ~= '' or not is_new then fields[f + 1] = 'payload'; fields[f + 2] = payload; f = f + 2 end
  if err ~= '' or not is_new then fields[f + 1] = 'error'; fields[f + 2] = err; f = f + 2 end
  if name ~= '' then fields[f + 1] = 'name'; fields[f + 2] = name; f = f + 2 end
  if queue ~= '' then fields[f + 1] = 'queue'; fields[f + 2] = queue; f = f + 2 end
  for i = 10, count - 1, 2 do
    local v = p[i + 1]
    if v ~= '' or not is_new then fields[f + 1] = p[i]; fields[f + 2] = v; f = f + 2 end
  end
  if is_new then fields[f + 1] = 'createdAt'; fields[f + 2] = now end
  local published = watched and redis.call('EXISTS', key .. ':watchers') == 1
  if later and not published then
    index.held[key] = fields
  else
    index.held[key] = nil
    redis.call('HSET', key, unpack(fields))
    if published then
      redis.call('PUBLISH', channel_prefix .. id .. '}', cjson.encode(redis.call('HGETALL', key)))
    end
  end
  if not index.ttls[key] then index.ttl_keys[#index.ttl_keys + 1] = key end
  index.ttls[key] = ttl
  if queue == '' then queue = old_queue end
  index.last[id] = { state, queue, attempt }
  if is_new then old_state = nil end
  note_status(index, now, id, queue, state, old_state, old_queue, is_new)
  return true
end

-- Appends value to the list of key in groups (a table of key -> list, and the keys in order).
local function add_to(groups, key, a, b)
  local list = groups.by_key[key]
  if not list then
    list = {}
    groups.by_key[key] = list
    groups.keys[#groups.keys + 1] = key
  end
  list[#list + 1] = a
  if b ~= nil then list[#list + 1] = b end
end

-- Runs one command per key of groups, its list as arguments, in chunks that unpack() can take.
local function run_grouped(command, groups)
  for _, key in ipairs(groups.keys) do
    local list = groups.by_key[key]
    for i = 1, #list, 4000 do
      redis.call(command, key, unpack(list, i, math.min(#list, i + 3999)))
    end
  end
end

local function file_index(index, now, queues_key, index_prefix, horizon)
  local base = index.base
  local removes = { by_key = {}, keys = {} }
  local adds = { by_key = {}, keys = {} }
  local listed = { by_key = {}, keys = {} }
  local names = {}
  for key in pairs(index.held) do flush_fields(index, key) end
  for _, id in ipairs(index.ids) do
    local n = index.noted[id]
    if n.old_state and (n.old_state ~= n.state or n.old_queue ~= n.queue) then
      add_to(removes, base .. 'state:' .. n.old_state .. ':' .. n.old_queue, id)
    end
    add_to(adds, base .. 'state:' .. n.state .. ':' .. n.queue, now, id)
    if n.is_new then add_to(adds, base .. 'ids', 0, id) end
    if not listed.by_key[n.queue] then names[#names + 1] = n.queue end
    add_to(listed, n.queue, now, id)
  end
  run_grouped('ZREM', removes)
  run_grouped('ZADD', adds)
  for _, key in ipairs(index.ttl_keys) do redis.call('PEXPIRE', key, index.ttls[key]) end
  for _, queue in ipairs(names) do
    local list = listed.by_key[queue]
    for i = 1, #list, 4000 do
      redis.call('ZADD', index_prefix .. queue, unpack(list, i, math.min(#list, i + 3999)))
    end
  end
  if #names > 0 then redis.call('SADD', queues_key, unpack(names)) end
  if next(index.finished) then
    local at = tonumber(now)
    local tp = base .. 'tp:' .. (at - at % 60000)
    for field, n in pairs(index.finished) do redis.call('HINCRBY', tp, field, string.format('%d', n)) end
    redis.call('PEXPIRE', tp, '90000000')
  end
  if horizon ~= '' then
    for _, queue in ipairs(names) do
      local key = index_prefix .. queue
      while true do
        local old = redis.call('ZRANGEBYSCORE', key, '-inf', '(' .. horizon, 'LIMIT', 0, 1000)
        if #old == 0 then break end
        redis.call('ZREM', base .. 'ids', unpack(old))
        redis.call('ZREM', key, unpack(old))
      end
      for _, state in ipairs(states) do
        redis.call('ZREMRANGEBYSCORE', base .. 'state:' .. state .. ':' .. queue, '-inf', '(' .. horizon)
      end
    end
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
 * ARGV[9] error json ('' clears), ARGV[10] the write's guard ('' none, '1' leave a terminal status
 * as it is, 'a' leave a status of this attempt or a later one as it is, '1a' both),
 * ARGV[11..] meta field/value pairs (fields prefixed "m:")
 * Returns { stored queue ('' when unknown), previous state ('' when new), previous queue } or,
 * when the write was skipped (its guard kept the stored status), false.
 */
export const STATUS_SET_LUA = `${WRITE_STATUS_LUA}
local old = redis.call('HMGET', KEYS[1], 'state', 'queue', 'attempt')
if guard_skips(ARGV[10], old[1], old[3], ARGV[5]) then return false end
local meta = {}
for i = 11, #ARGV do meta[#meta + 1] = ARGV[i] end
local queue = write_status(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9], meta)
return { queue, old[1] or '', old[2] or '' }
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
 * ARGV[6] consumer group of the deliveries to ack ('' when none)
 * ARGV[7] number A of deliveries to ack once every status is written
 * ARGV[8..7+3A] per delivery: its stream, its leases ZSET, its lease member "<priority>:<entry id>"
 *   (a member no longer leased is a stale receipt and acks nothing, as in ack-many)
 * ARGV[8+3A..] one per status, its fields joined by the unit separator (\x1f, which no field holds):
 *   id, ttl, the write's guard (as ARGV[10] of status-set), state, attempt, name ('' keeps),
 *   queue ('' keeps), payload json ('' clears), error json ('' clears), then per meta key: a separator, "m:<key>", a separator, json
 * Returns the number of statuses written.
 */
export const STATUS_SET_MANY_LUA = `${PACKED_STATUS_LUA}
local now = ARGV[1]
local watched = redis.call('EXISTS', KEYS[2]) == 1
local index = new_index(KEYS[1])
local n = 0
local writes = {}
local first = 8 + 3 * tonumber(ARGV[7])
local ids = {}
for i = first, #ARGV do
  local id = packed_id(ARGV[i])
  ids[i] = id
  writes[id] = (writes[id] or 0) + 1
end
for i = first, #ARGV do
  local id = ids[i]
  writes[id] = writes[id] - 1
  if write_packed(ARGV[i], now, ARGV[2], ARGV[3], watched, index, writes[id] > 0) then n = n + 1 end
end
file_index(index, now, KEYS[1], ARGV[4], ARGV[5])
-- acks come after every status write: a write that fails stops the script before any ack.
-- As in ack-many, one ZREM per leases key and one XACK and XDEL per stream; a stale receipt's
-- entry was already acknowledged and deleted by whatever removed its lease.
if first > 8 then
  local leases = { by_key = {}, keys = {} }
  local entries = { by_key = {}, keys = {} }
  for i = 8, first - 1, 3 do
    add_to(leases, ARGV[i + 1], ARGV[i + 2])
    add_to(entries, ARGV[i], string.sub(ARGV[i + 2], 3))
  end
  run_grouped('ZREM', leases)
  for _, stream in ipairs(entries.keys) do
    local list = entries.by_key[stream]
    for i = 1, #list, 4000 do
      local last = math.min(#list, i + 3999)
      redis.call('XACK', stream, ARGV[6], unpack(list, i, last))
      redis.call('XDEL', stream, unpack(list, i, last))
    end
  end
end
return n
`;

/**
 * status-index: files statuses written one by one (the cluster path) under the listing and
 * operations indexes, records the queue names and adds the finished counts; optionally prunes
 * entries older than a horizon. Every index key shares the {results} hash tag.
 *
 * KEYS[1] SET of queue names that have a listing index
 * ARGV[1] updatedAt epoch ms
 * ARGV[2] prune horizon epoch ms ('' for none)
 * ARGV[3] queue index prefix (index = prefix .. queue)
 * ARGV[4..] groups of 5: task id, queue ('' for none), state, previous state ('' when new), previous queue
 * Returns 1.
 */
export const STATUS_INDEX_LUA = `${PACKED_STATUS_LUA}
local index = new_index(KEYS[1])
for i = 4, #ARGV, 5 do
  local old_state = ARGV[i + 3]
  local is_new = old_state == ''
  note_status(index, ARGV[1], ARGV[i], ARGV[i + 1], ARGV[i + 2], (not is_new) and old_state or nil, ARGV[i + 4], is_new)
end
file_index(index, ARGV[1], KEYS[1], ARGV[3], ARGV[2])
return 1
`;
