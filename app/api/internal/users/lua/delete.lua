-- Deletes a user if it is still at the revision the caller read
-- (compare-and-swap), with its email index entry and listing entry.
-- KEYS[1] user hash, KEYS[2] index key of the email read, KEYS[3] listing sorted set
-- ARGV[1] id, ARGV[2] revision read
-- Returns OK, NOT_FOUND or STALE.
local rev = redis.call('HGET', KEYS[1], 'rev')
if not rev then
  return 'NOT_FOUND'
end
if rev ~= ARGV[2] then
  return 'STALE'
end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
return 'OK'
