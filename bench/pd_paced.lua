-- wrk script: PagerDuty trigger events sent on a fixed schedule of about RATE events/s.
-- Each of the THREADS wrk threads (default 2) sends its share at evenly spaced
-- instants from its start: a free connection waits for the next instant, so the
-- rate does not drop as latency grows (unless every connection is busy).
local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } wk_timespec;
  int clock_gettime(int clock_id, wk_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local now_ts = ffi.new("wk_timespec")

local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, now_ts)
  return tonumber(now_ts.tv_sec) * 1000 + tonumber(now_ts.tv_nsec) / 1e6
end

local counter = 0
local scheduled = 0
local started = nil
local interval = nil

local threads = {}

function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  local rate = tonumber(os.getenv("RATE") or "500")
  local count = tonumber(os.getenv("THREADS") or "2")
  interval = 1000 * count / rate
end

function delay()
  if started == nil then
    started = now_ms()
  end
  scheduled = scheduled + 1
  local wait = started + scheduled * interval - now_ms()
  if wait < 0 then
    return 0
  end
  return wait
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"routing_key":"%s","event_action":"trigger","dedup_key":"paced-t%d-%d","payload":{"summary":"latency probe","source":"bench","severity":"critical"}}',
    os.getenv("ROUTING_KEY"), thread_id, counter)
  return wrk.format(nil, nil, nil, body)
end
