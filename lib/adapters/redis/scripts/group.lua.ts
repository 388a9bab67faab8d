/**
 * Shared Lua of the group scripts: `snapshot()` returns
 * `{expected, meta, createdAt, expiresAt, claimedBy, idx1, json1, idx2, json2, ...}`.
 */
const GROUP_SNAPSHOT_LUA = `
local function snapshot()
  local head = redis.call('HMGET', KEYS[1], 'expected', 'meta', 'createdAt', 'expiresAt', 'claimedBy')
  local out = { head[1], head[2], head[3], head[4], head[5] or '' }
  local results = redis.call('HGETALL', KEYS[2])
  for i = 1, #results do out[#out + 1] = results[i] end
  return out
end
`;

/**
 * group-init: creates or resets a group.
 *
 * KEYS[1] group HASH
 * KEYS[2] member results HASH
 * ARGV[1] expected members
 * ARGV[2] meta JSON
 * ARGV[3] createdAt epoch ms
 * ARGV[4] ttl ms
 * Returns 1.
 */
export const GROUP_INIT_LUA = `
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[1], 'expected', ARGV[1], 'meta', ARGV[2], 'createdAt', ARGV[3], 'expiresAt', tostring(tonumber(ARGV[3]) + tonumber(ARGV[4])))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
`;

/**
 * group-add: records the result of one member and returns the snapshot.
 *
 * KEYS[1] group HASH
 * KEYS[2] member results HASH
 * ARGV[1] member index
 * ARGV[2] result JSON
 * Returns the snapshot, nil when the group is missing or expired, or an error `RANGE` when the
 * index is outside the group.
 */
export const GROUP_ADD_LUA = `${GROUP_SNAPSHOT_LUA}
if redis.call('EXISTS', KEYS[1]) == 0 then return nil end
local expected = tonumber(redis.call('HGET', KEYS[1], 'expected'))
local index = tonumber(ARGV[1])
if index == nil or index < 0 or index >= expected or index % 1 ~= 0 then return redis.error_reply('RANGE') end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
return snapshot()
`;

/**
 * group-get: reads a group.
 *
 * KEYS[1] group HASH
 * KEYS[2] member results HASH
 * Returns the snapshot, or nil when the group is missing or expired.
 */
export const GROUP_GET_LUA = `${GROUP_SNAPSHOT_LUA}
if redis.call('EXISTS', KEYS[1]) == 0 then return nil end
return snapshot()
`;

/**
 * chord-claim: the first caller sets `claimedBy`.
 *
 * KEYS[1] group HASH
 * ARGV[1] callback task id
 * Returns 1 for the winner, 0 otherwise (and for missing groups).
 */
export const CHORD_CLAIM_LUA = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
return redis.call('HSETNX', KEYS[1], 'claimedBy', ARGV[1])
`;

/**
 * chord-release: clears `claimedBy` if this callback holds it.
 *
 * KEYS[1] group HASH
 * ARGV[1] callback task id
 * Returns 1 when released, 0 otherwise.
 */
export const CHORD_RELEASE_LUA = `
if redis.call('HGET', KEYS[1], 'claimedBy') ~= ARGV[1] then return 0 end
return redis.call('HDEL', KEYS[1], 'claimedBy')
`;
