import { QUEUE_LIB_LUA } from './queue-lib.lua.js';

/**
 * ack-many: acknowledges several leased deliveries of one queue at once. Stale receipts (lease
 * already gone) are skipped.
 *
 * KEYS: the queue layout of queue-lib (15 keys)
 * ARGV[1] consumer group
 * ARGV[2..] lease members "<priority>:<entry id>"
 * Returns the number acknowledged.
 */
export const ACK_MANY_LUA = `
local members = { unpack(ARGV, 2) }
local scores = redis.call('ZMSCORE', KEYS[12], unpack(members))
local live, by_prio, n = {}, {}, 0
for i, score in ipairs(scores) do
  if score then
    local member = members[i]
    n = n + 1
    live[n] = member
    local p = string.byte(member, 1) - 47
    local list = by_prio[p]
    if not list then list = {}; by_prio[p] = list end
    list[#list + 1] = string.sub(member, 3)
  end
end
if n == 0 then return 0 end
redis.call('ZREM', KEYS[12], unpack(live))
for p, list in pairs(by_prio) do
  redis.call('XACK', KEYS[p], ARGV[1], unpack(list))
  redis.call('XDEL', KEYS[p], unpack(list))
end
return n
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
