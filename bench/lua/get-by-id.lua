-- wrk: GET /api/users/<id> with a random id from the seeded set.
-- Args (after --): <file with one id per line>
local ids = {}

function setup(thread)
  thread_counter = (thread_counter or 0) + 1
  thread:set("tid", thread_counter)
end

function init(args)
  local f = assert(io.open(args[1], "r"))
  for line in f:lines() do
    if #line > 0 then ids[#ids + 1] = line end
  end
  f:close()
  assert(#ids > 0, "no ids in " .. args[1])
  math.randomseed(os.time() * 1000 + (tid or 0))
end

function request()
  return wrk.format("GET", "/api/users/" .. ids[math.random(#ids)], { ["Accept"] = "application/json" })
end

-- The shared `done` reporter, from this script's own directory.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "report.lua")
