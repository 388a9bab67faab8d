import { WORKFLOW_LIB_LUA } from './workflow-lib.lua.js';
import { WORKFLOW_OPS_LUA } from './workflow-ops.lua.js';

/**
 * wf-create: creates a run unless its id is taken.
 *
 * KEYS[1..4] run keys (see workflow-lib)
 * ARGV       as op_create (see workflow-ops): id, workflow, params, parent, now, cancellation policy, metadata
 * Returns false when created, else the workflow name of the run that holds the id.
 */
export const WF_CREATE_LUA = `${WORKFLOW_OPS_LUA}
return op_create(ARGV)
`;

/**
 * wf-get: the run and its checkpoint count.
 *
 * KEYS[1..4] run keys
 * Returns {HGETALL, LLEN} ({{}, 0} for a missing run).
 */
export const WF_GET_LUA = `${WORKFLOW_OPS_LUA}
return op_get(ARGV)
`;

/**
 * wf-save-step: appends or overwrites a checkpoint of a running run.
 *
 * KEYS[1..4] run keys
 * ARGV[1] checkpoint name
 * ARGV[2] value JSON ('' for undefined)
 * ARGV[3] now (epoch ms)
 * ARGV[4] owner id ('' for none)
 * ARGV[5] meta JSON ('' for none)
 * Returns 1 when written, 0 when the run is missing, not running, or leased by another owner.
 */
export const WF_SAVE_STEP_LUA = `${WORKFLOW_OPS_LUA}
return op_save_step(ARGV)
`;

/**
 * wf-steps: checkpoints of a run, in order, or one of them with its position.
 *
 * KEYS[1..4] run keys
 * ARGV[1] checkpoint name, or '' for all
 * ARGV[2] now (epoch ms; with '' only): a run that is missing or expired at now has none
 * Returns {names, entries} (entries in the same order; a missing one as false).
 */
export const WF_STEPS_LUA = `
local names
if ARGV[1] == '' then
  local xa = redis.call('HGET', KEYS[1], 'xa')
  if not xa or (xa ~= '' and tonumber(xa) <= tonumber(ARGV[2])) then return {{}, {}, 0} end
  names = redis.call('LRANGE', KEYS[2], 0, -1)
else
  local pos = redis.call('LPOS', KEYS[2], ARGV[1])
  if not pos then return {{}, {}, -1} end
  return {{ARGV[1]}, {redis.call('HGET', KEYS[3], ARGV[1])}, pos}
end
if #names == 0 then return {{}, {}, 0} end
return {names, redis.call('HMGET', KEYS[3], unpack(names)), 0}
`;

/**
 * wf-rewind: deletes the first checkpoint of a step and everything after it, and suspends the
 * run with a rewind suspension due at once (an ended run too; it stops expiring).
 *
 * KEYS[1..4] run keys
 * ARGV[1] step (plain name; matches "step" and "step#i")
 * ARGV[2] now
 * ARGV[3] channel announcing rewinds (the run id is published on it)
 * Returns {-1} for a missing run, {-2, names} when no checkpoint of the step exists, else
 * {1, state, previous wait topic}.
 */
export const WF_REWIND_LUA = `${WORKFLOW_LIB_LUA}
if redis.call('EXISTS', KEYS[1]) == 0 then return {-1} end
local names = redis.call('LRANGE', KEYS[2], 0, -1)
local from = nil
for i, name in ipairs(names) do
  if name == ARGV[1] or string.match(name, '^(.*)#%d+$') == ARGV[1] then from = i break end
end
if not from then return {-2, names} end
for i = from, #names do redis.call('HDEL', KEYS[3], names[i]) end
if from == 1 then redis.call('DEL', KEYS[2]) else redis.call('LTRIM', KEYS[2], 0, from - 2) end
local wt = hget('wt')
local sus = '{"type":"rewind","step":' .. cjson.encode(ARGV[1]) .. ',"iteration":0,"iterationStep":' .. cjson.encode(names[from])
  .. ',"suspendedAt":' .. ARGV[2] .. ',"resumeAt":' .. ARGV[2] .. ',"requestedResumeAt":null}'
redis.call('HDEL', KEYS[1], 'result', 'err', 'rd', 'cd', 'sD')
redis.call('HSET', KEYS[1], 'st', 'suspended', 'sus', sus, 'sT', 'rewind', 'sS', ARGV[1], 'sSig', '', 'wt', '', 'ra', ARGV[2],
  'uAt', ARGV[2], 'own', '', 'lx', '', 'rdS', '', 'rdT', '', 'errS', '', 'xa', '')
for i = 1, 3 do redis.call('PERSIST', KEYS[i]) end
redis.call('PUBLISH', ARGV[3], hget('id'))
return {1, state(), wt}
`;
