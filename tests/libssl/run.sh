#!/usr/bin/env bash
# make test-libssl: the OpenSSL layer (issue 18) as it stands. target/libssl/libssl.so.3 must
# look like Debian's libssl.so.3 to the dynamic linker (SONAME, every one of its 518 functions
# in version node OPENSSL_3.0.0, libcrypto.so.3 needed, no ferrotls_* symbol), load into an
# unmodified BIND_NOW program (the openssl command), and fail the OpenSSL way where it does not
# implement a function, and run C programs (tests/libssl/programs_c.sh) and Debian's own programs
# (tests/libssl/programs.sh: openssl, curl, socat, psql) the way OpenSSL's libssl runs them.
set -euo pipefail
cd "$(dirname "$0")/../.."
LIB=target/libssl/libssl.so.3
fail() { echo "FAIL: $*" >&2; exit 1; }
[ -f "$LIB" ] || fail "$LIB is missing: run make libssl"

# The layer's own unit tests (cipher strings against OpenSSL's choices, the session encoding).
"${CARGO:-cargo}" test -q --release --manifest-path openssl-compat/Cargo.toml >/tmp/ferrossl-unit.$$ 2>&1 \
    || { cat /tmp/ferrossl-unit.$$; fail "openssl-compat unit tests"; }
echo "ok    openssl-compat unit tests: $(grep -Eo '[0-9]+ passed' /tmp/ferrossl-unit.$$ | head -1)"
rm -f /tmp/ferrossl-unit.$$

readelf -d "$LIB" | grep -q 'Library soname: \[libssl.so.3\]' || fail "SONAME is not libssl.so.3"
readelf -d "$LIB" | grep -q 'Shared library: \[libcrypto.so.3\]' || fail "libcrypto.so.3 is not NEEDED"
want=openssl-compat/libssl-exports.txt
have=$(mktemp)
nm -D --defined-only "$LIB" | awk '$2=="T" && $3 ~ /@@OPENSSL_3.0.0$/ {sub(/@@OPENSSL_3.0.0$/, "", $3); print $3}' | sort -u >"$have"
missing=$(comm -23 <(sort -u "$want") "$have" | wc -l)
[ "$missing" = 0 ] || fail "$missing functions of Debian's libssl.so.3 are not exported in OPENSSL_3.0.0: $(comm -23 <(sort -u "$want") "$have" | head -5 | tr '\n' ' ')"
echo "ok    exports: all $(wc -l <"$want") functions of Debian's libssl.so.3, in OPENSSL_3.0.0"
! nm -D --defined-only "$LIB" | grep -q ' ferrotls_' || fail "a ferrotls_* symbol is exported"
echo "ok    no ferrotls_* symbol exported"

# An unmodified program that binds all its 205 libssl imports at start (BIND_NOW) runs on it,
# and the dynamic linker says which libssl it loaded.
out=$(LD_LIBRARY_PATH=target/libssl LD_DEBUG=libs openssl version 2>&1) || fail "openssl version: $out"
grep -q "calling init: target/libssl/libssl.so.3" <<<"$out" || fail "openssl did not load our libssl: $out"
echo "ok    openssl version runs on target/libssl/libssl.so.3 ($(grep -m1 '^OpenSSL' <<<"$out"))"

# A C program against the system headers: OpenSSL's libssl takes a PSK identity hint; ours
# (no external PSKs) returns 0 with the error on the queue, as OpenSSL fails.
bin=$(mktemp)
# shellcheck disable=SC2046
cc -O1 -Wall -Werror -o "$bin" tests/libssl/stub_errors.c $(pkg-config --cflags --libs openssl)
sys=$("$bin") || fail "on OpenSSL's libssl: $sys"
[ "$sys" = "SSL_CTX_use_psk_identity_hint: 1" ] || fail "on OpenSSL's libssl: $sys"
set +e
ours=$(LD_LIBRARY_PATH=target/libssl "$bin")
rc=$?
set -e
[ "$rc" = 2 ] || fail "on ours: exit $rc: $ours"
grep -Eq "library 20 \(SSL is 20\), reason ([0-9]+) \(unsupported is \1\)" <<<"$ours" || fail "on ours: $ours"
grep -q "SSL_CTX_use_psk_identity_hint is not supported by ferrotls's libssl" <<<"$ours" || fail "on ours: $ours"
echo "ok    an unimplemented call fails as OpenSSL fails: 0, and on the error queue: $(grep -m1 'error:' <<<"$ours")"

# The blocking client path (tests/libssl/client.c) against a real `openssl s_server -www`,
# TLS 1.3 and TLS 1.2: the same program prints byte-identical output on OpenSSL's libssl and
# on ours (response's first line, how the read ended, SSL_get_version, SSL_shutdown's result);
# with a CA that did not issue the server's certificate, SSL_connect fails on both with the
# same SSL_get_error and reason (134, certificate verify failed).
cbin=$(mktemp)
# shellcheck disable=SC2046
cc -O1 -Wall -Werror -o "$cbin" tests/libssl/client.c $(pkg-config --cflags --libs openssl)
work=$(mktemp -d)
server_pid=
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work" "$cbin" "$bin" "$have"; }
trap cleanup EXIT
for ver in tls1_3 tls1_2; do
    openssl s_server -www "-$ver" -accept 127.0.0.1:0 -cert examples-c/certs/server.pem \
        -key examples-c/certs/server.key >"$work/server.out" 2>"$work/server.err" &
    server_pid=$!
    port=
    for _ in $(seq 100); do
        port=$(sed -n 's/^ACCEPT 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$work/server.out")
        [ -n "$port" ] && break
        sleep 0.05
    done
    [ -n "$port" ] || fail "openssl s_server -$ver did not start: $(cat "$work/server.err")"
    for ca in ca other-ca; do
        set +e
        sys=$(timeout 20 "$cbin" "$port" "examples-c/certs/$ca.pem" 2>"$work/sys.err")
        sys_rc=$?
        ours=$(LD_LIBRARY_PATH=target/libssl timeout 20 "$cbin" "$port" "examples-c/certs/$ca.pem" 2>"$work/ours.err")
        ours_rc=$?
        set -e
        if [ "$ca" = ca ]; then
            want="version: TLSv1.${ver#tls1_}"
            [ "$sys_rc" = 0 ] && grep -qx "first line: HTTP/1.0 200 ok" <<<"$sys" && grep -qx "$want" <<<"$sys" \
                || fail "-$ver: on OpenSSL's libssl (exit $sys_rc): $sys $(cat "$work/sys.err")"
        else
            [ "$sys_rc" = 1 ] && grep -qx "connect failed: SSL_get_error 1, reason 134" <<<"$sys" \
                || fail "-$ver, wrong CA: on OpenSSL's libssl (exit $sys_rc): $sys $(cat "$work/sys.err")"
            grep -q "ferrotls-openssl" "$work/ours.err" || fail "-$ver, wrong CA: our error detail is not on the queue: $(cat "$work/ours.err")"
        fi
        [ "$ours_rc" = "$sys_rc" ] && [ "$ours" = "$sys" ] \
            || fail "-$ver, CA $ca: ours (exit $ours_rc) differs from OpenSSL's (exit $sys_rc):
--- OpenSSL's:
$sys
--- ours:
$ours
$(cat "$work/ours.err")"
        echo "ok    client.c against s_server -$ver, CA $ca.pem: the same on both libraries: $(tr '\n' ';' <<<"$ours")"
    done
    kill "$server_pid"
    wait "$server_pid" 2>/dev/null || true
    server_pid=
done
# SSL_CIPHER objects (names, versions, bits, NIDs, descriptions) for each of our suites: the
# same bytes on both libraries.
kbin=$(mktemp)
# shellcheck disable=SC2046
cc -O1 -Wall -Werror -o "$kbin" tests/libssl/ciphers.c $(pkg-config --cflags --libs openssl)
sys=$("$kbin") || fail "ciphers.c on OpenSSL's libssl: $sys"
ours=$(LD_LIBRARY_PATH=target/libssl "$kbin") || fail "ciphers.c on ours: $ours"
[ "$sys" = "$ours" ] || fail "ciphers.c differs: $(diff <(echo "$sys") <(echo "$ours") | head -20)"
rm -f "$kbin"
echo "ok    ciphers.c: the same $(wc -l <<<"$ours") lines on both libraries (SSL_CIPHER_* for each suite)"

# The C test programs on both libraries (identical output), and Debian's programs on ours
# against peers on real OpenSSL.
bash tests/libssl/programs_c.sh || fail "tests/libssl/programs_c.sh"
LIBSSL_DIR=target/libssl bash tests/libssl/programs.sh || fail "tests/libssl/programs.sh"
# Debian's servers on ours: nginx, stunnel, HAProxy (issue 19).
LIBSSL_DIR=target/libssl bash tests/libssl/servers.sh || fail "tests/libssl/servers.sh"
# Python's ssl module on ours (Debian's python3): urllib, http.client, asyncio, MemoryBIO;
# then CPython's own test_ssl on both libraries, every difference a known one.
LIBSSL_DIR=target/libssl bash tests/libssl/python.sh || fail "tests/libssl/python.sh"
bash tests/libssl/python_test_ssl.sh || fail "tests/libssl/python_test_ssl.sh"
if [ -f scripts/libssl-matrix.sh ]; then
    bash scripts/libssl-matrix.sh --check || fail "docs/libssl-support.md is stale: run bash scripts/libssl-matrix.sh"
    echo "ok    docs/libssl-support.md matches what src/ implements"
fi
echo "libssl: all checks passed"
