-- wrk script: every request is one buyer holding one seat, sent as htmx sends a click: the seat
-- form's fields (CSRF token, signed buyer token) and the seat, with the buyer's cookies.
-- The buyers (BENCH_DATA, written by bench/run.py) each opened the seat map and made two
-- clicks, so each has the session its first hold set and the buyer cookie its second set (its
-- orders are from before the run freed every seat: the first click of the run names the new one).
-- Seats are dealt round-robin across threads so buyers mostly want different seats, as on a
-- real seat map; collisions near the sell-out are part of the measurement.
-- Like a browser, a buyer keeps the buyer cookie a response sets (its first click of the sale
-- opens an order, which the cookie then names): wrk keeps no cookies, and without this every
-- later click carried the stale cookie and had the server sign a new one. Buyers are dealt
-- so that each thread has its own (an even count: thread 0 the even ones), and a response is
-- matched to its buyer by the buyer token inside the cookie it sets.
local buyers, seats = dofile(os.getenv("BENCH_DATA"))
counter, thread_id, statuses, kept = 0, 0, {}, 0
local by_token = {}

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

-- The buyer token of a signed cookie (django.core.signing: urlsafe base64 of the JSON, then
-- ":timestamp:signature"; a compressed value starts with "." and is not read).
local function token_of(signed)
  local payload = signed:match("^([^:.][^:]*):")
  if not payload then return nil end
  local out, bits, nbits = {}, 0, 0
  for i = 1, #payload do
    local v = B64:find(payload:sub(i, i), 1, true)
    if not v then return nil end
    bits, nbits = bits * 64 + (v - 1), nbits + 6
    if nbits >= 8 then
      nbits = nbits - 8
      local byte = math.floor(bits / 2 ^ nbits)
      out[#out + 1] = string.char(byte)
      bits = bits - byte * 2 ^ nbits
    end
  end
  return table.concat(out):match('"buyer":"([^"]+)"')
end
threads = {}

function setup(thread)
  thread:set("thread_id", #threads)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  for _, buyer in ipairs(buyers) do
    local token = token_of(buyer.buyer_cookie)
    if token then by_token[token] = buyer end
  end
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
  for name, value in pairs(headers) do
    if name:lower() == "set-cookie" then
      local signed = value:match("seatlock_buyer=([^;]+)")
      local buyer = signed and by_token[token_of(signed) or ""]
      if buyer then
        buyer.buyer_cookie = signed
        kept = kept + 1
      end
    end
  end
end

local report = dofile(os.getenv("BENCH_DIR") .. "/report.lua")

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("kept") end
  report(threads, summary, latency, {cookies_kept = total})
end
