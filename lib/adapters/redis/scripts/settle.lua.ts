import { QUEUE_LIB_LUA } from './queue-lib.lua.js';

/**
 * nack: settles a delivery and, when requeueing, publishes the replacement envelope in the same
 * step (to its stream, or to the delayed ZSET when its notBefore is in the future).
 *
 * KEYS: the queue layout of queue-lib (16 keys)
 * ARGV[1] consumer group
 * ARGV[2] priority of the delivered entry
 * ARGV[3] entry id
 * ARGV[4] '1' to requeue, '0' to drop
 * ARGV[5] priority of the replacement
 * ARGV[6] lease ms of the replacement ('' for the consumer default)
 * ARGV[7] replacement envelope json
 * ARGV[8] replacement notBefore epoch ms (0 when none)
 * Returns 1 when settled, 0 for a stale receipt.
 */
export const NACK_LUA = `${QUEUE_LIB_LUA}
if not settle(ARGV[1], tonumber(ARGV[2]), ARGV[3]) then return 0 end
if ARGV[4] == '1' then enqueue(tonumber(ARGV[5]), ARGV[6], ARGV[7], tonumber(ARGV[8]), now_ms()) end
return 1
`;

/**
 * extend-lease: moves the deadline of a live lease to now + ms. The entry stays where it is, so
 * the same delivery continues; nothing is republished.
 *
 * KEYS[1] leases ZSET
 * ARGV[1] lease member "<priority>:<entry id>"
 * ARGV[2] ms from now
 * Returns the new deadline (epoch ms), or -1 when the lease is gone.
 */
export const EXTEND_LEASE_LUA = `${QUEUE_LIB_LUA}
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return -1 end
local deadline = now_ms() + tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], deadline, ARGV[1])
return deadline
`;

/**
 * publish-delayed: parks an envelope until its notBefore (or makes it ready if that already
 * passed by the server clock).
 *
 * KEYS: the queue layout of queue-lib (16 keys)
 * ARGV[1] priority
 * ARGV[2] lease ms ('' for the consumer default)
 * ARGV[3] envelope json
 * ARGV[4] notBefore epoch ms
 * Returns 1.
 */
export const PUBLISH_DELAYED_LUA = `${QUEUE_LIB_LUA}
enqueue(tonumber(ARGV[1]), ARGV[2], ARGV[3], tonumber(ARGV[4]), now_ms())
return 1
`;
