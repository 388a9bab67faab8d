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
