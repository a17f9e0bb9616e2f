-- wrk script for the static GET runs (nginx file, streamd title detail): only the report hook.
-- The request itself (URL, Authorization header) comes from the wrk command line.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")
