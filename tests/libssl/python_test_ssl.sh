#!/usr/bin/env bash
# CPython's own test_ssl, from Debian's libpython3.X-testsuite (3.11 on bookworm), run by Debian's /usr/bin/python3
# twice in one go: on Debian's libssl (the baseline) and with LD_LIBRARY_PATH=$LIBSSL_DIR (ours);
# then a summary of both and of the tests that pass on OpenSSL but fail on ours, grouped by error
# message, written to docs/python-test-ssl.md (sorted, no timings: it changes only when a result
# does) and printed.
#
#   bash tests/libssl/python_test_ssl.sh                          # LIBSSL_DIR=target/libssl
#   LIBSSL_DIR=/some/dir OUT_MD=/tmp/x.md bash tests/libssl/python_test_ssl.sh
#
# As `python3 -m test test_ssl` without -u: the tests that need the network skip, the servers on
# loopback run (tests/libssl/python_test_ssl_runner.py). Each run has RUN_TIMEOUT seconds (600)
# and each test PER_TEST_TIMEOUT (120: faulthandler then dumps the stacks and ends the run). A run
# that dies in a test (a crash or a hang) goes on in a new process without that test and those
# already done; the test that died is run alone under `gdb -batch -ex run -ex bt`, whose stack
# goes into the report. Every run must show, in its own /proc/self/maps, the libssl it is meant to
# be on. Exits 0 when both runs completed and the baseline had no failure; 1 otherwise, and with
# STRICT=1 also when a test passes on OpenSSL but not on ours.
set -uo pipefail
start_time=$(date +%s.%N)
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
LIBSSL_DIR=${LIBSSL_DIR:-target/libssl}
[ -f "$LIBSSL_DIR/libssl.so.3" ] || { echo "FAIL: $LIBSSL_DIR/libssl.so.3 is missing (make libssl)"; exit 1; }
LIBSSL_DIR=$(cd "$LIBSSL_DIR" && pwd)
RUN_TIMEOUT=${RUN_TIMEOUT:-600}
PER_TEST_TIMEOUT=${PER_TEST_TIMEOUT:-120}
OUT_MD=${OUT_MD:-docs/python-test-ssl.md}
STRICT=${STRICT:-0}
PY=/usr/bin/python3 # Debian's, never a python3 that PATH may find first
RUNNER=$ROOT/tests/libssl/python_test_ssl_runner.py

SYS_LIB=$(ldconfig -p | awk '$1 == "libssl.so.3" && /x86-64/ {print $NF; exit}')
[ -n "$SYS_LIB" ] || SYS_LIB=/usr/lib/x86_64-linux-gnu/libssl.so.3
SYS_LIB=$(realpath "$SYS_LIB")
UT_LIB=$(realpath "$LIBSSL_DIR/libssl.so.3")
[ "$UT_LIB" != "$SYS_LIB" ] || { echo "FAIL: LIBSSL_DIR=$LIBSSL_DIR is Debian's own libssl"; exit 1; }
UT_LIB_REL=$UT_LIB
case $UT_LIB in "$ROOT"/*) UT_LIB_REL=${UT_LIB#"$ROOT"/} ;; esac

[ -x "$PY" ] || { echo "FAIL: $PY is missing (Debian's python3)"; exit 1; }
TEST_SSL=$(env -u LD_LIBRARY_PATH "$PY" -c 'import importlib.util as u; s = u.find_spec("test.test_ssl"); print(s.origin if s else "")' 2>/dev/null)
TESTSUITE=libpython$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')-testsuite
[ -n "$TEST_SSL" ] || { echo "FAIL: $PY has no test.test_ssl: apt-get install $TESTSUITE (scripts/install-deps.sh)"; exit 1; }
SSL_SO=$(env -u LD_LIBRARY_PATH "$PY" -c 'import _ssl; print(_ssl.__file__)')
PY_VERSION=$("$PY" -c 'import sys; print(sys.version.split()[0])')
TESTSUITE_VERSION=$(dpkg-query -W -f '${Version}' "$TESTSUITE" 2>/dev/null || echo unknown)
echo "$PY $PY_VERSION ($SSL_SO), $TEST_SSL ($TESTSUITE $TESTSUITE_VERSION)"
echo "baseline on $SYS_LIB; ours on $UT_LIB; ${RUN_TIMEOUT}s a run, ${PER_TEST_TIMEOUT}s a test"

work=$(mktemp -d)
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

side_env() { if [ "$1" = ours ]; then echo "LD_LIBRARY_PATH=$LIBSSL_DIR"; else echo "-u LD_LIBRARY_PATH"; fi; }
safe_name() { echo "$1" | tr -c 'A-Za-z0-9_.\n' _; }
want_lib() { if [ "$1" = ours ]; then echo "$UT_LIB"; else echo "$SYS_LIB"; fi; }

# json_events FILE EVENT FIELD: FIELD of every EVENT record in FILE, one a line.
json_events() {
    "$PY" - "$@" <<'EOF'
import json, sys
path, event, field = sys.argv[1:]
for line in open(path):
    try:
        rec = json.loads(line)
    except ValueError:
        continue
    if rec.get("event") == event:
        v = rec.get(field)
        print(" ".join(v) if isinstance(v, list) else v)
EOF
}

# run_side SIDE: test_ssl on SIDE's libssl into $work/SIDE.jsonl, going on after a crash or a
# hang; the tests that died are listed in $work/SIDE.crashes (kind TAB test TAB reason).
bad_runs=()
run_side() {
    local side=$1 jsonl=$work/$1.jsonl attempt=0 rc remaining t0 took
    local envs
    read -ra envs <<<"$(side_env "$side")"
    : >"$jsonl"
    : >"$work/$side.crashes"
    mkdir -p "$work/cwd.$side"
    t0=$EPOCHREALTIME
    local deadline=$((SECONDS + RUN_TIMEOUT))
    while :; do
        attempt=$((attempt + 1))
        remaining=$((deadline - SECONDS))
        if [ "$remaining" -le 0 ]; then
            bad_runs+=("$side: the ${RUN_TIMEOUT}s budget ran out after $((attempt - 1)) processes")
            break
        fi
        # leave out what is done, and the tests that died
        { json_events "$jsonl" end id; cut -f2 "$work/$side.crashes"; } | sort -u >"$work/$side.exclude"
        (cd "$work/cwd.$side" && timeout -k 5 "$remaining" env "${envs[@]}" PER_TEST_TIMEOUT="$PER_TEST_TIMEOUT" \
            "$PY" "$RUNNER" run "$jsonl" --exclude "$work/$side.exclude") \
            >"$work/$side.$attempt.out" 2>"$work/$side.$attempt.err" </dev/null
        rc=$?
        local last
        last=$(tail -n 1 "$jsonl" | "$PY" -c 'import json, sys
try: print(json.loads(sys.stdin.read()).get("event", ""))
except ValueError: print("")')
        [ "$last" = done ] && [ "$rc" = 0 ] && break
        # the test that was running: the last start without an end
        local died
        died=$("$PY" - "$jsonl" <<'EOF'
import json, sys
started, ended = [], set()
for line in open(sys.argv[1]):
    try:
        rec = json.loads(line)
    except ValueError:
        continue
    if rec.get("event") == "start":
        started.append(rec["id"])
    elif rec.get("event") == "end":
        ended.add(rec["id"])
left = [t for t in started if t not in ended]
print(left[-1] if left else "")
EOF
)
        local kind=crashed how
        if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
            kind=hung how="the run's ${RUN_TIMEOUT}s timeout ended it"
        elif grep -q '^Timeout (' "$work/$side.$attempt.err"; then
            kind=hung how="no end after ${PER_TEST_TIMEOUT}s (faulthandler's timeout)"
        elif [ "$rc" -gt 128 ]; then
            how="killed by signal $((rc - 128)) ($(kill -l $((rc - 128)) 2>/dev/null))"
        else
            how="exit status $rc"
        fi
        local fatal
        fatal=$(grep -m1 -E '^(Fatal Python error|Segmentation fault|Aborted)' "$work/$side.$attempt.err" | cut -c1-200)
        [ -n "$fatal" ] && how="$how: $fatal"
        if [ -z "$died" ]; then
            bad_runs+=("$side: process $attempt ended ($how) outside any test: $(tail -c 400 "$work/$side.$attempt.err" | tr '\n' ' ')")
            break
        fi
        printf '%s\t%s\t%s\n' "$kind" "$died" "$how" >>"$work/$side.crashes"
        # faulthandler's Python stack of the thread that died or waited (its first block)
        sed -n '/^\(Current thread\|Thread\) 0x/,/^$/p' "$work/$side.$attempt.err" | sed '/^$/q' |
            sed -E "s/0x[0-9a-f]+/0x…/; s#$ROOT/##g" | head -30 >"$work/pystack.$side.$(safe_name "$died")"
        echo "  $side: ${died#test.test_ssl.} $kind ($how); going on without it"
        [ "$attempt" -lt 30 ] || { bad_runs+=("$side: 30 processes died"); break; }
    done
    took=$(awk -v s="$t0" -v e="$EPOCHREALTIME" 'BEGIN {printf "%.1f", e - s}')
    eval "TOOK_$side=$took"
    # every process showed the libssl it is meant to be on
    local want maps n=0
    want=$(want_lib "$side")
    while IFS= read -r maps; do
        n=$((n + 1))
        [ "$maps" = "$want" ] || bad_runs+=("$side: a test_ssl process maps libssl '$maps', want $want")
    done < <(json_events "$jsonl" begin libssl)
    [ "$n" -gt 0 ] || bad_runs+=("$side: no test_ssl process started: $(tail -c 600 "$work/$side.1.err" | tr '\n' ' ')")
    echo "$side: $n process(es), ${took}s, maps $want"
}

# backtrace SIDE TEST: the test alone under gdb; the stack of the thread that died, addresses out.
backtrace() {
    local side=$1 test=$2 setenv
    if [ "$side" = ours ]; then setenv="set environment LD_LIBRARY_PATH=$LIBSSL_DIR"; else setenv="unset environment LD_LIBRARY_PATH"; fi
    command -v gdb >/dev/null || { echo "(gdb is not installed)"; return; }
    (cd "$work/cwd.$side" && timeout -k 5 300 env -u LD_LIBRARY_PATH gdb -batch -nx -ex "$setenv" \
        -ex "set environment PER_TEST_TIMEOUT=$PER_TEST_TIMEOUT" -ex 'set debuginfod enabled off' \
        -ex 'set pagination off' -ex run -ex bt \
        --args "$PY" "$RUNNER" run "$work/gdb.jsonl" --only "$test") >"$work/gdb.out" 2>&1 </dev/null
    if grep -q '^#0 ' "$work/gdb.out"; then
        grep -E '^(Thread .* received signal|Program received signal|Program terminated)' "$work/gdb.out" | head -1
        grep -E '^#[0-9]+ ' "$work/gdb.out" | head -40 | sed -E 's/ 0x[0-9a-f]+ in / /; s/\(([^()]*=[^()]*)\)/(…)/'
    else
        echo "(under gdb the test did not die: $(grep -E '"event": "end"' "$work/gdb.jsonl" | tail -1 | cut -c1-200))"
    fi
}

echo "== test_ssl on Debian's libssl"
run_side sys
echo "== test_ssl on ours"
run_side ours

# gdb for each test that crashed (not for hangs: faulthandler's stacks say where they waited)
for side in sys ours; do
    while IFS=$'\t' read -r kind test how; do
        [ "$kind" = crashed ] || continue
        echo "== gdb: ${test#test.test_ssl.} alone on $side"
        backtrace "$side" "$test" >"$work/bt.$side.$(safe_name "$test")"
        cat "$work/bt.$side.$(safe_name "$test")"
    done <"$work/$side.crashes"
done

# the report
"$PY" - "$work" >"$work/meta.json" <<EOF
import json, os, sys
work = sys.argv[1]
meta = {"python": "$PY_VERSION", "ssl_module": "$SSL_SO", "testsuite": "$TESTSUITE", "testsuite_version": "$TESTSUITE_VERSION",
        "sys_lib": "$SYS_LIB", "ut_lib": "$UT_LIB", "ut_lib_rel": "$UT_LIB_REL"}
for side in ("sys", "ours"):
    crashes = []
    for line in open(os.path.join(work, side + ".crashes")):
        kind, test, how = line.rstrip("\n").split("\t", 2)
        name = "".join(c if c.isalnum() or c in "_." else "_" for c in test)
        read = lambda f: open(f).read() if os.path.exists(f) else ""
        crashes.append({"kind": kind, "test": test, "reason": how,
                        "backtrace": read(os.path.join(work, "bt.%s.%s" % (side, name))),
                        "python_stack": read(os.path.join(work, "pystack.%s.%s" % (side, name)))})
    meta[side] = {"crashes": crashes}
json.dump(meta, sys.stdout)
EOF
mkdir -p "$(dirname "$OUT_MD")"
echo "== summary (also in $OUT_MD)"
"$PY" "$RUNNER" summary "$work/meta.json" "$work/sys.jsonl" "$work/ours.jsonl" "$OUT_MD" | tee "$work/summary.txt"

status=0
for b in "${bad_runs[@]}"; do echo "FAIL: $b"; status=1; done
sys_bad=$(sed -n "s/^Debian's libssl .*failed \([0-9]*\), errors \([0-9]*\), skipped [0-9]*, crashed \([0-9]*\), hung \([0-9]*\)$/\1 \2 \3 \4/p" "$work/summary.txt")
if [ "$sys_bad" != "0 0 0 0" ]; then
    echo "FAIL: the baseline on Debian's libssl is not clean (failed, errors, crashed, hung: ${sys_bad:-?})"
    status=1
fi
regressions=$(sed -n 's/^pass on OpenSSL, fail on ours: \([0-9]*\)$/\1/p' "$work/summary.txt")
# Against the known differences (tests/libssl/python-test-ssl-known.txt): a new one fails.
known=$(sed 's/#.*//; s/[[:space:]]//g; /^$/d' tests/libssl/python-test-ssl-known.txt | sort -u)
now=$(sed -n '/^## Pass on OpenSSL, fail on ferrotls/,/^## Failures grouped/p' "$OUT_MD" | grep -o '^| `[^`]*`' | tr -d '|` ' | sort -u)
new_fail=$(comm -13 <(echo "$known") <(echo "$now") | sed '/^$/d')
fixed=$(comm -23 <(echo "$known") <(echo "$now") | sed '/^$/d')
if [ -n "$new_fail" ]; then
    echo "FAIL: tests that pass on OpenSSL now fail on ours and are not known differences: $(tr '\n' ' ' <<<"$new_fail")"
    status=1
else
    echo "ok    test_ssl on ours: $(wc -l <<<"$now" | tr -d ' ') differences from OpenSSL, all known (tests/libssl/python-test-ssl-known.txt)"
fi
[ -z "$fixed" ] || echo "note: known differences that pass now (take them off the list): $(tr '\n' ' ' <<<"$fixed")"
if [ "$STRICT" = 1 ] && [ "${regressions:-1}" != 0 ]; then
    echo "FAIL: $regressions tests pass on OpenSSL but not on ours (STRICT=1)"
    status=1
fi
elapsed=$(awk -v s="$start_time" -v e="$(date +%s.%N)" 'BEGIN {printf "%.1f", e - s}')
echo "test_ssl: baseline ${TOOK_sys}s, ours ${TOOK_ours}s, ${elapsed}s in all"
exit "$status"
