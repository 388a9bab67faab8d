/**
 * revoke-upsert: stores revocations where they are newer than the stored ones.
 *
 * KEYS[1] revokes HASH (task id → entry JSON)
 * KEYS[2] expiry ZSET (task id by expiresAt)
 * ARGV in groups of four: task id, version, entry JSON, expiresAt ('' for none)
 * Returns the number of entries written.
 */
export const REVOKE_UPSERT_LUA = `
local written = 0
for i = 1, #ARGV, 4 do
  local id = ARGV[i]
  local version = tonumber(ARGV[i + 1])
  local stored = redis.call('HGET', KEYS[1], id)
  if (not stored) or tonumber(cjson.decode(stored).version) < version then
    redis.call('HSET', KEYS[1], id, ARGV[i + 2])
    if ARGV[i + 3] == '' then
      redis.call('ZREM', KEYS[2], id)
    else
      redis.call('ZADD', KEYS[2], ARGV[i + 3], id)
    end
    written = written + 1
  end
end
return written
`;

/**
 * revoke-prune: deletes revocations expired at a time.
 *
 * KEYS[1] revokes HASH
 * KEYS[2] expiry ZSET
 * ARGV[1] now (epoch ms)
 * Returns the number deleted.
 */
export const REVOKE_PRUNE_LUA = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, 5000)
for _, id in ipairs(ids) do
  redis.call('HDEL', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
end
return #ids
`;

/**
 * pause-set: stores a queue's pause state if it is newer than the stored one.
 *
 * KEYS[1] pauses HASH (queue → entry JSON)
 * ARGV[1] queue
 * ARGV[2] version
 * ARGV[3] entry JSON
 * Returns 1 when written, 0 when a newer or equal version is stored.
 */
export const PAUSE_SET_LUA = `
local stored = redis.call('HGET', KEYS[1], ARGV[1])
if stored and tonumber(cjson.decode(stored).version) >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
`;

/**
 * heartbeat-record: stores a worker's heartbeat until server time + ttl and drops expired ones.
 *
 * KEYS[1] workers ZSET (worker id by expiry, server ms)
 * KEYS[2] heartbeats HASH (worker id → heartbeat JSON)
 * ARGV[1] worker id
 * ARGV[2] ttl ms
 * ARGV[3] heartbeat JSON
 * Returns 1.
 */
export const HEARTBEAT_RECORD_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 1000)
for _, id in ipairs(expired) do
  redis.call('HDEL', KEYS[2], id)
  redis.call('ZREM', KEYS[1], id)
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
return 1
`;

/**
 * heartbeat-list: the heartbeats that have not expired at server time.
 *
 * KEYS[1] workers ZSET
 * KEYS[2] heartbeats HASH
 * Returns heartbeat JSON strings.
 */
export const HEARTBEAT_LIST_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
if #ids == 0 then return {} end
local out = {}
for _, value in ipairs(redis.call('HMGET', KEYS[2], unpack(ids))) do
  if value then out[#out + 1] = value end
end
return out
`;

/**
 * heartbeat-remove: forgets a worker.
 *
 * KEYS[1] workers ZSET
 * KEYS[2] heartbeats HASH
 * ARGV[1] worker id
 * Returns 1.
 */
export const HEARTBEAT_REMOVE_LUA = `
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
`;
