/**
 * Lua helpers shared by the workflow run scripts. Every run script takes the same KEYS layout,
 * all under the run's hash tag `{<runId>}`, built by `RedisWorkflowKeys.run()`; the helpers read
 * them through the locals R, O, S, G (KEYS[1..4]), which wf-batch points at each run in turn:
 *
 *   KEYS[1]  run HASH (fields below)
 *   KEYS[2]  checkpoint order LIST (checkpoint names in order)
 *   KEYS[3]  checkpoints HASH (name -> "<completedAt>:<meta JSON or empty>\n<value JSON, empty for undefined>")
 *   KEYS[4]  signals LIST ("<seq>:<sentAt>:<name length>:<name><payload JSON>", arrival order)
 *
 * Run HASH fields (empty string = null; JSON fields are opaque to Lua except where built here):
 *   id wf st params parent cAt uAt result? wt ra sus? sT sS sSig sD? rd? rdS rdT err? errS own lx
 *   cp cd? meta sq xa
 * (status, waitTopic, resumeAt, suspension JSON with its type/step/signal/data split out, resume
 * data JSON with its step/type, last error JSON with its step, lease owner/expiry, cancellation
 * policy/data, metadata, signal counter, retention expiry).
 */
export const WORKFLOW_LIB_LUA = `
local R, O, S, G = KEYS[1], KEYS[2], KEYS[3], KEYS[4]

local function hget(field) return redis.call('HGET', R, field) end

local function is_terminal(st) return st == 'completed' or st == 'failed' or st == 'cancelled' end

-- True when owner is '' (no lease check) or is own, the holder of a lease live at now (lx its expiry).
local function owned(owner, own, lx, now)
  if owner == '' then return true end
  return own == owner and (tonumber(lx) or 0) > now
end

-- True when owner is '' (no lease check) or holds a live lease at now.
local function owns(owner, now)
  if owner == '' then return true end
  local f = redis.call('HMGET', R, 'own', 'lx')
  return owned(owner, f[1], f[2], now)
end

-- The whole run as {HGETALL pairs without the empty fields, checkpoint count}; count: the
-- checkpoint count when the caller knows it; all: the run's HGETALL pairs when the caller has them.
local function state(count, all)
  local fields = {}
  all = all or redis.call('HGETALL', R)
  for i = 1, #all, 2 do
    if all[i + 1] ~= '' then
      fields[#fields + 1] = all[i]
      fields[#fields + 1] = all[i + 1]
    end
  end
  return {fields, count or redis.call('LLEN', O)}
end

-- The run's HGETALL pairs, and the position in them of each field's value.
local function read_run()
  local all, at = redis.call('HGETALL', R), {}
  for i = 1, #all, 2 do at[all[i]] = i + 1 end
  return all, at
end

-- Sets field to value in pairs read by read_run (as an HSET of it changes the run).
local function put_field(all, at, field, value)
  local i = at[field]
  if i then all[i] = value
  else
    all[#all + 1] = field
    all[#all + 1] = value
    at[field] = #all
  end
end

-- Name, payload, raw entry of a signals LIST entry.
local function parse_signal(entry)
  local seq, at, len = string.match(entry, '^(%d+):(%d+):(%d+):')
  local head = #seq + #at + #len + 3
  len = tonumber(len)
  return string.sub(entry, head + 1, head + len), string.sub(entry, head + len + 1)
end

-- Writes checkpoint name (a new one goes to the end of the order); clears the resume data and the
-- last error when they were for it. rdS, errS: the run's fields of those names, when the caller
-- read them already.
local function write_step(name, value, now, meta, rdS, errS)
  if redis.call('HSET', S, name, now .. ':' .. (meta or '') .. '\\n' .. value) == 1 then redis.call('RPUSH', O, name) end
  if rdS == nil then
    local f = redis.call('HMGET', R, 'rdS', 'errS')
    rdS, errS = f[1], f[2]
  end
  local set = {'uAt', now}
  if rdS == name then
    redis.call('HDEL', R, 'rd')
    set[3], set[4], set[5], set[6] = 'rdS', '', 'rdT', ''
  end
  if errS == name then
    redis.call('HDEL', R, 'err')
    set[#set + 1] = 'errS'
    set[#set + 1] = ''
  end
  redis.call('HSET', R, unpack(set))
end

local function resume_data(step, kind, topic, payload)
  local out = '{"step":' .. cjson.encode(step) .. ',"type":"' .. kind .. '"'
  if topic then out = out .. ',"topic":' .. cjson.encode(topic) end
  return out .. ',"payload":' .. payload .. '}'
end

local function set_resume(step, kind, topic, payload)
  redis.call('HSET', R, 'rd', resume_data(step, kind, topic, payload), 'rdS', step, 'rdT', kind)
end
`;
