#!/usr/bin/env bash
# Load benchmark over HTTP: the hyper example server under wrk, on loopback with keep-alive.
#
#   benches/load/run.sh [memory|sqlite|postgres]        (default: memory)
#
# 1. builds `hyper_server` in release and starts it pinned to one core (SERVER_CPUS, default 0)
#    on the chosen store: memory; sqlite (a temp file); postgres (a fresh database on the local
#    server that .ci/postgres.sh starts, dropped afterwards; the server then runs on both
#    cores by default, SERVER_CPUS=0,1, since the database shares them anyway);
# 2. creates a confidential client with a generated secret through the admin API, mints an
#    access token, and runs wrk pinned to another core (LOAD_CPUS, default 1) against
#    (a) POST /oauth2/token, grant_type=client_credentials, HTTP Basic auth, and
#    (b) POST /oauth2/introspect (admin API) with that token;
#    each right after the same run against the bare-handler floor (benches/load/floor.rs, the
#    `load_floor` example: hyper with the same request shape, headers and response sizes, and no
#    provider work), which runs with the same pinning; each of our RESULT lines then ends with
#    floor_rps and fraction = rps / floor_rps, and the same from the servers' CPU time per
#    request (cpu_us, floor_cpu_us, cpu_fraction = floor_cpu_us / cpu_us; FLOOR=0 skips the
#    floor); (a) also runs against the floor's POST /essential/oauth2/token, the floor plus the
#    work any provider must do for a token (secret check, random token, digest, an insert into
#    a table of all tokens), and adds essential_rps, essential_fraction, essential_cpu_us and
#    essential_cpu_fraction: what is left between those two is the provider's overhead;
# 3. memory: restarts the server with ACCESS_TOKEN_LIFESPAN=5s and reports its RSS before load,
#    after TOKENS (1,000,000) client_credentials tokens, and after they expired and
#    POST /oauth2/flush removed them; ROUNDS (2) times, so that reuse of the freed memory shows.
# 4. memory: open flows nobody finishes. Restarts the server with FLUSH_INTERVAL=0 and
#    CHALLENGE_TOKEN_LIFESPAN=FLOW_LIFESPAN (30s), sends FLOWS (100,000) authorization requests
#    padded to the 16 KiB cap for a public client, then — after the lifespan, without any
#    flush — 2,000 ordinary ones (each new flow evicts expired ones); reports RSS at each step.
#
# Environment: DURATION (seconds per measurement, 30), WARMUP (seconds, 2), CONNECTIONS (64),
# THREADS (2), RATES (1; 0 skips steps 1–2), TOKENS (1000000, 0 skips step 3), ROUNDS (2),
# FLOWS (100000, 0 skips step 4), FLOW_LIFESPAN (30s), SERVER_CPUS (0; 0,1 for postgres),
# LOAD_CPUS (1), FLOOR (1), BINARIES (unset; a directory holding hyper_server and load_floor
# binaries to run instead of building them, to compare two builds), WAIT_FOR_QUIET (unset; a number such as 0.7 first waits up to 15 minutes for
# the 1-minute load average to drop below it). Everything listens on 127.0.0.1 only; the server
# is stopped and the scratch database dropped on exit.
set -euo pipefail

STORE="${1:-memory}"
DURATION="${DURATION:-30}"
WARMUP="${WARMUP:-2}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"
TOKENS="${TOKENS:-1000000}"
ROUNDS="${ROUNDS:-2}"
RATES="${RATES:-1}"
FLOWS="${FLOWS:-100000}"
FLOW_LIFESPAN="${FLOW_LIFESPAN:-30s}"
FLOOR="${FLOOR:-1}"
if [ "$STORE" = postgres ]; then
    SERVER_CPUS="${SERVER_CPUS:-0,1}"
else
    SERVER_CPUS="${SERVER_CPUS:-0}"
fi
LOAD_CPUS="${LOAD_CPUS:-1}"
# Upper bound for issuing TOKENS tokens: wrk stops earlier, when the count is reached.
TOKENS_TIMEOUT="${TOKENS_TIMEOUT:-900}"

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"

say() { printf '%s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

for tool in cargo wrk taskset curl jq base64; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/oauth2-load.XXXXXX")"
SERVER_PID=
FLOOR_PID=
WRK_PID=
DROP_DB=
SUMMARY=()

stop_server() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 50); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=
}

cleanup() {
    if [ -n "$WRK_PID" ]; then
        kill -TERM "$WRK_PID" 2>/dev/null || true
    fi
    stop_server
    if [ -n "$FLOOR_PID" ]; then
        kill -TERM "$FLOOR_PID" 2>/dev/null || true
        wait "$FLOOR_PID" 2>/dev/null || true
    fi
    if [ -n "$DROP_DB" ]; then
        psql "${DATABASE_URL%/*}/postgres" -qc "DROP DATABASE IF EXISTS $DROP_DB" >/dev/null 2>&1 ||
            say "warning: could not drop the scratch database $DROP_DB"
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -n "${WAIT_FOR_QUIET:-}" ]; then
    for _ in $(seq 30); do
        load="$(cut -d' ' -f1 /proc/loadavg)"
        awk -v l="$load" -v max="$WAIT_FOR_QUIET" 'BEGIN { exit !(l < max) }' && break
        say "waiting for a quiet machine: 1-minute load average $load (want < $WAIT_FOR_QUIET)"
        sleep 30
    done
fi

if [ -n "${BINARIES:-}" ]; then
    SERVER_BIN="$BINARIES/hyper_server"
    FLOOR_BIN="$BINARIES/load_floor"
else
    say "==> building hyper_server and load_floor (release)"
    cargo build --release --quiet --example hyper_server --example load_floor --features sqlite,postgres
    SERVER_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/hyper_server"
    FLOOR_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/load_floor"
fi
[ -x "$SERVER_BIN" ] || die "no server binary at $SERVER_BIN"
[ -x "$FLOOR_BIN" ] || die "no floor binary at $FLOOR_BIN"

case "$STORE" in
memory) DATABASE_URL=memory ;;
sqlite) DATABASE_URL="sqlite://$WORK/load.db" ;;
postgres)
    DROP_DB="oauth2_load_$$"
    DATABASE_URL="$(SCRATCH_DB="$DROP_DB" "$ROOT/.ci/postgres.sh")"
    ;;
*) die "unknown store '$STORE': use memory, sqlite or postgres" ;;
esac

# Starts the server with extra environment (NAME=value …) and sets PUBLIC and ADMIN.
start_server() {
    local log="$WORK/server.log"
    : >"$log"
    env "$@" DATABASE_URL="$DATABASE_URL" SYSTEM_SECRET=load-benchmark-system-secret-0123456789 \
        PUBLIC_HOST=127.0.0.1 PUBLIC_PORT=0 ADMIN_HOST=127.0.0.1 ADMIN_PORT=0 \
        taskset -c "$SERVER_CPUS" "$SERVER_BIN" >"$log" 2>&1 &
    SERVER_PID=$!
    PUBLIC=
    ADMIN=
    for _ in $(seq 300); do
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$log" >&2; die "the server exited"; }
        PUBLIC="$(sed -n 's/^public API listening on //p' "$log")"
        ADMIN="$(sed -n 's/^admin API listening on //p' "$log")"
        if [ -n "$PUBLIC" ] && [ -n "$ADMIN" ] &&
            curl -sf --max-time 2 "$ADMIN/health/ready" >/dev/null; then
            return
        fi
        sleep 0.1
    done
    cat "$log" >&2
    die "the server did not become ready in 30 s"
}

# Starts the bare-handler floor with the server's pinning; sets FLOOR_PID and FLOOR_URL.
start_floor() {
    local log="$WORK/floor.log"
    : >"$log"
    taskset -c "$SERVER_CPUS" "$FLOOR_BIN" >"$log" 2>&1 &
    FLOOR_PID=$!
    FLOOR_URL=
    for _ in $(seq 100); do
        kill -0 "$FLOOR_PID" 2>/dev/null || { cat "$log" >&2; die "the floor exited"; }
        FLOOR_URL="$(sed -n 's/^floor listening on //p' "$log")"
        [ -n "$FLOOR_URL" ] && return
        sleep 0.1
    done
    die "the floor did not start in 10 s"
}

# Creates a client_credentials client with a generated secret; sets CLIENT_ID and BASIC.
create_client() {
    local created secret
    created="$(curl -sf --max-time 10 -X POST "$ADMIN/clients" \
        -H 'Content-Type: application/json' \
        -d '{"client_name":"load benchmark","grant_types":["client_credentials"],"response_types":["token"],"token_endpoint_auth_method":"client_secret_basic"}')" ||
        die "creating the client failed"
    CLIENT_ID="$(jq -er .client_id <<<"$created")"
    # A generated secret is shown once, in this response.
    secret="$(jq -er .client_secret <<<"$created")"
    BASIC="Basic $(printf '%s:%s' "$(jq -rn --arg v "$CLIENT_ID" '$v|@uri')" \
        "$(jq -rn --arg v "$secret" '$v|@uri')" | base64 -w0)"
}

mint_token() {
    curl -sf --max-time 10 -X POST "$PUBLIC/oauth2/token" -H "Authorization: $BASIC" \
        -d grant_type=client_credentials | jq -er .access_token || die "minting a token failed"
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER_PID/status"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }

# run_wrk NAME SCRIPT URL SECONDS [ENV=value …]: runs wrk on LOAD_CPUS, prints its output and
# returns the RESULT line in $RESULT. With LOAD_MAX_PER_THREAD among the variables, wrk is
# interrupted (it then reports as usual) as soon as every thread has stopped on its count.
run_wrk() {
    local name="$1" script="$2" url="$3" seconds="$4"
    shift 4
    local cmd=(taskset -c "$LOAD_CPUS" wrk --latency -t"$THREADS" -c"$CONNECTIONS"
        -d"${seconds}s" --timeout 10s -s "$script" "$url")
    local done_file="$WORK/wrk.done"
    : >"$done_file"
    printf "+ LOAD_NAME=%s %s %s\n" "$name" "$*" "${cmd[*]}" | cut -c1-300 >&2
    env LOAD_NAME="$name" LOAD_DONE_FILE="$done_file" "$@" "${cmd[@]}" >"$WORK/wrk.out" 2>&1 &
    WRK_PID=$!
    while kill -0 "$WRK_PID" 2>/dev/null; do
        if [ "$(wc -l <"$done_file")" -ge "$THREADS" ]; then
            kill -INT "$WRK_PID" 2>/dev/null || true
            break
        fi
        sleep 0.2
    done
    wait "$WRK_PID" || {
        cat "$WORK/wrk.out" >&2
        die "wrk failed"
    }
    WRK_PID=
    sed 's/^/    /' "$WORK/wrk.out" | cut -c1-300 >&2
    RESULT="$(grep '^RESULT ' "$WORK/wrk.out" | tail -n 1)"
    [ -n "$RESULT" ] || die "wrk printed no RESULT line"
    case "$RESULT" in
    *" non2xx=0 errors=0") ;;
    *) say "warning: $name had failed requests: $RESULT" ;;
    esac
}

# CPU time (user + system) of process $1 so far, in microseconds.
cpu_us() {
    awk -v hz="$(getconf CLK_TCK)" '{ printf "%.0f", ($14 + $15) * 1e6 / hz }' "/proc/$1/stat"
}

# measure_one NAME SCRIPT URL PID [ENV=value …]: a warm-up run, then the measured one, in
# $RESULT, which ends with cpu_us: the CPU time of process PID (the server) per request,
# steadier than the rate when other jobs share the server's core.
measure_one() {
    local name="$1" script="$2" url="$3" pid="$4" before requests
    shift 4
    if [ "$WARMUP" -gt 0 ]; then
        run_wrk "$name-warmup" "$script" "$url" "$WARMUP" "$@" 2>/dev/null
    fi
    before="$(cpu_us "$pid")"
    run_wrk "$name" "$script" "$url" "$DURATION" "$@"
    requests="$(sed 's/.* requests=\([0-9]*\) .*/\1/' <<<"$RESULT")"
    RESULT+=" cpu_us=$(awk -v t="$(($(cpu_us "$pid") - before))" -v n="$requests" \
        'BEGIN { printf "%.1f", (n > 0) ? t / n : 0 }')"
}

# compare PREFIX FRACTION CPU_FRACTION OURS OTHER: "PREFIX_rps=… FRACTION=… PREFIX_cpu_us=…
# CPU_FRACTION=…" from two RESULT lines: the other's rate and CPU time per request, and ours as
# a fraction of it (of the rates; of the CPU times, other / ours).
compare() {
    awk -v p="$1" -v fr="$2" -v cfr="$3" -v a="$4" -v b="$5" 'BEGIN {
        match(a, / rps=[0-9]+/); o = substr(a, RSTART + 5, RLENGTH - 5)
        match(b, / rps=[0-9]+/); f = substr(b, RSTART + 5, RLENGTH - 5)
        match(a, / cpu_us=[0-9.]+/); oc = substr(a, RSTART + 8, RLENGTH - 8)
        match(b, / cpu_us=[0-9.]+/); fc = substr(b, RSTART + 8, RLENGTH - 8)
        printf "%s_rps=%s %s=%.2f %s_cpu_us=%s %s=%.2f",
            p, f, fr, (f > 0) ? o / f : 0, p, fc, cfr, (oc > 0) ? fc / oc : 0 }'
}

# measure NAME SCRIPT URL PATH [ENV=value …]: measure_one against URL, then (unless FLOOR=0)
# against the floor's PATH; adds our RESULT line with floor_rps and fraction (of the rates),
# floor_cpu_us and cpu_fraction (floor_cpu_us / cpu_us, the same ratio from CPU time per
# request) to the summary, and the floor's own line. With ESSENTIAL_PATH set, also against
# that path of the floor (its essential token work), adding essential_rps,
# essential_fraction, essential_cpu_us and essential_cpu_fraction, and its own line.
measure() {
    local name="$1" script="$2" url="$3" path="$4" ours floor_line essential_line
    shift 4
    measure_one "$STORE/$name" "$script" "$url" "$SERVER_PID" "$@"
    ours="$RESULT"
    if [ "$FLOOR" = 0 ]; then
        SUMMARY+=("$ours")
        return
    fi
    measure_one "floor/$name" "$script" "$FLOOR_URL$path" "$FLOOR_PID" "$@"
    floor_line="$RESULT"
    ours+=" $(compare floor fraction cpu_fraction "$ours" "$floor_line")"
    if [ -z "${ESSENTIAL_PATH:-}" ]; then
        SUMMARY+=("$ours" "$floor_line")
        return
    fi
    measure_one "essential/$name" "$script" "$FLOOR_URL$ESSENTIAL_PATH" "$FLOOR_PID" "$@"
    essential_line="$RESULT"
    ours+=" $(compare essential essential_fraction essential_cpu_fraction "$ours" "$essential_line")"
    SUMMARY+=("$ours" "$floor_line" "$essential_line")
}

say "==> $STORE store; server on CPU(s) $SERVER_CPUS, wrk on CPU(s) $LOAD_CPUS;" \
    "$CONNECTIONS connections, $THREADS threads, ${DURATION}s per run"
say "    load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs"
if [ "$RATES" != 0 ]; then
    start_server
    [ "$FLOOR" = 0 ] || start_floor
    create_client
    TOKEN="$(mint_token)"
    jq -e '.active == true' >/dev/null < <(curl -sf --max-time 10 -X POST \
        "$ADMIN/oauth2/introspect" -d "token=$TOKEN") ||
        die "the minted token does not introspect as active"

    say "==> (a) client_credentials: POST $PUBLIC/oauth2/token"
    ESSENTIAL_PATH=/essential/oauth2/token \
        measure client_credentials "$HERE/token.lua" "$PUBLIC/oauth2/token" /oauth2/token \
        LOAD_AUTH="$BASIC"
    say "==> (b) introspection: POST $ADMIN/oauth2/introspect"
    measure introspect "$HERE/introspect.lua" "$ADMIN/oauth2/introspect" /oauth2/introspect \
        LOAD_TOKEN="$TOKEN"
    stop_server
    if [ -n "$FLOOR_PID" ]; then
        kill -TERM "$FLOOR_PID" 2>/dev/null || true
        wait "$FLOOR_PID" 2>/dev/null || true
        FLOOR_PID=
    fi
fi

if [ "$TOKENS" -gt 0 ]; then
    say "==> (c) memory: $TOKENS tokens with ACCESS_TOKEN_LIFESPAN=5s, then flush; $ROUNDS round(s)"
    start_server ACCESS_TOKEN_LIFESPAN=5s
    create_client
    RSS_LINE="$STORE/memory rss_start=$(mib "$(rss_kib)")"
    per_thread=$(((TOKENS + THREADS - 1) / THREADS))
    for round in $(seq "$ROUNDS"); do
        run_wrk "$STORE/issue-$TOKENS-round-$round" "$HERE/token.lua" "$PUBLIC/oauth2/token" \
            "$TOKENS_TIMEOUT" LOAD_AUTH="$BASIC" LOAD_MAX_PER_THREAD="$per_thread"
        issued="$(sed 's/.* requests=\([0-9]*\).*/\1/' <<<"$RESULT")"
        [ "$issued" -ge "$TOKENS" ] || say "warning: only $issued tokens issued in ${TOKENS_TIMEOUT}s"
        after_issue="$(rss_kib)"
        sleep 6 # every token has expired now
        start="$(date +%s.%N)"
        status="$(curl -s --max-time 300 -o /dev/null -w '%{http_code}' -X POST \
            "$ADMIN/oauth2/flush" -H 'Content-Type: application/json' -d '{}')"
        [ "$status" = 204 ] || die "flush answered $status"
        took="$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')"
        after_flush="$(rss_kib)"
        say "    round $round: $issued tokens; RSS $(mib "$after_issue") after issuing," \
            "$(mib "$after_flush") after the flush (${took}s)"
        RSS_LINE+=" round$round: issued=$issued rss_after_issue=$(mib "$after_issue")"
        RSS_LINE+=" rss_after_flush=$(mib "$after_flush") flush_s=$took"
    done
    RSS_LINE+=" peak=$(mib "$(awk '/^VmHWM:/ { print $2 }' "/proc/$SERVER_PID/status")")"
    SUMMARY+=("$RSS_LINE")
    stop_server
fi

if [ "$FLOWS" -gt 0 ] && [ "$STORE" = memory ]; then
    say "==> (d) memory: $FLOWS open flows at the 16 KiB cap, CHALLENGE_TOKEN_LIFESPAN=$FLOW_LIFESPAN, no flush"
    start_server FLUSH_INTERVAL=0 CHALLENGE_TOKEN_LIFESPAN="$FLOW_LIFESPAN"
    curl -sf --max-time 10 -X POST "$ADMIN/clients" -H 'Content-Type: application/json' \
        -d '{"client_id":"flood","redirect_uris":["https://app.example/cb"],"grant_types":["authorization_code"],"response_types":["code"],"scope":"openid","token_endpoint_auth_method":"none"}' \
        >/dev/null || die "creating the public client failed"
    query="client_id=flood&response_type=code&scope=openid&state=s&code_challenge_method=S256"
    query+="&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    pad=$((16 * 1024 - ${#query} - 8))
    padded="$query&junk=$(head -c "$pad" /dev/zero | tr '\0' j)"
    status="$(curl -s -o /dev/null -w '%{http_code}' "$PUBLIC/oauth2/auth?$padded")"
    [ "$status" = 302 ] || die "an authorization request at the cap answered $status"
    baseline="$(rss_kib)"
    per_thread=$(((FLOWS + THREADS - 1) / THREADS))
    lifespan_s="$(sed 's/s$//' <<<"$FLOW_LIFESPAN")"
    FLOW_LINE="$STORE/open-flows flows=$FLOWS rss_before=$(mib "$baseline")"
    for round in $(seq "$ROUNDS"); do
        run_wrk "$STORE/open-flows-$FLOWS-round-$round" "$HERE/flows.lua" \
            "$PUBLIC/oauth2/auth?$padded" "$TOKENS_TIMEOUT" LOAD_MAX_PER_THREAD="$per_thread"
        flooded="$(rss_kib)"
        sleep $((lifespan_s + 1))
        run_wrk "$STORE/ordinary-flows-round-$round" "$HERE/flows.lua" \
            "$PUBLIC/oauth2/auth?$query" 60 LOAD_MAX_PER_THREAD=1000
        after="$(rss_kib)"
        say "    round $round: RSS $(mib "$flooded") after $FLOWS open flows, $(mib "$after")" \
            "after the lifespan and 2,000 ordinary requests (no flush)"
        FLOW_LINE+=" round$round: rss_flooded=$(mib "$flooded") rss_after_lifespan=$(mib "$after")"
    done
    FLOW_LINE+=" peak=$(mib "$(awk '/^VmHWM:/ { print $2 }' "/proc/$SERVER_PID/status")")"
    SUMMARY+=("$FLOW_LINE")
    stop_server
fi

say "==> summary ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load average now $(cut -d' ' -f1-3 /proc/loadavg))"
printf '%s\n' "${SUMMARY[@]}"
