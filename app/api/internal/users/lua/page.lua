-- Reads one page of the listing and the records on it, in one round trip,
-- as one consistent snapshot: no write runs between the range and the reads.
-- KEYS[1] listing sorted set
-- ARGV[1] start of the range, newest first: '+' for the newest user, or
--         '(' .. id for the users after id
-- ARGV[2] page size, at least 1
-- ARGV[3] prefix of the record keys ('user:')
-- Returns { next, then id, name, email, createdAt, updatedAt of each user on
-- the page, in order }. next is the id to start the following page after,
-- or '' on the last page. A listed id without a record is left out.
-- The record keys are built here, not passed as KEYS: this needs one Redis
-- (with or without Sentinel), not Redis Cluster, which is what the API uses.
local limit = tonumber(ARGV[2])
local ids = redis.call('ZRANGE', KEYS[1], ARGV[1], '-', 'BYLEX', 'REV', 'LIMIT', 0, limit + 1)
local out = { '' }
if #ids > limit then
  out[1] = ids[limit]
end
for i = 1, math.min(#ids, limit) do
  local f = redis.call('HMGET', ARGV[3] .. ids[i], 'id', 'name', 'email', 'createdAt', 'updatedAt')
  if f[1] then
    for j = 1, 5 do
      out[#out + 1] = f[j] or ''
    end
  end
end
return out
