-- check-mail.lua: everything MAIL FROM asks of the store, in one round trip.
-- KEYS[1]      mw:{tenant}:store         string: the identity of the store the tenant was sealed in
-- KEYS[2]      mw:{tenant}:susp:active   hash: suspension id -> "scope<TAB>value<TAB>expiresAt"
-- KEYS[3..]    rate bucket keys (mw:{tenant}:rate:...), one per bucket
-- ARGV[1]      the store identity the asker knows
-- ARGV[2]      now, ms since the epoch
-- ARGV[3]      sender domain (A-label), '' for the null sender
-- ARGV[4]      sender address in matching form, '' for the null sender
-- ARGV[5]      number of buckets
-- ARGV[6..]    per bucket: windowMs, limit, name
-- Returns { 'lost' } | { 'ok' } | { 'suspended', id } | { 'rate', bucket name, retry after ms }
-- 'lost': the tenant's seal is gone or names another store (Redis restarted empty, flushed,
-- failed over to an empty replica): nothing here is an answer, and nothing is charged.
-- An expired suspension leaves the active index here (its record stays in susp:records), so
-- MAIL never scans history. pcall: a Redis that refuses writes (read-only replica, out of
-- memory) still answers the suspension question.
--@include gcra

if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return { 'lost' }
end

local now = tonumber(ARGV[2])
local domain = ARGV[3]
local sender = ARGV[4]

local active = redis.call('HGETALL', KEYS[2])
for i = 1, #active, 2 do
  local id = active[i]
  local scope, value, expires = string.match(active[i + 1], '^([^\t]*)\t([^\t]*)\t([^\t]*)$')
  if expires ~= '' and tonumber(expires) <= now then
    redis.pcall('HDEL', KEYS[2], id)
  else
    if scope == 'tenant'
      or (scope == 'domain' and domain ~= '' and value == domain)
      or (scope == 'sender' and sender ~= '' and value == sender) then
      return { 'suspended', id }
    end
  end
end

local refused = gcra_admit(3, 6, tonumber(ARGV[5]), now)
if refused then
  return { 'rate', refused[1], refused[2] }
end
return { 'ok' }
