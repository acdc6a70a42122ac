-- gcra.lua: shared by the scripts that charge rate buckets; included, never run alone.
-- Admits a request only if every bucket has room, and only then charges them all.
--   first_key: index in KEYS of the first bucket key
--   first_arg: index in ARGV of the first bucket's (windowMs, limit, name) triple
--   count:     number of buckets
--   now:       ms since the epoch, from the caller
-- Returns nil when admitted, else { bucket name, retry after ms } for the bucket that
-- needs the longest wait. Each key holds its theoretical arrival time and expires with it.
local function gcra_admit(first_key, first_arg, count, now)
  local updates = {}
  local worst_name, worst_retry = nil, -1
  for i = 0, count - 1 do
    local key = KEYS[first_key + i]
    local window = tonumber(ARGV[first_arg + i * 3])
    local limit = tonumber(ARGV[first_arg + i * 3 + 1])
    local name = ARGV[first_arg + i * 3 + 2]
    local interval = window / limit
    local tat = tonumber(redis.call('GET', key)) or now
    if tat < now then tat = now end
    local nxt = tat + interval
    local allow_at = nxt - window
    if allow_at > now then
      local retry = math.ceil(allow_at - now)
      if retry > worst_retry then
        worst_retry = retry
        worst_name = name
      end
    else
      updates[#updates + 1] = { key, nxt }
    end
  end
  if worst_name then
    return { worst_name, worst_retry }
  end
  for _, u in ipairs(updates) do
    redis.call('SET', u[1], string.format('%.3f', u[2]), 'PX', math.ceil(u[2] - now) + 1000)
  end
  return nil
end
