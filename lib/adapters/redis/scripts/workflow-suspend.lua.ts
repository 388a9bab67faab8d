import { WORKFLOW_LIB_LUA } from './workflow-lib.lua.js';

/**
 * wf-suspend: suspends a running run on a sleep, a step retry's delay, an event topic or a signal. A signal wait is
 * refused while a signal of that name is already waiting.
 *
 * KEYS[1..4] run keys (see workflow-lib)
 * ARGV[1] now
 * ARGV[2] owner id ('' for none)
 * ARGV[3] kind: sleep | retry | event | signal
 * ARGV[4] checkpoint name of the suspending step
 * ARGV[5] suspension JSON
 * ARGV[6] resumeAt ('' for none)
 * ARGV[7] topic ('' unless event)
 * ARGV[8] signal name ('' unless signal)
 * ARGV[9] suspension data JSON ('' for none)
 * Returns 1 when suspended, else 0.
 */
export const WF_SUSPEND_LUA = `${WORKFLOW_LIB_LUA}
if hget('st') ~= 'running' or not owns(ARGV[2], tonumber(ARGV[1])) then return 0 end
if ARGV[3] == 'signal' then
  for _, entry in ipairs(redis.call('LRANGE', KEYS[4], 0, -1)) do
    local name = parse_signal(entry)
    if name == ARGV[8] then return 0 end
  end
end
redis.call('HDEL', KEYS[1], 'rd')
redis.call('HSET', KEYS[1], 'st', 'suspended', 'sus', ARGV[5], 'sT', ARGV[3], 'sS', ARGV[4], 'sSig', ARGV[8], 'ra', ARGV[6],
  'wt', ARGV[7], 'rdS', '', 'rdT', '', 'uAt', ARGV[1])
if ARGV[9] == '' then redis.call('HDEL', KEYS[1], 'sD') else redis.call('HSET', KEYS[1], 'sD', ARGV[9]) end
return 1
`;

/**
 * wf-resolve: delivers an event to one watcher's run, exactly once: the run must still wait on
 * the topic; its payload is stored as resume data and the run is due now.
 *
 * KEYS[1..4] run keys
 * ARGV[1] topic
 * ARGV[2] payload JSON
 * ARGV[3] now
 * Returns {1, workflow, step, resume data JSON} when resolved; {2} when the run is running (it may
 * be registering this watcher: keep the index entry); {0} when the entry is stale (drop it).
 */
export const WF_RESOLVE_LUA = `${WORKFLOW_LIB_LUA}
local st = hget('st')
if not st then return {0} end
if st == 'running' then return {2} end
if st ~= 'suspended' or hget('wt') ~= ARGV[1] or hget('sT') ~= 'event' then return {0} end
local step = hget('sS')
set_resume(step, 'event', ARGV[1], ARGV[2])
redis.call('HSET', KEYS[1], 'wt', '', 'ra', ARGV[3], 'uAt', ARGV[3])
return {1, hget('wf'), step, hget('rd')}
`;

/**
 * wf-resume: resumes a suspended run whose resumeAt passed (or that an event or signal made due).
 * A time-based wake-up stores resume data (sleep: its data or true; wait: a timeout; retry and
 * rewind: none) unless some
 * is there; ARGV[2] overrides it.
 *
 * KEYS[1..4] run keys
 * ARGV[1] now
 * ARGV[2] resume payload JSON ('' for none)
 * Returns false when not suspended or not due, else {state, previous wait topic}.
 */
export const WF_RESUME_LUA = `${WORKFLOW_LIB_LUA}
local ra = tonumber(hget('ra'))
if hget('st') ~= 'suspended' or not ra or ra > tonumber(ARGV[1]) then return false end
local kind, step = hget('sT'), hget('sS')
if ARGV[2] ~= '' and kind ~= '' then
  local previous = hget('rdT')
  if previous == '' or not previous then previous = 'event' end
  set_resume(step, previous, nil, ARGV[2])
elseif redis.call('HEXISTS', KEYS[1], 'rd') == 0 and kind ~= '' and kind ~= 'rewind' and kind ~= 'retry' then
  if kind == 'sleep' then set_resume(step, 'sleep', nil, hget('sD') or 'true') else set_resume(step, 'timeout', nil, 'null') end
end
local wt = hget('wt')
redis.call('HDEL', KEYS[1], 'sus', 'sD')
redis.call('HSET', KEYS[1], 'st', 'running', 'sT', '', 'sS', '', 'sSig', '', 'wt', '', 'ra', '', 'uAt', ARGV[1])
return {state(), wt}
`;

/**
 * wf-due-claim: hands out due runs once: each id found due at now is re-scored to claimUntil.
 *
 * KEYS[1] due ZSET (run id scored by resumeAt)
 * ARGV[1] now
 * ARGV[2] limit
 * ARGV[3] claimUntil
 * Returns the ids.
 */
export const WF_DUE_CLAIM_LUA = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], ARGV[3], id) end
return ids
`;

/**
 * wf-due-fix: corrects a due entry only if nobody moved it since it was claimed.
 *
 * KEYS[1] due ZSET
 * ARGV[1] run id
 * ARGV[2] expected score (the claim)
 * ARGV[3] new score ('' to remove)
 * Returns 1 when changed.
 */
export const WF_DUE_FIX_LUA = `
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) ~= tonumber(ARGV[2]) then return 0 end
if ARGV[3] == '' then redis.call('ZREM', KEYS[1], ARGV[1]) else redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1]) end
return 1
`;
