-- The wrk script behind bench/harness.ts's load(): every connection sends batches of
-- WRK_PIPELINE requests back to back, cycling through the requests listed in WRK_REQUESTS
-- (one per line: "METHOD PATH<TAB>name: value<TAB>…<TAB><TAB>body"), and done() prints the
-- counts the harness reads as one "WRK {json}" line.
local pipeline = tonumber(os.getenv("WRK_PIPELINE") or "10")
local batches = {}
local next_batch = 1

function init(args)
  local reqs = {}
  for line in io.lines(os.getenv("WRK_REQUESTS")) do
    local head, body = line:match("^(.-)\t\t(.*)$")
    if head == nil then head, body = line, "" end
    local fields = {}
    for f in head:gmatch("[^\t]+") do fields[#fields + 1] = f end
    local method, path = fields[1]:match("^(%S+) (%S+)$")
    local headers = {}
    for i = 2, #fields do
      local k, v = fields[i]:match("^([^:]+): (.*)$")
      headers[k] = v
    end
    if #body > 0 then headers["Content-Length"] = tostring(#body) end
    reqs[#reqs + 1] = wrk.format(method, path, headers, #body > 0 and body or nil)
  end
  -- Batches of `pipeline` requests, cycling through every request line.
  local n = #reqs
  local count = math.max(1, math.floor(n / pipeline))
  if n % pipeline ~= 0 then count = n end
  for b = 0, count - 1 do
    local parts = {}
    for i = 0, pipeline - 1 do parts[#parts + 1] = reqs[((b * pipeline + i) % n) + 1] end
    batches[#batches + 1] = table.concat(parts)
  end
end

function request()
  local r = batches[next_batch]
  next_batch = next_batch % #batches + 1
  return r
end

-- The 99th percentile from the histogram itself: wrk's latency:percentile() starts its scan at the
-- smallest latency recorded, but its coordinated-omission correction adds samples below that, so
-- it answers 0 for some runs. latency[i] is the count of latencies of i - 1 microseconds.
local function p99(latency)
  local n = #latency
  local total = 0
  for i = 1, n do total = total + latency[i] end
  local rank = math.floor(0.99 * total + 0.5)
  local seen = 0
  for i = 1, n do
    seen = seen + latency[i]
    if seen >= rank and seen > 0 then return i - 1 end
  end
  return 0
end

function done(summary, latency, requests)
  io.write(string.format('WRK {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.status, summary.errors.timeout, p99(latency)))
end
