-- Shared by the wrk scripts: merge every thread's status counts and print one JSON line.
-- `extra`: more counts for the line ({name = number}).
return function(threads, summary, latency, extra)
  local merged = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do merged[tostring(status)] = (merged[tostring(status)] or 0) + n end
  end
  local parts = {}
  for status, n in pairs(merged) do table.insert(parts, string.format('"%s": %d', status, n)) end
  local more = {}
  for name, n in pairs(extra or {}) do table.insert(more, string.format(', "%s": %d', name, n)) end
  io.write(string.format(
    'JSON {"rps": %.2f, "requests": %d, "p50": %.3f, "p95": %.3f, "p99": %.3f, "errors": %d, "statuses": {%s}%s}\n',
    summary.requests / (summary.duration / 1e6), summary.requests,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    table.concat(parts, ", "), table.concat(more)))
end
