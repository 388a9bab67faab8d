import { QUEUE_LIB_LUA } from './queue-lib.lua.js';

/**
 * purge-queue: deletes every envelope not yet delivered (ready entries past the group's
 * last-delivered id, and delayed ones) and every dead letter. Leased entries stay with their
 * consumers.
 *
 * KEYS: the queue layout of queue-lib (16 keys)
 * ARGV[1] consumer group
 * Returns the number of envelopes removed (ready + delayed).
 */
export const PURGE_QUEUE_LUA = `
local removed = 0
for p = 1, 10 do
  local stream = KEYS[p]
  local last = nil
  local groups = redis.pcall('XINFO', 'GROUPS', stream)
  if type(groups) == 'table' and not groups.err then
    for _, g in ipairs(groups) do
      local name, last_id
      for i = 1, #g, 2 do
        if g[i] == 'name' then name = g[i + 1] elseif g[i] == 'last-delivered-id' then last_id = g[i + 1] end
      end
      if name == ARGV[1] then last = last_id end
    end
  end
  if last == nil then
    removed = removed + redis.call('XLEN', stream)
    redis.call('DEL', stream)
  else
    while true do
      local entries = redis.call('XRANGE', stream, '(' .. last, '+', 'COUNT', 500)
      if #entries == 0 then break end
      local ids = {}
      for i, e in ipairs(entries) do ids[i] = e[1] end
      redis.call('XDEL', stream, unpack(ids))
      removed = removed + #ids
      last = ids[#ids]
    end
  end
end
removed = removed + redis.call('ZCARD', KEYS[11])
redis.call('DEL', KEYS[11], KEYS[14], KEYS[15], KEYS[16])
return removed
`;

/**
 * queue-counts: how many envelopes are ready, leased and delayed.
 *
 * KEYS: the queue layout of queue-lib (16 keys)
 * ARGV[1] consumer group
 * Returns { ready, inflight, delayed }.
 */
export const QUEUE_COUNTS_LUA = `
local ready = 0
for p = 1, 10 do
  local len = redis.call('XLEN', KEYS[p])
  if len > 0 then
    local pending = redis.pcall('XPENDING', KEYS[p], ARGV[1])
    if type(pending) == 'table' and not pending.err then len = len - tonumber(pending[1]) end
    ready = ready + len
  end
end
return { ready, redis.call('ZCARD', KEYS[12]), redis.call('ZCARD', KEYS[11]) }
`;

/**
 * release-consumer: removes a consumer from the group of each stream where it holds nothing, so
 * consumer names of stopped workers do not pile up.
 *
 * KEYS: the queue layout of queue-lib (16 keys)
 * ARGV[1] consumer group
 * ARGV[2] consumer name
 * Returns the number of streams it was removed from.
 */
export const RELEASE_CONSUMER_LUA = `
local n = 0
for p = 1, 10 do
  local pending = redis.pcall('XPENDING', KEYS[p], ARGV[1], '-', '+', 1, ARGV[2])
  if type(pending) == 'table' and not pending.err and #pending == 0 then
    redis.pcall('XGROUP', 'DELCONSUMER', KEYS[p], ARGV[1], ARGV[2])
    n = n + 1
  end
end
return n
`;

/**
 * queue-stats: every count of a queue in one atomic step: ready (stream entries not leased,
 * plus delayed ones already due), delayed (not due yet), leased, dead letters, and when the
 * oldest ready envelope became ready (the first entry after each stream's last-delivered id,
 * or the earliest due delayed one).
 *
 * KEYS: the queue layout of queue-lib (16 keys)
 * ARGV[1] consumer group
 * Returns { ready, delayed, inflight, dead letters, oldest ready epoch ms or -1 }.
 */
export const QUEUE_STATS_LUA = `${QUEUE_LIB_LUA}
local now = now_ms()
local ready, oldest = 0, -1
local function seen(ms)
  if ms and (oldest < 0 or ms < oldest) then oldest = ms end
end
for p = 1, 10 do
  local len = redis.call('XLEN', KEYS[p])
  if len > 0 then
    local last = '0-0'
    local pending = redis.pcall('XPENDING', KEYS[p], ARGV[1])
    if type(pending) == 'table' and not pending.err then len = len - tonumber(pending[1]) end
    local groups = redis.pcall('XINFO', 'GROUPS', KEYS[p])
    if type(groups) == 'table' and not groups.err then
      for _, g in ipairs(groups) do
        local name, last_id
        for i = 1, #g, 2 do
          if g[i] == 'name' then name = g[i + 1] elseif g[i] == 'last-delivered-id' then last_id = g[i + 1] end
        end
        if name == ARGV[1] then last = last_id end
      end
    end
    ready = ready + len
    if len > 0 then
      local first = redis.call('XRANGE', KEYS[p], '(' .. last, '+', 'COUNT', 1)
      if #first > 0 then seen(tonumber(string.match(first[1][1], '^(%d+)'))) end
    end
  end
end
local due = redis.call('ZCOUNT', KEYS[11], '-inf', now)
if due > 0 then
  local first = redis.call('ZRANGEBYSCORE', KEYS[11], '-inf', now, 'WITHSCORES', 'LIMIT', 0, 1)
  seen(tonumber(first[2]))
end
local total_delayed = redis.call('ZCARD', KEYS[11])
return { ready + due, total_delayed - due, redis.call('ZCARD', KEYS[12]), redis.call('ZCARD', KEYS[14]), oldest }
`;
