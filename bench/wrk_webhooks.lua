-- wrk script for bench/gateway.py: POST pre-signed, distinct WhatsApp webhook bodies.
--
--   wrk -t2 -c64 -d<lead+duration+margin>s --latency -s bench/wrk_webhooks.lua URL -- \
--       BODIES_%d.txt /webhooks/whatsapp/bench T_START T_END WRAP
--
-- BODIES_%d.txt: one file per wrk thread (%d = thread number from 0), one body per line as
--   "<X-Hub-Signature-256 value>\t<body>"; the threads' files are disjoint, so no body is
--   sent twice unless WRAP is 1 (the framework-ceiling run, which stores nothing).
-- T_START, T_END: CLOCK_MONOTONIC seconds (Python's time.monotonic()).  delay() holds every
--   connection until T_START, so both threads start together whatever their load time.  From
--   T_END on no new webhook is sent: each connection gets GET /healthz instead until every
--   webhook of its thread has been answered (one every 20 ms per connection, so they hardly
--   touch the latency figures), then the thread stops.  So no webhook is left in flight when
--   wrk ends, and "2xx answers" is exact.
-- Output: "BENCH key=value ..." lines from done(), read by bench/gateway.py.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec_t;
int clock_gettime(int clk_id, bench_timespec_t *tp);
]]
local ts = ffi.new("bench_timespec_t")
local function now()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

local HEALTH_BODY = '{"status":"ok"}'

-- setup/done run in the main Lua state -----------------------------------------------------
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

-- per-thread state ---------------------------------------------------------------------------
function init(args)
  local file = string.format(args[1], tid)
  local path = args[2]
  t_start = tonumber(args[3])
  t_end = tonumber(args[4])
  wrap = args[5] == "1"
  reqs = {}
  for line in io.lines(file) do
    local tab = line:find("\t", 1, true)
    reqs[#reqs + 1] = wrk.format("POST", path, {
      ["Content-Type"] = "application/json",
      ["X-Hub-Signature-256"] = line:sub(1, tab - 1),
    }, line:sub(tab + 1))
  end
  health = wrk.format("GET", "/healthz", { ["Host"] = wrk.headers["Host"] })
  n_bodies = #reqs
  i = 0
  sent, answered, ok, non2xx, wrapped = 0, 0, 0, 0, 0
  health_sent, health_answered = 0, 0
  last = 0
  draining = false
  exhausted = false
  loaded_at = now()
  -- wrk calls request() once on thread 0 before it starts, only to check the request parses
  -- (script_verify_request); that request is never sent and must not be counted.
  verify_pending = (tid == 0)
end

function delay()
  local t = now()
  if t < t_start then
    return math.ceil((t_start - t) * 1000)
  end
  if t >= t_end then
    return 20 -- the drain: a few /healthz per connection, not thousands
  end
  return 0
end

function request()
  if verify_pending then
    verify_pending = false
    return reqs[1]
  end
  if not draining then
    if now() < t_end then
      i = i + 1
      if i > n_bodies then
        if wrap then
          i = 1
          wrapped = wrapped + 1
        else
          exhausted = true
          draining = true
        end
      end
      if not draining then
        sent = sent + 1
        return reqs[i]
      end
    else
      draining = true
    end
  end
  health_sent = health_sent + 1
  return health
end

function response(status, headers, body)
  if status == 200 and body == HEALTH_BODY then
    health_answered = health_answered + 1
  else
    answered = answered + 1
    if status >= 200 and status < 300 then
      ok = ok + 1
    else
      non2xx = non2xx + 1
    end
    last = now()
  end
  if draining and answered == sent then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local t = { sent = 0, answered = 0, ok = 0, non2xx = 0, wrapped = 0, health_sent = 0,
              health_answered = 0, bodies = 0, exhausted = 0 }
  local last_any, loaded_max = 0, 0
  for _, th in ipairs(threads) do
    for k, _ in pairs(t) do
      local v = th:get(k)
      if type(v) == "boolean" then v = v and 1 or 0 end
      if k == "bodies" then v = th:get("n_bodies") end
      t[k] = t[k] + (v or 0)
    end
    last_any = math.max(last_any, th:get("last") or 0)
    loaded_max = math.max(loaded_max, th:get("loaded_at") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    "BENCH sent=%d answered=%d ok=%d non2xx=%d wrapped=%d exhausted=%d bodies=%d " ..
    "health_sent=%d health_answered=%d last=%.6f loaded=%.6f threads=%d\n",
    t.sent, t.answered, t.ok, t.non2xx, t.wrapped, t.exhausted, t.bodies, t.health_sent,
    t.health_answered, last_any, loaded_max, #threads))
  io.write(string.format(
    "BENCH responses=%d err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d\n",
    summary.requests, e.connect, e.read, e.write, e.status, e.timeout))
  io.write(string.format(
    "BENCH p50_us=%d p90_us=%d p99_us=%d max_us=%d mean_us=%.1f\n",
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean))
end
