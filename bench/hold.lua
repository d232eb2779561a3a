-- wrk script: every request is one buyer (own session cookie and CSRF token) holding one seat.
-- Seats are dealt round-robin across threads so buyers mostly want different seats, as on a
-- real seat map; collisions near the sell-out are part of the measurement.
local buyers, seats = dofile(os.getenv("BENCH_DATA"))
counter, thread_id, statuses = 0, 0, {}
threads = {}

function setup(thread)
  thread:set("thread_id", #threads)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
end

function request()
  counter = counter + 1
  local buyer = buyers[((counter * 2 + thread_id) % #buyers) + 1]
  local seat = seats[((counter * 2 + thread_id) % #seats) + 1]
  local body = "seat=" .. seat
  local headers = {
    ["Cookie"] = "sessionid=" .. buyer[1] .. "; csrftoken=" .. buyer[2],
    ["X-CSRFToken"] = buyer[2],
    ["HX-Request"] = "true",
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }
  return wrk.format("POST", nil, headers, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local merged = {}
  for _, thread in ipairs(threads) do
    local counts = thread:get("statuses")
    for status, n in pairs(counts) do merged[tostring(status)] = (merged[tostring(status)] or 0) + n end
  end
  local parts = {}
  for status, n in pairs(merged) do table.insert(parts, string.format('"%s": %d', status, n)) end
  io.write(string.format(
    'JSON {"rps": %.2f, "requests": %d, "p50": %.3f, "p95": %.3f, "p99": %.3f, "errors": %d, "statuses": {%s}}\n',
    summary.requests / (summary.duration / 1e6), summary.requests,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    table.concat(parts, ", ")))
end
