-- Creates a user unless its email is taken.
-- KEYS[1] user hash, KEYS[2] email index key, KEYS[3] listing sorted set
-- ARGV[1] id, ARGV[2] name, ARGV[3] email, ARGV[4] creation time
-- Returns OK or EMAIL_TAKEN.
local owner = redis.call('GET', KEYS[2])
if owner == ARGV[1] then
  -- A retry of this very create whose first reply was lost.
  return 'OK'
end
if owner then
  return 'EMAIL_TAKEN'
end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'name', ARGV[2], 'email', ARGV[3],
  'createdAt', ARGV[4], 'updatedAt', ARGV[4], 'rev', 1)
redis.call('SET', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], 0, ARGV[1])
return 'OK'
