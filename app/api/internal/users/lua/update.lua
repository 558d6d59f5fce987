-- Replaces the name and email of a user if it is still at the revision the
-- caller read (compare-and-swap), moving its email index entry when the
-- email changes.
-- KEYS[1] user hash, KEYS[2] index key of the email read, KEYS[3] index key of the new email
-- ARGV[1] id, ARGV[2] revision read, ARGV[3] name, ARGV[4] email, ARGV[5] update time
-- Returns OK, NOT_FOUND, STALE or EMAIL_TAKEN.
local rev = redis.call('HGET', KEYS[1], 'rev')
if not rev then
  return 'NOT_FOUND'
end
if rev ~= ARGV[2] then
  return 'STALE'
end
if KEYS[3] ~= KEYS[2] then
  if redis.call('EXISTS', KEYS[3]) == 1 then
    return 'EMAIL_TAKEN'
  end
  redis.call('DEL', KEYS[2])
  redis.call('SET', KEYS[3], ARGV[1])
end
redis.call('HSET', KEYS[1], 'name', ARGV[3], 'email', ARGV[4], 'updatedAt', ARGV[5])
redis.call('HINCRBY', KEYS[1], 'rev', 1)
return 'OK'
