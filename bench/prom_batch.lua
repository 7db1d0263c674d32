-- wrk script: POST batches of new, unique alerts to an Alertmanager-v2-compatible path.
-- Every request carries BATCH alerts whose label sets were never sent before.
local counter = 0

local threads = {}
local batch = tonumber(os.getenv("BATCH") or "100")

function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() + thread_id)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  local parts = {}
  local run = os.getenv("RUN") or "r"
  for i = 1, batch do
    parts[i] = string.format(
      '{"labels":{"alertname":"Bench%d","instance":"%s-t%d-r%d-a%d","severity":"warning"},"annotations":{"summary":"bench alert"}}',
      i % 10, run, thread_id, counter, i)
  end
  return wrk.format(nil, nil, nil, "[" .. table.concat(parts, ",") .. "]")
end
