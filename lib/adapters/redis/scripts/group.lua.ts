/**
 * Shared Lua of the group scripts: `snapshot()` returns
 * `{expected, meta, createdAt, expiresAt, claimedBy, claimExpiresAt, dispatched, idx1, json1, ...}`.
 */
const GROUP_SNAPSHOT_LUA = `
local function snapshot()
  local head = redis.call('HMGET', KEYS[1], 'expected', 'meta', 'createdAt', 'expiresAt', 'claimedBy', 'claimExpiresAt', 'dispatched')
  local out = { head[1], head[2], head[3], head[4], head[5] or '', head[6] or '', head[7] or '' }
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
 * group-create: creates a group unless one exists (an expired group's keys are gone already).
 *
 * KEYS[1] group HASH
 * KEYS[2] member results HASH
 * ARGV[1] expected members
 * ARGV[2] meta JSON
 * ARGV[3] createdAt epoch ms
 * ARGV[4] ttl ms
 * Returns `{1, snapshot}` when created, `{0, snapshot}` with the existing group otherwise.
 */
export const GROUP_CREATE_LUA = `${GROUP_SNAPSHOT_LUA}
if redis.call('EXISTS', KEYS[1]) == 1 then return { 0, snapshot() } end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], 'expected', ARGV[1], 'meta', ARGV[2], 'createdAt', ARGV[3], 'expiresAt', tostring(tonumber(ARGV[3]) + tonumber(ARGV[4])))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return { 1, snapshot() }
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
 * chord-claim: takes the chord claim when nobody holds it or the holder's deadline passed, and
 * the chord is not dispatched. A claim without a deadline (written before claims had one) counts
 * as lapsed.
 *
 * KEYS[1] group HASH
 * ARGV[1] callback task id
 * ARGV[2] now, epoch ms
 * ARGV[3] claim timeout ms
 * Returns 1 for the winner, 0 otherwise (and for missing groups).
 */
export const CHORD_CLAIM_LUA = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local held = redis.call('HMGET', KEYS[1], 'claimedBy', 'claimExpiresAt', 'dispatched')
if held[3] == '1' then return 0 end
local now = tonumber(ARGV[2])
if held[1] and (tonumber(held[2] or '') or 0) > now then return 0 end
redis.call('HSET', KEYS[1], 'claimedBy', ARGV[1], 'claimExpiresAt', tostring(now + tonumber(ARGV[3])))
return 1
`;

/**
 * chord-release: clears the claim if this callback holds it and the chord is not dispatched.
 *
 * KEYS[1] group HASH
 * ARGV[1] callback task id
 * Returns 1 when released, 0 otherwise.
 */
export const CHORD_RELEASE_LUA = `
local held = redis.call('HMGET', KEYS[1], 'claimedBy', 'dispatched')
if held[1] ~= ARGV[1] or held[2] == '1' then return 0 end
return redis.call('HDEL', KEYS[1], 'claimedBy', 'claimExpiresAt')
`;

/**
 * chord-dispatched: records the callback as published; the claim never lapses afterwards.
 *
 * KEYS[1] group HASH
 * ARGV[1] callback task id
 * Returns 1, or 0 for missing groups.
 */
export const CHORD_DISPATCHED_LUA = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'claimedBy', ARGV[1], 'dispatched', '1')
redis.call('HDEL', KEYS[1], 'claimExpiresAt')
return 1
`;
