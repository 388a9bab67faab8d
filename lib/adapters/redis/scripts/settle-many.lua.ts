import { QUEUE_LIB_LUA } from './queue-lib.lua.js';

/**
 * ack-many: acknowledges several leased deliveries of one queue at once. Stale receipts (lease
 * already gone) are skipped.
 *
 * KEYS: the queue layout of queue-lib (15 keys)
 * ARGV[1] consumer group
 * ARGV[2..] pairs of (priority, entry id)
 * Returns the number acknowledged.
 */
export const ACK_MANY_LUA = `
local members, ids = {}, {}
for i = 2, #ARGV, 2 do
  members[#members + 1] = ARGV[i] .. ':' .. ARGV[i + 1]
  ids[#ids + 1] = { tonumber(ARGV[i]), ARGV[i + 1] }
end
local scores = redis.call('ZMSCORE', KEYS[12], unpack(members))
local live, by_prio = {}, {}
for i, score in ipairs(scores) do
  if score then
    live[#live + 1] = members[i]
    local p = ids[i][1]
    by_prio[p] = by_prio[p] or {}
    table.insert(by_prio[p], ids[i][2])
  end
end
if #live == 0 then return 0 end
redis.call('ZREM', KEYS[12], unpack(live))
for p, list in pairs(by_prio) do
  redis.call('XACK', KEYS[p + 1], ARGV[1], unpack(list))
  redis.call('XDEL', KEYS[p + 1], unpack(list))
end
return #live
`;

/**
 * publish-many: publishes several envelopes of one queue at once (delayed ones to the delayed
 * ZSET).
 *
 * KEYS: the queue layout of queue-lib (15 keys)
 * ARGV: groups of 4 values per envelope: priority, lease ms ('' for default), envelope json,
 *       notBefore epoch ms (0 when none)
 * Returns the number published.
 */
export const PUBLISH_MANY_LUA = `${QUEUE_LIB_LUA}
local now = now_ms()
for i = 1, #ARGV, 4 do
  enqueue(tonumber(ARGV[i]), ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3]), now)
end
return #ARGV / 4
`;
