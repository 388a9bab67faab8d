import { QUEUE_LIB_LUA } from './queue-lib.lua.js';

/**
 * fetch: moves due delayed envelopes to their streams, reclaims lapsed leases, then reads up to
 * `max` new entries, highest priority first, and leases each of them, all in one atomic step.
 *
 * KEYS: the queue layout of queue-lib (16 keys)
 * ARGV[1] consumer group
 * ARGV[2] consumer name
 * ARGV[3] max entries to read
 * ARGV[4] default lease ms (entries published without a visibility timeout)
 * ARGV[5] batch size for promotion and reclaim
 * ARGV[6] shortest lease ms an entry may ask for
 * ARGV[7] longest lease ms an entry may ask for
 * Returns { n, member1, body1, deadline1, flag1, ..., memberN, bodyN, deadlineN, flagN } for the n
 *   entries read (member = the lease member "<priority>:<entry id>"; flag = '' or, for an entry
 *   whose lease field is not a whole number of ms in range, that field: it is leased for the
 *   default lease like any other, and the caller dead-letters it), followed, when fewer than
 *   `max` were read, by the idle part: next due ms (-1 if none), now ms, last id of streams
 *   p0..p9, last id of signal (the last ids let the caller block on XREAD for anything newer
 *   without missing a write, without asking again first).
 *
 * Every entry is checked before anything is written for it, so one odd entry (a lease field such
 * as "nan", a delayed member or lease member this adapter did not write) never fails the script
 * after XREADGROUP moved the other entries of the batch to the pending list.
 */
export const FETCH_LUA = `${QUEUE_LIB_LUA}
local group, consumer = ARGV[1], ARGV[2]
local max = tonumber(ARGV[3])
local default_lease = tonumber(ARGV[4])
local batch = tonumber(ARGV[5])
local min_lease, max_lease = tonumber(ARGV[6]), tonumber(ARGV[7])
if not default_lease or default_lease ~= default_lease or default_lease < 1 or default_lease > max_lease then default_lease = 30000 end
local now = now_ms()
-- NOTE: numbers go to redis.call as strings made once: Redis formats a Lua number argument with
-- %.17g, which costs more than the command it is passed to.
local now_s = string.format('%d', now)

-- The lease of an entry, and '' or the field itself when it is not a whole number of ms in range.
local function lease_of(field)
  if field == nil or field == '' then return default_lease, '' end
  if #field <= 10 and string.find(field, '^%d+$') then
    local ms = tonumber(field)
    if ms >= min_lease and ms <= max_lease then return ms, '' end
  end
  return default_lease, string.sub(field, 1, 64)
end

local batch_s = string.format('%d', batch)
local due = redis.call('ZRANGEBYSCORE', KEYS[11], '-inf', now_s, 'LIMIT', '0', batch_s)
for _, member in ipairs(due) do
  local prio, lease_ms, body = string.match(member, '^(%d)|(%d*)|(.*)$')
  if prio then
    redis.call('XADD', KEYS[tonumber(prio) + 1], '*', 'e', body, 'v', lease_ms)
  else
    -- not a member this adapter wrote: hand it over as an entry, so a consumer dead-letters it
    redis.call('XADD', KEYS[1], '*', 'e', member, 'v', '')
  end
end
if #due > 0 then redis.call('ZREM', KEYS[11], unpack(due)) end

local lapsed = redis.call('ZRANGEBYSCORE', KEYS[12], '-inf', now_s, 'LIMIT', '0', batch_s)
for _, member in ipairs(lapsed) do
  local prio, id = string.match(member, '^(%d):(%d+%-%d+)$')
  if prio then
    local stream = KEYS[tonumber(prio) + 1]
    local entry = redis.call('XRANGE', stream, id, id)
    if #entry > 0 then
      redis.call('XACK', stream, group, id)
      redis.call('XDEL', stream, id)
      redis.call('XADD', stream, '*', unpack(entry[1][2]))
    end
  end
end
if #lapsed > 0 then redis.call('ZREM', KEYS[12], unpack(lapsed)) end

local out = { 0 }
local o = 1
local leases = {}
local l = 0
local n = 0
-- most queues use one priority: one EXISTS spares an XLEN per missing stream above p0
local above = redis.call('EXISTS', KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10]) > 0
for prio = 9, 0, -1 do
  if n >= max then break end
  local stream = KEYS[prio + 1]
  -- an empty stream has nothing to read (its group is created once it gets entries)
  local read = false
  if (prio == 0 or above) and redis.call('XLEN', stream) > 0 then
    local count = string.format('%d', max - n)
    read = redis.pcall('XREADGROUP', 'GROUP', group, consumer, 'COUNT', count, 'STREAMS', stream, '>')
    if type(read) == 'table' and read.err then
      if not string.find(read.err, 'NOGROUP', 1, true) then return redis.error_reply(read.err) end
      redis.call('XGROUP', 'CREATE', stream, group, '0', 'MKSTREAM')
      read = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', count, 'STREAMS', stream, '>')
    end
  end
  if read then
    local prefix = prio .. ':'
    for _, entry in ipairs(read[1][2]) do
      local fields = entry[2]
      local body, field = '', nil
      if fields[1] == 'e' and fields[3] == 'v' then
        body, field = fields[2], fields[4]
      else
        for i = 1, #fields, 2 do
          if fields[i] == 'e' then body = fields[i + 1] or '' elseif fields[i] == 'v' then field = fields[i + 1] end
        end
      end
      local lease_ms, flag = lease_of(field)
      local deadline = now + lease_ms
      local member = prefix .. entry[1]
      leases[l + 1] = string.format('%d', deadline)
      leases[l + 2] = member
      l = l + 2
      out[o + 1] = member
      out[o + 2] = body
      out[o + 3] = deadline
      out[o + 4] = flag
      o = o + 4
      n = n + 1
    end
  end
end
if n > 0 then
  redis.call('ZADD', KEYS[12], unpack(leases))
  out[1] = n
  if n >= max then return out end
end

-- nothing more is ready: what the caller needs to block until something is
local next_due = -1
local head = redis.call('ZRANGE', KEYS[11], '0', '0', 'WITHSCORES')
if #head > 0 then next_due = tonumber(head[2]) end
head = redis.call('ZRANGE', KEYS[12], '0', '0', 'WITHSCORES')
if #head > 0 and (next_due < 0 or tonumber(head[2]) < next_due) then next_due = tonumber(head[2]) end
out[#out + 1] = next_due
out[#out + 1] = now
for i = 1, 11 do
  local key = KEYS[i]
  if i == 11 then key = KEYS[13] end
  local last = {}
  if i == 1 or i == 11 or above then last = redis.call('XREVRANGE', key, '+', '-', 'COUNT', '1') end
  if #last > 0 then out[#out + 1] = last[1][1] else out[#out + 1] = '0-0' end
end
return out
`;
