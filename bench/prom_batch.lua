-- wrk script: POST batches of alerts to an Alertmanager-v2-compatible path.
-- By default every request carries BATCH alerts whose label sets were never
-- sent before. With SLOTS=n each wrk thread cycles through n batches instead,
-- so after the first round every alert is one already firing, sent again (what
-- Prometheus does each evaluation).
local counter = 0

local threads = {}
local batch = tonumber(os.getenv("BATCH") or "100")
local slots = tonumber(os.getenv("SLOTS") or "0")

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
  local request_id = counter
  if slots > 0 then
    request_id = counter % slots
  end
  local parts = {}
  local run = os.getenv("RUN") or "r"
  for i = 1, batch do
    parts[i] = string.format(
      '{"labels":{"alertname":"Bench%d","instance":"%s-t%d-r%d-a%d","severity":"warning"},"annotations":{"summary":"bench alert"}}',
      i % 10, run, thread_id, request_id, i)
  end
  return wrk.format(nil, nil, nil, "[" .. table.concat(parts, ",") .. "]")
end
