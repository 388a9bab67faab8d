/**
 * Scripts on the run indexes of the workflow store (all keys on the `{wf}` slot).
 *
 * The active ZSET holds every run that has not ended, scored by a time before which the run is
 * certainly not runnable (`running` with a free or expired lease): a write that may make a run
 * runnable sets the score to when that can happen and bumps the run's version in the versions
 * HASH; a recovery sweep that finds a run not runnable yet moves its score later (the lease
 * expiry; `+inf` while suspended) only if the version is still the one it read, so a concurrent
 * write that made the run runnable is never undone.
 */

/**
 * wf-index-add: indexes new runs.
 *
 * KEYS[1] all runs ZSET, KEYS[2] active ZSET, KEYS[3] versions HASH, KEYS[4..] the runs'
 * workflow ZSETs and parents' children ZSETs
 * ARGV    per run: id, createdAt, index in KEYS of its workflow's ZSET, index in KEYS of its
 *         parent's children ZSET (0 for none)
 */
export const WF_INDEX_ADD_LUA = `
for i = 1, #ARGV, 4 do
  local id, at, wf, parent = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3])
  redis.call('ZADD', KEYS[1], at, id)
  redis.call('ZADD', KEYS[wf], at, id)
  redis.call('ZADD', KEYS[2], at, id)
  redis.call('HINCRBY', KEYS[3], id, 1)
  if parent > 0 then redis.call('ZADD', KEYS[parent], at, id) end
end
return 1
`;

/**
 * wf-index-set: the index side of run transitions, in one call, in order.
 *
 * KEYS[1] active ZSET, KEYS[2] versions HASH, KEYS[3] due ZSET, KEYS[4] expiring ZSET
 * ARGV    per transition, six values:
 *   1 run id
 *   2 active: a score (the run may be runnable from then; bumps its version), 'end' (the run
 *     ended: out of the active index), or '' (unchanged)
 *   3 '1' to remove the run from the due index
 *   4 expiring member to add ('' for none), 5 its score
 *   6 expiring member to remove ('' for none)
 */
export const WF_INDEX_SET_LUA = `
for i = 1, #ARGV, 6 do
  local id = ARGV[i]
  if ARGV[i + 1] == 'end' then
    redis.call('ZREM', KEYS[1], id)
    redis.call('HDEL', KEYS[2], id)
  elseif ARGV[i + 1] ~= '' then
    redis.call('ZADD', KEYS[1], ARGV[i + 1], id)
    redis.call('HINCRBY', KEYS[2], id, 1)
  end
  if ARGV[i + 2] == '1' then redis.call('ZREM', KEYS[3], id) end
  if ARGV[i + 3] ~= '' then redis.call('ZADD', KEYS[4], ARGV[i + 4], ARGV[i + 3]) end
  if ARGV[i + 5] ~= '' then redis.call('ZREM', KEYS[4], ARGV[i + 5]) end
end
return 1
`;

/**
 * wf-active-scan: a page of the active runs whose score passed.
 *
 * KEYS[1] active ZSET, KEYS[2] versions HASH
 * ARGV[1] now, ARGV[2] offset, ARGV[3] count
 * Returns {ids, versions} (a missing version as '').
 */
export const WF_ACTIVE_SCAN_LUA = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', tonumber(ARGV[2]), tonumber(ARGV[3]))
if #ids == 0 then return {{}, {}} end
local versions = redis.call('HMGET', KEYS[2], unpack(ids))
for i = 1, #ids do versions[i] = versions[i] or '' end
return {ids, versions}
`;

/**
 * wf-active-defer: moves an active run's score later, or drops the entry, unless a write changed
 * its version since the sweep read it.
 *
 * KEYS[1] active ZSET, KEYS[2] versions HASH
 * ARGV[1] run id, ARGV[2] the version read ('' for none), ARGV[3] new score ('' drops the entry)
 * Returns 1 when changed, 0 when the entry is gone or its version moved on.
 */
export const WF_ACTIVE_DEFER_LUA = `
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
local version = redis.call('HGET', KEYS[2], ARGV[1]) or ''
if version ~= ARGV[2] then return 0 end
if ARGV[3] == '' then
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
else
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
end
return 1
`;
