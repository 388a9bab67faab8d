/**
 * lock-acquire: takes a lock for an owner (re-acquiring refreshes the TTL for the same owner).
 *
 * KEYS[1] lock key
 * ARGV[1] owner
 * ARGV[2] ttl ms
 * Returns 1 when held by the owner now, 0 when another owner holds it.
 */
export const LOCK_ACQUIRE_LUA = `
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if current then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`;

/**
 * lock-renew: compare-and-pexpire.
 *
 * KEYS[1] lock key
 * ARGV[1] owner
 * ARGV[2] ttl ms
 * Returns 1 when renewed, 0 when the owner does not hold it.
 */
export const LOCK_RENEW_LUA = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`;

/**
 * lock-release: compare-and-delete.
 *
 * KEYS[1] lock key
 * ARGV[1] owner
 * Returns 1 when released, 0 when the owner does not hold it.
 */
export const LOCK_RELEASE_LUA = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
`;
