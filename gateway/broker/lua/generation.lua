-- generation.lua: the history-generation check, prepended to every script that
-- reads or writes a channel's meta hash (publish.lua, meta.lua).
--
-- A Redis can come back with less than it acknowledged (an older RDB snapshot,
-- an AOF with appendfsync everysec, a failover to a replica that lagged). Its
-- meta hash then comes back too, naming a `last` that may be older than what
-- clients saw. So the meta records which Redis process wrote `last` (`run`, the
-- process's run_id, new on every start and on every node) and whether that
-- write was on disk before it was acknowledged (`sync` = '1': appendonly yes
-- with appendfsync always, as the publishing node read with CONFIG GET).
--
-- A meta written by another process is kept only when that process synced
-- every write and this one is its restart from the same AOF: AOF on, a master
-- that was never promoted from a replica (second_repl_offset -1). Otherwise
-- the generation has ended: gen and last are removed, so every resume into it
-- is `lost` and the next publish starts a new generation (prev 0-0). Where
-- Herald cannot tell, it ends the generation: a reset too many, never a gap.
local herald_run = nil

-- The run_id of the Redis process running this script.
local function heraldRun()
  if not herald_run then
    herald_run = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')
  end
  return herald_run
end

-- True when this process holds every write that a process with `sync` = '1' acknowledged.
local function heraldRestartLostNothing(sync)
  if sync ~= '1' then
    return false
  end
  if not string.find(redis.call('INFO', 'persistence'), 'aof_enabled:1', 1, true) then
    return false
  end
  local replication = redis.call('INFO', 'replication')
  return string.find(replication, 'role:master', 1, true) ~= nil and
         string.find(replication, 'second_repl_offset:-1', 1, true) ~= nil
end

-- The newest id of the channel's current generation, or nil when it has none
-- (never published, meta expired, or ended here because Redis lost writes).
local function heraldGenerationLast(metaKey)
  local meta = redis.call('HMGET', metaKey, 'last', 'run', 'sync')
  if not meta[1] then
    return nil
  end
  local run = heraldRun()
  if meta[2] == run then
    return meta[1]
  end
  if not meta[2] then
    -- Written by a Herald from before generations were recorded (a rolling
    -- upgrade): it could not tell either; adopt it rather than reset every channel.
    redis.call('HSET', metaKey, 'run', run)
    return meta[1]
  end
  if heraldRestartLostNothing(meta[3]) then
    redis.call('HSET', metaKey, 'run', run)
    return meta[1]
  end
  redis.call('HDEL', metaKey, 'gen', 'last', 'run', 'sync')
  return nil
end
