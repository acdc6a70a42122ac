-- import-merge.lua: moves one batch of a committed import's entries into the suppression list.
-- KEYS[1]      mw:{tenant}:supp                hash: pseudonym -> "expiresAt<TAB>entry JSON"
-- KEYS[2]      mw:{tenant}:supp:import         hash: the committed import's entries not yet moved
-- KEYS[3]      mw:{tenant}:supp:import:state   string: "merging <import id>"
-- ARGV[1..]    pseudonyms seen in the staging hash (HSCAN), re-read here: one written or removed
--              since (a newer suppression, an erasure) was taken out of the staging hash
-- Returns the number of entries left to move; when none is left the import is done (state removed)
for i = 1, #ARGV do
  local v = redis.call('HGET', KEYS[2], ARGV[i])
  if v then
    redis.call('HSET', KEYS[1], ARGV[i], v)
    redis.call('HDEL', KEYS[2], ARGV[i])
  end
end
local left = redis.call('HLEN', KEYS[2])
if left == 0 and string.sub(redis.call('GET', KEYS[3]) or '', 1, 8) == 'merging ' then
  redis.call('DEL', KEYS[3])
end
return left
