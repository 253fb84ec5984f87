"""Gives schemathesis something real to find: seeds a running server through its own APIs and
writes schemathesis configs whose dictionaries offer the seeded values (a client, a dynamically
registered one when registration is on, tokens, open
and handled login and consent challenges, a user with a login session and a remembered consent)
next to generated ones, so that fuzzing reaches past "not found". CONFIG_OUT.toml is for every
operation; CONFIG_OUT-client.toml adds the client's Basic credentials to token and revoke.

    python seed.py PUBLIC_URL ADMIN_URL CONFIG_OUT
"""

import base64

import secrets
import sys
import urllib.parse

import requests

PUBLIC, ADMIN, OUT = sys.argv[1:4]
RUN = secrets.token_hex(4)
CLIENT = f"schemathesis-{RUN}"
SECRET = secrets.token_urlsafe(24)
USER = f"schemathesis-user-{RUN}"
REDIRECT = "http://127.0.0.1:5555/callback"
OPEN_FLOWS = 3


def expect(res, status):
    if res.status_code != status:
        sys.exit(f"seed: {res.request.method} {res.url} answered {res.status_code}, not {status}: {res.text[:300]}")
    return res


def query_value(url, name):
    values = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).get(name)
    if not values:
        sys.exit(f"seed: no {name} in {url}")
    return values[0]


def follow(browser, url):
    """One step of the browser: the Location the public API answers `url` with."""
    return expect(browser.get(url, allow_redirects=False), 302).headers["Location"]


def login_challenge(browser):
    query = urllib.parse.urlencode({
        "client_id": CLIENT, "response_type": "code", "redirect_uri": REDIRECT,
        "scope": "openid offline", "state": secrets.token_hex(8), "nonce": secrets.token_hex(8),
    })
    return query_value(follow(browser, f"{PUBLIC}/oauth2/auth?{query}"), "login_challenge")


def accept(kind, challenge, body):
    url = f"{ADMIN}/oauth2/auth/requests/{kind}/{challenge}/accept"
    return expect(requests.put(url, json=body), 200).json()["redirect_to"]


def consent_challenge(browser, remember):
    challenge = login_challenge(browser)
    body = {"subject": USER, "remember": remember, "remember_for": 3600}
    return challenge, query_value(follow(browser, accept("login", challenge, body)), "consent_challenge")


expect(requests.post(f"{ADMIN}/clients", json={
    "client_id": CLIENT, "client_secret": SECRET, "redirect_uris": [REDIRECT],
    "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
    "response_types": ["code"], "scope": "openid offline", "allowed_cors_origins": ["http://127.0.0.1:5555"],
}), 201)

# One flow to the end, remembered: a login session, a remembered consent, tokens.
browser = requests.Session()
handled_login, handled_consent = consent_challenge(browser, remember=True)
done = accept("consent", handled_consent, {"grant_scope": ["openid", "offline"], "remember": True, "remember_for": 3600})
code = query_value(follow(browser, done), "code")
tokens = expect(requests.post(f"{PUBLIC}/oauth2/token", auth=(CLIENT, SECRET), data={
    "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
}), 200).json()

# Flows left open at the login and at the consent step, each in its own browser.
open_logins = [login_challenge(requests.Session()) for _ in range(OPEN_FLOWS)]
open_consents = [consent_challenge(requests.Session(), remember=False)[1] for _ in range(OPEN_FLOWS)]

# A dynamically registered client, when the server offers registration: its id joins the
# client ids, and its registration access token authorizes the RFC 7592 operations.
registration = {}
endpoint = expect(requests.get(f"{PUBLIC}/.well-known/openid-configuration"), 200).json().get("registration_endpoint")
if endpoint:
    registration = expect(requests.post(endpoint, json={
        "client_name": "schemathesis", "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none",
    }), 201).json()

values = {
    "challenge": open_logins + open_consents + [handled_login, handled_consent],
    "client": [CLIENT] + ([registration["client_id"]] if registration else []),
    "user": [USER],
    "token": [tokens["access_token"], tokens["refresh_token"]],
    "code": [code],
    "redirect": [REDIRECT],
    "grant": ["authorization_code", "refresh_token", "client_credentials"],
}


def toml_list(items):
    return "[" + ", ".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in items) + "]"


lines = []
for name, items in values.items():
    lines += [f"[dictionaries.{name}]", f"values = {toml_list(items)}", ""]
lines.append("[parameters]")
bindings = {
    "path.challenge": "challenge", "path.id": "client", "path.client": "client", "path.user": "user",
    "query.client_id": "client", "query.redirect_uri": "redirect",
    "body.client_id": "client", "body.token": "token",
    "body.refresh_token": "token", "body.access_token": "token", "body.code": "code",
    "body.redirect_uri": "redirect", "body.grant_type": "grant",
}
for key, dictionary in bindings.items():
    lines.append(f'"{key}" = {{ dictionary = "{dictionary}", probability = 0.5 }}')
lines.append("")
for operation in ("userinfoGet", "userinfo"):
    lines += ["[[operations]]", f'include-operation-id = "{operation}"',
              f'headers = {{ Authorization = "Bearer {tokens["access_token"]}" }}', ""]
for operation in ("getOidcDynamicClient", "setOidcDynamicClient", "deleteOidcDynamicClient"):
    if registration:
        lines += ["[[operations]]", f'include-operation-id = "{operation}"',
                  f'headers = {{ Authorization = "Bearer {registration["registration_access_token"]}" }}', ""]
with open(f"{OUT}.toml", "w") as f:
    f.write("\n".join(lines))
basic = base64.b64encode(f"{CLIENT}:{SECRET}".encode()).decode()
for operation in ("oauthToken", "revokeOAuth2Token"):
    lines += ["[[operations]]", f'include-operation-id = "{operation}"',
              f'headers = {{ Authorization = "Basic {basic}" }}', ""]
with open(f"{OUT}-client.toml", "w") as f:
    f.write("\n".join(lines))
print(f"seeded client {CLIENT}{' and a registered one' if registration else ''}, user {USER}, {OPEN_FLOWS} open login and {OPEN_FLOWS} open consent "
      "challenges, one finished flow with its tokens")
