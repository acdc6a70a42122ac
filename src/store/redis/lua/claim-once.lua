-- claim-once.lua: claims a name until the caller's now + ttl; idempotent for its holder.
-- KEYS[1]      mw:{tenant}:claim:<name>   string: "<until ms>:<holder token>"
-- ARGV[1]      now, ms since the epoch, from the caller
-- ARGV[2]      ttl, ms
-- ARGV[3]      holder: a token the caller draws once per claim, so that a retry of the same
--              claim after a lost reply reads back as its own, not as somebody else's
-- Returns 1 when the caller holds the claim, 0 when another holder does and it has not expired
local now = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local current = redis.call('GET', KEYS[1])
if current then
  local until_ms, holder = string.match(current, '^(%d+):(.*)$')
  if holder == ARGV[3] then
    return 1
  end
  if until_ms and tonumber(until_ms) > now then
    return 0
  end
end
redis.call('SET', KEYS[1], string.format('%.0f', now + ttl) .. ':' .. ARGV[3], 'PX', ttl)
return 1
