-- wrk script for POST /v1/auth/refresh (refresh-token rotation).
--
-- Every refresh token is single use, and presenting one twice revokes its whole family, so
-- every request must carry a token no other request has sent. run.sh logs in once per wrk
-- connection before the run and writes the refresh tokens to the file named by
-- $BENCH_REFRESH_TOKENS, one line per wrk thread, the thread's tokens separated by spaces:
-- one per connection of the thread plus one spare, because wrk 4.1 calls request() once in
-- the first thread to check the request before the run (script_verify_request), and that
-- token is never sent. setup() hands each thread its line.
--
-- Within a thread the connections share one Lua state and wrk's request()/response() hooks
-- do not say which connection they serve, so each thread keeps a queue of unused tokens:
-- request() takes one, response() puts back the rotated token of the same family (wrk calls
-- response() before that connection asks for its next request). Each family is therefore a
-- single chain, one request in flight at a time. A request that gets no 200 loses its chain;
-- if the queue is ever empty the request carries a dummy token and counts as non-2xx.

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

-- setup() runs in wrk's main Lua state, once per thread, before that thread's init().
local lines = nil
local next_line = 0
function setup(thread)
   if lines == nil then
      lines = {}
      local path = os.getenv("BENCH_REFRESH_TOKENS")
      local f = assert(io.open(path, "r"), "BENCH_REFRESH_TOKENS: cannot open " .. tostring(path))
      for l in f:lines() do lines[#lines + 1] = l end
      f:close()
   end
   next_line = next_line + 1
   local line = lines[next_line]
   if line == nil then error("BENCH_REFRESH_TOKENS: not enough token lines for the wrk threads") end
   thread:set("token_line", line)
end

-- Per-thread state (each thread has its own Lua state).
local queue = {}
local head, tail = 1, 0

local function push(t) tail = tail + 1; queue[tail] = t end
local function pop()
   if head > tail then return nil end
   local t = queue[head]
   queue[head] = nil
   head = head + 1
   return t
end

-- Filled on the thread's first request (wrk.thread:get reads what setup() stored).
local loaded = false

local function load_tokens()
   loaded = true
   for t in string.gmatch(wrk.thread:get("token_line") or "", "%S+") do push(t) end
end

local headers = { ["Content-Type"] = "application/json" }

function request()
   if not loaded then load_tokens() end
   local t = pop() or "exhausted-token-chain"
   return wrk.format("POST", "/v1/auth/refresh", headers, '{"refresh_token":"' .. t .. '"}')
end

function response(status, hdrs, body)
   if status == 200 then
      local t = body:match('"refresh_token"%s*:%s*"([^"]+)"')
      if t then push(t) end
   end
end
