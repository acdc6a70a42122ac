-- add-suspension.lua: records a suspension and makes it active, in one step.
-- KEYS[1]      mw:{tenant}:susp:active   hash: id -> "scope<TAB>value<TAB>expiresAt"
-- KEYS[2]      mw:{tenant}:susp:records  hash: id -> suspension JSON
-- ARGV[1]      suspension id
-- ARGV[2]      the suspension JSON
-- ARGV[3]      its active-index line, "scope<TAB>value<TAB>expiresAt"
-- Returns 1
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
