-- Shared by every SCIM benchmark script (wrk runs one Lua state per thread).
-- Arguments after `--`: a run prefix (keeps userNames unique across runs), then
-- optionally a Lua data file of pre-created users.
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  prefix = args[1] or "bench"
  if args[2] then dofile(args[2]) end  -- defines `users`: {{id=..., name=...}, ...}
  wrk.headers["Content-Type"] = "application/scim+json"
  wrk.headers["Accept"] = "application/scim+json"
end

-- A number no other request of this run uses: threads interleave by their id.
function next_number()
  counter = counter + 1
  return counter * 64 + tid
end

function next_user()
  return users[(next_number() % #users) + 1]
end

-- The body of one usual User (what FIS, Okta and Entra send); `extra` is more JSON members.
function user_json(name, number, extra)
  return string.format(
    '{"schemas":["%s","%s"],"userName":"%s","name":{"givenName":"Bench","familyName":"User%d"},'
      .. '"emails":[{"value":"%s","type":"work","primary":true}],"active":true,'
      .. '"%s":{"employeeNumber":"E%d"}%s}',
    CORE, ENTERPRISE, name, number, name, ENTERPRISE, number, extra or "")
end

function new_name(number)
  return string.format("%s-%d@bench.example", prefix, number)
end

-- One line the harness parses: totals and latency in microseconds.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"non2xx":%d,"socket_errors":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
