-- wrk's side of bench/run.mjs: every request carries the next viewer's session
-- (one token per line in WRK_TOKENS, each wrk thread starting at its own
-- offset) and, with WRK_KEYS=1, a fresh random Idempotency-Key, as the emitter
-- sends. The summary is printed as one JSON line for the bench to read.
local tokens = {}
for line in io.lines(os.getenv("WRK_TOKENS")) do tokens[#tokens + 1] = line end
local keys = os.getenv("WRK_KEYS") == "1"
local threads = {}
local n = 0

function setup(thread)
  n = n + 1
  thread:set("offset", n * 7919)
  table.insert(threads, thread)
end

local i
local json
function init(args)
  i = offset or 0
  math.randomseed(os.time() + i)
  wrk.method = os.getenv("WRK_METHOD")
  local body = os.getenv("WRK_BODY")
  if body and body ~= "" then
    wrk.body = body
    json = true
  end
end

local function key()
  return string.format("%08x-%04x-%04x-%04x-%08x%04x", math.random(0, 0x7fffffff), math.random(0, 0xffff), math.random(0, 0xffff),
    math.random(0, 0xffff), math.random(0, 0x7fffffff), math.random(0, 0xffff))
end

function request()
  i = i + 1
  -- (wrk.format takes these headers instead of wrk.headers, not in addition.)
  local headers = { ["Authorization"] = "Bearer " .. tokens[(i % #tokens) + 1] }
  if json then headers["Content-Type"] = "application/json" end
  if keys then headers["Idempotency-Key"] = key() end
  return wrk.format(nil, nil, headers)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"durationUs":%d,"non2xx":%d,"socketErrors":%d,"p50Us":%d,"p99Us":%d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
