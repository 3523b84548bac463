-- meta.lua: reads a channel's meta {gen, last} for a resume, after the
-- generation check (generation.lua is prepended), so a resume across a Redis
-- that lost writes sees no generation and is reported `lost`.
--
-- KEYS: [1] the channel's meta key
-- Returns {gen, last}, each nil when the channel has no current generation.
heraldGenerationLast(KEYS[1])
return redis.call('HMGET', KEYS[1], 'gen', 'last')
