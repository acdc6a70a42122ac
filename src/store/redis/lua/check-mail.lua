-- check-mail.lua: everything MAIL FROM asks of the store, in one round trip.
-- KEYS[1]      mw:{tenant}:susp:active   hash: suspension id -> "scope<TAB>value<TAB>expiresAt"
-- KEYS[2..]    rate bucket keys (mw:{tenant}:rate:...), one per bucket
-- ARGV[1]      now, ms since the epoch
-- ARGV[2]      sender domain (A-label), '' for the null sender
-- ARGV[3]      sender address in matching form, '' for the null sender
-- ARGV[4]      number of buckets
-- ARGV[5..]    per bucket: windowMs, limit, name
-- Returns { 'ok' } | { 'suspended', id } | { 'rate', bucket name, retry after ms }
-- An expired suspension leaves the active index here (its record stays in susp:records), so
-- MAIL never scans history. pcall: a Redis that refuses writes (read-only replica, out of
-- memory) still answers the suspension question.
--@include gcra

local now = tonumber(ARGV[1])
local domain = ARGV[2]
local sender = ARGV[3]

local active = redis.call('HGETALL', KEYS[1])
for i = 1, #active, 2 do
  local id = active[i]
  local scope, value, expires = string.match(active[i + 1], '^([^\t]*)\t([^\t]*)\t([^\t]*)$')
  if expires ~= '' and tonumber(expires) <= now then
    redis.pcall('HDEL', KEYS[1], id)
  else
    if scope == 'tenant'
      or (scope == 'domain' and domain ~= '' and value == domain)
      or (scope == 'sender' and sender ~= '' and value == sender) then
      return { 'suspended', id }
    end
  end
end

local refused = gcra_admit(2, 5, tonumber(ARGV[4]), now)
if refused then
  return { 'rate', refused[1], refused[2] }
end
return { 'ok' }
