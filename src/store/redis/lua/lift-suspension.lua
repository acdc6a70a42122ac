-- lift-suspension.lua: ends an active suspension and keeps its record with who lifted it.
-- KEYS[1]      mw:{tenant}:susp:active   hash: id -> "scope<TAB>value<TAB>expiresAt"
-- KEYS[2]      mw:{tenant}:susp:records  hash: id -> suspension JSON
-- ARGV[1]      suspension id
-- ARGV[2]      the "lifted" part as JSON: { at, by, reason }
-- Returns 1 when lifted, 0 when there was no such active suspension
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then
  return 0
end
local record = cjson.decode(redis.call('HGET', KEYS[2], ARGV[1]))
record['lifted'] = cjson.decode(ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], cjson.encode(record))
return 1
