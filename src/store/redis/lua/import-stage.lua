-- import-stage.lua: adds one batch of an import to the tenant's staging hash, out of sight.
-- KEYS[1]      mw:{tenant}:supp:import         hash: pseudonym -> "expiresAt<TAB>entry JSON", staged
-- KEYS[2]      mw:{tenant}:supp:import:state   string: "staging <import id>" | "merging <import id>"
-- ARGV[1]      the import id
-- ARGV[2..]    pseudonym, value, pseudonym, value, ...
-- Returns 1, or 0 when the import is no longer the one staging (another one took over)
if redis.call('GET', KEYS[2]) ~= 'staging ' .. ARGV[1] then
  return 0
end
for i = 2, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
return 1
