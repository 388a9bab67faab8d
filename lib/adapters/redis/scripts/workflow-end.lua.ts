import { WORKFLOW_LIB_LUA } from './workflow-lib.lua.js';
import { WORKFLOW_OPS_LUA } from './workflow-ops.lua.js';

/**
 * wf-end: ends a run (completed, failed, cancelled) or records a retryable error (retry). An end
 * clears lease, suspension, resume data and signals, and starts the retention expiry.
 *
 * KEYS[1..4] run keys (see workflow-lib)
 * ARGV[1] completed | failed | cancelled | retry
 * ARGV[2] now
 * ARGV[3] owner id ('' for none; cancel ignores leases)
 * ARGV[4] result JSON ('' for undefined)
 * ARGV[5] error JSON ('' for none)
 * ARGV[6] error step ('' for none)
 * ARGV[7] cancellation data JSON ('' for none)
 * ARGV[8] retention ms ('0' keeps the run)
 * ARGV[9] expiresAt (epoch ms, store clock)
 * ARGV[10] channel announcing run ends (the run id is published on it when the run ended)
 * Returns false when the run is missing, ended, or leased by another owner; else {state, previous wait topic}.
 */
export const WF_END_LUA = `${WORKFLOW_OPS_LUA}
return op_end(ARGV)
`;

/**
 * wf-lease: claims, renews or releases a run lease.
 *
 * KEYS[1..4] run keys
 * ARGV[1] claim | renew | release
 * ARGV[2] owner id
 * ARGV[3] now
 * ARGV[4] new expiry (claim, renew)
 * Returns 1 when done (2 when released and the run is still running: free to run now), else 0
 * (missing run; another owner's live lease on claim; not the live owner on renew; not the owner
 * on release).
 */
export const WF_LEASE_LUA = `${WORKFLOW_LIB_LUA}
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local own = hget('own')
local live = (tonumber(hget('lx')) or 0) > tonumber(ARGV[3])
if ARGV[1] == 'claim' then
  if own ~= '' and own ~= ARGV[2] and live then return 0 end
elseif ARGV[1] == 'renew' then
  if own ~= ARGV[2] or not live then return 0 end
else
  if own ~= ARGV[2] then return 0 end
  redis.call('HSET', KEYS[1], 'own', '', 'lx', '')
  if hget('st') == 'running' then return 2 end
  return 1
end
redis.call('HSET', KEYS[1], 'own', ARGV[2], 'lx', ARGV[4])
return 1
`;

/**
 * wf-claim-load: claims a run lease (as wf-lease claim) and reads the run and its checkpoints.
 *
 * KEYS[1..4] run keys
 * ARGV[1] owner id
 * ARGV[2] now
 * ARGV[3] new expiry
 * Returns false when not claimed (missing run, another owner's live lease), else
 * {state, checkpoint names, their entries}.
 */
export const WF_CLAIM_LOAD_LUA = `${WORKFLOW_OPS_LUA}
return op_claim_load(ARGV)
`;

/**
 * wf-signal-send: stores a signal with a live run; wakes the run when it waits for that signal.
 *
 * KEYS[1..4] run keys
 * ARGV[1] signal name
 * ARGV[2] payload JSON
 * ARGV[3] now
 * Returns -1 for a missing run, 0 for an ended one, 1 when stored, 2 when stored and the run woke.
 */
export const WF_SIGNAL_SEND_LUA = `${WORKFLOW_LIB_LUA}
local st = hget('st')
if not st then return -1 end
if is_terminal(st) then return 0 end
local seq = redis.call('HINCRBY', KEYS[1], 'sq', 1)
redis.call('RPUSH', KEYS[4], seq .. ':' .. ARGV[3] .. ':' .. #ARGV[1] .. ':' .. ARGV[1] .. ARGV[2])
local woke = 0
if st == 'suspended' and hget('sT') == 'signal' and hget('sSig') == ARGV[1] and redis.call('HEXISTS', KEYS[1], 'rd') == 0 then
  set_resume(hget('sS'), 'signal', ARGV[1], 'null')
  redis.call('HSET', KEYS[1], 'ra', ARGV[3])
  woke = 1
end
redis.call('HSET', KEYS[1], 'uAt', ARGV[3])
return 1 + woke
`;

/**
 * wf-signal-take: takes the oldest waiting signal of a name and saves its payload as a checkpoint.
 *
 * KEYS[1..4] run keys
 * ARGV[1] signal name
 * ARGV[2] checkpoint name
 * ARGV[3] now
 * ARGV[4] owner id ('' for none)
 * Returns the payload JSON, or false when none waits (or the run is not running, or not leased by the owner).
 */
export const WF_SIGNAL_TAKE_LUA = `${WORKFLOW_LIB_LUA}
if hget('st') ~= 'running' or not owns(ARGV[4], tonumber(ARGV[3])) then return false end
for _, entry in ipairs(redis.call('LRANGE', KEYS[4], 0, -1)) do
  local name, payload = parse_signal(entry)
  if name == ARGV[1] then
    redis.call('LREM', KEYS[4], 1, entry)
    write_step(ARGV[2], payload, ARGV[3])
    return payload
  end
end
return false
`;
