-- auth-check.lua: whether a client address and a username have failed AUTHs left; charges nothing.
-- KEYS[1..]    failure bucket keys (mw:{auth}:ip:... and mw:{auth}:user:...), one per bucket
-- ARGV[1]      now, ms since the epoch
-- ARGV[2]      number of buckets
-- ARGV[3..]    per bucket: windowMs, limit, name
-- Returns { 'ok' } | { 'limited', bucket name, retry after ms }
local now = tonumber(ARGV[1])
local worst_name, worst_retry = nil, -1
for i = 0, tonumber(ARGV[2]) - 1 do
  local window = tonumber(ARGV[3 + i * 3])
  local limit = tonumber(ARGV[4 + i * 3])
  local tat = tonumber(redis.call('GET', KEYS[1 + i])) or now
  if tat < now then tat = now end
  local allow_at = tat + window / limit - window
  if allow_at > now and math.ceil(allow_at - now) > worst_retry then
    worst_retry = math.ceil(allow_at - now)
    worst_name = ARGV[5 + i * 3]
  end
end
if worst_name then
  return { 'limited', worst_name, worst_retry }
end
return { 'ok' }
