#!/usr/bin/env bash
# Debian's python3 (/usr/bin/python3: its _ssl module links libssl.so.3), unmodified, on the libssl
# under test, against peers on the real OpenSSL: urllib, http.client, certificate verification
# errors, asyncio in both roles, SSLObject over MemoryBIO, connection details, cadata, sessions.
#
#   LIBSSL_DIR= bash tests/libssl/python.sh                 # the oracle: everything on Debian's libssl
#   LIBSSL_DIR=target/libssl bash tests/libssl/python.sh    # python3 under test on ours
#
# The cases themselves are tests/libssl/python_cases.py (one process a case). The process under
# test gets LD_LIBRARY_PATH=$LIBSSL_DIR; it prints the libssl.so.3 that /proc/self/maps shows (after
# `import ssl`, and again at its end), which must be exactly the libssl under test; every process,
# under test or peer, also runs with LD_DEBUG=libs into a log of its own, checked the same way, and
# servers are checked in /proc/PID/maps. Peers: openssl s_server and a second /usr/bin/python3,
# both on Debian's libssl. Where a case says "as on Debian's libssl", the same case runs first on
# Debian's libssl as the reference and every COMPARE value must be equal. Every case prints
# "ok    ..." or "FAIL: ..." with its evidence; all cases run, and the script exits 1 if any failed.
set -uo pipefail
start_time=$(date +%s.%N)
LIBSSL_DIR=${LIBSSL_DIR:-}
if [ -n "$LIBSSL_DIR" ]; then
    [ -f "$LIBSSL_DIR/libssl.so.3" ] || { echo "FAIL: $LIBSSL_DIR/libssl.so.3 is missing (make libssl)"; exit 1; }
    LIBSSL_DIR=$(cd "$LIBSSL_DIR" && pwd)
fi
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
CERTS=$ROOT/examples-c/certs
CASES=$ROOT/tests/libssl/python_cases.py
PY=/usr/bin/python3 # Debian's, never a python3 that PATH may find first
T=30                # timeout of every client process, seconds

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
[ -x "$PY" ] || { echo "FAIL: $PY is missing (Debian's python3)"; exit 1; }
SSL_SO=$(env -u LD_LIBRARY_PATH "$PY" -c 'import _ssl; print(_ssl.__file__)' 2>/dev/null)
env -u LD_LIBRARY_PATH ldd "$SSL_SO" 2>/dev/null | grep -q 'libssl\.so\.3 ' ||
    { echo "FAIL: $PY's _ssl module (${SSL_SO:-not found}) does not link libssl.so.3"; exit 1; }
echo "libssl under test: $UT_LIB; peers on: $SYS_LIB; $PY $("$PY" -c 'import sys; print(sys.version.split()[0])') ($SSL_SO)"

work=$(mktemp -d)
mkdir "$work/ld"
bg_pids=()
cleanup() {
    local p
    for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${bg_pids[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- running programs --------------------------------------------------------------------------
# run SIDE TAG CMD...: CMD under a timeout, on the libssl under test (SIDE=ut) or on Debian's
# (SIDE=sys), the libraries it initialises logged to $work/ld/TAG.PID (one file per process).
run() {
    local side=$1 tag=$2
    shift 2
    local envs=(-u LD_LIBRARY_PATH)
    [ "$side" = ut ] && envs=("${UT_ENV[@]}")
    timeout "$T" env "${envs[@]}" LD_DEBUG=libs LD_DEBUG_OUTPUT="$work/ld/$tag" "$@"
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
side_name() { if [ "$1" = ut ]; then echo "the libssl under test"; else echo "Debian's libssl"; fi; }

# start_server SIDE NAME REGEX CMD...: CMD in the background (stdout NAME.out, stderr NAME.err)
# until the end of the script; waits for a line matching REGEX (sed, \1 = the port) in either
# file, then sets PORT (empty if it did not start), TPID (its `timeout`), SPID (the server's pid)
# and SLIB (empty if the server runs on the libssl it should, else why not).
declare -A SERVER_EVIDENCE
start_server() {
    local side=$1 name=$2 re=$3
    shift 3
    local envs=(-u LD_LIBRARY_PATH)
    [ "$side" = ut ] && envs=("${UT_ENV[@]}")
    timeout 150 env "${envs[@]}" LD_DEBUG=libs LD_DEBUG_OUTPUT="$work/ld/$name" "$@" \
        >"$work/$name.out" 2>"$work/$name.err" </dev/null &
    TPID=$!
    bg_pids+=("$TPID")
    PORT= SPID= SLIB=
    local i
    for i in $(seq 200); do
        PORT=$(sed -n "s/$re/\\1/p" "$work/$name.out" "$work/$name.err" | head -1)
        [ -n "$PORT" ] && break
        kill -0 "$TPID" 2>/dev/null || break
        sleep 0.05
    done
    SPID=$(cat "/proc/$TPID/task/$TPID/children" 2>/dev/null | awk '{print $1}')
    if [ -z "$PORT" ]; then
        local how="did not print its port within 10 s"
        if ! kill -0 "$TPID" 2>/dev/null; then
            wait "$TPID"
            how="exited with status $?"
        fi
        SLIB="$name ($*) $how; its output: $(cat "$work/$name.out" "$work/$name.err" 2>/dev/null | tail -c 600 | tr '\n' ' ' | sed 's/^ *$/(none)/')"
        return
    fi
    local want maps
    want=$(want_of "$side")
    maps=$(maps_libssl "$SPID")
    if [ "$maps" != "$want" ]; then
        SLIB="$name (pid $SPID) maps libssl '$maps', not $want"
    else
        SERVER_EVIDENCE[$name]="$name pid $SPID maps $maps"
    fi
}

# --- cases -------------------------------------------------------------------------------------
passed=0
failed=0
why=()
files=()
begin() { case_name=$1; why=(); files=(); evidence=(); case_start=$EPOCHREALTIME; }
show() { files+=("$@"); }
need() { why+=("$*"); }
rc_text() { if [ "$rc" = 124 ]; then echo "timed out after ${T}s (exit 124)"; else echo "exit code $rc"; fi; }
count_of() { local n; n=$(grep -Ec -- "$2" "$1" 2>/dev/null); echo "${n:-0}"; }
# need_lib SIDE TAG: the processes logged under TAG initialised the libssl of SIDE and no other.
need_lib() {
    local want have
    want=$(want_of "$1")
    have=$(ld_libssl "$2")
    [ "$have" = "$want" ] || need "$2 initialised libssl '${have:-none}', want $want"
}
# need_peer_log FILE ERE BEFORE: within 2 s, the peer's log FILE has more lines matching ERE than
# BEFORE (from count_of before the client ran): the peer saw the failure for the expected reason.
need_peer_log() {
    local i
    for i in $(seq 40); do
        if [ "$(count_of "$1" "$2")" -gt "$3" ]; then
            evidence+=("peer: $(grep -E -- "$2" "$1" | tail -1 | sed 's/^.*\] //;s/^[0-9A-F]*:error:[0-9A-F]*://' | cut -c1-100)")
            return
        fi
        sleep 0.05
    done
    need "the peer's log $(basename "$1") got no new line matching /$2/"
    show "$1"
}
need_server() { [ -z "$1" ] || need "$1"; }
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
        local w f
        for w in "${why[@]}"; do echo "        - $w"; done
        for f in "${files[@]}"; do
            [ -s "$f" ] || continue
            echo "        --- $(basename "$f") (last lines):"
            tail -n 12 "$f" | cut -c1-200 | sed 's/^/          /'
        done
    fi
}

# py SIDE TAG CASE ARGS...: python_cases.py CASE on SIDE's libssl; output in TAG.out, TAG.err.
py() {
    local side=$1 tag=$2
    shift 2
    run "$side" "$tag" "$PY" "$CASES" "$@" >"$work/$tag.out" 2>"$work/$tag.err" </dev/null
    rc=$?
    echo "$rc" >"$work/$tag.rc"
}
# need_py SIDE TAG [quiet]: the process logged as TAG ran on SIDE's libssl (/proc/self/maps as it
# printed it, and LD_DEBUG), printed no FAIL line and exited 0; its EVIDENCE lines become the
# case's (unless quiet: a reference run).
need_py() {
    local side=$1 tag=$2 quiet=${3:-} prefix=
    local want line maps n=0
    [ -n "$quiet" ] && prefix="on Debian's libssl (the reference run): "
    want=$(want_of "$side")
    rc=$(cat "$work/$tag.rc" 2>/dev/null || echo "?")
    while IFS= read -r line; do
        n=$((n + 1))
        maps=${line#MAPS }
        [ "$maps" = "$want" ] || need "${prefix}$tag: /proc/self/maps shows libssl '${maps:-none}', want $want"
    done < <(grep '^MAPS' "$work/$tag.out")
    [ "$n" -ge 2 ] || need "${prefix}$tag printed $n MAPS lines, want 2 (did it crash? $(rc_text))"
    while IFS= read -r line; do need "${prefix}$tag: ${line#FAIL }"; done < <(grep '^FAIL ' "$work/$tag.out")
    [ "$rc" = 0 ] || need "${prefix}$tag: $(rc_text), want 0"
    need_lib "$side" "$tag"
    if [ -z "$quiet" ]; then
        while IFS= read -r line; do evidence+=("${line#EVIDENCE }"); done < <(grep '^EVIDENCE ' "$work/$tag.out")
        [ "$side" = ut ] && evidence+=("maps $want")
    fi
    [ "$rc" = 0 ] || show "$work/$tag.err"
}
# need_same TAG REF: the COMPARE lines of TAG (on the libssl under test) are those of REF (the
# same case on Debian's libssl), key by key.
need_same() {
    local tag=$1 ref=$2 key have want n=0
    while IFS= read -r key; do
        n=$((n + 1))
        have=$(awk -v k="$key" '$1 == "COMPARE" && $2 == k {sub(/^COMPARE [^ ]+ /, ""); print}' "$work/$tag.out")
        want=$(awk -v k="$key" '$1 == "COMPARE" && $2 == k {sub(/^COMPARE [^ ]+ /, ""); print}' "$work/$ref.out")
        [ "$have" = "$want" ] || need "$key is ${have:-(not printed)}; on Debian's libssl $want"
    done < <(cat "$work/$tag.out" "$work/$ref.out" | awk '$1 == "COMPARE" {print $2}' | sort -u)
    [ "$n" -gt 0 ] || need "no COMPARE value printed"
    evidence+=("COMPARE values as on Debian's libssl: $n")
}
# py_case TAG CASE ARGS...: the case on the libssl under test, and first on Debian's for the
# reference; checks both and compares.
py_case() {
    local tag=$1
    shift
    py sys "ref_$tag" "$@"
    need_py sys "ref_$tag" quiet
    py ut "$tag" "$@"
    need_py ut "$tag"
    need_same "$tag" "ref_$tag"
}

# ===== peers: openssl s_server on Debian's libssl ===============================================
ACCEPT_RE='^ACCEPT 127\.0\.0\.1:\([0-9][0-9]*\)$'
SERVE=(openssl s_server -accept 127.0.0.1:0 -cert "$CERTS/server.pem" -key "$CERTS/server.key")
start_server sys srv_www12 "$ACCEPT_RE" "${SERVE[@]}" -www -tls1_2 -alpn h2
WWW12_PORT=$PORT WWW12_BAD=$SLIB
start_server sys srv_www13 "$ACCEPT_RE" "${SERVE[@]}" -www -tls1_3 -alpn h2
WWW13_PORT=$PORT WWW13_BAD=$SLIB
start_server sys srv_rev "$ACCEPT_RE" "${SERVE[@]}" -rev
REV_PORT=$PORT REV_BAD=$SLIB
www_port() { if [ "$1" = 2 ]; then echo "$WWW12_PORT"; else echo "$WWW13_PORT"; fi; }
www_bad() { if [ "$1" = 2 ]; then echo "$WWW12_BAD"; else echo "$WWW13_BAD"; fi; }
need_lib_srv() { need_lib sys "srv_www1$1"; }

begin "python3 on the libssl under test: import ssl maps it (/proc/self/maps), ssl.OPENSSL_VERSION_INFO and HAS_* as on Debian's libssl"
py_case info info
finish

for v in 2 3; do
    begin "urllib.request.urlopen(https://localhost/, context=create_default_context(cafile=ca.pem)) against s_server -www -tls1_$v"
    need_server "$(www_bad $v)"
    py ut urlopen1$v urlopen "$(www_port $v)" $v
    need_py ut urlopen1$v
    need_lib_srv $v
    finish
done

for v in 2 3; do
    begin "http.client.HTTPSConnection('localhost', context=create_default_context(cafile=ca.pem)) GET / against s_server -www -tls1_$v"
    need_server "$(www_bad $v)"
    py ut httpclient1$v httpclient "$(www_port $v)" $v
    need_py ut httpclient1$v
    need_lib_srv $v
    finish
done

begin "server_hostname='wrong.example' on 127.0.0.1 (the right CA): SSLCertVerificationError, verify_code/verify_message/reason as on Debian's libssl"
need_server "$WWW13_BAD"
before=$(count_of "$work/srv_www13.err" 'alert bad certificate')
py_case badname verify_error "$WWW13_PORT" badname
need_peer_log "$work/srv_www13.err" 'alert bad certificate' "$before"
finish

begin "create_default_context(cafile=other-ca.pem) (unknown CA): SSLCertVerificationError as on Debian's libssl"
need_server "$WWW13_BAD"
before=$(count_of "$work/srv_www13.err" 'alert unknown ca')
py_case badca verify_error "$WWW13_PORT" badca
need_peer_log "$work/srv_www13.err" 'alert unknown ca' "$before"
finish

for v in 2 3; do
    begin "TLS 1.$v version(), cipher(), selected_alpn_protocol() (h2), getpeercert() subject/subjectAltName/DER as on Debian's libssl (s_server -alpn h2)"
    need_server "$(www_bad $v)"
    py_case details1$v details "$(www_port $v)" $v
    need_lib_srv $v
    finish
done

begin "load_verify_locations(cadata=PEM str / DER bytes) verifies, cadata=other-ca fails; cert_store_stats(), get_ca_certs() as on Debian's libssl"
need_server "$WWW13_BAD"
py_case cadata cadata "$WWW13_PORT"
finish

for v in 2 3; do
    begin "TLS 1.$v session reuse: sock.session, reconnect with session=, session_reused, s_server says Reused; session attributes and session_stats() as on Debian's libssl"
    need_server "$(www_bad $v)"
    py_case session1$v session "$(www_port $v)" $v
    need_lib_srv $v
    finish
done

begin "asyncio server (start_server, SSLContext(PROTOCOL_TLS_SERVER), server.pem/key) under test; an asyncio client in /usr/bin/python3 on Debian's libssl; lines reversed both ways"
start_server ut asrv '^LISTENING 127\.0\.0\.1:\([0-9][0-9]*\)$' "$PY" "$CASES" asyncio_server
ASRV_PORT=$PORT ASRV_TPID=$TPID
need_server "$SLIB"
[ -n "${SERVER_EVIDENCE[asrv]:-}" ] && evidence+=("${SERVER_EVIDENCE[asrv]}")
if [ -n "$ASRV_PORT" ]; then
    py sys asrv_peer rev_peer "$ASRV_PORT"
    need_py sys asrv_peer
fi
# the server serves one client and exits
wait "$ASRV_TPID"
echo "$?" >"$work/asrv.rc"
need_py ut asrv
finish

begin "asyncio client (open_connection, create_default_context(cafile=ca.pem)) under test against s_server -rev; lines reversed both ways"
need_server "$REV_BAD"
py ut aclient asyncio_client "$REV_PORT"
need_py ut aclient
need_lib sys srv_rev
finish

for v in 2 3; do
    begin "SSLObject over MemoryBIO, client and server in one process (TLS 1.$v, ALPN): handshake, 64 KiB each way, unwrap; as on Debian's libssl"
    py_case membio1$v memorybio $v
    finish
done

elapsed=$(awk -v s="$start_time" -v e="$(date +%s.%N)" 'BEGIN {printf "%.1f", e - s}')
echo "python3 on $UT_LIB: $passed passed, $failed failed (${elapsed}s)"
[ "$failed" = 0 ]
