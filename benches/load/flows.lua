-- GET /oauth2/auth as the URL given to wrk says: an authorization request that opens a flow
-- (a stored login request) which nobody finishes. See common.lua.
method = "GET"
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")
