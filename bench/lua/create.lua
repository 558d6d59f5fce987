-- wrk: POST /api/users with a unique name and email per request.
-- Args (after --): <run prefix, unique per wrk run>
local prefix = "bench"
local counter = 0
local headers = { ["Content-Type"] = "application/json", ["Accept"] = "application/json" }

function setup(thread)
  thread_counter = (thread_counter or 0) + 1
  thread:set("tid", thread_counter)
end

function init(args)
  if args[1] then prefix = args[1] end
end

function request()
  counter = counter + 1
  local body = string.format('{"name":"Bench %s %d-%d","email":"%s-%d-%d@bench.example.com"}',
    prefix, tid or 0, counter, prefix, tid or 0, counter)
  return wrk.format("POST", "/api/users", headers, body)
end

-- The shared `done` reporter, from this script's own directory.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "report.lua")
