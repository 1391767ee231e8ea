# shellcheck shell=bash
# The harness that tests/libssl/programs.sh, servers.sh and python.sh source: a program under test
# runs on the libssl of $LIBSSL_DIR, its peers on Debian's, and every case proves which libssl.so.3
# each process initialised (LD_DEBUG=libs) and each server maps (/proc/PID/maps).
#
# Set before sourcing (`. "$(dirname "$0")/harness.sh"`, from the script's first lines: it finds
# the repository from $0 and the script's starting folder):
#   T             required: the timeout of every client command, seconds (run, rc_text)
#   GREP_TEXT=1   optional: the checks grep every file as text (grep -a), binary or not
#   SHOW_ONCE=1   optional: a failed case lists each of its files once, however often shown
#   KEEP_WORK_OK=1  optional: KEEP_WORK=1 in the environment keeps the temporary folder
#   PEER_LOG_SED  optional: the sed script that trims need_peer_log's evidence line
#                 (default: 's/^.*\] //', the log's prefix up to "] ")
# and in the environment LIBSSL_DIR: the folder of the libssl.so.3 under test (empty: Debian's own,
# the oracle; the script exits 1 if it has no libssl.so.3, or if that is Debian's).
#
# Sourcing sets -uo pipefail, changes to the repository's root and sets:
#   start_time ROOT CERTS SYS_LIB UT_LIB UT_ENV   the run and the two libssls (resolved paths)
#   BANNER        the line to print first: which libssl is under test, which the peers'
#   work          a temporary folder (LD_DEBUG logs in $work/ld), removed at exit with every
#                 background process in bg_pids (trap on EXIT; INT and TERM exit 130)
#   SERVER_EVIDENCE, passed, failed
# and provides:
#   run SIDE TAG CMD...                   CMD on SIDE's libssl (ut or sys), LD_DEBUG into TAG
#   ld_libssl TAG, maps_libssl PID, want_of SIDE, children_of PID, listeners PORT
#   launch SIDE NAME SECONDS CMD...       CMD in the background (sets TPID)
#   start_server SIDE NAME REGEX CMD...   a server that prints its port (sets PORT SPID SLIB TPID)
#   start_daemon SIDE NAME PORTS CMD...   a daemon on known ports (sets SPID SBAD TPID)
#   begin NAME ... finish                 a case; between them need, show, evidence+=(...),
#       need_rc, need_fail, need_grep, need_nogrep, count_of, need_lib, need_peer_log,
#       new_log_line, need_server, with rc_text describing $rc
#   summary WHAT                          the last line; fails if any case failed
set -uo pipefail
start_time=$(date +%s.%N)
: "${T:?set T (seconds) before sourcing harness.sh}"
LIBSSL_DIR=${LIBSSL_DIR:-}
if [ -n "$LIBSSL_DIR" ]; then
    [ -f "$LIBSSL_DIR/libssl.so.3" ] || { echo "FAIL: $LIBSSL_DIR/libssl.so.3 is missing (make libssl)"; exit 1; }
    LIBSSL_DIR=$(cd "$LIBSSL_DIR" && pwd)
fi
cd "$(dirname "$0")/../.." || exit 1
ROOT=$(pwd)
# shellcheck disable=SC2034 # for the scripts
CERTS=$ROOT/examples-c/certs

# Debian's libssl.so.3, as the dynamic linker finds it (a resolved path: maps and LD_DEBUG agree).
SYS_LIB=$(ldconfig -p | awk '$1 == "libssl.so.3" && /x86-64/ {print $NF; exit}')
[ -n "$SYS_LIB" ] || SYS_LIB=/usr/lib/x86_64-linux-gnu/libssl.so.3
SYS_LIB=$(realpath "$SYS_LIB")
if [ -n "$LIBSSL_DIR" ]; then
    UT_LIB=$(realpath "$LIBSSL_DIR/libssl.so.3")
    UT_ENV=(LD_LIBRARY_PATH="$LIBSSL_DIR")
    [ "$UT_LIB" != "$SYS_LIB" ] || { echo "FAIL: LIBSSL_DIR=$LIBSSL_DIR is Debian's own libssl"; exit 1; }
else
    UT_LIB=$SYS_LIB
    UT_ENV=(-u LD_LIBRARY_PATH)
fi
# The script's first line: the libssl under test and the peers'.
# shellcheck disable=SC2034 # for the scripts
BANNER="libssl under test: $UT_LIB; peers on: $SYS_LIB"

work=$(mktemp -d)
mkdir "$work/ld"
bg_pids=()
cleanup() {
    local p
    for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${bg_pids[@]}"; do wait "$p" 2>/dev/null; done
    if [ -n "${KEEP_WORK_OK:-}" ] && [ -n "${KEEP_WORK:-}" ]; then echo "(KEEP_WORK: the logs are in $work)"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- running programs --------------------------------------------------------------------------
# side_envs SIDE: ENVS, the env(1) arguments that put a process on SIDE's libssl (ut: the libssl
# under test; anything else: Debian's, LD_LIBRARY_PATH unset).
side_envs() {
    ENVS=(-u LD_LIBRARY_PATH)
    if [ "$1" = ut ]; then ENVS=("${UT_ENV[@]}"); fi
}
# run SIDE TAG CMD...: CMD under a timeout, on the libssl under test (SIDE=ut) or on Debian's
# (SIDE=sys), the libraries it initialises logged to $work/ld/TAG.PID (one file per process).
run() {
    local side=$1 tag=$2
    shift 2
    side_envs "$side"
    timeout "$T" env "${ENVS[@]}" LD_DEBUG=libs LD_DEBUG_OUTPUT="$work/ld/$tag" "$@"
}
# The libssl.so.3 files that the processes logged under TAG initialised (resolved, one a line).
ld_libssl() {
    cat "$work/ld/$1".* 2>/dev/null | sed -n 's/^ *[0-9]*:[[:space:]]*calling init: \(.*\/libssl\.so\.3\)$/\1/p' |
        while read -r f; do realpath "$f"; done | sort -u | tr '\n' ' ' | sed 's/ $//'
}
# The libssl.so.3 files mapped into process PID.
maps_libssl() {
    awk '$6 ~ /\/libssl\.so\.3$/ {print $6}' "/proc/$1/maps" 2>/dev/null |
        while read -r f; do realpath "$f"; done | sort -u | tr '\n' ' ' | sed 's/ $//'
}
want_of() { if [ "$1" = ut ]; then echo "$UT_LIB"; else echo "$SYS_LIB"; fi; }
children_of() { cat "/proc/$1/task/$1/children" 2>/dev/null; }
# The pids of the processes listening on 127.0.0.1:PORT (TCP), one a line.
listeners() { ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u; }

declare -A SERVER_EVIDENCE
# launch SIDE NAME SECONDS CMD...: CMD under `timeout SECONDS` in the background until the end of
# the script, on SIDE's libssl (as run), LD_DEBUG into $work/ld/NAME, stdout NAME.out, stderr
# NAME.err, no stdin; sets TPID (its `timeout`, ended by cleanup).
launch() {
    local side=$1 name=$2 secs=$3
    shift 3
    side_envs "$side"
    timeout "$secs" env "${ENVS[@]}" LD_DEBUG=libs LD_DEBUG_OUTPUT="$work/ld/$name" "$@" \
        >"$work/$name.out" 2>"$work/$name.err" </dev/null &
    TPID=$!
    bg_pids+=("$TPID")
}
# wait_up CHECK...: runs CHECK in this shell every 0.05 s, 200 times at most (10 s), until it
# succeeds (then succeeds) or the process TPID has ended (then fails).
wait_up() {
    for _ in $(seq 200); do
        "$@" && return 0
        kill -0 "$TPID" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}
# down_why VAR NAME HOW CMD...: VAR says why the background CMD logged as NAME is not up: HOW,
# or the status it exited with (reaped here: TPID is this shell's child), and its last output.
down_why() {
    local var=$1 name=$2 how=$3
    shift 3
    if ! kill -0 "$TPID" 2>/dev/null; then
        wait "$TPID"
        how="exited with status $?"
    fi
    printf -v "$var" '%s' "$name ($*) $how; its output: $(cat "$work/$name.out" "$work/$name.err" 2>/dev/null | tail -c 600 | tr '\n' ' ' | sed 's/^ *$/(none)/')"
}

# start_server SIDE NAME REGEX CMD...: CMD in the background (launch, 150 s at most; stdout
# NAME.out, stderr NAME.err) until the end of the script; waits for a line matching REGEX (sed,
# \1 = the port) in either file, then sets PORT (empty if it did not start), TPID (its `timeout`),
# SPID (the server's pid) and SLIB (empty if the server runs on the libssl it should, else why not).
port_printed() { PORT=$(sed -n "s/$1/\\1/p" "$work/$2.out" "$work/$2.err" | head -1); [ -n "$PORT" ]; }
start_server() {
    local side=$1 name=$2 re=$3
    shift 3
    launch "$side" "$name" 150 "$@"
    PORT='' SPID='' SLIB=''
    wait_up port_printed "$re" "$name"
    SPID=$(children_of "$TPID" | awk '{print $1}')
    if [ -z "$PORT" ]; then
        down_why SLIB "$name" "did not print its port within 10 s" "$@"
        return
    fi
    local want maps
    want=$(want_of "$side")
    maps=$(maps_libssl "$SPID")
    if [ "$maps" != "$want" ]; then
        # shellcheck disable=SC2034 # the caller's
        SLIB="$name (pid $SPID) maps libssl '$maps', not $want"
    else
        SERVER_EVIDENCE[$name]="$name pid $SPID maps $maps"
    fi
}

# start_daemon SIDE NAME PORTS CMD...: CMD (SIDE ut: on the libssl under test; sys: on Debian's;
# plain: a helper without TLS, on Debian's or none) in the background (launch, 300 s at most;
# stdout NAME.out, stderr NAME.err) until the end of the script; waits (10 s at most) until it
# listens on every one of PORTS, then sets SPID (the daemon's pid, under `timeout`) and SBAD
# (empty if it listens on PORTS itself and it and its children, nginx's workers, map the libssl
# they should; else why not).
all_listening() {
    local p
    for p in $1; do [ -n "$(listeners "$p")" ] || return 1; done
}
start_daemon() {
    local side=$1 name=$2 ports=$3
    shift 3
    launch "$side" "$name" 300 "$@"
    SPID='' SBAD=''
    local up=0
    wait_up all_listening "$ports" && up=1
    SPID=$(children_of "$TPID" | awk '{print $1}')
    if [ "$up" != 1 ]; then
        down_why SBAD "$name" "does not listen on 127.0.0.1:{${ports// /,}} within 10 s" "$@"
        return
    fi
    local pids want maps pid p
    # shellcheck disable=SC2046,SC2116 # one line of the daemon's pid and its children's
    pids=$(echo "$SPID" $(children_of "$SPID"))
    for p in $ports; do
        grep -qxF -f <(tr ' ' '\n' <<<"$pids") <(listeners "$p") ||
            { SBAD="127.0.0.1:$p is held by pid $(listeners "$p" | tr '\n' ' '), not by $name (pids $pids)"; return; }
    done
    want=$(want_of "$side")
    for pid in $pids; do
        maps=$(maps_libssl "$pid")
        [ "$side" = plain ] && [ -z "$maps" ] && continue
        # shellcheck disable=SC2034 # the caller's
        [ "$maps" = "$want" ] || { SBAD="$name (pid $pid of $pids) maps libssl '$maps', not $want"; return; }
    done
    SERVER_EVIDENCE[$name]="$name pid ${pids// /,} maps ${maps:-no libssl}"
}

# --- cases -------------------------------------------------------------------------------------
# The grep of the checks: -E, or -aE with GREP_TEXT (a binary file is read as text).
if [ -n "${GREP_TEXT:-}" ]; then GREP_E=-aE; else GREP_E=-E; fi
PEER_LOG_SED=${PEER_LOG_SED:-'s/^.*\] //'}
passed=0
failed=0
why=()
files=()
begin() { case_name=$1; why=(); files=(); evidence=(); case_start=$EPOCHREALTIME; }
show() { files+=("$@"); }
need() { why+=("$*"); }
# shellcheck disable=SC2154 # rc: the exit code of the command the case ran, set by the script
rc_text() { if [ "$rc" = 124 ]; then echo "timed out after ${T}s (exit 124)"; else echo "exit code $rc"; fi; }
need_rc() { [ "$rc" = "$1" ] || need "$(rc_text), want $1"; }
need_fail() { [ "$rc" != 0 ] && [ "$rc" != 124 ] || need "$(rc_text), want a failure"; }
# need_grep FILE ERE: FILE has a line matching ERE; the first such line is evidence.
need_grep() {
    local line
    line=$(grep "${GREP_E}m1" -- "$2" "$1" 2>/dev/null)
    if [ -n "$line" ]; then evidence+=("$(sed 's/^[[:space:]]*//' <<<"$line" | cut -c1-100)"); else need "no line matching /$2/ in $(basename "$1")"; fi
}
need_nogrep() { ! grep "${GREP_E}q" -- "$2" "$1" 2>/dev/null || need "a line matches /$2/ in $(basename "$1"): $(grep "${GREP_E}m1" -- "$2" "$1" | cut -c1-200)"; }
count_of() { local n; n=$(grep "${GREP_E}c" -- "$2" "$1" 2>/dev/null); echo "${n:-0}"; }
# need_lib SIDE TAG [quiet]: the processes logged under TAG initialised the libssl of SIDE and no
# other; on the libssl under test that is evidence, unless quiet.
need_lib() {
    local want have
    want=$(want_of "$1")
    have=$(ld_libssl "$2")
    if [ "$have" = "$want" ]; then
        [ "$1" = ut ] && [ -z "${3:-}" ] && evidence+=("ran on $have")
    else
        need "$2 initialised libssl '${have:-none}', want $want"
    fi
}
# new_log_line FILE ERE BEFORE: within 2 s, the log FILE has more lines matching ERE than BEFORE
# (from count_of before the client ran); prints the last of them, or fails.
new_log_line() {
    for _ in $(seq 40); do
        if [ "$(count_of "$1" "$2")" -gt "$3" ]; then
            grep "$GREP_E" -- "$2" "$1" | tail -1
            return 0
        fi
        sleep 0.05
    done
    return 1
}
# need_peer_log FILE ERE BEFORE: new_log_line: the peer saw the failure for the expected reason.
need_peer_log() {
    local line
    if line=$(new_log_line "$@"); then
        evidence+=("peer: $(sed "$PEER_LOG_SED" <<<"$line" | cut -c1-100)")
    else
        need "the peer's log $(basename "$1") got no new line matching /$2/"
        show "$1"
    fi
}
# need_server WHY, or need_server NAME WHY: the server the case talks to is up, on the libssl it
# should be (WHY is empty: start_server's SLIB, start_daemon's SBAD, kept by the caller); with
# NAME, its SERVER_EVIDENCE leads the case's evidence.
need_server() {
    if [ $# -ge 2 ]; then
        if [ -n "$2" ]; then need "$2"; else evidence+=("${SERVER_EVIDENCE[$1]}"); fi
    else
        [ -z "$1" ] || need "$1"
    fi
}
finish() {
    local took
    took=$(awk -v s="$case_start" -v e="$EPOCHREALTIME" 'BEGIN {printf "%.2f", e - s}')
    if [ "${#why[@]}" = 0 ]; then
        passed=$((passed + 1))
        local e line=
        for e in "${evidence[@]}"; do line+="${line:+ | }$e"; done
        echo "ok    $case_name (${took}s): $line"
    else
        failed=$((failed + 1))
        echo "FAIL: $case_name (${took}s)"
        local w f shown=" "
        for w in "${why[@]}"; do echo "        - $w"; done
        for f in "${files[@]}"; do
            [ -s "$f" ] || continue
            if [ -n "${SHOW_ONCE:-}" ]; then
                [[ "$shown" != *" $f "* ]] || continue
                shown+="$f "
            fi
            echo "        --- $(basename "$f") (last lines):"
            tail -n 12 "$f" | cut -c1-200 | sed 's/^/          /'
        done
    fi
}
# summary WHAT: the last line, "WHAT on UT_LIB: N passed, M failed (Ss)"; fails if a case failed.
summary() {
    local elapsed
    elapsed=$(awk -v s="$start_time" -v e="$(date +%s.%N)" 'BEGIN {printf "%.1f", e - s}')
    echo "$1 on $UT_LIB: $passed passed, $failed failed (${elapsed}s)"
    [ "$failed" = 0 ]
}
