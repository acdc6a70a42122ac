-- import-commit.lua: makes a whole staged import visible in one step: from now on RCPT reads
-- the staging hash too, until import-merge.lua has moved every entry into the list.
-- KEYS[1]      mw:{tenant}:supp:import:state   string: "staging <import id>" | "merging <import id>"
-- KEYS[2]      mw:{tenant}:supp:import         hash: the staged entries
-- ARGV[1]      the import id
-- Returns 1, or 0 when the import is no longer the one staging
if redis.call('GET', KEYS[1]) ~= 'staging ' .. ARGV[1] then
  return 0
end
if redis.call('HLEN', KEYS[2]) == 0 then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], 'merging ' .. ARGV[1])
end
return 1
