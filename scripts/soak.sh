#!/usr/bin/env bash
# Load and soak: `ferrotls-server --echo` under SOAK_CONCURRENCY (500) concurrent loopback
# clients (tests/c/loadgen.c) for SECONDS (default 600), full and resumed handshakes mixed,
# per-connection transfers of 1 KiB .. 4 MiB compared byte for byte, TLS 1.3 and TLS 1.2 in
# alternating segments; the server's RSS and open descriptors sampled into a CSV.
#
#   scripts/soak.sh [SECONDS]
#
# Fails (exit 1) when
#   - a loadgen run reports a failure (lost, corrupted or truncated data, a failed handshake,
#     a resumption that did not happen, a timeout) or the server logs a failed connection;
#   - the server's open descriptors, once the load is over, exceed the idle baseline taken
#     before the load + SOAK_FD_MARGIN (2);
#   - the server's RSS grew: the highest RSS sampled in the last quarter of the load is more
#     than SOAK_RSS_GROWTH_PCT (20) percent + SOAK_RSS_SLACK_KB (4096) above the highest sampled
#     in the first quarter (the slack covers allocator noise in short runs).
#     The first quarter has already run both versions (or, in a short run, most of one) at full
#     concurrency, so it has reached the working set of 500 connections; a leak grows with the
#     connections served and keeps raising the peak, allocator noise does not.
# Details and measured figures: docs/soak.md.
#
# Environment (defaults in brackets):
#   SOAK_CONCURRENCY [500]  SOAK_RESUME [50]  SOAK_BYTES_MIN [1024]  SOAK_BYTES_MAX [4194304]
#   SOAK_SEGMENT [60]       seconds per loadgen run; the versions alternate (a run shorter than
#                           2 segments is cut in two halves: TLS 1.3, then TLS 1.2)
#   SOAK_INTERVAL           seconds between samples [10; 1 when SECONDS < 120]
#   SOAK_RSS_GROWTH_PCT [20]  SOAK_RSS_SLACK_KB [4096]  SOAK_FD_MARGIN [2]
#   SOAK_OUT                folder for the CSV and logs [a new folder under ${TMPDIR:-/tmp}]
#   SOAK_NO_BUILD=1         do not run make / make loadgen (tests/c/run.sh builds them)
#   SOAK_SERVER, SOAK_LOADGEN  the programs [target/examples-c/ferrotls-{server,loadgen}]
set -euo pipefail

DURATION="${1:-600}"
case "$DURATION" in '' | *[!0-9]*) echo "usage: scripts/soak.sh [SECONDS]" >&2; exit 2 ;; esac
[ "$DURATION" -ge 2 ] || { echo "soak: SECONDS must be at least 2" >&2; exit 2; }

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
CONC="${SOAK_CONCURRENCY:-500}"
RESUME="${SOAK_RESUME:-50}"
BMIN="${SOAK_BYTES_MIN:-1024}"
BMAX="${SOAK_BYTES_MAX:-4194304}"
SEGMENT="${SOAK_SEGMENT:-60}"
if [ "$DURATION" -lt 120 ]; then INTERVAL="${SOAK_INTERVAL:-1}"; else INTERVAL="${SOAK_INTERVAL:-10}"; fi
GROWTH="${SOAK_RSS_GROWTH_PCT:-20}"
SLACK="${SOAK_RSS_SLACK_KB:-4096}"
FD_MARGIN="${SOAK_FD_MARGIN:-2}"
SERVER="${SOAK_SERVER:-$ROOT/target/examples-c/ferrotls-server}"
LOADGEN="${SOAK_LOADGEN:-$ROOT/target/examples-c/ferrotls-loadgen}"
CERTS="$ROOT/examples-c/certs"
OUT="${SOAK_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/ferrotls-soak.XXXXXX")}"
mkdir -p "$OUT"
CSV="$OUT/samples.csv"

log() { echo "soak: $*"; }

if [ "${SOAK_NO_BUILD:-0}" != 1 ]; then
    make >"$OUT/build.log" 2>&1 || { tail -n 30 "$OUT/build.log" >&2; log "make failed"; exit 1; }
    make loadgen >>"$OUT/build.log" 2>&1 || { tail -n 30 "$OUT/build.log" >&2; log "make loadgen failed"; exit 1; }
fi
for b in "$SERVER" "$LOADGEN"; do [ -x "$b" ] || { log "$b is missing (make; make loadgen)"; exit 1; }; done

# Each connection costs a descriptor in the server and one in the load generator (same shell).
NEED=$((2 * CONC + 256))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$NEED" ]; then
    ulimit -n "$NEED" 2>/dev/null || { log "ulimit -n is $(ulimit -n) and cannot be raised to $NEED"; exit 1; }
fi

SPID="" SAMPLER=""
cleanup() {
    [ -n "$SAMPLER" ] && kill "$SAMPLER" 2>/dev/null || true
    [ -n "$SPID" ] && kill "$SPID" 2>/dev/null || true
}
trap cleanup EXIT

"$SERVER" --cert "$CERTS/server.pem" --key "$CERTS/server.key" --host 127.0.0.1 --port 0 --echo \
    2>"$OUT/server.err" &
SPID=$!
PORT=""
for _ in $(seq 1 200); do
    PORT="$(sed -n 's/^ferrotls-server: listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$OUT/server.err" | head -n 1)"
    [ -n "$PORT" ] && break
    kill -0 "$SPID" 2>/dev/null || break
    sleep 0.05
done
[ -n "$PORT" ] || { cat "$OUT/server.err" >&2; log "the server did not start"; exit 1; }

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$SPID/status" 2>/dev/null || echo 0; }
fds() { ls "/proc/$SPID/fd" 2>/dev/null | wc -l; }

sleep 1
BASE_FDS="$(fds)"
BASE_RSS="$(rss_kb)"
log "server pid $SPID on 127.0.0.1:$PORT; idle: $BASE_RSS kB RSS, $BASE_FDS fds; ulimit -n $(ulimit -n)"
log "load: $DURATION s, $CONC concurrent, resume ratio $RESUME%, $BMIN..$BMAX bytes per connection; samples every $INTERVAL s into $CSV"

# The sampler: one line per INTERVAL while the load runs (the phase is what runs right then).
echo "t_s,phase,rss_kb,fds" >"$CSV"
echo "start" >"$OUT/phase"
T0=$(date +%s.%N)
(
    while :; do
        printf '%.1f,%s,%s,%s\n' "$(echo "$(date +%s.%N) - $T0" | bc)" "$(cat "$OUT/phase")" "$(rss_kb)" "$(fds)" >>"$CSV"
        sleep "$INTERVAL"
    done
) &
SAMPLER=$!

# Segments: alternate the versions.
if [ "$DURATION" -lt $((2 * SEGMENT)) ]; then
    SEGMENT=$(((DURATION + 1) / 2))
fi
left="$DURATION" i=0 rc_all=0
: >"$OUT/loadgen.out"
while [ "$left" -gt 0 ]; do
    seg=$SEGMENT
    [ "$seg" -gt "$left" ] && seg=$left
    if [ $((i % 2)) = 0 ]; then ver=tls13; else ver=tls12; fi; extra=()
    i=$((i + 1))
    echo "$ver#$i" >"$OUT/phase"
    set +e
    "$LOADGEN" --cafile "$CERTS/ca.pem" --servername localhost --duration "$seg" --concurrency "$CONC" \
        --resume-ratio "$RESUME" --bytes-min "$BMIN" --bytes-max "$BMAX" "--$ver" "${extra[@]}" \
        127.0.0.1 "$PORT" >"$OUT/loadgen.$i.out" 2>"$OUT/loadgen.$i.err"
    rc=$?
    set -e
    line="$(grep '^loadgen: ' "$OUT/loadgen.$i.out" || echo "loadgen: no summary (exit $rc)")"
    echo "$ver $line" >>"$OUT/loadgen.out"
    log "run $i ($ver, $seg s): exit $rc: ${line#loadgen: }"
    if [ "$rc" != 0 ]; then
        rc_all=1
        head -n 20 "$OUT/loadgen.$i.err" | sed 's/^/soak:   | /'
    fi
    kill -0 "$SPID" 2>/dev/null || { log "the server died"; cat "$OUT/server.err" >&2; exit 1; }
    left=$((left - seg))
done
echo "after" >"$OUT/phase"
LOAD_END=$(echo "$(date +%s.%N) - $T0" | bc)

# The server lets go of every connection (it lingers up to 5 s after its close_notify).
END_FDS="$(fds)"
for _ in $(seq 1 150); do
    END_FDS="$(fds)"
    [ "$END_FDS" -le $((BASE_FDS + FD_MARGIN)) ] && break
    sleep 0.1
done
sleep 1
END_FDS="$(fds)"
END_RSS="$(rss_kb)"
kill "$SAMPLER" 2>/dev/null || true
wait "$SAMPLER" 2>/dev/null || true
SAMPLER=""
printf '%.1f,%s,%s,%s\n' "$(echo "$(date +%s.%N) - $T0" | bc)" idle "$END_RSS" "$END_FDS" >>"$CSV"

# ---- figures ------------------------------------------------------------------------------------
# Sums over the loadgen runs.
sum() { sed -nE "s#.*$1.*#\\1#p" "$OUT/loadgen.out" | awk '{s += $1} END {printf "%.0f", s}'; }
OK=$(sum 'loadgen: ([0-9]+) ok, ')
FAILED=$(sum ' ([0-9]+) failed, ')
HS=$(sum ' ([0-9]+) handshakes in ')
FULL=$(sum ' ([0-9]+) full / ')
RESUMED=$(sum ' ([0-9]+) resumed \(')
ATTEMPTS=$(sum '\(([0-9]+) resumption attempts')
NOSESS=$(sum ' ([0-9]+) without a session yet')
REFUSED=$(sum ' ([0-9]+) refused')
BYTES=$(sum ' ([0-9]+) bytes echoed')
TLS13=$(sum 'TLSv1\.3 ([0-9]+) /')
TLS12=$(sum 'TLSv1\.2 ([0-9]+),')
RUNS=$(wc -l <"$OUT/loadgen.out")
SERVER_FAILED=$(grep -c 'failed' "$OUT/server.err" || true)

# RSS and fds over the samples taken under load (phase tls1x#N).
read -r N FIRST_RSS LAST_RSS MAX_RSS FIRST_FDS LAST_FDS MAX_FDS Q1_MAX Q4_MAX < <(awk -F, -v end="$LOAD_END" '
    NR > 1 && $2 ~ /^tls1/ {
        n++; t[n] = $1; r[n] = $3; f[n] = $4
        if (n == 1) { fr = $3; ff = $4 }
        lr = $3; lf = $4
        if ($3 > mr) mr = $3
        if ($4 > mf) mf = $4
    }
    END {
        for (i = 1; i <= n; i++) {
            if (t[i] <= end * 0.25 && r[i] > q1) q1 = r[i]
            if (t[i] >= end * 0.75 && r[i] > q4) q4 = r[i]
        }
        printf "%d %d %d %d %d %d %d %d %d\n", n, fr, lr, mr, ff, lf, mf, q1, q4
    }' "$CSV")

WALL=$(printf '%.0f' "$LOAD_END")
log "---- summary ($DURATION s of load in $WALL s wall, $RUNS loadgen runs, $N samples under load; $OUT)"
log "connections: $OK ok, $FAILED failed; handshakes $HS: $FULL full, $RESUMED resumed ($ATTEMPTS resumption attempts: $NOSESS without a session yet, $REFUSED refused); TLSv1.3 $TLS13, TLSv1.2 $TLS12"
log "bytes echoed and verified: $BYTES ($(awk -v b="$BYTES" 'BEGIN {printf "%.1f GiB", b / 1073741824}')); $(awk -v h="$HS" -v w="$LOAD_END" 'BEGIN {printf "%.1f handshakes/s", h / w}') overall; server-side failed connections: $SERVER_FAILED"
log "RSS bound: last-quarter max <= $((Q1_MAX + Q1_MAX * GROWTH / 100 + SLACK)) kB (first-quarter max + $GROWTH% + $SLACK kB)"
log "server RSS kB: idle $BASE_RSS before; under load first $FIRST_RSS, last $LAST_RSS, max $MAX_RSS (first quarter max $Q1_MAX, last quarter max $Q4_MAX); idle $END_RSS after"
log "server fds: idle $BASE_FDS before; under load first $FIRST_FDS, last $LAST_FDS, max $MAX_FDS; idle $END_FDS after"

status=0
if [ "$rc_all" != 0 ] || [ "$FAILED" != 0 ]; then log "FAIL: a loadgen run reported failures"; status=1; fi
if [ "$SERVER_FAILED" != 0 ]; then
    log "FAIL: the server logged $SERVER_FAILED failed connection(s):"; grep failed "$OUT/server.err" | head -n 5 | sed 's/^/soak:   | /'
    status=1
fi
if [ "$END_FDS" -gt $((BASE_FDS + FD_MARGIN)) ]; then
    log "FAIL: the server holds $END_FDS fds after the load; idle baseline $BASE_FDS (+$FD_MARGIN allowed)"; status=1
fi
if [ "$N" -lt 2 ] || [ "$Q1_MAX" -le 0 ] || [ "$Q4_MAX" -le 0 ]; then
    log "FAIL: too few samples under load ($N) to judge RSS"; status=1
elif [ "$Q4_MAX" -gt $((Q1_MAX + Q1_MAX * GROWTH / 100 + SLACK)) ]; then
    log "FAIL: RSS grew: last-quarter max $Q4_MAX kB > first-quarter max $Q1_MAX kB + $GROWTH% + $SLACK kB"; status=1
fi
if [ "$OK" -le 0 ]; then log "FAIL: no connection succeeded"; status=1; fi
[ "$status" = 0 ] && log "PASS"
exit "$status"
