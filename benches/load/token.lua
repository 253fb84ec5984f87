-- POST /oauth2/token with grant_type=client_credentials and HTTP Basic client authentication
-- (LOAD_AUTH: the whole Authorization header value). See common.lua.
form_body = "grant_type=client_credentials"
authorization = os.getenv("LOAD_AUTH")
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")
