-- publish.lua: stores and publishes every item of one publish() call, atomically.
-- generation.lua is prepended to it (heraldGenerationLast, heraldRun).
--
-- KEYS: [1] the idempotency key when ARGV[1] == '1'; then, per item, its
--       channel's stream key and meta key.
-- ARGV: [1] '1' with an idempotency key, '0' without
--       [2] body digest   [3] idempotency TTL (ms)
--       [4] history size  [5] history TTL (ms)  [6] meta TTL (ms)
--       [7] publishedUs   [8] pub/sub channel prefix
--       [9] '1' when Redis syncs every write before acknowledging it (appendonly yes,
--           appendfsync always), else '0': recorded as the meta's `sync`
--       then, per item: channel, event, data
-- The idempotency key is a hash {digest, ids (comma-separated)} with a TTL.
-- Returns {'ok', id...}, {'replayed', id...} (the ids stored under the
-- idempotency key) or {'conflict'} (the key was used with another digest).
--
-- Per item: prev = the last id of the channel's current generation (or 0-0 when
-- the generation check ended it or there is none, or this call's previous id on the channel); XADD with approximate MAXLEN (cheap,
-- keeps at least history-size entries); once per channel after the items: XTRIM MINID drops entries older than
-- the history TTL; the meta hash (gen = first id of the generation, last =
-- newest id, run = this Redis process's run_id, sync = ARGV[9]) lives longer than the stream so a resume can tell expired/trimmed
-- history from a lost one; PUBLISH carries "<id>\n<prev>\n<event>\n<us>\n<data>"
-- (event has no CR/LF and data is compact JSON, so the split is unambiguous).
local FIXED_ARGS = 9
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
local sync = ARGV[9]
local count = (#ARGV - FIXED_ARGS) / 3
local result = {'ok'}
local ids = {}

-- A batch often repeats channels: prev comes from this call's own last id for
-- the channel, and the per-channel upkeep (trim, meta, TTLs) runs once per
-- channel after the loop with the channel's newest id -- the same end state as
-- doing it per item, for 2 Redis calls per item instead of 8.
local lastId = {}     -- metaKey -> newest id stored by this call
local firstId = {}    -- metaKey -> first id stored by this call
local streamOf = {}   -- metaKey -> stream key
local touched = {}    -- metaKeys in first-use order
local newGeneration = {}  -- metaKey -> true when this call starts the channel's generation
for i = 1, count do
  local streamKey = KEYS[keyBase + 2 * i - 1]
  local metaKey = KEYS[keyBase + 2 * i]
  local channel = ARGV[FIXED_ARGS + 3 * i - 2]
  local event = ARGV[FIXED_ARGS + 3 * i - 1]
  local data = ARGV[FIXED_ARGS + 3 * i]

  local prev = lastId[metaKey]
  if not prev then
    prev = heraldGenerationLast(metaKey)
    if not prev then
      prev = '0-0'
      newGeneration[metaKey] = true
    end
    touched[#touched + 1] = metaKey
    streamOf[metaKey] = streamKey
  end
  local id = redis.call('XADD', streamKey, 'MAXLEN', '~', historySize, '*',
                        'p', prev, 'e', event, 'd', data, 't', publishedUs)
  if not firstId[metaKey] then
    firstId[metaKey] = id
  end
  lastId[metaKey] = id
  redis.call('PUBLISH', livePrefix .. channel,
             id .. '\n' .. prev .. '\n' .. event .. '\n' .. publishedUs .. '\n' .. data)
  ids[i] = id
  result[i + 1] = id
end

for _, metaKey in ipairs(touched) do
  local streamKey = streamOf[metaKey]
  local id = lastId[metaKey]
  local idMs = tonumber(string.match(id, '^(%d+)-'))
  local cutoffMs = idMs - historyTtl
  if cutoffMs > 0 then
    redis.call('XTRIM', streamKey, 'MINID', string.format('%d', cutoffMs) .. '-0')
  end
  if newGeneration[metaKey] then
    redis.call('HSET', metaKey, 'gen', firstId[metaKey])
  end
  redis.call('HSET', metaKey, 'last', id, 'run', heraldRun(), 'sync', sync)
  redis.call('PEXPIRE', streamKey, ARGV[5])
  redis.call('PEXPIRE', metaKey, metaTtl)
end

if hasIdempotency then
  redis.call('HSET', KEYS[1], 'digest', ARGV[2], 'ids', table.concat(ids, ','))
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return result
