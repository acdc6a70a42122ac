-- check-recipient.lua: everything RCPT TO asks of the store, in one round trip.
-- KEYS[1]      mw:{tenant}:store   string: the identity of the store the tenant was sealed in
-- KEYS[2]      mw:{tenant}:supp    hash: pseudonym -> "expiresAt<TAB>entry JSON"
-- KEYS[3]      mw:{tenant}:supp:import         hash: a committed import's entries not yet merged
-- KEYS[4]      mw:{tenant}:supp:import:state   string: "merging <id>" while they count
-- KEYS[5..]    rate bucket keys (mw:{tenant}:rate:...), one per bucket
-- ARGV[1]      the store identity the asker knows
-- ARGV[2]      now, ms since the epoch
-- ARGV[3]      the recipient's keyed pseudonym
-- ARGV[4]      number of buckets
-- ARGV[5..]    per bucket: windowMs, limit, name
-- Returns { 'lost' } | { 'ok' } | { 'suppressed' } | { 'rate', bucket name, retry after ms }
-- 'lost' as in check-mail.lua: an empty suppression list in a lost store is no answer.
--@include gcra

if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return { 'lost' }
end

local now = tonumber(ARGV[2])
local entry = nil
-- a committed import's entry is the newer one: a later write of the same pseudonym removed it
if string.sub(redis.call('GET', KEYS[4]) or '', 1, 8) == 'merging ' then
  entry = redis.call('HGET', KEYS[3], ARGV[3])
end
if not entry then
  entry = redis.call('HGET', KEYS[2], ARGV[3])
end
if entry then
  local expires = string.match(entry, '^([^\t]*)\t')
  if expires == '' or tonumber(expires) > now then
    return { 'suppressed' }
  end
end

local refused = gcra_admit(5, 5, tonumber(ARGV[4]), now)
if refused then
  return { 'rate', refused[1], refused[2] }
end
return { 'ok' }
