-- wrk: GET /api/users?limit=<n> (first page, newest first).
-- Args (after --): <limit>
local path = "/api/users?limit=20"

function init(args)
  if args[1] then path = "/api/users?limit=" .. args[1] end
end

function request()
  return wrk.format("GET", path, { ["Accept"] = "application/json" })
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"status_errors":%d,"socket_errors":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
