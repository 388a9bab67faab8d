/**
 * status-counts: live statuses per state, from the per-state listing indexes (entries updated
 * since the horizon), for one queue or every queue that has a listing index.
 *
 * KEYS[1] SET of queue names that have a listing index
 * ARGV[1] operations index base (`RedisKeys.statusIndexBase`)
 * ARGV[2] horizon epoch ms (entries updated before it are past the default TTL)
 * ARGV[3] '1' for one queue (ARGV[4]), '' for all
 * ARGV[4] the queue
 * Returns the counts of queued, running, succeeded, failed, retried, cancelled.
 */
export const STATUS_COUNTS_LUA = `
local states = { 'queued', 'running', 'succeeded', 'failed', 'retried', 'cancelled' }
local queues = ARGV[3] == '1' and { ARGV[4] } or redis.call('SMEMBERS', KEYS[1])
local counts = { 0, 0, 0, 0, 0, 0 }
for _, queue in ipairs(queues) do
  for i, state in ipairs(states) do
    counts[i] = counts[i] + redis.call('ZCOUNT', ARGV[1] .. 'state:' .. state .. ':' .. queue, ARGV[2], '+inf')
  end
end
return counts
`;

/**
 * status-skip: where a deep page of several listing indexes (merged by score, highest first)
 * starts: finds, by a binary search on scores, the lowest integer score t such that at most
 * ARGV[1] entries of all the indexes have a score of t or more, and returns that count per index
 * (the rank each index is read from). Every index key shares the {results} hash tag.
 *
 * KEYS the listing indexes (ZSETs by updatedAt)
 * ARGV[1] entries to skip at most
 * Returns the count per key, in KEYS order.
 */
export const STATUS_SKIP_LUA = `
local n = tonumber(ARGV[1])
local lo, hi
for _, key in ipairs(KEYS) do
  local top = redis.call('ZREVRANGE', key, 0, 0, 'WITHSCORES')
  if #top > 0 then
    local bottom = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    local t, b = math.floor(tonumber(top[2])) + 1, math.floor(tonumber(bottom[2]))
    if not hi or t > hi then hi = t end
    if not lo or b < lo then lo = b end
  end
end
local out = {}
for i = 1, #KEYS do out[i] = 0 end
if not hi then return out end
while hi - lo > 1 do
  local mid = math.floor((lo + hi) / 2)
  local total, counts = 0, {}
  for i, key in ipairs(KEYS) do
    counts[i] = redis.call('ZCOUNT', key, mid, '+inf')
    total = total + counts[i]
  end
  if total <= n then hi = mid; out = counts else lo = mid end
end
return out
`;
