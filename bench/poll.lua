-- wrk script: htmx polls of the seat-map partial, with a matching ETag when BENCH_ETAG is set.
local etag = os.getenv("BENCH_ETAG")
threads, statuses = {}, {}

function setup(thread) table.insert(threads, thread) end
function init(args) statuses = {} end

function request()
  local headers = { ["HX-Request"] = "true" }
  if etag then headers["If-None-Match"] = etag end
  return wrk.format("GET", nil, headers)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

local report = dofile(os.getenv("BENCH_DIR") .. "/report.lua")

function done(summary, latency, requests)
  report(threads, summary, latency)
end
