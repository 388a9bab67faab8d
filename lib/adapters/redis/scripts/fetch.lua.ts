import { QUEUE_LIB_LUA } from './queue-lib.lua.js';

/**
 * fetch: moves due delayed envelopes to their streams, reclaims lapsed leases, then reads up to
 * `max` new entries, highest priority first, and leases each of them, all in one atomic step.
 *
 * KEYS: the queue layout of queue-lib (15 keys)
 * ARGV[1] consumer group
 * ARGV[2] consumer name
 * ARGV[3] max entries to read
 * ARGV[4] default lease ms (entries published without a visibility timeout)
 * ARGV[5] batch size for promotion and reclaim
 * Returns, when entries were read: { n, member1, body1, deadline1, ..., memberN, bodyN, deadlineN }
 *   (member = the lease member "<priority>:<entry id>")
 *   otherwise: { 0, next due ms (-1 if none), now ms, last id of streams p0..p9, last id of signal }
 *   (the last ids let the caller block on XREAD for anything newer without missing a write).
 */
export const FETCH_LUA = `${QUEUE_LIB_LUA}
local group, consumer = ARGV[1], ARGV[2]
local max = tonumber(ARGV[3])
local default_lease = tonumber(ARGV[4])
local batch = tonumber(ARGV[5])
local now = now_ms()

local due = redis.call('ZRANGEBYSCORE', KEYS[11], '-inf', now, 'LIMIT', 0, batch)
for _, member in ipairs(due) do
  local prio, lease_ms, body = string.match(member, '^(%d)|(%d*)|(.*)$')
  if prio then
    redis.call('XADD', KEYS[tonumber(prio) + 1], '*', 'e', body, 'v', lease_ms)
  end
end
if #due > 0 then redis.call('ZREM', KEYS[11], unpack(due)) end

local lapsed = redis.call('ZRANGEBYSCORE', KEYS[12], '-inf', now, 'LIMIT', 0, batch)
for _, member in ipairs(lapsed) do
  local stream = KEYS[tonumber(string.sub(member, 1, 1)) + 1]
  local id = string.sub(member, 3)
  local entry = redis.call('XRANGE', stream, id, id)
  if #entry > 0 then
    redis.call('XACK', stream, group, id)
    redis.call('XDEL', stream, id)
    redis.call('XADD', stream, '*', unpack(entry[1][2]))
  end
end
if #lapsed > 0 then redis.call('ZREM', KEYS[12], unpack(lapsed)) end

local out = { 0 }
local o = 1
local leases = {}
local l = 0
local n = 0
for prio = 9, 0, -1 do
  if n >= max then break end
  local stream = KEYS[prio + 1]
  -- an empty stream has nothing to read (its group is created once it gets entries)
  local read = false
  if redis.call('XLEN', stream) > 0 then
    read = redis.pcall('XREADGROUP', 'GROUP', group, consumer, 'COUNT', max - n, 'STREAMS', stream, '>')
    if type(read) == 'table' and read.err then
      if not string.find(read.err, 'NOGROUP', 1, true) then return redis.error_reply(read.err) end
      redis.call('XGROUP', 'CREATE', stream, group, '0', 'MKSTREAM')
      read = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', max - n, 'STREAMS', stream, '>')
    end
  end
  if read then
    local prefix = prio .. ':'
    for _, entry in ipairs(read[1][2]) do
      local fields = entry[2]
      local body, lease_ms = '', nil
      if fields[1] == 'e' and fields[3] == 'v' then
        body, lease_ms = fields[2], tonumber(fields[4])
      else
        for i = 1, #fields, 2 do
          if fields[i] == 'e' then body = fields[i + 1] elseif fields[i] == 'v' then lease_ms = tonumber(fields[i + 1]) end
        end
      end
      if not lease_ms or lease_ms <= 0 then lease_ms = default_lease end
      local deadline = now + lease_ms
      local member = prefix .. entry[1]
      leases[l + 1] = deadline
      leases[l + 2] = member
      l = l + 2
      out[o + 1] = member
      out[o + 2] = body
      out[o + 3] = deadline
      o = o + 3
      n = n + 1
    end
  end
end
if n > 0 then
  redis.call('ZADD', KEYS[12], unpack(leases))
  out[1] = n
  return out
end

local next_due = -1
local head = redis.call('ZRANGE', KEYS[11], 0, 0, 'WITHSCORES')
if #head > 0 then next_due = tonumber(head[2]) end
head = redis.call('ZRANGE', KEYS[12], 0, 0, 'WITHSCORES')
if #head > 0 and (next_due < 0 or tonumber(head[2]) < next_due) then next_due = tonumber(head[2]) end
local res = { 0, next_due, now }
for i = 1, 11 do
  local key = KEYS[i]
  if i == 11 then key = KEYS[13] end
  local last = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)
  if #last > 0 then res[#res + 1] = last[1][1] else res[#res + 1] = '0-0' end
end
return res
`;
