/**
 * Lua helpers shared by the queue scripts. Every queue script takes the same KEYS layout, built by
 * `queueScriptKeys()`:
 *
 *   KEYS[1..10]  ready streams, priority 0..9
 *   KEYS[11]     delayed ZSET (score notBefore, member "<priority>|<lease ms>|<envelope json>")
 *   KEYS[12]     leases ZSET (score deadline, member "<priority>:<entry id>")
 *   KEYS[13]     signal stream (bumped when the earliest due time moves earlier)
 *   KEYS[14]     dead letters ZSET (score deadAt, member ref "<dead-letter id>:<task id>")
 *   KEYS[15]     dead letter entries HASH (ref -> entry json)
 *   KEYS[16]     dead letters by task ZSET (score 0, member "<task id>\0<dead-letter id>")
 */
export const QUEUE_LIB_LUA = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Makes an envelope ready on the stream of its priority, or parks it in the delayed ZSET until
-- not_before; bumps the signal stream when it became the earliest delayed envelope so blocked
-- consumers recompute their wake-up time.
local function enqueue(prio, lease_ms, body, not_before, now)
  if not_before > now then
    local member = prio .. '|' .. lease_ms .. '|' .. body
    redis.call('ZADD', KEYS[11], not_before, member)
    if redis.call('ZRANK', KEYS[11], member) == 0 then
      redis.call('XADD', KEYS[13], 'MAXLEN', 1, '*', 's', '1')
    end
  else
    redis.call('XADD', KEYS[prio + 1], '*', 'e', body, 'v', lease_ms)
  end
end

-- Removes a leased entry from its stream and the group's pending list. Returns false when the
-- lease is gone (the delivery was settled or reclaimed): the caller's receipt is stale.
local function settle(group, prio, id)
  if redis.call('ZREM', KEYS[12], prio .. ':' .. id) == 0 then return false end
  local stream = KEYS[prio + 1]
  redis.call('XACK', stream, group, id)
  redis.call('XDEL', stream, id)
  return true
end
`;
