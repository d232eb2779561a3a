-- wrk script: every request is one buyer holding one seat, sent as htmx sends a click: the seat
-- form's fields (CSRF token, signed buyer token) and the seat, with the buyer's cookies.
-- The buyers (BENCH_DATA, written by bench/run.py) each opened the seat map and made two
-- clicks, so each has the session its first hold set and the buyer cookie its second set (its
-- orders are from before the run freed every seat: the first click of the run names the new one).
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
  local body = "csrfmiddlewaretoken=" .. buyer.csrf .. "&buyer=" .. buyer.buyer .. "&seat=" .. seat
  local headers = {
    ["Cookie"] = "sessionid=" .. buyer.session .. "; csrftoken=" .. buyer.csrf_cookie
      .. "; seatlock_buyer=" .. buyer.buyer_cookie,
    ["HX-Request"] = "true",
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }
  return wrk.format("POST", nil, headers, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

local report = dofile(os.getenv("BENCH_DIR") .. "/report.lua")

function done(summary, latency, requests)
  report(threads, summary, latency)
end
