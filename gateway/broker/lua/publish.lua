-- publish.lua: stores and publishes every item of one publish() call, atomically.
--
-- KEYS: [1] the idempotency key when ARGV[1] == '1'; then, per item, its
--       channel's stream key and meta key.
-- ARGV: [1] '1' with an idempotency key, '0' without
--       [2] body digest   [3] idempotency TTL (ms)
--       [4] history size  [5] history TTL (ms)  [6] meta TTL (ms)
--       [7] publishedUs   [8] pub/sub channel prefix
--       then, per item: channel, event, data
-- The idempotency key is a hash {digest, ids (comma-separated)} with a TTL.
-- Returns {'ok', id...}, {'replayed', id...} (the ids stored under the
-- idempotency key) or {'conflict'} (the key was used with another digest).
--
-- Per item: prev = meta.last (or 0-0); XADD with approximate MAXLEN (cheap,
-- keeps at least history-size entries); XTRIM MINID drops entries older than
-- the history TTL; the meta hash (gen = first id of the generation, last =
-- newest id) lives longer than the stream so a resume can tell expired/trimmed
-- history from a lost one; PUBLISH carries "<id>\n<prev>\n<event>\n<us>\n<data>"
-- (event has no CR/LF and data is compact JSON, so the split is unambiguous).
local FIXED_ARGS = 8
local hasIdempotency = ARGV[1] == '1'
local keyBase = 0

if hasIdempotency then
  keyBase = 1
  local stored = redis.call('HMGET', KEYS[1], 'digest', 'ids')
  if stored[1] then
    if stored[1] ~= ARGV[2] then
      return {'conflict'}
    end
    local result = {'replayed'}
    for id in string.gmatch(stored[2], '[^,]+') do
      result[#result + 1] = id
    end
    return result
  end
end

local historySize = ARGV[4]
local historyTtl = tonumber(ARGV[5])
local metaTtl = ARGV[6]
local publishedUs = ARGV[7]
local livePrefix = ARGV[8]
local count = (#ARGV - FIXED_ARGS) / 3
local result = {'ok'}
local ids = {}

for i = 1, count do
  local streamKey = KEYS[keyBase + 2 * i - 1]
  local metaKey = KEYS[keyBase + 2 * i]
  local channel = ARGV[FIXED_ARGS + 3 * i - 2]
  local event = ARGV[FIXED_ARGS + 3 * i - 1]
  local data = ARGV[FIXED_ARGS + 3 * i]

  local prev = redis.call('HGET', metaKey, 'last') or '0-0'
  local id = redis.call('XADD', streamKey, 'MAXLEN', '~', historySize, '*',
                        'p', prev, 'e', event, 'd', data, 't', publishedUs)
  local idMs = tonumber(string.match(id, '^(%d+)-'))
  local cutoffMs = idMs - historyTtl
  if cutoffMs > 0 then
    redis.call('XTRIM', streamKey, 'MINID', string.format('%d', cutoffMs) .. '-0')
  end
  redis.call('HSETNX', metaKey, 'gen', id)
  redis.call('HSET', metaKey, 'last', id)
  redis.call('PEXPIRE', streamKey, ARGV[5])
  redis.call('PEXPIRE', metaKey, metaTtl)
  redis.call('PUBLISH', livePrefix .. channel,
             id .. '\n' .. prev .. '\n' .. event .. '\n' .. publishedUs .. '\n' .. data)
  ids[i] = id
  result[i + 1] = id
end

if hasIdempotency then
  redis.call('HSET', KEYS[1], 'digest', ARGV[2], 'ids', table.concat(ids, ','))
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return result
