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
PY=/usr/bin/python3 # Debian's, never a python3 that PATH may find first
T=30                # timeout of every client process, seconds
# the peer's log line as evidence: without s_server's prefix, nor OpenSSL's "…:error:CODE:"
PEER_LOG_SED='s/^.*\] //;s/^[0-9A-F]*:error:[0-9A-F]*://'
# shellcheck source=SCRIPTDIR/harness.sh
. "$(dirname "$0")/harness.sh"
CASES=$ROOT/tests/libssl/python_cases.py
[ -x "$PY" ] || { echo "FAIL: $PY is missing (Debian's python3)"; exit 1; }
SSL_SO=$(env -u LD_LIBRARY_PATH "$PY" -c 'import _ssl; print(_ssl.__file__)' 2>/dev/null)
# grep without -q reads all of ldd's output: with pipefail, an early exit would fail ldd (SIGPIPE).
env -u LD_LIBRARY_PATH ldd "$SSL_SO" 2>/dev/null | grep 'libssl\.so\.3 ' >/dev/null ||
    { echo "FAIL: $PY's _ssl module (${SSL_SO:-not found}) does not link libssl.so.3"; exit 1; }
echo "$BANNER; $PY $("$PY" -c 'import sys; print(sys.version.split()[0])') ($SSL_SO)"
side_name() { if [ "$1" = ut ]; then echo "the libssl under test"; else echo "Debian's libssl"; fi; }

# --- the checks of this script (the harness has the others) ------------------------------------
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
    need_lib "$side" "$tag" quiet
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

summary python3
