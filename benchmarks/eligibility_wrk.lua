-- wrk script for the eligibility benchmark.
-- ELIG_MODE=check: GET /api/v1/eligibility rotating through the codes in ELIG_CODES (listed,
-- known unlisted, unknown) and the activity domains; ELIG_MODE=healthz: GET /healthz.
-- Prints one JSON line (prefixed "RESULT ") with throughput, latency percentiles and errors.
local mode = os.getenv("ELIG_MODE") or "check"
local token = os.getenv("ELIG_TOKEN") or ""
local codes = {}
local domains = {"procurement", "bidding", "land", "mining_rights", "financing", "securities",
                 "project_approval", "fiscal_support", "honours", "qualification", "market_entry",
                 "insurance", "import_export", "exit_entry", "inspection"}
local counter = 0
-- ELIG_DELAY_MS: each connection waits this long before its next request (a paced load:
-- connections x 1000 / (delay + latency) requests a second at most), for the load test.
local pause = tonumber(os.getenv("ELIG_DELAY_MS") or "0")

function setup(thread)
  thread:set("offset", math.random(1, 100000))
end

function init(args)
  local path = os.getenv("ELIG_CODES")
  if path then
    for line in io.lines(path) do
      if #line > 0 then codes[#codes + 1] = line end
    end
  end
  counter = tonumber(offset) or 0
  wrk.headers["Authorization"] = "Bearer " .. token
end

function delay()
  return pause
end

function request()
  if mode == "healthz" then
    return wrk.format("GET", "/healthz")
  end
  counter = counter + 1
  local code = codes[(counter % #codes) + 1]
  local domain = domains[(counter % #domains) + 1]
  return wrk.format("GET", "/api/v1/eligibility?uscc=" .. code .. "&domain=" .. domain)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "duration_us": %d, "rps": %.1f, "p50_ms": %.3f, "p90_ms": %.3f, ' ..
    '"p99_ms": %.3f, "max_ms": %.3f, "mean_ms": %.3f, "non2xx": %d, "connect_errors": %d, ' ..
    '"read_errors": %d, "write_errors": %d, "timeouts": %d}\n',
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, latency.mean / 1000, e.status, e.connect, e.read, e.write, e.timeout))
end
