-- add-feedback.lua: keeps a feedback report record once per report (by its SHA-256).
-- KEYS[1]  mw:{scope}:fb       hash: record id -> record JSON
-- KEYS[2]  mw:{scope}:fb:sha   hash: report SHA-256 -> record id
-- KEYS[3]  mw:{scope}:fb:time  sorted set: record id by time received
-- ARGV     id, sha256, receivedAt, record JSON
-- Returns 1 when kept, 0 when a report with the same SHA-256 already is.
if redis.call('HSETNX', KEYS[2], ARGV[2], ARGV[1]) == 0 then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
return 1
