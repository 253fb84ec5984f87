-- POST /oauth2/introspect (admin API) with an active access token (LOAD_TOKEN).
-- See common.lua.
form_body = "token=" .. (os.getenv("LOAD_TOKEN") or "")
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")
