-- Shared by the wrk scripts of the load benchmark: token.lua and introspect.lua set
-- `form_body` (and `authorization`), flows.lua sets `method` to GET, and then they load this
-- file.
--
-- From the environment (set by run.sh):
--   LOAD_NAME             the label of the result line
--   LOAD_MAX_PER_THREAD   stop each thread after this many responses (optional); a stopped
--                         thread appends a line to LOAD_DONE_FILE, and run.sh interrupts wrk
--                         (whose main thread otherwise sleeps for the whole -d duration) once
--                         every thread has stopped
--
-- done() prints one stable line that run.sh greps (latencies in milliseconds):
--   RESULT <name> requests=<n> rps=<n> p50_ms=<x> p90_ms=<x> p99_ms=<x> max_ms=<x> non2xx=<n> errors=<n>

-- One static request, built once by wrk: no Lua runs per request unless a limit is set.
wrk.method = method or "POST"
if form_body then
   wrk.body = form_body
   wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end
wrk.headers["Accept"] = "application/json"
if authorization then
   wrk.headers["Authorization"] = authorization
end

local limit = tonumber(os.getenv("LOAD_MAX_PER_THREAD") or "")
if limit then
   -- Only defined when needed: with a response() function wrk keeps every response body.
   local responses = 0
   local done_file = os.getenv("LOAD_DONE_FILE")
   function response(status, headers, body)
      responses = responses + 1
      if responses == limit then
         if done_file then
            local f = io.open(done_file, "a")
            if f then
               f:write("stopped\n")
               f:close()
            end
         end
         wrk.thread:stop()
      end
   end
end

function done(summary, latency, requests)
   local e = summary.errors
   local function ms(us) return string.format("%.2f", us / 1000) end
   io.write(string.format(
      "RESULT %s requests=%d rps=%.0f p50_ms=%s p90_ms=%s p99_ms=%s max_ms=%s non2xx=%d errors=%d\n",
      os.getenv("LOAD_NAME") or "load",
      summary.requests,
      summary.requests / (summary.duration / 1e6),
      ms(latency:percentile(50)),
      ms(latency:percentile(90)),
      ms(latency:percentile(99)),
      ms(latency.max),
      e.status,
      e.connect + e.read + e.write + e.timeout))
end
