import { QUEUE_LIB_LUA } from './queue-lib.lua.js';

/**
 * dead-letter: settles a delivery and stores it as a dead letter in the same step.
 *
 * KEYS: the queue layout of queue-lib (15 keys)
 * ARGV[1] consumer group
 * ARGV[2] priority of the delivered entry
 * ARGV[3] entry id
 * ARGV[4] task id (dead letters are keyed by it)
 * ARGV[5] dead letter entry json
 * ARGV[6] deadAt epoch ms
 * Returns 1 when dead-lettered, 0 for a stale receipt.
 */
export const DEAD_LETTER_LUA = `${QUEUE_LIB_LUA}
if not settle(ARGV[1], tonumber(ARGV[2]), ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[14], ARGV[6], ARGV[4])
redis.call('HSET', KEYS[15], ARGV[4], ARGV[5])
return 1
`;

/**
 * replay-dead-letters: re-publishes dead letters that are still there (a concurrent replay or
 * purge may have taken some) and removes them from the dead letters.
 *
 * KEYS: the queue layout of queue-lib (15 keys)
 * ARGV[1] number of entries N; then per entry 5 values:
 *   task id, priority, lease ms ('' for default), envelope json, notBefore epoch ms (0 when none)
 * Returns the task ids replayed.
 */
export const REPLAY_DEAD_LETTERS_LUA = `${QUEUE_LIB_LUA}
local now = now_ms()
local out = {}
for i = 0, tonumber(ARGV[1]) - 1 do
  local b = 2 + i * 5
  if redis.call('ZREM', KEYS[14], ARGV[b]) == 1 then
    redis.call('HDEL', KEYS[15], ARGV[b])
    enqueue(tonumber(ARGV[b + 1]), ARGV[b + 2], ARGV[b + 3], tonumber(ARGV[b + 4]), now)
    out[#out + 1] = ARGV[b]
  end
end
return out
`;

/**
 * purge-dead-letters: deletes dead letters, oldest first.
 *
 * KEYS[1] dead letters ZSET
 * KEYS[2] dead letter entries HASH
 * ARGV[1] since: min deadAt ('-inf' for all)
 * ARGV[2] limit (-1 for all)
 * Returns the number deleted.
 */
export const PURGE_DEAD_LETTERS_LUA = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf', 'LIMIT', 0, tonumber(ARGV[2]))
for i = 1, #ids, 500 do
  local chunk = { unpack(ids, i, math.min(i + 499, #ids)) }
  redis.call('ZREM', KEYS[1], unpack(chunk))
  redis.call('HDEL', KEYS[2], unpack(chunk))
end
return #ids
`;
