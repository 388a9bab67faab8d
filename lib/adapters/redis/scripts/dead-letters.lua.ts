import { QUEUE_LIB_LUA } from './queue-lib.lua.js';

/**
 * Lua helper of the dead-letter scripts: deletes dead letters by ref (`<dead-letter id>:<task id>`,
 * the id being 36 characters) from the ZSET, the HASH and the by-task index.
 */
const DROP_DEAD_LUA = `
local function drop_dead(zset, hash, index, refs)
  for i = 1, #refs, 500 do
    local chunk = { unpack(refs, i, math.min(i + 499, #refs)) }
    local members = {}
    for j, ref in ipairs(chunk) do members[j] = string.sub(ref, 38) .. '\\0' .. string.sub(ref, 1, 36) end
    redis.call('ZREM', zset, unpack(chunk))
    redis.call('HDEL', hash, unpack(chunk))
    redis.call('ZREM', index, unpack(members))
  end
end
`;

/**
 * dead-letter: settles a delivery and stores it as a dead letter of its own in the same step, then
 * deletes a bounded batch of dead letters older than the retention.
 *
 * KEYS: the queue layout of queue-lib (16 keys)
 * ARGV[1] consumer group
 * ARGV[2] priority of the delivered entry
 * ARGV[3] entry id
 * ARGV[4] dead-letter id (36 characters, unique per dead letter)
 * ARGV[5] task id
 * ARGV[6] dead letter entry json
 * ARGV[7] deadAt epoch ms
 * ARGV[8] retention cutoff epoch ms: dead letters before it are deleted (-1 keeps all)
 * ARGV[9] most old dead letters deleted by this call
 * Returns 1 when dead-lettered, 0 for a stale receipt.
 */
export const DEAD_LETTER_LUA = `${QUEUE_LIB_LUA}${DROP_DEAD_LUA}
if not settle(ARGV[1], tonumber(ARGV[2]), ARGV[3]) then return 0 end
local ref = ARGV[4] .. ':' .. ARGV[5]
redis.call('ZADD', KEYS[14], ARGV[7], ref)
redis.call('HSET', KEYS[15], ref, ARGV[6])
redis.call('ZADD', KEYS[16], 0, ARGV[5] .. '\\0' .. ARGV[4])
local cutoff = tonumber(ARGV[8])
if cutoff >= 0 then
  drop_dead(KEYS[14], KEYS[15], KEYS[16], redis.call('ZRANGEBYSCORE', KEYS[14], '-inf', '(' .. cutoff, 'LIMIT', 0, tonumber(ARGV[9])))
end
return 1
`;

/**
 * replay-dead-letters: re-publishes dead letters that are still there (a concurrent replay or
 * purge may have taken some) and removes them from the dead letters.
 *
 * KEYS: the queue layout of queue-lib (16 keys)
 * ARGV[1] number of entries N; then per entry 5 values:
 *   dead-letter ref, priority, lease ms ('' for default), envelope json, notBefore epoch ms (0 when none)
 * Returns the refs replayed.
 */
export const REPLAY_DEAD_LETTERS_LUA = `${QUEUE_LIB_LUA}${DROP_DEAD_LUA}
local now = now_ms()
local out = {}
for i = 0, tonumber(ARGV[1]) - 1 do
  local b = 2 + i * 5
  if redis.call('ZSCORE', KEYS[14], ARGV[b]) then
    drop_dead(KEYS[14], KEYS[15], KEYS[16], { ARGV[b] })
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
 * KEYS[3] dead letters by task ZSET
 * ARGV[1] since: min deadAt ('-inf' for all)
 * ARGV[2] limit (-1 for all)
 * ARGV[3] before: deadAt bound, exclusive ('+inf' for all)
 * Returns the number deleted.
 */
export const PURGE_DEAD_LETTERS_LUA = `${DROP_DEAD_LUA}
local refs = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[3], 'LIMIT', 0, tonumber(ARGV[2]))
drop_dead(KEYS[1], KEYS[2], KEYS[3], refs)
return #refs
`;

/**
 * purge-dead-letter-refs: deletes the given dead letters that are still there (a concurrent
 * replay or purge may have taken some).
 *
 * KEYS[1] dead letters ZSET
 * KEYS[2] dead letter entries HASH
 * KEYS[3] dead letters by task ZSET
 * ARGV the refs
 * Returns the number deleted.
 */
export const PURGE_DEAD_LETTER_REFS_LUA = `${DROP_DEAD_LUA}
local refs = {}
for _, ref in ipairs(ARGV) do
  if redis.call('ZSCORE', KEYS[1], ref) then refs[#refs + 1] = ref end
end
if #refs > 0 then drop_dead(KEYS[1], KEYS[2], KEYS[3], refs) end
return #refs
`;
