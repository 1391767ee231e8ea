#!/usr/bin/env bash
# C / interop tests: the example programs against each other, OpenSSL, curl and GnuTLS, all on
# 127.0.0.1 with ports chosen by the system and bounded timeouts. Run by `make test` after `make`.
#
#   tests/c/run.sh [NAME-PATTERN]      run the tests whose name matches (grep -E), default all
#
# Environment:
#   FERROTLS_SKIP_TLS12=1   skip the TLS 1.2 group (default: run it)
#   FERROTLS_TEST_KEEP=1    keep the work folder with every test's log
#   FERROTLS_EXAMPLES_DIR   where ferrotls-client / ferrotls-server are (default target/examples-c)
#   FERROTLS_README         the README whose C examples readme_c_examples tests (default README.md)
#
# The last line is "N passed, N failed, N skipped"; the exit code is non-zero on any failure.
# A test skips itself by exiting 77 (its last log line says why); lines "note: ..." in a passing
# test's log are shown under its "ok" line (measured figures).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
BIN="${FERROTLS_EXAMPLES_DIR:-$ROOT/target/examples-c}"
CERTS="$ROOT/examples-c/certs"
CLIENT="$BIN/ferrotls-client"
SERVER="$BIN/ferrotls-server"
FILTER="${1:-}"
T=20 # seconds: the bound on every single command that talks to a peer

WORK="$(mktemp -d "${TMPDIR:-/tmp}/ferrotls-c-tests.XXXXXX")"
cleanup() {
    local pids
    pids="$(jobs -p)"
    [ -n "$pids" ] && kill $pids 2>/dev/null || true
    if [ "${FERROTLS_TEST_KEEP:-0}" = 1 ]; then echo "logs kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

PASSED=0
FAILED=0
SKIPPED=0
FAILED_NAMES=()

for b in "$CLIENT" "$SERVER"; do
    if [ ! -x "$b" ]; then
        echo "tests/c/run.sh: $b is missing; run 'make' first" >&2
        echo "0 passed, 1 failed"
        exit 1
    fi
done

# ---- helpers (used inside the tests, which run in subshells with set -e) ----------------------

fail() { echo "FAIL: $*" >&2; exit 1; }

# expect FILE PATTERN...: every extended regex must match some line of FILE.
expect() {
    local file="$1"; shift
    local pat
    for pat in "$@"; do
        grep -Eq -- "$pat" "$file" || { echo "--- $file:" >&2; cat "$file" >&2; fail "no line matches /$pat/ in $(basename "$file")"; }
    done
}
# expect_not FILE PATTERN
expect_not() {
    if grep -Eq -- "$2" "$1"; then echo "--- $1:" >&2; cat "$1" >&2; fail "unexpected /$2/ in $(basename "$1")"; fi
}

# wait_line FILE SED-EXPR PID: waits (10 s at most) for a line in FILE from which the sed
# expression (with -n) prints the port; echoes it.
wait_port() {
    local file="$1" expr="$2" pid="$3" port="" i
    for i in $(seq 1 200); do
        port="$(sed -n "$expr" "$file" 2>/dev/null | head -n 1 || true)"
        [ -n "$port" ] && { echo "$port"; return 0; }
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    echo "--- $file:" >&2
    cat "$file" >&2 || true
    fail "server did not start (no listening line in $(basename "$file"))"
}

# start_server NAME [ferrotls-server options...]: sets SPORT and SPID; stderr in $D/NAME.err.
start_server() {
    local name="$1"; shift
    : >"$D/$name.err"
    timeout 60 "$SERVER" --host 127.0.0.1 --port 0 "$@" 2>"$D/$name.err" &
    SPID=$!
    SPORT="$(wait_port "$D/$name.err" 's/^ferrotls-server: listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$SPID")"
}

# start_openssl_server NAME [s_server options...]: sets OPORT and OPID.
start_openssl_server() {
    local name="$1"; shift
    : >"$D/$name.out"
    timeout 60 openssl s_server -accept 127.0.0.1:0 -naccept 1 "$@" >"$D/$name.out" 2>"$D/$name.err" &
    OPID=$!
    OPORT="$(wait_port "$D/$name.out" 's/^ACCEPT 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$OPID")"
}

# wait_server PID: the server must exit (after --max-conns) within the bound.
wait_server() {
    local i
    for i in $(seq 1 $((T * 20))); do
        kill -0 "$1" 2>/dev/null || { wait "$1"; return $?; }
        sleep 0.05
    done
    fail "server $1 did not exit"
}

GET=$'GET / HTTP/1.0\r\nHost: localhost\r\n\r\n'

# client NAME [ferrotls-client options...] HOST PORT: stdin from $GET; $D/NAME.out / .err; sets CRC.
client() {
    local name="$1"; shift
    set +e
    printf '%s' "$GET" | timeout "$T" "$CLIENT" "$@" >"$D/$name.out" 2>"$D/$name.err"
    CRC=$?
    set -e
}

# ---- runner ------------------------------------------------------------------------------------

# run GROUP NAME: runs the function test_NAME in a subshell with its own folder $D.
run() {
    local group="$1" name="$2"
    if [ -n "$FILTER" ] && ! grep -Eq -- "$FILTER" <<<"$name"; then return 0; fi
    if [ "$group" = tls12 ] && [ "${FERROTLS_SKIP_TLS12:-0}" = 1 ]; then
        echo "skip  $name (FERROTLS_SKIP_TLS12=1)"
        SKIPPED=$((SKIPPED + 1))
        return 0
    fi
    D="$WORK/$name"
    mkdir -p "$D"
    local start rc
    start=$(date +%s)
    set +e
    (
        set -euo pipefail
        trap 'p="$(jobs -p)"; [ -z "$p" ] || kill $p 2>/dev/null || true' EXIT
        "test_$name"
    ) >"$D/log" 2>&1
    rc=$?
    set -e
    if [ "$rc" -eq 0 ]; then
        echo "ok    $name ($(( $(date +%s) - start )) s)"
        grep '^note: ' "$D/log" | sed 's/^note: /      /' || true
        PASSED=$((PASSED + 1))
    elif [ "$rc" -eq 77 ]; then
        echo "skip  $name ($(tail -n 1 "$D/log"))"
        SKIPPED=$((SKIPPED + 1))
    else
        echo "FAIL  $name ($(( $(date +%s) - start )) s)"
        sed 's/^/      | /' "$D/log" | tail -n 40
        FAILED=$((FAILED + 1))
        FAILED_NAMES+=("$name")
    fi
}

# ---- tests: command line (need no handshake) ---------------------------------------------------

test_usage_errors() {
    local rc
    set +e
    "$CLIENT" >/dev/null 2>"$D/a.err"; rc=$?
    [ "$rc" = 2 ] || fail "client without HOST PORT: exit $rc, want 2"
    expect "$D/a.err" '^usage: ferrotls-client'
    "$CLIENT" --bogus localhost 1 >/dev/null 2>"$D/b.err"; rc=$?
    [ "$rc" = 2 ] || fail "client --bogus: exit $rc, want 2"
    expect "$D/b.err" "unknown option '--bogus'" '^usage:'
    "$CLIENT" localhost 1 --cafile >/dev/null 2>"$D/c.err"; rc=$?
    [ "$rc" = 2 ] || fail "client --cafile without value: exit $rc, want 2"
    expect "$D/c.err" 'needs a value'
    "$CLIENT" localhost notaport >/dev/null 2>"$D/d.err"; rc=$?
    [ "$rc" = 2 ] || fail "client with a bad port: exit $rc, want 2"
    "$CLIENT" --tls1.2 --tls1.3 localhost 1 >/dev/null 2>/dev/null; rc=$?
    [ "$rc" = 2 ] || fail "client --tls1.2 --tls1.3: exit $rc, want 2"
    "$CLIENT" --ciphers NOPE localhost 1 >/dev/null 2>"$D/e.err"; rc=$?
    [ "$rc" = 2 ] || fail "client --ciphers NOPE: exit $rc, want 2"
    expect "$D/e.err" "unknown cipher suite 'NOPE'"
    "$CLIENT" --groups X25519:P-999 localhost 1 >/dev/null 2>"$D/f.err"; rc=$?
    [ "$rc" = 2 ] || fail "client --groups P-999: exit $rc, want 2"
    expect "$D/f.err" "^ferrotls-client: unknown group 'P-999' in --groups\$" '^usage:'
    # Post-quantum names: ours are accepted (any case), a KEM we do not have is a usage error.
    "$CLIENT" --groups X25519MLKEM768:x25519mlkem768:SecP256r1MLKEM768:SECP384R1MLKEM1024:MLKEM1024:ML-KEM-1024 \
        --bogus localhost 1 >/dev/null 2>"$D/f2.err"; rc=$?
    [ "$rc" = 2 ] || fail "client --groups (post-quantum names) --bogus: exit $rc, want 2"
    expect "$D/f2.err" "unknown option '--bogus'"
    expect_not "$D/f2.err" 'unknown group'
    "$CLIENT" --groups X25519MLKEM768:MLKEM768 localhost 1 >/dev/null 2>"$D/f3.err"; rc=$?
    [ "$rc" = 2 ] || fail "client --groups MLKEM768: exit $rc, want 2"
    expect "$D/f3.err" "^ferrotls-client: unknown group 'MLKEM768' in --groups\$" '^usage:'
    "$SERVER" --cert x --key y --groups X25519Kyber768Draft00 >/dev/null 2>"$D/f4.err"; rc=$?
    [ "$rc" = 2 ] || fail "server --groups X25519Kyber768Draft00: exit $rc, want 2"
    expect "$D/f4.err" "^ferrotls-server: unknown group 'X25519Kyber768Draft00' in --groups\$" '^usage:'
    "$CLIENT" --help >"$D/help.out" 2>/dev/null; rc=$?
    [ "$rc" = 0 ] || fail "client --help: exit $rc, want 0"
    expect "$D/help.out" '--servername' '--sess-out' '--keylog' '--trace' '--timeout SECONDS' '--renegotiate' \
        '--no-renegotiation' 'X25519MLKEM768:X25519:P-256:P-384' 'SecP256r1MLKEM768, SecP384r1MLKEM1024,' \
        'MLKEM1024 \(post-quantum, TLS 1.3 only\)'
    "$CLIENT" --renegotiate --tls1.3 localhost 1 >/dev/null 2>"$D/i.err"; rc=$?
    [ "$rc" = 2 ] || fail "client --renegotiate --tls1.3: exit $rc, want 2"
    expect "$D/i.err" "--renegotiate is TLS 1.2's \(TLS 1.3 has no renegotiation\); it excludes --tls1.3" '^usage:'
    "$CLIENT" --renegotiate --no-renegotiation localhost 1 >/dev/null 2>"$D/j.err"; rc=$?
    [ "$rc" = 2 ] || fail "client --renegotiate --no-renegotiation: exit $rc, want 2"
    expect "$D/j.err" '--renegotiate and --no-renegotiation exclude each other'
    "$CLIENT" --timeout 86401 localhost 1 >/dev/null 2>"$D/h.err"; rc=$?
    [ "$rc" = 2 ] || fail "client --timeout 86401: exit $rc, want 2"
    expect "$D/h.err" '--timeout must be a number from 0 to 86400'
    "$SERVER" >/dev/null 2>"$D/g.err"; rc=$?
    [ "$rc" = 2 ] || fail "server without --cert: exit $rc, want 2"
    expect "$D/g.err" '^usage: ferrotls-server'
    "$SERVER" --cert x --key y --frobnicate >/dev/null 2>/dev/null; rc=$?
    [ "$rc" = 2 ] || fail "server --frobnicate: exit $rc, want 2"
    "$SERVER" --cert x --key y --max-conns >/dev/null 2>/dev/null; rc=$?
    [ "$rc" = 2 ] || fail "server --max-conns without value: exit $rc, want 2"
    "$SERVER" --cert x --key y --verify-client >/dev/null 2>/dev/null; rc=$?
    [ "$rc" = 2 ] || fail "server --verify-client without --cafile: exit $rc, want 2"
    "$SERVER" --help >"$D/shelp.out" 2>/dev/null; rc=$?
    [ "$rc" = 0 ] || fail "server --help: exit $rc, want 0"
    expect "$D/shelp.out" '--echo' '--max-conns' '--verify-client' '--request-client' '--allow-renegotiation' \
        'TLS 1.2: a secure renegotiation' 'X25519MLKEM768:X25519:P-256:P-384' 'SecP384r1MLKEM1024, MLKEM1024 \(post-quantum,'
    set -e
}

test_bad_files() {
    local rc
    set +e
    "$SERVER" --cert /nonexistent.pem --key /nonexistent.key --port 0 >/dev/null 2>"$D/s.err"; rc=$?
    set -e
    [ "$rc" = 1 ] || fail "server with a missing cert file: exit $rc, want 1"
    expect "$D/s.err" 'ferrotls-server: error: .*\(FERROTLS_'
    set +e
    "$CLIENT" --cafile /nonexistent.pem localhost 1 </dev/null >/dev/null 2>"$D/c.err"; rc=$?
    set -e
    [ "$rc" = 1 ] || fail "client with a missing --cafile: exit $rc, want 1"
    expect "$D/c.err" 'ferrotls-client: error: .*\(FERROTLS_'
}

test_sess_bad_file() {
    # --sess-in with a missing or corrupt file: a notice, then a full handshake that works.
    start_server s --cert "$CERTS/server.pem" --key "$CERTS/server.key" --max-conns 2
    client c1 --cafile "$CERTS/ca.pem" --sess-in "$D/missing.bin" localhost "$SPORT"
    [ "$CRC" = 0 ] || { cat "$D/c1.err" >&2; fail "client exit $CRC"; }
    expect "$D/c1.err" "cannot read session file" '^Resumed: no$'
    printf 'FTSS\001garbage-garbage-garbage-garbage-garbage' >"$D/bad.bin"
    client c2 --cafile "$CERTS/ca.pem" --sess-in "$D/bad.bin" localhost "$SPORT"
    [ "$CRC" = 0 ] || { cat "$D/c2.err" >&2; fail "client exit $CRC"; }
    expect "$D/c2.err" "session file .* not used: .*checksum" '^Resumed: no$'
    wait_server "$SPID"
}

# Our client resumes against our server with --sess-out/--sess-in; the server page says so.
resume_ours() { # VERSION-FLAG PROTOCOL
    start_server s --cert "$CERTS/server.pem" --key "$CERTS/server.key" --max-conns 2
    client c1 --cafile "$CERTS/ca.pem" "$1" --sess-out "$D/sess.bin" localhost "$SPORT"
    check_conversation c1 "$2"
    [ -s "$D/sess.bin" ] || fail "no session saved"
    [ "$(stat -c %a "$D/sess.bin")" = 600 ] || fail "the session file is not private (mode $(stat -c %a "$D/sess.bin"))"
    client c2 --cafile "$CERTS/ca.pem" "$1" --sess-in "$D/sess.bin" --trace localhost "$SPORT"
    [ "$CRC" = 0 ] || { cat "$D/c2.err" >&2; fail "client exit $CRC"; }
    expect "$D/c2.err" "^Protocol: $2\$" '^Resumed: yes$' 'abbreviated handshake \(resumed session\)'
    expect_not "$D/c2.err" 'handshake in: +Step Three'
    expect "$D/c2.out" '^Resumed: yes'
    wait_server "$SPID"
}
test_resume_ours_tls13() { resume_ours --tls1.3 TLSv1.3; }
test_resume_ours_tls12() { resume_ours --tls1.2 TLSv1.2; }

# openssl s_client resumes against our server.
resume_openssl_client() { # VERSION-FLAG PROTOCOL
    start_server s --cert "$CERTS/server.pem" --key "$CERTS/server.key" --max-conns 2
    openssl_client o1 "$1" "$SPORT" -sess_out "$D/o.sess"
    [ "$ORC" = 0 ] || { cat "$D/o1.err" >&2; fail "openssl s_client exit $ORC"; }
    expect "$D/o1.out" '^New, TLSv1'
    openssl_client o2 "$1" "$SPORT" -sess_in "$D/o.sess"
    [ "$ORC" = 0 ] || { cat "$D/o2.err" >&2; fail "openssl s_client exit $ORC"; }
    expect "$D/o2.out" "^Reused, $2" '^HTTP/1.0 200 OK' '^Resumed: yes'
    wait_server "$SPID"
}
test_openssl_resumes_tls13() { resume_openssl_client -tls1_3 TLSv1.3; }
test_openssl_resumes_tls12() { resume_openssl_client -tls1_2 TLSv1.2; }

# Our client resumes against openssl s_server (its own cache and tickets).
resume_vs_openssl_server() { # VERSION-FLAG S_SERVER-FLAG PROTOCOL
    local port
    timeout 60 openssl s_server -accept 127.0.0.1:0 -naccept 2 -cert "$CERTS/server.pem" \
        -key "$CERTS/server.key" -www "$2" >"$D/o.out" 2>"$D/o.err" &
    OPID=$!
    port="$(wait_port "$D/o.out" 's/^ACCEPT 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$OPID")"
    client c1 --cafile "$CERTS/ca.pem" "$1" --sess-out "$D/sess.bin" localhost "$port"
    [ "$CRC" = 0 ] || { cat "$D/c1.err" >&2; fail "client exit $CRC"; }
    expect "$D/c1.err" '^Resumed: no$'
    client c2 --cafile "$CERTS/ca.pem" "$1" --sess-in "$D/sess.bin" localhost "$port"
    [ "$CRC" = 0 ] || { cat "$D/c2.err" >&2; fail "client exit $CRC"; }
    expect "$D/c2.err" "^Protocol: $3\$" '^Resumed: yes$'
    expect "$D/c2.out" 'Reused, '
}
test_resume_vs_openssl_tls13() { resume_vs_openssl_server --tls1.3 -tls1_3 TLSv1.3; }
test_resume_vs_openssl_tls12() { resume_vs_openssl_server --tls1.2 -tls1_2 TLSv1.2; }

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ---- tests: our client <-> our server ----------------------------------------------------------

# The summary and the page of a good conversation.
check_conversation() { # NAME PROTOCOL
    local name="$1" proto="$2"
    [ "$CRC" = 0 ] || { cat "$D/$name.err" >&2; fail "client exit $CRC, want 0"; }
    expect "$D/$name.err" "^Protocol: $proto\$" '^Cipher: TLS_[A-Z0-9_]+$' '^Group: (X25519MLKEM768|SecP256r1MLKEM768|SecP384r1MLKEM1024|MLKEM1024|X25519|secp256r1|P-256|secp384r1|P-384)$' \
        '^ALPN: ' '^Peer certificate: .*CN=localhost' '^Resumed: no$'
    expect "$D/$name.out" '^HTTP/1.0 200 OK' "^Protocol: $proto" '^Cipher: TLS_' '^SNI: localhost'
}

test_ours_tls13() {
    start_server s --cert "$CERTS/server.pem" --key "$CERTS/server.key" --max-conns 1
    client c --cafile "$CERTS/ca.pem" localhost "$SPORT"
    check_conversation c TLSv1.3
    # Post-quantum by default: the hybrid (its share and X25519's in the first ClientHello).
    expect "$D/c.err" '^Group: X25519MLKEM768$' '^ALPN: none$'
    wait_server "$SPID"
}

test_ours_tls13_rsa() {
    start_server s --cert "$CERTS/server-rsa.pem" --key "$CERTS/server-rsa.key" --max-conns 1
    client c --cafile "$CERTS/ca.pem" --tls1.3 localhost "$SPORT"
    check_conversation c TLSv1.3
    wait_server "$SPID"
}

test_ours_sec1_key() {
    start_server s --cert "$CERTS/server.pem" --key "$CERTS/server-ec-sec1.key" --max-conns 1
    client c --cafile "$CERTS/ca.pem" localhost "$SPORT"
    check_conversation c TLSv1.3
    wait_server "$SPID"
}

test_ours_suites_groups() {
    local suite group
    for suite in TLS_AES_256_GCM_SHA384 TLS_CHACHA20_POLY1305_SHA256; do
        for group in P-256 P-384; do
            start_server "s-$suite-$group" --cert "$CERTS/server.pem" --key "$CERTS/server.key" --max-conns 1
            client "c-$suite-$group" --cafile "$CERTS/ca.pem" --ciphers "$suite" --groups "$group" localhost "$SPORT"
            check_conversation "c-$suite-$group" TLSv1.3
            expect "$D/c-$suite-$group.err" "^Cipher: $suite\$"
            wait_server "$SPID"
        done
    done
}

test_ours_tls12() {
    start_server s --cert "$CERTS/server.pem" --key "$CERTS/server.key" --max-conns 2
    client c --cafile "$CERTS/ca.pem" --tls1.2 localhost "$SPORT"
    check_conversation c TLSv1.2
    expect "$D/c.err" '^Cipher: TLS_ECDHE_ECDSA_WITH_'
    # the server side limited to 1.2, the client offering both
    client c2 --cafile "$CERTS/ca.pem" --ciphers ECDHE-ECDSA-AES256-GCM-SHA384:TLS_AES_128_GCM_SHA256 --tls1.2 localhost "$SPORT"
    check_conversation c2 TLSv1.2
    expect "$D/c2.err" '^Cipher: TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384$'
    wait_server "$SPID"
}

test_ours_tls12_rsa() {
    start_server s --cert "$CERTS/server-rsa.pem" --key "$CERTS/server-rsa.key" --tls1.2 --max-conns 1
    client c --cafile "$CERTS/ca.pem" localhost "$SPORT"
    check_conversation c TLSv1.2
    expect "$D/c.err" '^Cipher: TLS_ECDHE_RSA_WITH_'
    wait_server "$SPID"
}

test_trace() {
    start_server s --cert "$CERTS/server.pem" --key "$CERTS/server.key" --max-conns 1 --trace
    client c --trace --cafile "$CERTS/ca.pem" localhost "$SPORT"
    check_conversation c TLSv1.3
    expect "$D/c.err" '^\[trace\] .*ClientHello' '^\[trace\] .*ServerHello' '^\[trace\] .*Finished'
    wait_server "$SPID"
    expect "$D/s.err" '^\[trace #1\] .*ClientHello'
}

# ---- tests: post-quantum key exchange (TLS 1.3 only) --------------------------------------------

# Both defaults: X25519MLKEM768 in one round trip; the traces show the shares and their sizes
# (the client's: ML-KEM-768 encapsulation key 1184 + X25519 32; the server's: ciphertext 1088 + 32).
test_pq_default_trace() {
    start_server s --cert "$CERTS/server.pem" --key "$CERTS/server.key" --max-conns 1 --trace
    client c --trace --cafile "$CERTS/ca.pem" localhost "$SPORT"
    check_conversation c TLSv1.3
    expect "$D/c.err" '^Group: X25519MLKEM768$' \
        '^\[trace\] key shares offered: X25519MLKEM768 \(1216 bytes\), X25519 \(32 bytes\)$' \
        "^\[trace\] negotiated: TLSv1.3, TLS_[A-Z0-9_]+, key exchange X25519MLKEM768 \(our share 1216 bytes, the server's 1120\)\$" \
        '^\[trace\] handshake complete: TLSv1.3 TLS_[A-Z0-9_]+ group X25519MLKEM768 '
    expect_not "$D/c.err" 'HelloRetryRequest'
    expect "$D/c.out" '^Group: X25519MLKEM768'
    wait_server "$SPID"
    expect "$D/s.err" "^\[trace #1\] negotiated: TLSv1.3, TLS_[A-Z0-9_]+, key exchange X25519MLKEM768 \(the client's share 1216 bytes, ours 1120\)"
    expect_not "$D/s.err" 'HelloRetryRequest'
}

# Each post-quantum group alone on both sides (the client's --groups in lower case: names are
# case-insensitive): that group, one share, exact sizes, no HelloRetryRequest.
test_pq_groups() {
    local g cs ss
    while read -r g cs ss; do
        start_server "s-$g" --cert "$CERTS/server.pem" --key "$CERTS/server.key" --max-conns 1 --groups "$g"
        client "c-$g" --trace --cafile "$CERTS/ca.pem" --groups "${g,,}" localhost "$SPORT"
        check_conversation "c-$g" TLSv1.3
        expect "$D/c-$g.err" "^Group: $g\$" "^\[trace\] key shares offered: $g \($cs bytes\)\$" \
            "key exchange $g \(our share $cs bytes, the server's $ss\)\$"
        expect_not "$D/c-$g.err" 'HelloRetryRequest'
        expect "$D/c-$g.out" "^Group: $g"
        wait_server "$SPID"
    done <<'EOF'
X25519MLKEM768 1216 1120
SecP256r1MLKEM768 1249 1153
SecP384r1MLKEM1024 1665 1665
MLKEM1024 1568 1568
EOF
}

# A HelloRetryRequest for a post-quantum group: the server takes only SecP384r1MLKEM1024, the
# client lists it second (its first ClientHello carries one share, X25519MLKEM768's). A default
# client does not offer SecP384r1MLKEM1024 at all (its groups: X25519MLKEM768, X25519, P-256,
# P-384), so against that server it has no group in common. And a default client against a
# P-256-only server: a HelloRetryRequest for P-256.
test_pq_hrr() {
    start_server s --cert "$CERTS/server.pem" --key "$CERTS/server.key" --max-conns 1 --trace --groups SecP384r1MLKEM1024
    client c --trace --cafile "$CERTS/ca.pem" --groups X25519MLKEM768:SecP384r1MLKEM1024 localhost "$SPORT"
    check_conversation c TLSv1.3
    expect "$D/c.err" '^Group: SecP384r1MLKEM1024$' '^\[trace\] key shares offered: X25519MLKEM768 \(1216 bytes\)$' \
        '^\[trace\] handshake in: +Step Two: ServerHello \[HelloRetryRequest\]' \
        '^\[trace\] HelloRetryRequest: the server wants a SecP384r1MLKEM1024 key share$' \
        "key exchange SecP384r1MLKEM1024 \(our share 1665 bytes, the server's 1665\)\$"
    wait_server "$SPID"
    expect "$D/s.err" '^\[trace #1\] HelloRetryRequest: asking the client for a SecP384r1MLKEM1024 key share$' \
        "key exchange SecP384r1MLKEM1024 \(the client's share 1665 bytes, ours 1665\)"

    start_server s2 --cert "$CERTS/server.pem" --key "$CERTS/server.key" --max-conns 1 --groups SecP384r1MLKEM1024
    client c2 --cafile "$CERTS/ca.pem" localhost "$SPORT"
    [ "$CRC" = 1 ] || { cat "$D/c2.err" >&2; fail "default client against a SecP384r1MLKEM1024-only server: exit $CRC, want 1"; }
    wait_server "$SPID" || true
    expect "$D/s2.err" 'no key-exchange group in common: the client supports X25519MLKEM768, X25519, P-256, P-384; we support SecP384r1MLKEM1024 ' \
        "^ferrotls-server: hint: this server's key-exchange groups are set with --groups"

    start_server s3 --cert "$CERTS/server.pem" --key "$CERTS/server.key" --max-conns 1 --groups P-256
    client c3 --trace --cafile "$CERTS/ca.pem" localhost "$SPORT"
    check_conversation c3 TLSv1.3
    expect "$D/c3.err" '^Group: P-256$' '^\[trace\] HelloRetryRequest: the server wants a P-256 key share$'
    wait_server "$SPID"
}

# A server without post-quantum groups (OpenSSL 3.0's s_server) and our default client: the
# X25519 share beside the hybrid's lets it answer at once, without a HelloRetryRequest.
test_pq_vs_openssl_server() {
    local v
    v="$(openssl version | awk '{print $2}')"
    case "$v" in 3.[0-4].* | 1.*) ;; *) skip "OpenSSL $v may have X25519MLKEM768; this test needs a server without it" ;; esac
    start_openssl_server o -cert "$CERTS/server.pem" -key "$CERTS/server.key" -www -tls1_3
    client c --trace --cafile "$CERTS/ca.pem" localhost "$OPORT"
    [ "$CRC" = 0 ] || { cat "$D/c.err" >&2; fail "client exit $CRC"; }
    expect "$D/c.err" '^Protocol: TLSv1.3$' '^Group: X25519$' \
        '^\[trace\] key shares offered: X25519MLKEM768 \(1216 bytes\), X25519 \(32 bytes\)$' \
        "key exchange X25519 \(our share 32 bytes, the server's 32\)\$"
    expect_not "$D/c.err" 'HelloRetryRequest'
    expect "$D/c.out" '^HTTP/1.0 200 ok' 'TLSv1.3'
}

# Clients without post-quantum groups (OpenSSL 3.0's s_client, GnuTLS 3.7's gnutls-cli) and our
# default server: X25519, without a HelloRetryRequest.
test_pq_classic_clients() {
    start_server s --cert "$CERTS/server.pem" --key "$CERTS/server.key" --max-conns 2 --trace
    openssl_client o -tls1_3 "$SPORT"
    [ "$ORC" = 0 ] || { cat "$D/o.err" >&2; fail "openssl s_client exit $ORC"; }
    expect "$D/o.out" '^Server Temp Key: X25519' '^HTTP/1.0 200 OK' '^Group: X25519$'
    if command -v gnutls-cli >/dev/null; then
        set +e
        printf '%s' "$GET" | timeout "$T" gnutls-cli --x509cafile "$CERTS/ca.pem" -p "$SPORT" localhost >"$D/g.out" 2>"$D/g.err"
        set -e
        expect "$D/g.out" '^HTTP/1.0 200 OK' '^Protocol: TLSv1.3' '^Group: X25519$'
    else
        client c --cafile "$CERTS/ca.pem" --groups X25519:P-256 localhost "$SPORT"
        check_conversation c TLSv1.3
        echo "note: gnutls-cli is not installed; our client with --groups X25519:P-256 instead"
    fi
    wait_server "$SPID"
    [ "$(grep -c "key exchange X25519 (the client's share 32 bytes, ours 32)" "$D/s.err")" = 2 ] ||
        { cat "$D/s.err" >&2; fail "the server did not negotiate X25519 twice"; }
    expect "$D/s.err" 'served, 0 failed'
    expect_not "$D/s.err" 'HelloRetryRequest'
}

# TLS 1.2 has no KEM: only post-quantum groups with --tls1.2 is a configuration error (exit 1,
# the engine's reason); with a classic group beside them TLS 1.2 uses that one.
test_pq_tls12() {
    local rc
    set +e
    "$CLIENT" --tls1.2 --groups X25519MLKEM768 localhost 1 </dev/null >/dev/null 2>"$D/c1.err"; rc=$?
    set -e
    [ "$rc" = 1 ] || { cat "$D/c1.err" >&2; fail "client --tls1.2 --groups X25519MLKEM768: exit $rc, want 1"; }
    expect "$D/c1.err" '^ferrotls-client: building the configuration failed$' \
        '^ferrotls-client: error: none of the configured groups \(X25519MLKEM768\) can be used with TLSv1.2 \(a KEM is TLS 1.3 only\) \(FERROTLS_ERR_CONFIG\)$'
    set +e
    timeout "$T" "$SERVER" --cert "$CERTS/server.pem" --key "$CERTS/server.key" --port 0 --tls1.2 \
        --groups MLKEM1024:SecP256r1MLKEM768 >/dev/null 2>"$D/s1.err"; rc=$?
    set -e
    [ "$rc" = 1 ] || { cat "$D/s1.err" >&2; fail "server --tls1.2 --groups MLKEM1024:SecP256r1MLKEM768: exit $rc, want 1"; }
    expect "$D/s1.err" '^ferrotls-server: error: none of the configured groups \(MLKEM1024, SecP256r1MLKEM768\) can be used with TLSv1.2 \(a KEM is TLS 1.3 only\) \(FERROTLS_ERR_CONFIG\)$'
    start_server s --cert "$CERTS/server.pem" --key "$CERTS/server.key" --max-conns 1
    client c --cafile "$CERTS/ca.pem" --tls1.2 --groups X25519MLKEM768:P-256 localhost "$SPORT"
    check_conversation c TLSv1.2
    expect "$D/c.err" '^Group: P-256$'
    wait_server "$SPID"
}

# ---- tests: OpenSSL, curl, GnuTLS ---------------------------------------------------------------

test_client_vs_openssl_tls13() {
    start_openssl_server o -cert "$CERTS/server.pem" -key "$CERTS/server.key" -www -tls1_3
    client c --cafile "$CERTS/ca.pem" localhost "$OPORT"
    [ "$CRC" = 0 ] || { cat "$D/c.err" >&2; fail "client exit $CRC"; }
    expect "$D/c.err" '^Protocol: TLSv1.3$' '^Peer certificate: .*CN=localhost'
    expect "$D/c.out" '^HTTP/1.0 200 ok' 'TLSv1.3'
}

test_client_vs_openssl_tls12() {
    start_openssl_server o -cert "$CERTS/server.pem" -key "$CERTS/server.key" -www -tls1_2
    client c --cafile "$CERTS/ca.pem" localhost "$OPORT"
    [ "$CRC" = 0 ] || { cat "$D/c.err" >&2; fail "client exit $CRC"; }
    expect "$D/c.err" '^Protocol: TLSv1.2$' '^Cipher: TLS_ECDHE_ECDSA_WITH_'
    expect "$D/c.out" '^HTTP/1.0 200 ok' 'TLSv1.2'
}

openssl_client() { # NAME VERSION-FLAG PORT [more s_client options]
    local name="$1" ver="$2" port="$3"; shift 3
    set +e
    printf '%s' "$GET" | timeout "$T" openssl s_client -connect "127.0.0.1:$port" -servername localhost \
        -CAfile "$CERTS/ca.pem" -verify_return_error "$ver" -ign_eof "$@" >"$D/$name.out" 2>"$D/$name.err"
    ORC=$?
    set -e
}

test_openssl_vs_server_tls13() {
    start_server s --cert "$CERTS/server.pem" --key "$CERTS/server.key" --max-conns 1
    openssl_client o -tls1_3 "$SPORT"
    [ "$ORC" = 0 ] || { cat "$D/o.err" >&2; fail "openssl s_client exit $ORC"; }
    expect "$D/o.out" 'Verify return code: 0 \(ok\)' '^HTTP/1.0 200 OK' '^Protocol: TLSv1.3'
    wait_server "$SPID"
}

test_openssl_vs_server_tls12() {
    start_server s --cert "$CERTS/server.pem" --key "$CERTS/server.key" --max-conns 1
    openssl_client o -tls1_2 "$SPORT"
    [ "$ORC" = 0 ] || { cat "$D/o.err" >&2; fail "openssl s_client exit $ORC"; }
    expect "$D/o.out" 'Verify return code: 0 \(ok\)' '^HTTP/1.0 200 OK' '^Protocol: TLSv1.2'
    wait_server "$SPID"
}

test_curl() {
    start_server s --cert "$CERTS/server.pem" --key "$CERTS/server.key" --max-conns 1
    timeout "$T" curl -sS --fail --http1.1 --cacert "$CERTS/ca.pem" "https://localhost:$SPORT/" >"$D/curl.out" 2>"$D/curl.err" \
        || { cat "$D/curl.err" >&2; fail "curl failed"; }
    expect "$D/curl.out" '^Protocol: TLSv1.3' '^SNI: localhost'
    wait_server "$SPID"
}

test_curl_tls12() {
    start_server s --cert "$CERTS/server.pem" --key "$CERTS/server.key" --max-conns 1
    timeout "$T" curl -sS --fail --http1.1 --tlsv1.2 --tls-max 1.2 --cacert "$CERTS/ca.pem" "https://localhost:$SPORT/" \
        >"$D/curl.out" 2>"$D/curl.err" || { cat "$D/curl.err" >&2; fail "curl failed"; }
    expect "$D/curl.out" '^Protocol: TLSv1.2'
    wait_server "$SPID"
}

test_gnutls_vs_server() {
    command -v gnutls-cli >/dev/null || fail "gnutls-cli is not installed (make deps)"
    start_server s --cert "$CERTS/server.pem" --key "$CERTS/server.key" --max-conns 1
    set +e
    printf '%s' "$GET" | timeout "$T" gnutls-cli --x509cafile "$CERTS/ca.pem" -p "$SPORT" localhost >"$D/g.out" 2>"$D/g.err"
    set -e
    expect "$D/g.out" '^HTTP/1.0 200 OK' '^Protocol: TLSv1.3'
    wait_server "$SPID"
}

# ---- tests: features ----------------------------------------------------------------------------

test_echo_1mib() {
    head -c 1048576 /dev/urandom >"$D/in.bin"
    start_server s --cert "$CERTS/server.pem" --key "$CERTS/server.key" --max-conns 1 --echo
    set +e
    timeout "$T" "$CLIENT" --cafile "$CERTS/ca.pem" localhost "$SPORT" <"$D/in.bin" >"$D/out.bin" 2>"$D/c.err"
    CRC=$?
    set -e
    [ "$CRC" = 0 ] || { cat "$D/c.err" >&2; fail "client exit $CRC"; }
    local a b
    a="$(sha256sum <"$D/in.bin" | cut -d' ' -f1)"
    b="$(sha256sum <"$D/out.bin" | cut -d' ' -f1)"
    [ "$a" = "$b" ] || fail "echo differs: sent $a, got $b ($(stat -c %s "$D/out.bin") bytes)"
    wait_server "$SPID"
}

test_echo_isolation() {
    # A connection that fails with its echo still pending must take that echo with it: the next
    # client (given the same slot) must receive only its own bytes. fail_send.c makes the send()
    # of client A's echo (one 230-byte TLS 1.3 record) fail with ECONNRESET.
    cc -shared -fPIC -O2 -Wall -Wextra -Werror -o "$D/fail_send.so" "$ROOT/tests/c/fail_send.c" -ldl
    : >"$D/s.err"
    FERROTLS_TEST_FAIL_SEND_LEN=230 LD_PRELOAD="$D/fail_send.so" timeout 60 "$SERVER" --host 127.0.0.1 --port 0 \
        --cert "$CERTS/server.pem" --key "$CERTS/server.key" --echo --tls1.3 --ciphers TLS_AES_128_GCM_SHA256 \
        --max-conns 4 2>"$D/s.err" &
    SPID=$!
    SPORT="$(wait_port "$D/s.err" 's/^ferrotls-server: listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$SPID")"
    timeout "$T" python3 "$ROOT/tests/c/echo_isolation.py" "$SPORT" "$CERTS/ca.pem" 2 >"$D/py.out" 2>&1 ||
        { cat "$D/py.out" >&2; fail "client B received another connection's bytes"; }
    expect "$D/s.err" 'send\(\) on the socket failed: Connection reset by peer'
    echo "note: $(tail -n 1 "$D/py.out")"
    wait_server "$SPID"
}

test_alert_after_large_message() {
    # A handshake message refused at its header (16 MiB announced) while the client is still
    # sending: the server lingers, discarding, so the client gets its decode_error alert after
    # sending 4 MiB instead of a reset (tlsfuzzer's test-tls13-finished with large padding).
    start_server s --cert "$CERTS/server.pem" --key "$CERTS/server.key" --max-conns 1
    timeout "$T" python3 "$ROOT/tests/c/alert_after_large_message.py" "$SPORT" 4 >"$D/py.out" 2>&1 ||
        { cat "$D/py.out" >&2; fail "the alert did not survive"; }
    expect "$D/s.err" 'announces 16777215 bytes; the limit is 131396'
    wait_server "$SPID"
}

test_http_bare_lf() {
    # Request heads ended with bare LF (as tlsfuzzer and some clients send) are answered like CRLF.
    start_server s --cert "$CERTS/server.pem" --key "$CERTS/server.key" --max-conns 3
    local req
    for req in $'GET / HTTP/1.0\n\n' $'GET / HTTP/1.0\nHost: localhost\n\n' $'GET / HTTP/1.0\r\nHost: x\n\r\n'; do
        set +e
        printf '%s' "$req" | timeout "$T" "$CLIENT" --cafile "$CERTS/ca.pem" localhost "$SPORT" >"$D/c.out" 2>"$D/c.err"
        CRC=$?
        set -e
        [ "$CRC" = 0 ] || { cat "$D/c.err" >&2; fail "client exit $CRC for request $(printf %q "$req")"; }
        expect "$D/c.out" '^HTTP/1.0 200 OK' '^Protocol: TLSv1.3'
    done
    wait_server "$SPID"
}

test_allow_no_ems() {
    # A TLS 1.2 client without Extended Master Secret (GnuTLS %NO_SESSION_HASH, as scanners'
    # probes are) is refused by default with a detail that names the switch, and admitted
    # with --allow-no-ems.
    command -v gnutls-cli >/dev/null || skip "gnutls-cli not installed"
    start_server s --cert "$CERTS/server.pem" --key "$CERTS/server.key" --max-conns 1
    set +e
    printf '%s' "$GET" | timeout "$T" gnutls-cli --x509cafile "$CERTS/ca.pem" --port "$SPORT" \
        --priority 'NORMAL:-VERS-TLS1.3:%NO_SESSION_HASH' localhost >"$D/g1.out" 2>&1
    set -e
    wait_server "$SPID"
    expect "$D/s.err" 'Extended Master Secret' 'set_require_extended_master_secret\(false\)|--allow-no-ems'
    start_server s2 --cert "$CERTS/server.pem" --key "$CERTS/server.key" --max-conns 1 --allow-no-ems
    set +e
    printf '%s' "$GET" | timeout "$T" gnutls-cli --x509cafile "$CERTS/ca.pem" --port "$SPORT" \
        --priority 'NORMAL:-VERS-TLS1.3:%NO_SESSION_HASH' localhost >"$D/g2.out" 2>&1
    set -e
    expect "$D/g2.out" 'Protocol: TLSv1.2|TLS1.2' '^HTTP/1.0 200 OK'
    wait_server "$SPID"
    # The client's side: a GnuTLS server without EMS.
    command -v gnutls-serv >/dev/null || skip "gnutls-serv not installed"
    local port
    port="$(free_port)"
    timeout 30 gnutls-serv --x509certfile "$CERTS/server.pem" --x509keyfile "$CERTS/server.key" --port "$port" \
        --priority 'NORMAL:-VERS-TLS1.3:%NO_SESSION_HASH' >"$D/gs.out" 2>&1 &
    local gpid=$! i
    for i in $(seq 1 100); do grep -q listening "$D/gs.out" 2>/dev/null && break; sleep 0.05; done
    client c1 --cafile "$CERTS/ca.pem" localhost "$port"
    [ "$CRC" = 1 ] || fail "the client accepted a server without EMS (exit $CRC)"
    expect "$D/c1.err" 'Extended Master Secret'
    client c2 --cafile "$CERTS/ca.pem" --allow-no-ems localhost "$port"
    [ "$CRC" = 0 ] || { cat "$D/c2.err" >&2; fail "--allow-no-ems client exit $CRC"; }
    expect "$D/c2.err" '^Protocol: TLSv1.2'
    kill "$gpid" 2>/dev/null || true
}

test_alpn() {
    start_server s --cert "$CERTS/server.pem" --key "$CERTS/server.key" --max-conns 3 --alpn h2,http/1.1
    client c --cafile "$CERTS/ca.pem" --alpn foo,http/1.1 localhost "$SPORT"
    check_conversation c TLSv1.3
    expect "$D/c.err" '^ALPN: http/1.1$'
    expect "$D/c.out" '^ALPN: http/1.1$'
    client c2 --cafile "$CERTS/ca.pem" localhost "$SPORT"
    check_conversation c2 TLSv1.3
    expect "$D/c2.err" '^ALPN: none$'
    openssl_client o -tls1_3 "$SPORT" -alpn h2
    expect "$D/o.out" 'ALPN protocol: h2'
    wait_server "$SPID"
}

test_wrong_ca() {
    start_server s --cert "$CERTS/server.pem" --key "$CERTS/server.key" --max-conns 1
    client c --cafile "$CERTS/other-ca.pem" localhost "$SPORT"
    [ "$CRC" = 1 ] || { cat "$D/c.err" >&2; fail "client exit $CRC, want 1"; }
    expect "$D/c.err" '^ferrotls-client: error: .*([Cc]ertificate|[Ii]ssuer)'
    expect_not "$D/c.out" 'HTTP/1.0'
    wait_server "$SPID" || true
    expect "$D/s.err" 'connection from 127\.0\.0\.1:[0-9]+ failed: '
}

test_wrong_name() {
    start_server s --cert "$CERTS/server.pem" --key "$CERTS/server.key" --max-conns 1
    client c --cafile "$CERTS/ca.pem" --servername not-localhost.test localhost "$SPORT"
    [ "$CRC" = 1 ] || { cat "$D/c.err" >&2; fail "client exit $CRC, want 1"; }
    expect "$D/c.err" '^ferrotls-client: error: '
    wait_server "$SPID" || true
}

test_mtls() {
    start_server s --cert "$CERTS/server.pem" --key "$CERTS/server.key" --cafile "$CERTS/ca.pem" --verify-client --max-conns 3
    client c --cafile "$CERTS/ca.pem" --cert "$CERTS/client.pem" --key "$CERTS/client.key" localhost "$SPORT"
    check_conversation c TLSv1.3
    expect "$D/c.out" '^Client certificate: .*CN=demo-client'
    # without a client certificate: refused
    client c2 --cafile "$CERTS/ca.pem" localhost "$SPORT"
    [ "$CRC" = 1 ] || fail "client without certificate: exit $CRC, want 1"
    expect "$D/c2.err" '^ferrotls-client: error: '
    # OpenSSL with the client certificate
    openssl_client o -tls1_3 "$SPORT" -cert "$CERTS/client.pem" -key "$CERTS/client.key"
    expect "$D/o.out" 'Verify return code: 0 \(ok\)' '^Client certificate: .*CN=demo-client'
    wait_server "$SPID"
    expect "$D/s.err" 'connection from .* failed: '
}

test_request_client() {
    start_server s --cert "$CERTS/server.pem" --key "$CERTS/server.key" --cafile "$CERTS/ca.pem" --request-client --max-conns 2
    client c --cafile "$CERTS/ca.pem" localhost "$SPORT"
    check_conversation c TLSv1.3
    expect "$D/c.out" '^Client certificate: none$'
    client c2 --cafile "$CERTS/ca.pem" --cert "$CERTS/client.pem" --key "$CERTS/client.key" localhost "$SPORT"
    check_conversation c2 TLSv1.3
    expect "$D/c2.out" '^Client certificate: .*CN=demo-client'
    wait_server "$SPID"
}

# Handshake Again, the seed's scenario: --ask-cert-path asks for the certificate only when a
# request needs it (TLS 1.3 post-handshake authentication, TLS 1.2 a renegotiation), answers
# once it arrived, and tells how many bytes came before authentication; without one: 403.
test_ask_cert_path() {
    local req=$'GET /private/page HTTP/1.0\r\nHost: localhost\r\n\r\n'
    start_server s --cert "$CERTS/server.pem" --key "$CERTS/server.key" --cafile "$CERTS/ca.pem" \
        --ask-cert-path /private --max-conns 10
    # stdin stays open a moment after the request: a client that has sent close_notify can no
    # longer answer (the server would say so with a 403).
    set +e
    { printf '%s' "$req"; sleep 2; } | timeout "$T" "$CLIENT" --cafile "$CERTS/ca.pem" --cert "$CERTS/client.pem" \
        --key "$CERTS/client.key" localhost "$SPORT" >"$D/c.out" 2>"$D/c.err"
    CRC=$?
    set -e
    [ "$CRC" = 0 ] || { cat "$D/c.err" >&2; fail "our client with a certificate: exit $CRC"; }
    expect "$D/c.out" '^HTTP/1.0 200 OK' \
        '^Client certificate: .*CN=demo-client \(authenticated after the handshake\)' \
        "^Bytes before authentication: ${#req} "
    # Without a certificate our client does not offer post-handshake authentication: 403.
    set +e
    printf '%s' "$req" | timeout "$T" "$CLIENT" --cafile "$CERTS/ca.pem" localhost "$SPORT" >"$D/c2.out" 2>"$D/c2.err"
    set -e
    expect "$D/c2.out" '^HTTP/1.0 403 Forbidden' 'did not offer post_handshake_auth'
    # Another path needs nothing.
    client c3 --cafile "$CERTS/ca.pem" --cert "$CERTS/client.pem" --key "$CERTS/client.key" localhost "$SPORT"
    check_conversation c3 TLSv1.3
    expect "$D/c3.out" '^Client certificate: none$'
    # OpenSSL's client with -enable_pha, with and without a certificate.
    set +e
    printf '%s' "$req" | timeout "$T" openssl s_client -connect "127.0.0.1:$SPORT" -servername localhost \
        -CAfile "$CERTS/ca.pem" -verify_return_error -tls1_3 -ign_eof -enable_pha \
        -cert "$CERTS/client.pem" -key "$CERTS/client.key" >"$D/o.out" 2>"$D/o.err"
    printf '%s' "$req" | timeout "$T" openssl s_client -connect "127.0.0.1:$SPORT" -servername localhost \
        -CAfile "$CERTS/ca.pem" -verify_return_error -tls1_3 -ign_eof -enable_pha >"$D/o2.out" 2>"$D/o2.err"
    set -e
    expect "$D/o.out" '^HTTP/1.0 200 OK' '^Client certificate: .*CN=demo-client \(authenticated after the handshake\)'
    expect "$D/o2.out" '^HTTP/1.0 403 Forbidden' 'none was given'
    # TLS 1.2: the handshake asks for no certificate either; the request makes the server send
    # a HelloRequest, whose new handshake (a secure renegotiation) carries the CertificateRequest.
    # Our client and OpenSSL's answer it by default (stdin stays open a moment, as above).
    set +e
    { printf '%s' "$req"; sleep 1; } | timeout "$T" "$CLIENT" --tls1.2 --cafile "$CERTS/ca.pem" \
        --cert "$CERTS/client.pem" --key "$CERTS/client.key" localhost "$SPORT" >"$D/c4.out" 2>"$D/c4.err"
    CRC=$?
    set -e
    [ "$CRC" = 0 ] || { cat "$D/c4.err" >&2; fail "our client, TLS 1.2, with a certificate: exit $CRC"; }
    expect "$D/c4.err" '^Protocol: TLSv1.2$'
    expect "$D/c4.out" '^HTTP/1.0 200 OK' \
        '^Client certificate: .*CN=demo-client \(authenticated after the handshake\)' \
        "^Bytes before authentication: ${#req} "
    set +e
    { printf '%s' "$req"; sleep 1; } | timeout "$T" openssl s_client -connect "127.0.0.1:$SPORT" -servername localhost \
        -CAfile "$CERTS/ca.pem" -verify_return_error -tls1_2 -ign_eof \
        -cert "$CERTS/client.pem" -key "$CERTS/client.key" >"$D/o3.out" 2>"$D/o3.err"
    { printf '%s' "$req"; sleep 1; } | timeout "$T" openssl s_client -connect "127.0.0.1:$SPORT" -servername localhost \
        -CAfile "$CERTS/ca.pem" -verify_return_error -tls1_2 -ign_eof >"$D/o4.out" 2>"$D/o4.err"
    set -e
    expect "$D/o3.out" 'Protocol *: TLSv1.2' '^HTTP/1.0 200 OK' \
        '^Client certificate: .*CN=demo-client \(authenticated after the handshake\)' \
        "^Bytes before authentication: ${#req} "
    expect "$D/o4.out" '^HTTP/1.0 403 Forbidden' 'none was given\.$'
    # A client that declines the new handshake (no_renegotiation) has answered "no certificate".
    set +e
    { printf '%s' "$req"; sleep 1; } | timeout "$T" "$CLIENT" --tls1.2 --no-renegotiation --cafile "$CERTS/ca.pem" \
        --cert "$CERTS/client.pem" --key "$CERTS/client.key" localhost "$SPORT" >"$D/c5.out" 2>"$D/c5.err"
    set -e
    expect "$D/c5.out" '^HTTP/1.0 403 Forbidden' \
        'none was given: the client declined the new handshake in which it was asked for one \(no_renegotiation\)'
    # A client without RFC 5746 support (GnuTLS with safe renegotiation switched off) cannot be
    # asked at all: 403 with the library's reason.
    set +e
    printf '%s' "$req" | timeout "$T" gnutls-cli --x509cafile "$CERTS/ca.pem" -p "$SPORT" \
        --priority 'NORMAL:-VERS-ALL:+VERS-TLS1.2:%DISABLE_SAFE_RENEGOTIATION' localhost >"$D/g.out" 2>"$D/g.err"
    set -e
    expect "$D/g.out" '^HTTP/1.0 403 Forbidden' \
        'cannot be asked for on this connection: .*did not show RFC 5746 support'
    wait_server "$SPID"
    expect "$D/s.err" 'served, 0 failed'
}

# --ask-cert-path against a client that sends its request and then reads nothing, so never
# answers the request for its certificate: --handshake-timeout ends the wait, and the message
# says which kind of Handshake Again it was.
test_ask_cert_path_timeout() {
    start_server s --cert "$CERTS/server.pem" --key "$CERTS/server.key" --cafile "$CERTS/ca.pem" \
        --ask-cert-path /private --handshake-timeout 1 --max-conns 2
    local v
    for v in TLSv1_2 TLSv1_3; do
        timeout "$T" python3 - "$SPORT" "$CERTS" "$v" <<'PY' || fail "the silent Python client failed ($v)"
import socket, ssl, sys, time
port, certs, version = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations(certs + "/ca.pem")
ctx.load_cert_chain(certs + "/client.pem", certs + "/client.key")
ctx.post_handshake_auth = True
ctx.minimum_version = ctx.maximum_version = getattr(ssl.TLSVersion, version)
with socket.create_connection(("127.0.0.1", port)) as raw:
    with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
        tls.sendall(b"GET /private/x HTTP/1.0\r\nHost: localhost\r\n\r\n")
        time.sleep(2.5)  # never reads: the request for the certificate stays unanswered
PY
    done
    wait_server "$SPID"
    expect "$D/s.err" \
        'failed: the client did not answer our request for its certificate \(Handshake Again, TLS 1.2 renegotiation\) within 1 s \(--handshake-timeout\)' \
        'failed: the client did not answer our request for its certificate \(Handshake Again, TLS 1.3 post-handshake authentication\) within 1 s'
}

# Handshake Again in TLS 1.2: openssl s_server asks for a new handshake (its interactive R
# command: a HelloRequest, and with -CAfile a CertificateRequest in it); our client answers
# with a secure renegotiation (RFC 5746) while its data keeps flowing.
renegotiation_vs_openssl() { # [ferrotls-client options...]
    local port
    mkfifo "$D/sin"
    # s_server reads its commands from the fifo; keep it open for the whole exchange.
    sleep 12 >"$D/sin" &
    timeout 20 openssl s_server -accept 127.0.0.1:0 -cert "$CERTS/server.pem" -key "$CERTS/server.key" \
        -tls1_2 -CAfile "$CERTS/ca.pem" -state <"$D/sin" >"$D/o.out" 2>"$D/o.err" &
    OPID=$!
    port="$(wait_port "$D/o.out" 's/^ACCEPT 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$OPID")"
    { printf 'before\n'; sleep 3; printf 'after\n'; sleep 2; } |
        timeout 15 "$CLIENT" --cafile "$CERTS/ca.pem" --trace "$@" localhost "$port" >"$D/c.out" 2>"$D/c.err" &
    local cpid=$!
    sleep 1
    printf 'R\n' >"$D/sin"
    wait "$cpid" || true
    kill "$OPID" 2>/dev/null || true
    expect "$D/c.err" 'Handshake Again: the server asks for a new handshake' 'Handshake Again complete'
    expect_not "$D/c.err" 'error:'
    [ "$(grep -c 'read client hello' "$D/o.err" "$D/o.out" | awk -F: '{s+=$2} END {print s}')" -ge 2 ] ||
        fail "s_server did not read a second ClientHello"
    expect "$D/o.out" '^before$' '^after$'
}
test_renegotiation_vs_openssl() { renegotiation_vs_openssl; }
test_renegotiation_cert_vs_openssl() {
    renegotiation_vs_openssl --cert "$CERTS/client.pem" --key "$CERTS/client.key"
    expect "$D/c.err" 'handshake out: Handshake Again: Step Seven: Client Certificate'
    expect "$D/o.err" 'depth=0 .*CN = demo-client'
}

# Handshake Again in TLS 1.3, OpenSSL asking: openssl s_server's interactive c command sends a
# post-handshake CertificateRequest (SSL_verify_client_post_handshake); our client, which
# offers post_handshake_auth whenever it has --cert, answers it while its data keeps flowing.
# With -verify 1 the certificate is also asked for in the handshake, so it is checked twice.
test_pha_vs_openssl_server() {
    local port
    mkfifo "$D/sin"
    sleep 12 >"$D/sin" &
    timeout 20 openssl s_server -accept 127.0.0.1:0 -cert "$CERTS/server.pem" -key "$CERTS/server.key" \
        -tls1_3 -CAfile "$CERTS/ca.pem" -verify 1 <"$D/sin" >"$D/o.out" 2>"$D/o.err" &
    OPID=$!
    port="$(wait_port "$D/o.out" 's/^ACCEPT 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$OPID")"
    { printf 'before\n'; sleep 3; printf 'after\n'; sleep 2; } |
        timeout 15 "$CLIENT" --cafile "$CERTS/ca.pem" --cert "$CERTS/client.pem" --key "$CERTS/client.key" \
            --trace localhost "$port" >"$D/c.out" 2>"$D/c.err" &
    local cpid=$!
    sleep 1
    printf 'c\n' >"$D/sin"
    wait "$cpid" || true
    kill "$OPID" 2>/dev/null || true
    expect "$D/c.err" 'Handshake Again: the server asks for our certificate .TLS 1.3 post-handshake authentication.' \
        'handshake out: .*Client Certificate'
    expect_not "$D/c.err" 'error:'
    # In the handshake and again after it.
    [ "$(grep -c '^depth=0 .*CN = demo-client' "$D/o.err")" = 2 ] || { cat "$D/o.err" >&2; fail "s_server did not verify the certificate twice"; }
    expect "$D/o.out" '^before$' '^after$'
}

# Handshake Again started by the client: openssl s_client's interactive R command (stdin is
# read for commands only without -ign_eof, so s_client ends at stdin's end: "DONE") against our
# echo server. With --allow-renegotiation the new handshake completes and what s_client sends
# before and after it is echoed.
client_renegotiation_vs_openssl() { # [ferrotls-server options...]
    start_server s --cert "$CERTS/server.pem" --key "$CERTS/server.key" --tls1.2 --echo --trace --max-conns 1 "$@"
    set +e
    { printf 'before\n'; sleep 1; printf 'R\n'; sleep 1; printf 'after\n'; sleep 1; } |
        timeout "$T" openssl s_client -connect "127.0.0.1:$SPORT" -servername localhost -CAfile "$CERTS/ca.pem" \
            -verify_return_error -tls1_2 >"$D/o.out" 2>"$D/o.err"
    ORC=$?
    set -e
    wait_server "$SPID"
    expect "$D/o.err" '^RENEGOTIATING$'
    expect "$D/o.out" '^before$'
}
test_client_renegotiation_vs_openssl_allowed() {
    client_renegotiation_vs_openssl --allow-renegotiation
    [ "$ORC" = 0 ] || { cat "$D/o.err" >&2; fail "openssl s_client exit $ORC"; }
    # The server's chain is verified twice: in the handshake and in the new one.
    [ "$(grep -c '^depth=0 .*CN = localhost' "$D/o.err")" = 2 ] || { cat "$D/o.err" >&2; fail "s_client did not verify a second handshake"; }
    expect "$D/o.out" '^after$'
    expect "$D/s.err" 'Handshake Again: Step One again, started by the client' \
        'Handshake Again complete: the new keys and session are in use' \
        'read: FERROTLS_PEER_AUTHENTICATED: Handshake Again completed at this point of the stream; client certificate from here on: none' \
        'served, 0 failed'
}
# Without the flag the server declines with a no_renegotiation warning and goes on; OpenSSL's
# client does not (its own rule: "no renegotiation", a fatal handshake_failure), so the end is
# its alert, never one of ours.
test_client_renegotiation_vs_openssl_refused() {
    client_renegotiation_vs_openssl
    expect "$D/o.err" 'no renegotiation'
    expect "$D/s.err" 'Handshake Again declined: this server does not accept a renegotiation the client starts' \
        'alert out: warning no_renegotiation' 'the client sent a fatal handshake_failure alert'
    expect_not "$D/s.err" 'Handshake Again: Step One again'
    expect_not "$D/s.err" 'alert out: fatal'
}

# The same with gnutls-cli --rehandshake (a new handshake right after the first, then stdin).
client_renegotiation_vs_gnutls() { # [ferrotls-server options...]
    command -v gnutls-cli >/dev/null || fail "gnutls-cli is not installed (make deps)"
    start_server s --cert "$CERTS/server.pem" --key "$CERTS/server.key" --echo --trace --max-conns 1 "$@"
    set +e
    { printf 'before\n'; sleep 1; printf 'after\n'; sleep 1; } |
        timeout "$T" gnutls-cli --x509cafile "$CERTS/ca.pem" -p "$SPORT" --priority 'NORMAL:-VERS-ALL:+VERS-TLS1.2' \
            --rehandshake localhost >"$D/g.out" 2>"$D/g.err"
    GRC=$?
    set -e
    wait_server "$SPID"
    expect "$D/g.out" '^- Handshake was completed' '^- Options: .*safe renegotiation'
}
test_client_renegotiation_vs_gnutls_allowed() {
    client_renegotiation_vs_gnutls --allow-renegotiation
    [ "$GRC" = 0 ] || { cat "$D/g.err" >&2; fail "gnutls-cli exit $GRC"; }
    expect "$D/g.out" '^- ReHandshake was completed' '^before$' '^after$'
    expect "$D/s.err" 'Handshake Again: Step One again, started by the client' 'Handshake Again complete' 'served, 0 failed'
}
# Refused: gnutls-cli reports each no_renegotiation warning and then that the rehandshake
# failed (it retries the handshake on a warning until it gives up with an error of its own).
test_client_renegotiation_vs_gnutls_refused() {
    client_renegotiation_vs_gnutls
    expect "$D/g.out" 'Received alert \[100\]: No renegotiation is allowed'
    expect "$D/g.err" 'ReHandshake has failed'
    expect "$D/s.err" 'Handshake Again declined: this server does not accept a renegotiation the client starts'
    expect_not "$D/s.err" 'Handshake Again: Step One again'
    expect_not "$D/s.err" 'alert out: fatal'
}

# ferrotls-client --renegotiate against openssl s_server -tls1_2 -rev (which sends each line
# back reversed): OpenSSL 3 declines a client's renegotiation unless -client_renegotiation.
renegotiate_vs_openssl_server() { # [s_server options...]
    start_openssl_server o -cert "$CERTS/server.pem" -key "$CERTS/server.key" -tls1_2 -rev "$@" </dev/null
    set +e
    printf 'hello\n' | timeout "$T" "$CLIENT" --cafile "$CERTS/ca.pem" --tls1.2 --renegotiate --trace \
        localhost "$OPORT" >"$D/c.out" 2>"$D/c.err"
    CRC=$?
    set -e
    [ "$CRC" = 0 ] || { cat "$D/c.err" >&2; fail "client exit $CRC, want 0"; }
    expect "$D/c.out" '^olleh$'
    expect "$D/c.err" '^\[trace\] Handshake Again: we ask for a new handshake \(renegotiate\)' \
        '^\[trace\] alert in: warning close_notify'
    expect_not "$D/c.err" 'error:'
}
test_renegotiate_vs_openssl_server_allowed() {
    renegotiate_vs_openssl_server -client_renegotiation
    expect "$D/c.err" '^\[trace\] handshake in:  Handshake Again: Finished' '^\[trace\] Handshake Again complete' \
        '^ferrotls-client: renegotiation complete \(Handshake Again\)$'
}
test_renegotiate_vs_openssl_server_refused() {
    renegotiate_vs_openssl_server
    expect "$D/c.err" '^\[trace\] alert in: warning no_renegotiation' \
        '^ferrotls-client: the server declined the renegotiation \(no_renegotiation\); the connection goes on$'
    expect_not "$D/c.err" 'Handshake Again complete'
}

# ferrotls-client --renegotiate against our echo server, 256 KiB of input: the echo keeps
# flowing while the new handshake runs (or is declined), and arrives whole.
renegotiate_vs_ours() { # [ferrotls-server options...]
    head -c 262144 /dev/urandom >"$D/in.bin"
    start_server s --cert "$CERTS/server.pem" --key "$CERTS/server.key" --echo --trace --max-conns 1 "$@"
    set +e
    timeout "$T" "$CLIENT" --cafile "$CERTS/ca.pem" --tls1.2 --renegotiate localhost "$SPORT" <"$D/in.bin" \
        >"$D/out.bin" 2>"$D/c.err"
    CRC=$?
    set -e
    [ "$CRC" = 0 ] || { cat "$D/c.err" >&2; fail "client exit $CRC, want 0"; }
    cmp -s "$D/in.bin" "$D/out.bin" || fail "the echo differs ($(stat -c %s "$D/out.bin") of 262144 bytes)"
    wait_server "$SPID"
    expect "$D/s.err" 'served, 0 failed'
}
test_renegotiate_vs_ours_allowed() {
    renegotiate_vs_ours --allow-renegotiation
    expect "$D/c.err" '^ferrotls-client: renegotiation complete \(Handshake Again\)$'
    expect "$D/s.err" 'Handshake Again: Step One again, started by the client' 'Handshake Again complete' \
        'read: FERROTLS_PEER_AUTHENTICATED: Handshake Again completed'
}
test_renegotiate_vs_ours_refused() {
    renegotiate_vs_ours
    expect "$D/c.err" '^ferrotls-client: the server declined the renegotiation \(no_renegotiation\); the connection goes on$'
    expect "$D/s.err" 'Handshake Again declined: this server does not accept a renegotiation the client starts'
}

# ferrotls-client --renegotiate against gnutls-serv --echo: accepted by default; a server
# without RFC 5746 support (%DISABLE_SAFE_RENEGOTIATION) cannot renegotiate, which the client
# says (exit 1) after an ordinary end of the conversation.
test_renegotiate_vs_gnutls_server() {
    command -v gnutls-serv >/dev/null || fail "gnutls-serv is not installed (make deps)"
    local pri port gpid i
    for pri in 'NORMAL:-VERS-ALL:+VERS-TLS1.2' 'NORMAL:-VERS-ALL:+VERS-TLS1.2:%DISABLE_SAFE_RENEGOTIATION'; do
        port="$(free_port)"
        : >"$D/gs.err"
        timeout 30 gnutls-serv --echo -p "$port" --x509certfile "$CERTS/server.pem" --x509keyfile "$CERTS/server.key" \
            --priority "$pri" >"$D/gs.out" 2>"$D/gs.err" &
        gpid=$!
        for i in $(seq 1 200); do grep -q 'listening on IPv4' "$D/gs.err" && break; sleep 0.05; done
        set +e
        printf 'hello\n' | timeout "$T" "$CLIENT" --cafile "$CERTS/ca.pem" --tls1.2 --renegotiate localhost "$port" \
            >"$D/c.out" 2>"$D/c.err"
        CRC=$?
        set -e
        kill "$gpid" 2>/dev/null || true
        wait "$gpid" 2>/dev/null || true
        expect "$D/c.out" '^hello$'
        case "$pri" in
        *DISABLE_SAFE*)
            [ "$CRC" = 1 ] || { cat "$D/c.err" >&2; fail "client exit $CRC against a server without RFC 5746, want 1"; }
            expect "$D/c.err" '^ferrotls-client: error: --renegotiate: no renegotiation: the peer did not show RFC 5746 support.*\(FERROTLS_ERR_WRONG_STATE\)$'
            expect_not "$D/c.err" 'renegotiation complete' ;;
        *)
            [ "$CRC" = 0 ] || { cat "$D/c.err" >&2; fail "client exit $CRC, want 0"; }
            expect "$D/c.err" '^ferrotls-client: renegotiation complete \(Handshake Again\)$' ;;
        esac
    done
}

# --renegotiate where TLS 1.3 was negotiated: the engine refuses (TLS 1.3 has no
# renegotiation); the client says so, ends the conversation as usual and exits 1. (With
# --tls1.3 it is a usage error: test_usage_errors.)
test_renegotiate_tls13() {
    start_server s --cert "$CERTS/server.pem" --key "$CERTS/server.key" --echo --max-conns 1
    set +e
    printf 'hello\n' | timeout "$T" "$CLIENT" --cafile "$CERTS/ca.pem" --renegotiate localhost "$SPORT" \
        >"$D/c.out" 2>"$D/c.err"
    CRC=$?
    set -e
    [ "$CRC" = 1 ] || { cat "$D/c.err" >&2; fail "client exit $CRC, want 1"; }
    expect "$D/c.err" '^Protocol: TLSv1.3$' \
        "^ferrotls-client: error: --renegotiate: renegotiation is TLS 1.2's \(TLS 1.3 has none.*\(FERROTLS_ERR_WRONG_STATE\)$"
    expect "$D/c.out" '^hello$'
    wait_server "$SPID"
    expect "$D/s.err" 'served, 0 failed'
}

test_mtls_tls12() {
    start_server s --cert "$CERTS/server.pem" --key "$CERTS/server.key" --cafile "$CERTS/ca.pem" --verify-client --tls1.2 --max-conns 1
    client c --cafile "$CERTS/ca.pem" --cert "$CERTS/client.pem" --key "$CERTS/client.key" localhost "$SPORT"
    check_conversation c TLSv1.2
    expect "$D/c.out" '^Client certificate: .*CN=demo-client'
    wait_server "$SPID"
}

test_plaintext_survival() {
    start_server s --cert "$CERTS/server.pem" --key "$CERTS/server.key" --max-conns 2
    # a plain HTTP request to the TLS port: that connection fails, the server goes on
    (
        exec 3<>"/dev/tcp/127.0.0.1/$SPORT"
        printf '%s' "$GET" >&3
        timeout 5 cat <&3 >"$D/plain.out" || true
        exec 3>&-
    ) || true
    client c --cafile "$CERTS/ca.pem" localhost "$SPORT"
    check_conversation c TLSv1.3
    wait_server "$SPID"
    expect "$D/s.err" 'connection from 127\.0\.0\.1:[0-9]+ failed: '
    expect_not "$D/plain.out" 'HTTP/1.0 200'
}

test_stress_sanitizers() {
    # Threads against the C ABI. AddressSanitizer: tests/c/stress.c (C side instrumented, the
    # library's allocations intercepted). ThreadSanitizer needs the Rust code instrumented too
    # (GCC's TSan cannot see Rust's atomics and reports false races), so scripts/tsan.sh runs
    # tests/ffi_stress.rs with the whole crate built under -Zsanitizer=thread.
    cc -std=c11 -Wall -Wextra -Werror -fsanitize=address,undefined -fno-omit-frame-pointer -g -O1 -pthread \
        -I"$ROOT/include" -o "$D/stress-asan" "$ROOT/tests/c/stress.c" \
        -L"$ROOT/target/release" -lferrotls -Wl,-rpath,"$ROOT/target/release" || fail "building stress failed"
    set +e
    ASAN_OPTIONS=detect_leaks=1 timeout 120 "$D/stress-asan" "$CERTS" >"$D/stress-asan.out" 2>"$D/stress-asan.err"
    local rc=$?
    set -e
    expect_not "$D/stress-asan.err" 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:'
    [ "$rc" = 0 ] || { cat "$D/stress-asan.err" >&2; fail "stress (ASan) exit $rc"; }
    echo "note: ASan: $(cat "$D/stress-asan.out")"
    set +e
    timeout 900 bash "$ROOT/scripts/tsan.sh" >"$D/tsan.out" 2>&1
    rc=$?
    set -e
    expect_not "$D/tsan.out" 'WARNING: ThreadSanitizer'
    [ "$rc" = 0 ] || { tail -n 40 "$D/tsan.out" >&2; fail "ThreadSanitizer run exit $rc"; }
    echo "note: TSan: $(grep -E 'CONCURRENT_USE|test result' "$D/tsan.out" | tr '\n' ' ')"
}

test_handshake_timeout() {
    # a peer that connects and never finishes the handshake loses its slot; the server goes on
    start_server s --cert "$CERTS/server.pem" --key "$CERTS/server.key" --max-conns 2 --handshake-timeout 1
    (
        exec 3<>"/dev/tcp/127.0.0.1/$SPORT"
        printf '\x16\x03\x01' >&3          # three bytes of a record header, then silence
        timeout 10 cat <&3 >/dev/null || true
        exec 3>&-
    ) &
    local idle=$!
    wait "$idle"
    expect "$D/s.err" 'did not finish within 1 s'
    client c --cafile "$CERTS/ca.pem" localhost "$SPORT"
    check_conversation c TLSv1.3
    wait_server "$SPID"
}

test_many_at_once() {
    # 20 clients at the same time on one server
    start_server s --cert "$CERTS/server.pem" --key "$CERTS/server.key" --max-conns 20
    local i pids=()
    for i in $(seq 1 20); do
        (printf '%s' "$GET" | timeout "$T" "$CLIENT" --cafile "$CERTS/ca.pem" localhost "$SPORT" >"$D/c$i.out" 2>"$D/c$i.err") &
        pids+=($!)
    done
    for i in "${!pids[@]}"; do
        wait "${pids[$i]}" || fail "client $((i + 1)) failed: $(tail -n 1 "$D/c$((i + 1)).err")"
    done
    for i in $(seq 1 20); do expect "$D/c$i.out" '^HTTP/1.0 200 OK'; done
    wait_server "$SPID"
}

check_keylog() { # FILE VERSION
    local f="$1"
    [ -s "$f" ] || fail "key log $f is empty or missing"
    if [ "$2" = 1.3 ]; then
        expect "$f" '^CLIENT_HANDSHAKE_TRAFFIC_SECRET [0-9a-f]{64} [0-9a-f]{64,96}$' \
            '^SERVER_HANDSHAKE_TRAFFIC_SECRET [0-9a-f]{64} [0-9a-f]{64,96}$' \
            '^CLIENT_TRAFFIC_SECRET_0 [0-9a-f]{64} [0-9a-f]{64,96}$' \
            '^SERVER_TRAFFIC_SECRET_0 [0-9a-f]{64} [0-9a-f]{64,96}$'
    else
        expect "$f" '^CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}$'
    fi
}

test_keylog_tls13() {
    start_server s --cert "$CERTS/server.pem" --key "$CERTS/server.key" --max-conns 1 --keylog "$D/server.keys"
    client c --cafile "$CERTS/ca.pem" --keylog "$D/client.keys" localhost "$SPORT"
    check_conversation c TLSv1.3
    wait_server "$SPID"
    check_keylog "$D/client.keys" 1.3
    check_keylog "$D/server.keys" 1.3
    # both sides logged the same client random
    [ "$(cut -d' ' -f2 "$D/client.keys" | sort -u)" = "$(cut -d' ' -f2 "$D/server.keys" | sort -u)" ] \
        || fail "client and server key logs name different client randoms"
}

test_keylog_tls12() {
    start_server s --cert "$CERTS/server.pem" --key "$CERTS/server.key" --max-conns 1
    client c --cafile "$CERTS/ca.pem" --tls1.2 --keylog "$D/client.keys" localhost "$SPORT"
    check_conversation c TLSv1.2
    wait_server "$SPID"
    check_keylog "$D/client.keys" 1.2
}

test_install_pkgconfig() {
    command -v pkg-config >/dev/null || fail "pkg-config is not installed (make deps)"
    local dest="$D/dest"
    make -s -C "$ROOT" install DESTDIR="$dest" PREFIX=/usr >"$D/install.log" 2>&1 || { cat "$D/install.log" >&2; fail "make install failed"; }
    local lib="$dest/usr/lib"
    [ -f "$lib/libferrotls.a" ] || fail "no libferrotls.a"
    [ -f "$dest/usr/include/ferrotls.h" ] || fail "no ferrotls.h"
    [ -x "$dest/usr/bin/ferrotls-client" ] && [ -x "$dest/usr/bin/ferrotls-server" ] || fail "no example binaries"
    local real
    real="$(readlink -f "$lib/libferrotls.so")"
    [ -f "$real" ] || fail "libferrotls.so is a dangling link"
    [[ "$(basename "$real")" =~ ^libferrotls\.so\.[0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "libferrotls.so points to $(basename "$real")"
    local soname
    soname="$(objdump -p "$real" | sed -n 's/^ *SONAME *//p')"
    [ -n "$soname" ] || fail "the installed library has no SONAME"
    [ -e "$lib/$soname" ] || fail "no $soname link in $lib"
    cat >"$D/v.c" <<'EOF'
#include <stdio.h>
#include <ferrotls.h>
int main(void) {
    const char *v = ferrotls_version_string();
    if (v == NULL) return 1;
    printf("%s\n", v);
    return ferrotls_abi_version() == FERROTLS_ABI_VERSION ? 0 : 2;
}
EOF
    local flags
    flags="$(PKG_CONFIG_PATH="$lib/pkgconfig" PKG_CONFIG_LIBDIR="$lib/pkgconfig" \
        pkg-config --define-variable=prefix="$dest/usr" --cflags --libs ferrotls)"
    echo "pkg-config: $flags"
    cc -std=c99 -Wall -Werror -o "$D/v" "$D/v.c" $flags || fail "compiling against the installed library failed"
    LD_LIBRARY_PATH="$lib" "$D/v" >"$D/v.out" || fail "the program failed (exit $?)"
    expect "$D/v.out" '^ferrotls/[0-9]+\.[0-9]+\.[0-9]+'
    LD_LIBRARY_PATH="$lib" ldd "$D/v" | grep "$lib/$soname" >/dev/null || { ldd "$D/v" >&2; fail "not linked against the installed $soname"; }
    # and statically, with Libs.private
    flags="$(PKG_CONFIG_PATH="$lib/pkgconfig" PKG_CONFIG_LIBDIR="$lib/pkgconfig" \
        pkg-config --static --define-variable=prefix="$dest/usr" --cflags --libs ferrotls)"
    cc -std=c99 -o "$D/vs" "$D/v.c" $(sed "s#-lferrotls#$lib/libferrotls.a#" <<<"$flags") || fail "static link failed"
    "$D/vs" >"$D/vs.out" || fail "the static program failed"
    expect "$D/vs.out" '^ferrotls/'
}

# The README's C section as printed. Its ```c blocks that open with "/* NAME.c:" become NAME.c;
# they are built with the README's own `cc ... app.c ...` line (app-sansio.c: the same line with the
# names changed) against a `make install`ed temporary prefix, and run without LD_LIBRARY_PATH (the
# rpath must find the library) against openssl s_server: a GET (the status line, exactly); a server
# that speaks first (s_server writes its line only after the handshake completed, that is, after
# our last flight arrived: a client that leaves it queued and waits deadlocks); a wrong name (exit 1
# with the detail, and s_server logs our bad_certificate alert); a missing CA file (no connection
# yet: ferrotls_last_error_detail). FERROTLS_README=FILE tests another copy of the README.
test_readme_c_examples() {
    command -v pkg-config >/dev/null || fail "pkg-config is not installed (make deps)"
    local readme="${FERROTLS_README:-$ROOT/README.md}" src="$D/src" P="$D/prefix"
    mkdir -p "$src"
    awk -v dir="$src" '
        /^```/ {
            if (fence) { fence = 0; if (out != "") close(out); out = "" }
            else { fence = 1; lang = substr($0, 4); first = 1 }
            next
        }
        fence && first {
            first = 0
            if (lang == "c" && match($0, /^\/\* [A-Za-z0-9_-]+\.c:/)) {
                name = substr($0, 4, RLENGTH - 4)
                if (name in seen) { print "README: two blocks named " name > "/dev/stderr"; exit 1 }
                seen[name] = 1; out = dir "/" name; print name
            }
        }
        out != "" { print > out }
    ' "$readme" >"$D/blocks.txt" || fail "extracting the C blocks from $readme failed"
    echo "blocks: $(tr '\n' ' ' <"$D/blocks.txt")"
    local p
    for p in app app-sansio; do
        grep -qx "$p.c" "$D/blocks.txt" || fail "$readme has no \`\`\`c block opening with '/* $p.c:'"
    done
    local cmd
    cmd="$(awk '/^```/ { fence = !fence; next } fence && /^cc .* app\.c( |$)/ { print; exit }' "$readme")"
    [ -n "$cmd" ] || fail "$readme has no build line 'cc ... app.c ...' in a code block"
    echo "build line: $cmd"

    make -s -C "$ROOT" install PREFIX="$P" >"$D/install.log" 2>&1 || { cat "$D/install.log" >&2; fail "make install PREFIX=$P failed"; }
    expect "$D/install.log" "-Wl,-rpath,$P/lib" "LD_LIBRARY_PATH=$P/lib"
    local pcflags
    pcflags="$(PKG_CONFIG_PATH="$P/lib/pkgconfig" pkg-config --cflags ferrotls)"
    for p in app app-sansio; do
        local c="$cmd"
        [ "$p" = app ] || c="$(sed -E "s/\\bapp(\\.c)?\\b/$p\\1/g" <<<"$cmd")"
        grep -q -- " $p\\.c" <<<"$c" || fail "cannot make the build line for $p.c from: $cmd"
        (cd "$src" && PKG_CONFIG_PATH="$P/lib/pkgconfig" bash -euc "$c") >"$D/$p.build" 2>&1 \
            || { cat "$D/$p.build" >&2; fail "the README's build line failed for $p.c: $c"; }
        [ -x "$src/$p" ] || fail "the build line made no $src/$p: $c"
        cc -fsyntax-only -Wall -Wextra -Werror $pcflags "$src/$p.c" 2>"$D/$p.warn" \
            || { cat "$D/$p.warn" >&2; fail "$p.c is not warning-free (-Wall -Wextra)"; }
        readelf -d "$src/$p" >"$D/$p.dyn"
        grep -E 'R(UN)?PATH' "$D/$p.dyn" | grep -F "$P/lib" >/dev/null || { cat "$D/$p.dyn" >&2; fail "$p has no rpath to $P/lib"; }
        env -u LD_LIBRARY_PATH ldd "$src/$p" >"$D/$p.ldd"
        grep -F "$P/lib/libferrotls.so" "$D/$p.ldd" >/dev/null || { cat "$D/$p.ldd" >&2; fail "$p does not load the installed library"; }
    done

    # s_server NAME ADDR [s_server options...]: one connection, its stdin the caller's (`<&0`: a
    # background job's stdin is otherwise /dev/null); sets SP (port) and SPID.
    s_server() {
        local name="$1" addr="$2"; shift 2
        timeout 30 openssl s_server -accept "$addr:0" -naccept 1 -cert "$CERTS/server.pem" \
            -key "$CERTS/server.key" "$@" <&0 >"$D/$name.out" 2>"$D/$name.err" &
        SPID=$!
        SP="$(wait_port "$D/$name.out" "s/^ACCEPT ${addr//./[.]}:\\([0-9]*\\)\$/\\1/p" "$SPID")"
    }
    local ARC bfd cpid i
    for p in app app-sansio; do
        # 1. GET from s_server -www: exactly the status line on stdout, the parameters on stderr
        s_server "$p-get-srv" 127.0.0.1 -www </dev/null
        set +e
        timeout 15 env -u LD_LIBRARY_PATH "$src/$p" localhost "$SP" "$CERTS/ca.pem" "$GET" \
            >"$D/$p-get.out" 2>"$D/$p-get.err" </dev/null
        ARC=$?
        set -e
        [ "$ARC" = 0 ] || { cat "$D/$p-get.err" >&2; fail "$p: GET: exit $ARC, want 0"; }
        printf 'HTTP/1.0 200 ok\r\n' | cmp -s - "$D/$p-get.out" || { od -c "$D/$p-get.out" | head >&2; fail "$p: GET: stdout is not the status line"; }
        expect "$D/$p-get.err" '^TLSv1\.3 TLS_[A-Z0-9_]+$'
        wait_server "$SPID" || true

        # 2. the server speaks first: the client sends nothing and must read s_server's line
        rm -f "$D/$p.fifo"
        mkfifo "$D/$p.fifo"
        exec {bfd}<>"$D/$p.fifo"
        s_server "$p-first-srv" 127.0.0.1 <"$D/$p.fifo"
        timeout 15 env -u LD_LIBRARY_PATH "$src/$p" localhost "$SP" "$CERTS/ca.pem" \
            >"$D/$p-first.out" 2>"$D/$p-first.err" </dev/null &
        cpid=$!
        for i in $(seq 1 200); do # "CIPHER is" once s_server has our Finished
            grep -q '^CIPHER is' "$D/$p-first-srv.out" && break
            sleep 0.05
        done
        grep -q '^CIPHER is' "$D/$p-first-srv.out" || { cat "$D/$p-first.err" >&2; fail "$p: s_server did not complete the handshake in 10 s: the client did not send its last flight"; }
        printf '220 ferrotls readme banner\r\n' >&"$bfd"
        set +e
        wait "$cpid"
        ARC=$?
        set -e
        exec {bfd}>&-
        [ "$ARC" = 0 ] || { cat "$D/$p-first.err" >&2; fail "$p: server first: exit $ARC, want 0"; }
        printf '220 ferrotls readme banner\r\n' | cmp -s - "$D/$p-first.out" || { od -c "$D/$p-first.out" | head >&2; fail "$p: server first: stdout is not the server's line"; }
        wait_server "$SPID" || true
        expect "$D/$p-first-srv.out" '^DONE$' # s_server read our close_notify
        expect_not "$D/$p-first-srv.out" '^ERROR'

        # 3. a name the certificate does not have (it has DNS:localhost, IP:127.0.0.1)
        s_server "$p-name-srv" 127.0.0.2 -www </dev/null
        set +e
        timeout 15 env -u LD_LIBRARY_PATH "$src/$p" 127.0.0.2 "$SP" "$CERTS/ca.pem" "$GET" \
            >"$D/$p-name.out" 2>"$D/$p-name.err" </dev/null
        ARC=$?
        set -e
        [ "$ARC" = 1 ] || { cat "$D/$p-name.err" >&2; fail "$p: wrong name: exit $ARC, want 1"; }
        expect "$D/$p-name.err" "^app: .*not for '127\\.0\\.0\\.2'.*bad_certificate alert.* \\(FERROTLS_ERR_CERT_NAME_MISMATCH\\)\$"
        expect_not "$D/$p-name.err" '^TLSv1'
        [ ! -s "$D/$p-name.out" ] || fail "$p: wrong name: printed on stdout: $(cat "$D/$p-name.out")"
        wait_server "$SPID" || true
        expect "$D/$p-name-srv.err" 'alert bad certificate' 'SSL alert number 42'

        # 4. a failure before there is a connection: ferrotls_last_error_detail
        set +e
        timeout 15 env -u LD_LIBRARY_PATH "$src/$p" localhost 1 "$D/no-such-ca.pem" >"$D/$p-ca.out" 2>"$D/$p-ca.err" </dev/null
        ARC=$?
        set -e
        [ "$ARC" = 1 ] || { cat "$D/$p-ca.err" >&2; fail "$p: missing CA file: exit $ARC, want 1"; }
        expect "$D/$p-ca.err" '^app: .*no-such-ca\.pem'
        echo "$p: GET, server first, wrong name, missing CA file: ok"
    done
}

test_asan_client() {
    cc -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined \
        -Wall -Wextra -Werror -std=c99 -D_POSIX_C_SOURCE=200809L -I"$ROOT/include" -I"$ROOT/examples-c" \
        -o "$D/ferrotls-client-asan" "$ROOT/examples-c/client.c" "$ROOT/examples-c/common.c" \
        -L"$ROOT/target/release" -lferrotls -Wl,-rpath,"$ROOT/target/release" || fail "ASan build failed"
    start_server s --cert "$CERTS/server.pem" --key "$CERTS/server.key" --max-conns 1
    set +e
    printf '%s' "$GET" | ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
        timeout "$T" "$D/ferrotls-client-asan" --trace --cafile "$CERTS/ca.pem" localhost "$SPORT" >"$D/c.out" 2>"$D/c.err"
    CRC=$?
    set -e
    expect_not "$D/c.err" 'ERROR: (AddressSanitizer|LeakSanitizer)'
    expect_not "$D/c.err" 'runtime error:'
    check_conversation c TLSv1.3
    wait_server "$SPID"
}

# silent_server NAME MODE: a peer that never answers, on a free port; sets QPORT and QPID.
#   tcp   accepts the TCP connection, then says nothing
#   tls   completes the TLS handshake (Python's ssl), then neither reads nor answers, nor
#         answers our close_notify (openssl s_server would answer that one, and the client
#         would exit 0)
#   full  never accepts, and its accept queue is full: a new connect gets no SYN-ACK
silent_server() {
    local name="$1" mode="$2"
    : >"$D/$name.out"
    timeout 30 python3 -c '
import socket, ssl, sys, time
mode, certs = sys.argv[1], sys.argv[2]
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(0 if mode == "full" else 1)
port = s.getsockname()[1]
held = []
if mode == "full":
    for _ in range(3):  # more than the backlog: the queue stays full, nothing is accepted
        f = socket.socket()
        f.setblocking(False)
        f.connect_ex(("127.0.0.1", port))
        held.append(f)
    time.sleep(0.2)
print("port", port, flush=True)
if mode != "full":
    c, _ = s.accept()
    if mode == "tls":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(certs + "/server.pem", certs + "/server.key")
        c = ctx.wrap_socket(c, server_side=True)
        print("handshake done", flush=True)
    held.append(c)
time.sleep(25)
' "$mode" "$CERTS" >"$D/$name.out" 2>"$D/$name.err" &
    QPID=$!
    QPORT="$(wait_port "$D/$name.out" 's/^port \([0-9]*\)$/\1/p' "$QPID")"
}

# ms_since START: milliseconds since START (from date +%s%N).
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

test_client_timeout() {
    local start ms
    # (a) TCP accepted, then silence: the handshake limit names the step we waited for
    silent_server q1 tcp
    start=$(date +%s%N)
    client a --timeout 1 --cafile "$CERTS/ca.pem" 127.0.0.1 "$QPORT"
    ms=$(ms_since "$start")
    [ "$CRC" = 1 ] || { cat "$D/a.err" >&2; fail "client against a silent TCP server: exit $CRC, want 1"; }
    [ "$ms" -ge 900 ] && [ "$ms" -lt 5000 ] || fail "client gave up after $ms ms, want about 1000"
    expect "$D/a.err" "^ferrotls-client: error: timed out after 1 s waiting for Step Two: ServerHello from 127\.0\.0\.1 port $QPORT \(--timeout 1\)\$"
    echo "note: silent TCP server: gave up after $ms ms"

    # (b) after the handshake, while stdin is open, a quiet server is no timeout (the user may be
    # typing): stdin stays open 2.5 s, the echo server answers at once, the client exits 0
    start_server s --cert "$CERTS/server.pem" --key "$CERTS/server.key" --echo --max-conns 1
    set +e
    { printf 'hello\n'; sleep 2.5; } | timeout "$T" "$CLIENT" --timeout 1 --cafile "$CERTS/ca.pem" localhost "$SPORT" \
        >"$D/b.out" 2>"$D/b.err"
    CRC=$?
    set -e
    [ "$CRC" = 0 ] || { cat "$D/b.err" >&2; fail "client with stdin open 2.5 s and --timeout 1: exit $CRC, want 0"; }
    expect "$D/b.out" '^hello$'
    expect_not "$D/b.err" 'timed out|no data from the server'
    wait_server "$SPID"

    # (c) the handshake completes, the request is never answered (nor our close_notify)
    silent_server q2 tls
    start=$(date +%s%N)
    client c --timeout 1 --cafile "$CERTS/ca.pem" localhost "$QPORT"
    ms=$(ms_since "$start")
    [ "$CRC" = 1 ] || { cat "$D/c.err" >&2; fail "client against a server that never answers: exit $CRC, want 1"; }
    [ "$ms" -lt 5000 ] || fail "client gave up after $ms ms, want about 1000"
    expect "$D/c.err" '^Protocol: TLSv1\.3$' \
        '^ferrotls-client: error: no data from the server for 1 s after our request \(--timeout 1\)$'
    expect "$D/q2.out" '^handshake done$'
    echo "note: unanswered request: gave up after $ms ms"

    # (d) a connect that gets no SYN-ACK (a listener whose accept queue is full). Whether the
    # kernel drops the SYN then is its choice: if it answers, the handshake limit strikes instead.
    silent_server q3 full
    client d --timeout 1 --cafile "$CERTS/ca.pem" 127.0.0.1 "$QPORT"
    [ "$CRC" = 1 ] || { cat "$D/d.err" >&2; fail "client against a full accept queue: exit $CRC, want 1"; }
    if grep -q 'connecting to' "$D/d.err"; then
        expect "$D/d.err" "^ferrotls-client: error: timed out after 1 s connecting to 127\.0\.0\.1 port $QPORT \(--timeout 1\)\$"
        echo "note: full accept queue: the connect timed out"
    else
        expect "$D/d.err" 'timed out after 1 s waiting for Step Two: ServerHello'
        echo "note: the kernel completed the connect despite the full accept queue; connect limit not exercised"
    fi
}

# ---- tests: the C API under sanitizers, valgrind, load ------------------------------------------

skip() { echo "$*"; exit 77; }

# Prints the pid of the server started by start_server (SPID is the `timeout` wrapping it).
server_pid() {
    local kids
    kids="$(cat "/proc/$SPID/task/$SPID/children" 2>/dev/null || true)"
    set -- $kids
    echo "${1:-$SPID}"
}
fd_count() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }

test_api_asan() {
    # The table of result codes in api_test.c must list every result code of the header.
    local hdr tbl
    hdr="$(sed -n 's/^#define \(FERROTLS_OK\|FERROTLS_WANT_[A-Z]*\|FERROTLS_CLOSED\|FERROTLS_PEER_AUTHENTICATED\|FERROTLS_ERR_[A-Z0-9_]*\) .*/\1/p' \
        "$ROOT/include/ferrotls.h" | grep -v -x -e FERROTLS_ERR_ALERT_BASE -e FERROTLS_ERR_ALERT_MAX | sort)"
    tbl="$(grep -o 'CODE(FERROTLS_[A-Z0-9_]*)' "$ROOT/tests/c/api_test.c" | sed 's/CODE(\(.*\))/\1/' | sort)"
    [ -n "$hdr" ] || fail "no result codes found in include/ferrotls.h"
    [ "$hdr" = "$tbl" ] || { diff <(echo "$hdr") <(echo "$tbl") >&2 || true; fail "api_test.c's CODES table and the header's result codes differ (< header, > table)"; }
    echo "note: $(wc -l <<<"$hdr") result codes in the header, all in api_test.c's table"

    cc -std=c99 -Wall -Wextra -Werror -fsanitize=address,undefined -fno-omit-frame-pointer -g -O1 \
        -I"$ROOT/include" -o "$D/api_test" "$ROOT/tests/c/api_test.c" \
        -L"$ROOT/target/release" -lferrotls -Wl,-rpath,"$ROOT/target/release" || fail "building api_test failed"
    local rc
    set +e
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
        timeout "$T" "$D/api_test" "$CERTS" >"$D/api.out" 2>"$D/api.err"
    rc=$?
    set -e
    cat "$D/api.out"
    expect_not "$D/api.err" 'ERROR: (AddressSanitizer|LeakSanitizer)'
    expect_not "$D/api.err" 'runtime error:'
    [ "$rc" = 0 ] || { cat "$D/api.err" >&2; fail "api_test exit $rc"; }
    expect "$D/api.out" '^[0-9]+ passed, 0 failed$'
    echo "note: api_test (ASan+UBSan+LSan): $(tail -n 1 "$D/api.out")"
}

test_valgrind_client() {
    command -v valgrind >/dev/null || skip "valgrind is not installed (make deps; .ci/run installs it)"
    start_server s --cert "$CERTS/server.pem" --key "$CERTS/server.key" --max-conns 1
    set +e
    # ChaCha20-Poly1305 records: Memcheck mis-tracks the definedness of AES-GCM tags computed
    # by ring's assembly (the sealed tag reads as uninitialised when sent, the opened one at
    # its comparison; the record layer around them is the same code), and with this suite
    # the run needs no suppression at all. tests/c/valgrind.supp stays for AES-GCM runs.
    printf '%s' "$GET" | timeout 90 valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 \
        --suppressions="$ROOT/tests/c/valgrind.supp" \
        "$CLIENT" --ciphers TLS_CHACHA20_POLY1305_SHA256 --cafile "$CERTS/ca.pem" localhost "$SPORT" >"$D/c.out" 2>"$D/c.err"
    CRC=$?
    set -e
    [ "$CRC" = 0 ] || { cat "$D/c.err" >&2; fail "ferrotls-client under valgrind: exit $CRC (99 = valgrind found errors)"; }
    expect "$D/c.err" '(definitely lost: 0 bytes|no leaks are possible)' 'ERROR SUMMARY: 0 errors'
    check_conversation c TLSv1.3
    wait_server "$SPID"
    echo "note: valgrind: $(grep -E -o '(definitely lost: .*|no leaks are possible)' "$D/c.err" | head -n 1); $(grep -E -o 'ERROR SUMMARY: .*' "$D/c.err" | tail -n 1)"
}

test_loadgen() {
    local LOADGEN="$D/ferrotls-loadgen" N=200 M=1000 rc
    cc -O2 -g -Wall -Wextra -Werror -std=c99 -D_POSIX_C_SOURCE=200809L -I"$ROOT/include" -I"$ROOT/examples-c" \
        -o "$LOADGEN" "$ROOT/tests/c/loadgen.c" "$ROOT/examples-c/common.c" \
        -L"$ROOT/target/release" -lferrotls -Wl,-rpath,"$ROOT/target/release" || fail "building ferrotls-loadgen failed"
    # usage: loopback only, required options
    set +e
    "$LOADGEN" --cafile "$CERTS/ca.pem" --conns 1 --concurrency 1 192.0.2.1 443 >/dev/null 2>"$D/u1.err"; rc=$?
    [ "$rc" = 2 ] || fail "loadgen to a non-loopback address: exit $rc, want 2"
    expect "$D/u1.err" 'not a loopback address'
    "$LOADGEN" --cafile "$CERTS/ca.pem" 127.0.0.1 443 >/dev/null 2>/dev/null; rc=$?
    [ "$rc" = 2 ] || fail "loadgen without --conns: exit $rc, want 2"
    set -e

    # N connections at once: each one needs a descriptor in the server and in the load generator.
    [ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge $((N + 64)) ] || ulimit -n $((N + 64)) 2>/dev/null \
        || fail "ulimit -n is $(ulimit -n) and cannot be raised to $((N + 64))"
    echo "note: ulimit -n $(ulimit -n)"
    # --max-conns: N held at once, then M for the rate, then one last request once the "after"
    # count is taken, which lets the server exit and print its totals.
    start_server s --cert "$CERTS/server.pem" --key "$CERTS/server.key" --echo --max-conns $((N + M + 1))
    local spid before peak after cur i
    spid="$(server_pid)"
    before="$(fd_count "$spid")"
    [ "$before" -gt 0 ] || fail "cannot read /proc/$spid/fd"
    # 1. N concurrent connections, all established at the same time (--hold) for 300 ms
    timeout 60 "$LOADGEN" --cafile "$CERTS/ca.pem" --servername localhost --conns $N --concurrency $N \
        --hold --hold-ms 300 --bytes 1024 --timeout 45 127.0.0.1 "$SPORT" >"$D/l.out" 2>"$D/l.err" &
    local lpid=$!
    peak="$before"
    while kill -0 "$lpid" 2>/dev/null; do
        cur="$(fd_count "$spid")"
        [ "$cur" -gt "$peak" ] && peak="$cur"
        sleep 0.01
    done
    set +e
    wait "$lpid"; rc=$?
    set -e
    cat "$D/l.out"
    [ "$rc" = 0 ] || { cat "$D/l.err" >&2; fail "loadgen exit $rc"; }
    expect "$D/l.out" "^loadgen: $N ok, 0 failed, $N handshakes in .* handshakes/s" "peak $N open / $N established"
    echo "note: $N at once: $(sed 's/^loadgen: //' "$D/l.out")"
    # 2. the rate: M connections, 50 at a time, 16 KiB each
    set +e
    timeout 60 "$LOADGEN" --cafile "$CERTS/ca.pem" --servername localhost --conns $M --concurrency 50 \
        --bytes 16384 --timeout 45 127.0.0.1 "$SPORT" >"$D/r.out" 2>"$D/r.err"; rc=$?
    set -e
    cat "$D/r.out"
    [ "$rc" = 0 ] || { cat "$D/r.err" >&2; fail "loadgen (rate) exit $rc"; }
    expect "$D/r.out" "^loadgen: $M ok, 0 failed, $M handshakes in "
    echo "note: $M, 50 at a time: $(sed 's/^loadgen: //' "$D/r.out")"
    # the server lets go of every connection
    for i in $(seq 1 100); do
        after="$(fd_count "$spid")"
        [ "$after" -le "$before" ] && break
        sleep 0.05
    done
    echo "note: server open fds: $before before, $peak peak (sampled during the $N), $after after"
    [ "$after" = "$before" ] || fail "server open fds: $before before the load, $after after it"
    [ "$peak" -ge $((before + N)) ] || fail "server open fds peaked at $peak; $N concurrent connections need $((before + N))"
    client last --cafile "$CERTS/ca.pem" localhost "$SPORT"
    [ "$CRC" = 0 ] || { cat "$D/last.err" >&2; fail "request after the load: exit $CRC"; }
    wait_server "$SPID"
    expect "$D/s.err" "^ferrotls-server: $((N + M + 1)) connection\(s\) served, 0 failed"
}

# The short soak: scripts/soak.sh 20 (500 concurrent clients, half of them resuming, 1 KiB..1 MiB
# per connection checked byte for byte, TLS 1.3 then TLS 1.2; server fds back to the idle
# baseline, RSS not growing). The 10-minute soak is `bash scripts/soak.sh` (docs/soak.md).
test_soak_short() {
    local LOADGEN="$D/ferrotls-loadgen" rc
    cc -O2 -g -Wall -Wextra -Werror -std=c99 -D_POSIX_C_SOURCE=200809L -I"$ROOT/include" -I"$ROOT/examples-c" \
        -o "$LOADGEN" "$ROOT/tests/c/loadgen.c" "$ROOT/examples-c/common.c" \
        -L"$ROOT/target/release" -lferrotls -Wl,-rpath,"$ROOT/target/release" || fail "building ferrotls-loadgen failed"
    set +e
    SOAK_NO_BUILD=1 SOAK_SERVER="$SERVER" SOAK_LOADGEN="$LOADGEN" SOAK_OUT="$D/soak" SOAK_BYTES_MAX=1048576 \
        timeout 90 bash "$ROOT/scripts/soak.sh" 20 >"$D/soak.out" 2>&1
    rc=$?
    set -e
    cat "$D/soak.out"
    [ "$rc" = 0 ] || fail "scripts/soak.sh 20: exit $rc"
    expect "$D/soak.out" '^soak: PASS$' 'connections: [0-9]+ ok, 0 failed' 'server-side failed connections: 0$'
    grep -E '^soak: (connections|bytes|server RSS|server fds)' "$D/soak.out" | sed 's/^soak: /note: /'
}

# ---- the list -----------------------------------------------------------------------------------

echo "== C / interop tests (tests/c/run.sh); work folder $WORK"
run cli usage_errors
run cli bad_files
run cli sess_bad_file
run tls13 resume_ours_tls13
run tls13 openssl_resumes_tls13
run tls13 resume_vs_openssl_tls13
run tls13 ours_tls13
run tls13 ours_tls13_rsa
run tls13 ours_sec1_key
run tls13 ours_suites_groups
run tls13 trace
run tls13 pq_default_trace
run tls13 pq_groups
run tls13 pq_hrr
run tls13 pq_vs_openssl_server
run tls13 pq_classic_clients
run tls13 client_vs_openssl_tls13
run tls13 openssl_vs_server_tls13
run tls13 curl
run tls13 gnutls_vs_server
run tls13 echo_1mib
run tls13 echo_isolation
run tls13 http_bare_lf
run tls13 alert_after_large_message
run tls12 allow_no_ems
run tls13 alpn
run tls13 wrong_ca
run tls13 wrong_name
run tls13 mtls
run tls13 request_client
run tls13 ask_cert_path
run tls13 ask_cert_path_timeout
run tls13 pha_vs_openssl_server
run tls13 plaintext_survival
run tls13 handshake_timeout
run tls13 stress_sanitizers
run tls13 many_at_once
run tls13 keylog_tls13
run tls13 asan_client
run tls13 client_timeout
run api api_asan
run tls13 valgrind_client
run tls13 loadgen
run tls13 soak_short
run build install_pkgconfig
run build readme_c_examples
run tls12 ours_tls12
run tls12 ours_tls12_rsa
run tls12 pq_tls12
run tls12 client_vs_openssl_tls12
run tls12 openssl_vs_server_tls12
run tls12 curl_tls12
run tls12 mtls_tls12
run tls12 renegotiation_vs_openssl
run tls12 renegotiation_cert_vs_openssl
run tls12 client_renegotiation_vs_openssl_allowed
run tls12 client_renegotiation_vs_openssl_refused
run tls12 client_renegotiation_vs_gnutls_allowed
run tls12 client_renegotiation_vs_gnutls_refused
run tls12 renegotiate_vs_openssl_server_allowed
run tls12 renegotiate_vs_openssl_server_refused
run tls12 renegotiate_vs_ours_allowed
run tls12 renegotiate_vs_ours_refused
run tls12 renegotiate_vs_gnutls_server
run tls13 renegotiate_tls13
run tls12 keylog_tls12
run tls12 resume_ours_tls12
run tls12 openssl_resumes_tls12
run tls12 resume_vs_openssl_tls12

if [ "$FAILED" -gt 0 ]; then
    echo "failed: ${FAILED_NAMES[*]}"
fi
echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
[ "$FAILED" -eq 0 ]
