import { WORKFLOW_LIB_LUA } from './workflow-lib.lua.js';

/**
 * The hot run operations as Lua functions of an argument table `A`, on the run keys R, O, S, G
 * (see workflow-lib): each is the body of its own script (wf-create, wf-get, wf-save-step,
 * wf-claim-load, wf-end) and an operation of wf-batch, so one source serves both.
 *
 * op_create(A)     A[1] run id, A[2] workflow, A[3] params JSON, A[4] parent run id ('' for none),
 *                  A[5] now, A[6] cancellation policy JSON, A[7] metadata JSON
 *                  With IX (wf-batch), also indexes the new run as wf-index-add does.
 *                  Returns false when created, else the workflow name of the run that holds the id.
 * op_get(A)        Returns {HGETALL, LLEN} ({{}, 0} for a missing run).
 * op_save_step(A)  A[1] checkpoint name, A[2] value JSON ('' for undefined), A[3] now,
 *                  A[4] owner id ('' for none), A[5] meta JSON ('' for none)
 *                  Returns 1 when written, 0 when the run is missing, not running, or leased by another owner.
 * op_claim_load(A) A[1] owner id, A[2] now, A[3] new lease expiry
 *                  Returns false when not claimed (missing run, another owner's live lease), else
 *                  {state, checkpoint names, their entries}.
 * op_end(A)        A[1] completed | failed | cancelled | retry, A[2] now, A[3] owner id ('' for
 *                  none; cancel ignores leases), A[4] result JSON ('' for undefined), A[5] error
 *                  JSON ('' for none), A[6] error step ('' for none), A[7] cancellation data JSON
 *                  ('' for none), A[8] retention ms ('0' keeps the run), A[9] expiresAt (epoch ms,
 *                  store clock), A[10] channel announcing run ends (the run id is published on it
 *                  when the run ended)
 *                  An end clears lease, suspension, resume data and signals, and starts the
 *                  retention expiry; retry records a retryable error and leaves the run running.
 *                  With IX (wf-batch), an end of a run without a parent also moves it from the
 *                  active and due indexes to the expiring one, as wf-index-set does (a child's
 *                  end leaves that to the store, which signals the parent first).
 *                  Returns false when the run is missing, ended, or leased by another owner; else
 *                  {state, previous wait topic}.
 */
export const WORKFLOW_OPS_LUA = `${WORKFLOW_LIB_LUA}
-- The run index keys (see RedisWorkflowKeys) when the operations write the indexes too (wf-batch
-- on a standalone server), else nil; wf and parent are the starts of the per-workflow and
-- per-parent keys.
local IX = nil

local escapes = {['"'] = '\\\\"', ['\\\\'] = '\\\\\\\\', ['\\b'] = '\\\\b', ['\\f'] = '\\\\f', ['\\n'] = '\\\\n', ['\\r'] = '\\\\r', ['\\t'] = '\\\\t'}
local function escape(c) return escapes[c] or string.format('\\\\u%04x', string.byte(c)) end
-- s as JSON.stringify writes it (index members are compared with the ones the store builds).
local function json_string(s) return '"' .. (string.gsub(s, '[%z\\1-\\31"\\\\]', escape)) .. '"' end

local function op_create(A)
  local existing = redis.call('HGET', R, 'wf')
  if existing then return existing end
  redis.call('HSET', R, 'id', A[1], 'wf', A[2], 'st', 'running', 'params', A[3], 'parent', A[4], 'cAt', A[5], 'uAt', A[5], 'wt', '', 'ra', '',
    'sT', '', 'sS', '', 'sSig', '', 'rdS', '', 'rdT', '', 'errS', '', 'own', '', 'lx', '', 'cp', A[6], 'meta', A[7], 'sq', 0, 'xa', '')
  if IX then
    redis.call('ZADD', IX.runs, A[5], A[1])
    redis.call('ZADD', IX.wf .. A[2], A[5], A[1])
    redis.call('ZADD', IX.active, A[5], A[1])
    redis.call('HINCRBY', IX.versions, A[1], 1)
    if A[4] ~= '' then redis.call('ZADD', IX.parent .. A[4], A[5], A[1]) end
  end
  return false
end

local function op_get(A) return state() end

local function op_save_step(A)
  local f = redis.call('HMGET', R, 'st', 'own', 'lx', 'rdS', 'errS')
  if f[1] ~= 'running' or not owned(A[4], f[2], f[3], tonumber(A[3])) then return 0 end
  write_step(A[1], A[2], A[3], A[5], f[4], f[5])
  return 1
end

-- NOTE: claim-load and end read the run once (HGETALL) and answer with that read as their writes
-- changed it, instead of reading fields before the writes and the whole run after them.
local function op_claim_load(A)
  local all, at = read_run()
  if #all == 0 then return false end
  local own = at.own and all[at.own] or ''
  if own ~= '' and own ~= A[1] and (tonumber(at.lx and all[at.lx]) or 0) > tonumber(A[2]) then return false end
  redis.call('HSET', R, 'own', A[1], 'lx', A[3])
  put_field(all, at, 'own', A[1])
  put_field(all, at, 'lx', A[3])
  local names = redis.call('LRANGE', O, 0, -1)
  if #names == 0 then return {state(0, all), {}, {}} end
  return {state(#names, all), names, redis.call('HMGET', S, unpack(names))}
end

local function op_end(A)
  local all, at = read_run()
  local function get(field) return at[field] and all[at[field]] end
  local st = get('st')
  if not st or is_terminal(st) then return false end
  if A[1] ~= 'cancelled' and not owned(A[3], get('own'), get('lx'), tonumber(A[2])) then return false end
  if A[1] == 'retry' then
    if A[5] ~= '' then redis.call('HSET', R, 'err', A[5], 'errS', A[6], 'st', 'running', 'uAt', A[2])
    else redis.call('HSET', R, 'st', 'running', 'uAt', A[2]) end
    return {state(), ''}
  end
  local id, wt, parent = get('id'), get('wt') or false, get('parent') or ''
  local set = {'st', A[1], 'wt', '', 'ra', '', 'own', '', 'lx', '', 'uAt', A[2], 'sT', '', 'sS', '', 'sSig', '', 'rdS', '', 'rdT', ''}
  local function put(field, value)
    set[#set + 1] = field
    set[#set + 1] = value
  end
  if A[5] ~= '' then put('err', A[5]) put('errS', A[6]) end
  if A[1] == 'completed' and A[4] ~= '' then put('result', A[4]) end
  if A[1] == 'cancelled' then put('cd', A[7]) end
  local ttl = tonumber(A[8])
  if ttl > 0 then put('xa', A[9]) end
  local gone = {}
  for _, field in ipairs({'sus', 'sD', 'rd'}) do
    if at[field] then
      gone[#gone + 1] = field
      all[at[field]] = ''
    end
  end
  if #gone > 0 then redis.call('HDEL', R, unpack(gone)) end
  redis.call('HSET', R, unpack(set))
  for i = 1, #set, 2 do put_field(all, at, set[i], set[i + 1]) end
  -- NOTE: only wf-signal-send writes the signals LIST, and it counts each signal in sq first.
  if get('sq') ~= '0' then redis.call('DEL', G) end
  if ttl > 0 then
    for _, key in ipairs({R, O, S}) do redis.call('PEXPIRE', key, ttl) end
  end
  redis.call('PUBLISH', A[10], id)
  if IX and parent == '' then
    redis.call('ZREM', IX.active, id)
    redis.call('HDEL', IX.versions, id)
    redis.call('ZREM', IX.due, id)
    if ttl > 0 then redis.call('ZADD', IX.expiring, A[9], '[' .. json_string(id) .. ',' .. json_string(get('wf')) .. ',null]') end
  end
  return {state(nil, all), wt}
end
`;

/**
 * wf-batch: many run operations in one call, in order, each on its own run (standalone Redis
 * only: the runs are on different slots, and the script builds their keys from the run ids,
 * which a standalone server allows). One operation's error is its own: the others run.
 *
 * KEYS    none
 * ARGV[1] the run key prefix (`<p>:wf:run:{`; a run's HASH is the prefix, its id and `}`, its
 *         other keys that HASH's name with `:order`, `:steps`, `:signals`, see workflow-lib)
 * ARGV[2] JSON text of the operations: one [name, run id, [arguments]] each, every argument a
 *         string (name: create | get | save-step | claim-load | end; the arguments as the op_*
 *         functions above take them)
 * ARGV[3] the run index keys' common start (`<p>:{wf}`): creates and ends write the indexes too
 *         (see op_create, op_end); '' or absent leaves the indexes to the caller
 * Returns JSON text of one [1, result] or [0, error message] per operation (an empty Lua table,
 *         as an empty list, comes out as {}).
 */
export const WF_BATCH_LUA = `${WORKFLOW_OPS_LUA}
local ops = { create = op_create, get = op_get, ['save-step'] = op_save_step, ['claim-load'] = op_claim_load, ['end'] = op_end }
local prefix = ARGV[1]
local base = ARGV[3]
if base and base ~= '' then
  IX = {runs = base .. ':runs', wf = base .. ':runs:wf:', parent = base .. ':runs:parent:', active = base .. ':active', versions = base .. ':active:v',
    due = base .. ':due', expiring = base .. ':expiring'}
end
local out = {}
for i, item in ipairs(cjson.decode(ARGV[2])) do
  R = prefix .. item[2] .. '}'
  O, S, G = R .. ':order', R .. ':steps', R .. ':signals'
  local op = ops[item[1]]
  if not op then
    out[i] = {0, 'unknown workflow run operation'}
  else
    local ok, res = pcall(op, item[3])
    if ok then out[i] = {1, res} else out[i] = {0, type(res) == 'table' and res.err or tostring(res)} end
  end
end
return cjson.encode(out)
`;
