import { QUEUE_LIB_LUA } from './queue-lib.lua.js';

/**
 * ack-many: acknowledges several leased deliveries of one queue at once. Stale receipts (lease
 * already gone) are no-ops: whatever removed the lease (a settle, or a reclaim that re-added the
 * entry under a new id) also acknowledged and deleted the entry, and entry ids are never reused.
 *
 * KEYS: the queue layout of queue-lib (16 keys)
 * ARGV[1] consumer group
 * ARGV[2..] lease members "<priority>:<entry id>"
 * Returns the number acknowledged.
 */
export const ACK_MANY_LUA = `
local n = redis.call('ZREM', KEYS[12], unpack(ARGV, 2))
if n == 0 then return 0 end
local by_prio = {}
for i = 2, #ARGV do
  local member = ARGV[i]
  local p = string.byte(member, 1) - 47
  local list = by_prio[p]
  if not list then list = {}; by_prio[p] = list end
  list[#list + 1] = string.sub(member, 3)
end
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
 * KEYS: the queue layout of queue-lib (16 keys)
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
