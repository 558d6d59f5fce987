-- wrk: GET /api/users?limit=<n> (first page, newest first).
-- Args (after --): <limit>
local path = "/api/users?limit=20"

function init(args)
  if args[1] then path = "/api/users?limit=" .. args[1] end
end

function request()
  return wrk.format("GET", path, { ["Accept"] = "application/json" })
end

-- The shared `done` reporter, from this script's own directory.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "report.lua")
