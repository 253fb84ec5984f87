#!/usr/bin/env bash
# Fuzzes both APIs of a running server with schemathesis against the OpenAPI documents in
# openapi/: every operation, every phase (examples, coverage, fuzzing, stateful), with the
# checks not_a_server_error, status_code_conformance, content_type_conformance and
# response_schema_conformance, plus response_headers_conformance and the 405 + Allow checks.
# Any failure fails the run. Prints how many requests were sent.
# seed.py first gives the server real state (a client, tokens, open and handled challenges, a
# user with sessions) and schemathesis draws from it half the time, so requests reach past 404.
#
#   tests/schemathesis/run.sh [PUBLIC_URL [ADMIN_URL]]
#
# Environment: SCHEMATHESIS_VENV (where to install the pinned schemathesis; default
# /tmp/oauth2-provider-schemathesis), SCHEMATHESIS_MAX_EXAMPLES (per operation and phase;
# default 100: about a minute and a half, some 4,300 requests),
# SCHEMATHESIS_SEED (default 1, so CI runs are reproducible), SCHEMATHESIS_REPORTS (a directory
# to keep the HAR files of every request and response in; default a temporary one).
#
# The admin API is fuzzed with DELETE and flush: run it against a server whose state no
# later step needs (CI runs it last, just before stopping the example).
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PUBLIC=${1:-http://127.0.0.1:4444}
ADMIN=${2:-http://127.0.0.1:4445}
VENV=${SCHEMATHESIS_VENV:-/tmp/oauth2-provider-schemathesis}
MAX_EXAMPLES=${SCHEMATHESIS_MAX_EXAMPLES:-100}
SEED=${SCHEMATHESIS_SEED:-1}
if [ -n "${SCHEMATHESIS_REPORTS:-}" ]; then
    REPORTS=$SCHEMATHESIS_REPORTS
    mkdir -p "$REPORTS"
else
    REPORTS=$(mktemp -d)
    trap 'rm -rf "$REPORTS"' EXIT
fi

if ! "$VENV/bin/st" --version 2>/dev/null | grep -qF "$(grep '^schemathesis==' "$HERE/requirements.txt" | cut -d= -f3)"; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$HERE/requirements.txt"
fi
"$VENV/bin/st" --version

"$VENV/bin/python" "$HERE/seed.py" "$PUBLIC" "$ADMIN" "$REPORTS/schemathesis"

# The four the issue asks for; the documented headers (Location, Allow, Cache-Control, …); and
# the 405 + Allow the documents promise for every method a path does not answer.
CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance
CHECKS=$CHECKS,unsupported_method,allow_header_conformance,response_headers_conformance

status=0
fuzz() { # fuzz NAME DOCUMENT URL CONFIG [ST-OPTIONS...]
    local name=$1 doc=$2 url=$3 config=$4
    shift 4
    printf '\n--- schemathesis: %s at %s\n' "$name" "$url"
    # Each run in its own directory: schemathesis and Hypothesis keep their caches there, and
    # a run must neither replay another's examples nor write into the repository.
    mkdir -p "$REPORTS/$name"
    (cd "$REPORTS/$name" && "$VENV/bin/st" --config-file "$config" run "$ROOT/openapi/$doc.json" \
        --url "$url" \
        --checks "$CHECKS" \
        --max-examples "$MAX_EXAMPLES" \
        --seed "$SEED" \
        --workers 1 \
        --request-timeout 30 \
        --max-redirects 0 \
        --report har --report-har-path "$REPORTS/$name.har" \
        --output-truncate false \
        "$@") \
        || status=1
}
fuzz public public "$PUBLIC" "$REPORTS/schemathesis.toml"
# Token and revoke again, as the seeded client (Basic): past client authentication.
fuzz public-client public "$PUBLIC" "$REPORTS/schemathesis-client.toml" \
    --include-operation-id oauthToken --include-operation-id revokeOAuth2Token
fuzz admin admin "$ADMIN" "$REPORTS/schemathesis.toml"

"$VENV/bin/python" - "$REPORTS"/*.har <<'PY'
import json, sys
counts = {}
for path in sys.argv[1:]:
    try:
        with open(path) as f:
            counts[path.rsplit("/", 1)[-1][:-4]] = len(json.load(f)["log"]["entries"])
    except (OSError, ValueError, KeyError):
        counts[path.rsplit("/", 1)[-1][:-4]] = 0
print("schemathesis requests sent: " + ", ".join(f"{k} {v}" for k, v in counts.items())
      + f", total {sum(counts.values())}")
PY
exit $status
