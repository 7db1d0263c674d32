-- wrk script: PagerDuty trigger events paced to about RATE events/s across all connections.
-- Each connection waits CONNECTIONS/RATE seconds between requests.
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

function delay()
  local rate = tonumber(os.getenv("RATE") or "500")
  local connections = tonumber(os.getenv("CONNECTIONS") or "8")
  return 1000 * connections / rate
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"routing_key":"%s","event_action":"trigger","dedup_key":"paced-t%d-%d","payload":{"summary":"latency probe","source":"bench","severity":"critical"}}',
    os.getenv("ROUTING_KEY"), thread_id, counter)
  return wrk.format(nil, nil, nil, body)
end
