-- wrk script: POST batches of alerts that are already firing, as Prometheus
-- does: it re-sends every firing alert each evaluation (every minute by default).
-- Each wrk thread cycles through SLOTS batches of BATCH alerts; after the
-- first round (the warm-up) every alert sent is a repeat of an open one.
local counter = 0

local threads = {}
local batch = tonumber(os.getenv("BATCH") or "100")
local slots = tonumber(os.getenv("SLOTS") or "20")

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
  local slot = counter % slots
  local parts = {}
  local run = os.getenv("RUN") or "r"
  for i = 1, batch do
    parts[i] = string.format(
      '{"labels":{"alertname":"Bench%d","instance":"%s-t%d-s%d-a%d","severity":"warning"},"annotations":{"summary":"bench alert"}}',
      i % 10, run, thread_id, slot, i)
  end
  return wrk.format(nil, nil, nil, "[" .. table.concat(parts, ",") .. "]")
end
