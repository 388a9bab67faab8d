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
export const ACK_MANY_LUA = `${QUEUE_LIB_LUA}
local n = 0
for i = 2, #ARGV, 2 do
  if settle(ARGV[1], tonumber(ARGV[i]), ARGV[i + 1]) then n = n + 1 end
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
