#!/usr/bin/env bash
# The MCP SDK end to end (e2e.mjs) against the running examples, in each registration mode:
# starts the axum example (the authorization server with its demo login and consent) and
# the protected_resource example on ports of their own, runs `node e2e.mjs --mode=…` for
# every mode given (default: dcr cimd), stops both, and fails if any mode failed.
#
#   tests/mcp_sdk/run.sh [dcr] [cimd] [preregistered]
#
# Builds both examples with every feature (a no-op when up to date) in $CARGO_TARGET_DIR
# (default ./target) and installs the SDK (npm ci) if it is missing. Environment:
#   MCP_AS_PORT, MCP_ADMIN_PORT, MCP_RESOURCE_PORT   ports (default 4454, 4455, 4456)
#   DCR_ENV    what turns dynamic client registration on in the axum example
#   CIMD_ENV   what turns client ID metadata documents on, loopback http documents included
#              (the dangerous opt-in: the e2e client serves its document on 127.0.0.1)
set -euo pipefail

cd "$(dirname "$0")/../.."
ROOT=$PWD
HERE=$ROOT/tests/mcp_sdk
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
AS_PORT=${MCP_AS_PORT:-4454}
ADMIN_PORT=${MCP_ADMIN_PORT:-4455}
RESOURCE_PORT=${MCP_RESOURCE_PORT:-4456}
ISSUER=http://127.0.0.1:$AS_PORT/
ADMIN_URL=http://127.0.0.1:$ADMIN_PORT
MCP_URL=http://127.0.0.1:$RESOURCE_PORT/mcp
DCR_ENV=${DCR_ENV:-OIDC_DYNAMIC_CLIENT_REGISTRATION_ENABLED=true}
CIMD_ENV=${CIMD_ENV:-OAUTH2_CLIENT_ID_METADATA_DOCUMENTS=true DANGEROUS_ALLOW_LOOPBACK_CLIENT_METADATA=true}
MODES=("$@")
[ ${#MODES[@]} -gt 0 ] || MODES=(dcr cimd)

run() { printf '+ %s\n' "$*"; "$@"; }

run cargo build --quiet --all-features --example axum_server --example protected_resource
if [ ! -d "$HERE/node_modules/@modelcontextprotocol/sdk" ]; then
    (cd "$HERE" && run npm ci --no-audit --no-fund --ignore-scripts)
fi

LOGS=$(mktemp -d)
PIDS=()
stop_all() {
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    PIDS=()
}
trap 'stop_all; rm -rf "$LOGS"' EXIT

wait_for() { # wait_for URL PID LOG
    for _ in $(seq 1 60); do
        if curl -fsS -o /dev/null "$1"; then return 0; fi
        if ! kill -0 "$2" 2>/dev/null; then
            echo "exited before answering $1:" >&2; cat "$3" >&2; return 1
        fi
        sleep 1
    done
    echo "$1 did not answer within 60 s:" >&2; cat "$3" >&2; return 1
}

# Every mode's switches at once: the server is shared by the modes. The resource's scope is
# advertised, as a client of a client ID metadata document may request only advertised scopes.
# shellcheck disable=SC2086 # the *_ENV are lists of NAME=value words
env PUBLIC_PORT="$AS_PORT" ADMIN_PORT="$ADMIN_PORT" SYSTEM_SECRET=mcp-e2e-secret-0123456789abcdef \
    OIDC_DISCOVERY_SCOPES_SUPPORTED=mcp:tools $DCR_ENV $CIMD_ENV "$TARGET_DIR/debug/examples/axum_server" >"$LOGS/as.log" 2>&1 </dev/null &
PIDS+=($!)
wait_for "${ISSUER}.well-known/oauth-authorization-server" "${PIDS[0]}" "$LOGS/as.log"
env RESOURCE_PORT="$RESOURCE_PORT" OAUTH2_ISSUER_URL="$ISSUER" ADMIN_URL="$ADMIN_URL" \
    "$TARGET_DIR/debug/examples/protected_resource" >"$LOGS/resource.log" 2>&1 </dev/null &
PIDS+=($!)
wait_for "http://127.0.0.1:$RESOURCE_PORT/.well-known/oauth-protected-resource/mcp" "${PIDS[1]}" "$LOGS/resource.log"

FAILED=()
for mode in "${MODES[@]}"; do
    if ! run env ISSUER="$ISSUER" ADMIN_URL="$ADMIN_URL" MCP_URL="$MCP_URL" node "$HERE/e2e.mjs" --mode="$mode"; then
        FAILED+=("$mode")
    fi
done
echo
echo "--- protected resource log ---"
cat "$LOGS/resource.log"
if [ ${#FAILED[@]} -gt 0 ]; then
    echo "--- authorization server log ---"
    cat "$LOGS/as.log"
    echo "MCP SDK e2e failed in: ${FAILED[*]}" >&2
    exit 1
fi
echo "MCP SDK e2e passed in: ${MODES[*]}"
