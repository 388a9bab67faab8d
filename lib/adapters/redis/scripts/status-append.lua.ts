/**
 * status-append-meta: appends JSON values to the JSON array stored in one meta field of an
 * existing status (TTL unchanged) and publishes the status when watched; does nothing when the
 * status does not exist. The arrays are joined as text, so the stored values keep their exact
 * JSON (no decode/encode round trip through cjson, which would turn `[]` into `{}` and round
 * numbers). A field that does not hold a JSON array is replaced by the new array.
 *
 * KEYS[1] status HASH
 * KEYS[2] watchers counter of that status
 * ARGV[1] channel, ARGV[2] now epoch ms, ARGV[3] meta field ("m:<key>"),
 * ARGV[4] the values to append, as a non-empty JSON array
 * Returns 1 when appended, 0 when there was no status.
 */
export const STATUS_APPEND_META_LUA = `
local key = KEYS[1]
if redis.call('EXISTS', key) == 0 then return 0 end
local added = string.match(ARGV[4], '^%[(.*)%]$')
local current = redis.call('HGET', key, ARGV[3])
local list = ARGV[4]
if current then
  local items = string.match(current, '^%s*%[(.-)%s*%]%s*$')
  if items and string.match(items, '%S') then list = '[' .. items .. ',' .. added .. ']' end
end
redis.call('HSET', key, ARGV[3], list, 'updatedAt', ARGV[2])
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('PUBLISH', ARGV[1], cjson.encode(redis.call('HGETALL', key)))
end
return 1
`;
