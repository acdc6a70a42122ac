-- auth-failure.lua: a failed AUTH charges the client address's and the username's buckets.
-- KEYS[1..]    failure bucket keys (mw:{auth}:ip:... and mw:{auth}:user:...), one per bucket
-- ARGV[1]      now, ms since the epoch
-- ARGV[2]      number of buckets
-- ARGV[3..]    per bucket: windowMs, limit, name
-- Returns 1 when charged, 0 when a bucket was full already (auth-check refuses then)
--@include gcra

if gcra_admit(1, 3, tonumber(ARGV[2]), tonumber(ARGV[1])) then
  return 0
end
return 1
