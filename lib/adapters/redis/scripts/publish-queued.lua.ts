import { QUEUE_LIB_LUA } from './queue-lib.lua.js';
import { PACKED_STATUS_LUA } from './status.lua.js';

/**
 * publish-queued: publishes envelopes of one queue and writes each one's `queued` status in the
 * same atomic step (a status that asks to leave a terminal status as it is and finds one stays
 * as it is; its envelope is published all the same, as a separate status write and publish
 * would). Watched statuses are published on their channels like any status write. Only for a
 * standalone server: status keys live outside the queue's hash tag.
 *
 * KEYS[1..16] the queue layout of queue-lib
 * KEYS[17] SET of queue names that have a status listing index
 * KEYS[18] global status watch counter
 * KEYS[19] SET of the queue names of the broker (this queue is added)
 * ARGV[1..5] as status-set-many: now epoch ms, status key prefix, status channel prefix, status
 *   queue index prefix, prune horizon ('' for none)
 * ARGV[6] one record per envelope, each ended by the ASCII record separator (\x1e), its fields
 *   separated by the group separator (\x1d): priority, lease ms ('' for default), notBefore epoch ms
 *   (0 when none), packed status (as in status-set-many), envelope json. JSON escapes both
 *   separators, and the caller sends no record whose id, name, queue or meta keys hold one. One
 *   argument for all (not five per envelope) keeps the request short to build and to parse.
 * Returns the number published.
 */
export const PUBLISH_QUEUED_LUA = `${QUEUE_LIB_LUA}${PACKED_STATUS_LUA}
local status_now = ARGV[1]
local watched = redis.call('EXISTS', KEYS[18]) == 1
local index = new_index(KEYS[17])
-- the server's time is only needed for envelopes with a notBefore
local now = 0
local gs, rs = string.char(29), string.char(30)
local data = ARGV[6]
-- every record is parsed before the first write, so a malformed one changes nothing; the
-- separators are found by plain searches, which skip the envelope's bytes far faster than a
-- pattern testing each of them
local records, pos, size = {}, 1, #data
while pos <= size do
  local stop = find(data, rs, pos, true)
  local cuts, at = {}, pos - 1
  for i = 1, 4 do
    at = stop and find(data, gs, at + 1, true)
    if not at or at > stop then return redis.error_reply('publish-queued: malformed record at byte ' .. pos) end
    cuts[i] = at
  end
  local prio, not_before = tonumber(sub(data, pos, cuts[1] - 1)), tonumber(sub(data, cuts[2] + 1, cuts[3] - 1))
  if not prio or not not_before then
    return redis.error_reply('publish-queued: malformed record at byte ' .. pos)
  end
  records[#records + 1] = {prio, sub(data, cuts[1] + 1, cuts[2] - 1), not_before, sub(data, cuts[3] + 1, cuts[4] - 1), sub(data, cuts[4] + 1, stop - 1)}
  pos = stop + 1
end
redis.call('SADD', KEYS[19], string.match(KEYS[1], '{([^{}]*)}:stream:p0$'))
for _, r in ipairs(records) do
  write_packed(r[4], status_now, ARGV[2], ARGV[3], watched, index, false)
  if r[3] > 0 and now == 0 then now = now_ms() end
  enqueue(r[1], r[2], r[5], r[3], now)
end
file_index(index, status_now, KEYS[17], ARGV[4], ARGV[5])
return #records
`;
