-- Shared wrk done() hook for bench/http: prints one machine-readable line that run.sh parses.
--   BENCH requests=N duration_s=S rps=R p50_ms=.. p99_ms=.. non2xx=N errors=N
-- wrk's own summary (with --latency) is printed above it.
function done(summary, latency, requests)
   local secs = summary.duration / 1e6
   local e = summary.errors
   io.write(string.format(
      "BENCH requests=%d duration_s=%.3f rps=%.1f p50_ms=%.3f p99_ms=%.3f non2xx=%d errors=%d\n",
      summary.requests, secs, summary.requests / secs,
      latency:percentile(50) / 1000, latency:percentile(99) / 1000,
      e.status, e.connect + e.read + e.write + e.timeout))
end
