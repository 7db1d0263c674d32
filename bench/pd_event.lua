-- wrk script: PagerDuty Events API v2 trigger events with unique dedup keys.
local counter = 0

local threads = {}

function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  local key = os.getenv("ROUTING_KEY")
  local run = os.getenv("RUN") or "r"
  local body = string.format(
    '{"routing_key":"%s","event_action":"trigger","dedup_key":"%s-t%d-%d","payload":{"summary":"bench event","source":"bench","severity":"critical"}}',
    key, run, thread_id, counter)
  return wrk.format(nil, nil, nil, body)
end
