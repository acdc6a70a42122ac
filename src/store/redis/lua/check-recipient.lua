-- check-recipient.lua: everything RCPT TO asks of the store, in one round trip.
-- KEYS[1]      mw:{tenant}:supp   hash: pseudonym -> "expiresAt<TAB>entry JSON"
-- KEYS[2..]    rate bucket keys (mw:{tenant}:rate:...), one per bucket
-- ARGV[1]      now, ms since the epoch
-- ARGV[2]      the recipient's keyed pseudonym
-- ARGV[3]      number of buckets
-- ARGV[4..]    per bucket: windowMs, limit, name
-- Returns { 'ok' } | { 'suppressed' } | { 'rate', bucket name, retry after ms }
--@include gcra

local now = tonumber(ARGV[1])
local entry = redis.call('HGET', KEYS[1], ARGV[2])
if entry then
  local expires = string.match(entry, '^([^\t]*)\t')
  if expires == '' or tonumber(expires) > now then
    return { 'suppressed' }
  end
end

local refused = gcra_admit(2, 4, tonumber(ARGV[3]), now)
if refused then
  return { 'rate', refused[1], refused[2] }
end
return { 'ok' }
