#!/usr/bin/env bash
# The C test programs of tests/libssl/ (server.c, nonblock.c, biopair.c, sessions.c, verify.c,
# alpn.c, errors.c; helpers in common.h), built against the system OpenSSL headers. Each case
# runs once on OpenSSL's libssl and once on ours (LD_LIBRARY_PATH=target/libssl, when
# target/libssl/libssl.so.3 exists) and must print byte-identical stdout with the same exit
# code; on OpenSSL's libssl each case must also exit as expected and print a line it must print
# (so that a broken test cannot pass by failing the same way on both). Peers are always real
# OpenSSL: `openssl s_server`/`s_client`, and the programs themselves run without
# LD_LIBRARY_PATH where they serve as a peer.
#   LIBSSL_ONLY_SYSTEM=1  run only the OpenSSL side
#   LIBSSL_VALGRIND=1     run our side under valgrind (definite leaks and errors fail a case)
#   LIBSSL_SHOW=1         print each passing case's output too
#   LIBSSL_CASES=REGEX    run only the cases whose name matches (grep -E), e.g. '^biopair'
#   LIBSSL_DIR=DIR        "ours" is DIR/libssl.so.3 instead of target/libssl/libssl.so.3 (a
#                         directory with a link to the system's libssl.so.3 tests the harness:
#                         every case must then pass, under valgrind too)
# Prints "ok    NAME: ..." or "FAIL: NAME: ..." (with both outputs) per case, runs all cases,
# and exits 1 if any failed. Private keys made for a case live in a temporary directory.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
LIBDIR=${LIBSSL_DIR:-$ROOT/target/libssl}
LIB=$LIBDIR/libssl.so.3
CERTS=examples-c/certs
SRC=tests/libssl

work=$(mktemp -d)
bin=$work/bin
pki=$work/pki
mkdir -p "$bin" "$pki" "$work/empty"
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT

sides=(sys)
if [ "${LIBSSL_ONLY_SYSTEM:-0}" != 1 ]; then
    if [ -f "$LIB" ]; then
        sides+=(ours)
    else
        echo "note: $LIB is missing (make libssl): running OpenSSL's side only"
    fi
fi
T=20     # seconds for a program or a peer on OpenSSL's libssl
T_OURS=20
vg=()
if [ "${LIBSSL_VALGRIND:-0}" = 1 ]; then
    # tests/c/valgrind.supp: the one known Memcheck false positive in ring's AES-GCM assembly.
    vg=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --num-callers=12
        "--suppressions=$SRC/../c/valgrind.supp" "--suppressions=$SRC/valgrind.supp" ${LIBSSL_VALGRIND_ARGS:-})
    T_OURS=180
fi

# The openssl command, always on OpenSSL's libssl.
T_PEER=$T
[ "${#vg[@]}" -gt 0 ] && T_PEER=$T_OURS
ossl() { env -u LD_LIBRARY_PATH timeout "$T_PEER" openssl "$@"; }

# LIBSSL_ASAN=1: the programs under AddressSanitizer, UBSan and LeakSanitizer, so a use of
# memory across the boundary that is wrong on either side (a double free of an object we hand
# out, a read past a buffer we fill, a leak) fails its case.
san=()
if [ "${LIBSSL_ASAN:-0}" = 1 ]; then
    san=(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=98
    export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
fi
for p in server nonblock biopair sessions verify alpn errors tickets; do
    # shellcheck disable=SC2046
    cc -O1 -g -Wall -Werror ${san[@]+"${san[@]}"} -o "$bin/$p" "$SRC/$p.c" $(pkg-config --cflags --libs openssl) \
        || { echo "FAIL: programs_c: $SRC/$p.c does not build"; exit 1; }
done

# Test PKI made at test time, signed by the demo CA (whose key is public, committed):
# an expired leaf for localhost, a leaf for wrong.example, and an unrelated CA with a client
# certificate of its own.
mkpki() {
    local q=(-batch -notext) ext=$pki/ext.cnf
    cat >"$ext" <<'EOF'
[server]
basicConstraints = critical,CA:FALSE
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
[wrong]
basicConstraints = critical,CA:FALSE
extendedKeyUsage = serverAuth
subjectAltName = DNS:wrong.example
[client]
basicConstraints = critical,CA:FALSE
extendedKeyUsage = clientAuth
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
EOF
    cat >"$pki/ca.cnf" <<EOF
[ca]
default_ca = demo
[demo]
database = $pki/index.txt
new_certs_dir = $pki
serial = $pki/serial
default_md = sha256
policy = any
unique_subject = no
[any]
organizationName = optional
commonName = supplied
EOF
    : >"$pki/index.txt"
    echo 1000 >"$pki/serial"
    local k
    for k in expired wrong rogue-ca rogue-client; do
        ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$pki/$k.key" || return 1
    done
    ossl req -new -key "$pki/expired.key" -subj "/O=ferrotls demo/CN=localhost" -out "$pki/expired.csr" &&
        ossl ca "${q[@]}" -config "$pki/ca.cnf" -cert $CERTS/ca.pem -keyfile $CERTS/ca.key \
            -startdate 20200101000000Z -enddate 20210101000000Z -extfile "$ext" -extensions server \
            -in "$pki/expired.csr" -out "$pki/expired.pem" 2>"$pki/ca.err" &&
        ossl req -new -key "$pki/wrong.key" -subj "/O=ferrotls demo/CN=wrong.example" |
        ossl x509 -req -CA $CERTS/ca.pem -CAkey $CERTS/ca.key -set_serial 2000 -days 30 \
            -extfile "$ext" -extensions wrong -out "$pki/wrong.pem" 2>>"$pki/ca.err" &&
        ossl req -new -x509 -key "$pki/rogue-ca.key" -subj "/O=rogue/CN=rogue CA" -days 30 \
            -extensions ca -config "$ext" -out "$pki/rogue-ca.pem" 2>>"$pki/ca.err" &&
        ossl req -new -key "$pki/rogue-client.key" -subj "/O=rogue/CN=rogue-client" |
        ossl x509 -req -CA "$pki/rogue-ca.pem" -CAkey "$pki/rogue-ca.key" -set_serial 3000 -days 30 \
            -extfile "$ext" -extensions client -out "$pki/rogue-client.pem" 2>>"$pki/ca.err" &&
        cat $CERTS/server.pem $CERTS/ca.pem >"$pki/server-chain.pem"
}
mkpki || { echo "FAIL: programs_c: making the test PKI: $(cat "$pki/ca.err")"; exit 1; }

# prog NAME ARGS...: a test program on the side $SIDE (sys: OpenSSL's libssl; ours).
prog() {
    local name=$1
    shift
    if [ "$SIDE" = ours ]; then
        LD_LIBRARY_PATH=$LIBDIR timeout "$T_OURS" ${vg[@]+"${vg[@]}"} "$bin/$name" "$@"
    else
        env -u LD_LIBRARY_PATH timeout "$T_PEER" "$bin/$name" "$@"
    fi
}

# wait_file FILE PID: until process PID's port file appears (not if PID ends first).
wait_file() {
    local i
    for i in $(seq 1200); do
        [ -s "$1" ] && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

# start_s_server VAR ARGS...: a background `openssl s_server ARGS` on 127.0.0.1:0; its port in VAR.
nserv=0
start_s_server() {
    local var=$1 out i port=
    shift
    nserv=$((nserv + 1))
    out=$work/s_server.$nserv
    env -u LD_LIBRARY_PATH openssl s_server -accept 127.0.0.1:0 "$@" >"$out.out" 2>"$out.err" &
    pids+=($!)
    for i in $(seq 200); do
        port=$(sed -n 's/^ACCEPT 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$out.out" 2>/dev/null)
        [ -n "$port" ] && break
        sleep 0.05
    done
    [ -n "$port" ] || { echo "FAIL: programs_c: openssl s_server $* did not start: $(cat "$out.err")"; exit 1; }
    printf -v "$var" %s "$port"
}

WWW=(-www -cert $CERTS/server.pem -key $CERTS/server.key)
start_s_server S_WWW "${WWW[@]}"
start_s_server S_WWW2 "${WWW[@]}"
start_s_server S_TLS12 "${WWW[@]}" -tls1_2
start_s_server S_CHAIN "${WWW[@]}" -cert_chain $CERTS/ca.pem
start_s_server S_EXPIRED -www -cert "$pki/expired.pem" -key "$pki/expired.key"
start_s_server S_WRONG -www -cert "$pki/wrong.pem" -key "$pki/wrong.key"
start_s_server S_ALPN "${WWW[@]}" -alpn h2,http/1.1

# sclient ARGS...: `openssl s_client` to $port that sends $SIN ("hello" and a newline unless
# set), printing only what does not depend on keys, tickets or ciphers: the certificate
# chain's subjects, the verify result, ALPN, and the data received from our "you said" servers,
# each once (a TLS 1.3 session ticket repeats some, indented: how many tickets is not compared).
sclient() {
    printf "${SIN-hello\\n}" | ossl s_client -connect "127.0.0.1:$port" -servername localhost \
        -CAfile $CERTS/ca.pem -verify_return_error -ign_eof -nocommands "$@" 2>>"$work/s_client.$SIDE.err" |
        grep -E '^ *[0-9]+ s:|^ *Verify return code|ALPN|^you said:' | sed 's/^ *//' | awk '!seen[$0]++' |
        sed 's/^/s_client: /'
    return 0
}

# with_server NAME SERVER_ARGS CLIENT...: runs test program NAME as a server with SERVER_ARGS
# (evaluated: quote as in shell; "-p PORTFILE" is added), then each CLIENT (a command line, evaluated with
# $port set) in turn; prints the clients' lines, then the server's stdout; the server's exit code.
with_server() {
    local name=$1 sargs=$2 pf spid rc c
    shift 2
    pf=$work/port.$SIDE.$RANDOM
    eval "prog \"\$name\" $sargs -p \"\$pf\"" >"$pf.out" 2>"$pf.err" &
    spid=$!
    wait_file "$pf" "$spid" || { echo "server did not start"; kill "$spid" 2>/dev/null; cat "$pf.out" "$pf.err"; return 3; }
    port=$(cat "$pf")
    for c in "$@"; do eval "$c"; done
    wait "$spid"
    rc=$?
    cat "$pf.out"
    cat "$pf.err" >&2
    return "$rc"
}

# with_peer PEER_ARGS COMMAND...: server.c on OpenSSL's libssl with PEER_ARGS (evaluated:
# quote as in shell) as the peer of COMMAND (e.g. prog errors ...), in which a word PORT is
# replaced by the peer's port; the command's exit code.
with_peer() {
    local sargs=$1 pf spid rc w a=()
    shift
    pf=$work/peer.$SIDE.$RANDOM
    eval "SIDE=sys prog server $sargs -p \"\$pf\"" >"$pf.out" 2>"$pf.err" &
    spid=$!
    wait_file "$pf" "$spid" || { echo "peer did not start"; kill "$spid" 2>/dev/null; cat "$pf.err"; return 3; }
    port=$(cat "$pf")
    for w in "$@"; do
        [ "$w" = PORT ] && w=$port
        a+=("$w")
    done
    "${a[@]}"
    rc=$?
    kill "$spid" 2>/dev/null
    wait "$spid" 2>/dev/null
    return "$rc"
}

failures=0
cases=0
# check NAME WANT_RC WANT_REGEX COMMAND...: COMMAND (a shell function or prog ...) on each side.
check() {
    local name=$1 want_rc=$2 want_re=$3 side sys_out sys_rc out rc
    shift 3
    if [ -n "${LIBSSL_CASES:-}" ] && ! grep -Eq -- "$LIBSSL_CASES" <<<"$name"; then
        return 0
    fi
    cases=$((cases + 1))
    for side in "${sides[@]}"; do
        out=$(SIDE=$side "$@" 2>"$work/$side.err")
        rc=$?
        if [ "$side" = sys ]; then
            sys_out=$out
            sys_rc=$rc
            if [ "$rc" != "$want_rc" ] || ! grep -Eq -- "$want_re" <<<"$out"; then
                failures=$((failures + 1))
                printf 'FAIL: %s: on OpenSSL'\''s libssl: exit %s (want %s), want a line matching /%s/:\n%s\n--- stderr:\n%s\n' \
                    "$name" "$rc" "$want_rc" "$want_re" "$out" "$(tail -n 30 "$work/sys.err")"
                return
            fi
        elif [ "$rc" != "$sys_rc" ] || [ "$out" != "$sys_out" ]; then
            failures=$((failures + 1))
            local d=$(diff <(echo "$sys_out") <(echo "$out") | head -n 60) e
            [ -n "$d" ] || d="(stdout identical)"
            if [ "$rc" = 99 ] && [ "${#vg[@]}" -gt 0 ]; then
                # valgrind's findings (-q: errors only): the first lines of each
                e=$(grep -A5 -E '^==[0-9]+== (Invalid|Conditional|Use of|Syscall|Mismatched|Source and|Argument|[0-9,]+ bytes in [0-9,]+ blocks are definitely)' \
                    "$work/ours.err" | head -n 40)
            else
                e=$(tail -n 30 "$work/ours.err")
            fi
            printf 'FAIL: %s: ours (exit %s) differs from OpenSSL'\''s (exit %s):\n--- diff (OpenSSL'\''s, ours):\n%s\n--- ours, stderr:\n%s\n' \
                "$name" "$rc" "$sys_rc" "$d" "$e"
            return
        fi
    done
    printf 'ok    %s (exit %s, %s lines): %s\n' "$name" "$sys_rc" "$(wc -l <<<"$sys_out")" \
        "$(grep -Em1 -- "$want_re" <<<"$sys_out")"
    [ "${LIBSSL_SHOW:-0}" = 1 ] && sed 's/^/      | /' <<<"$sys_out"
    return 0
}

# differs NAME WANT_RC WANT_REGEX OURS_RC OURS_REGEX WHY COMMAND...: a documented difference
# (README, "What differs from OpenSSL"): OpenSSL's side as in `check`, ours must exit OURS_RC
# and print a line matching OURS_REGEX instead of OpenSSL's output.
differs() {
    local name=$1 want_rc=$2 want_re=$3 ours_rc=$4 ours_re=$5 why=$6 side out rc
    shift 6
    if [ -n "${LIBSSL_CASES:-}" ] && ! grep -Eq -- "$LIBSSL_CASES" <<<"$name"; then
        return 0
    fi
    cases=$((cases + 1))
    for side in "${sides[@]}"; do
        out=$(SIDE=$side "$@" 2>"$work/$side.err")
        rc=$?
        local w_rc=$want_rc w_re=$want_re
        [ "$side" = ours ] && w_rc=$ours_rc && w_re=$ours_re
        if [ "$rc" != "$w_rc" ] || ! grep -Eq -- "$w_re" <<<"$out"; then
            failures=$((failures + 1))
            printf 'FAIL: %s: on %s: exit %s (want %s), want a line matching /%s/:\n%s\n--- stderr:\n%s\n' \
                "$name" "$side" "$rc" "$w_rc" "$w_re" "$out" "$(tail -n 30 "$work/$side.err")"
            return
        fi
    done
    printf 'ok    %s (a documented difference: %s)\n' "$name" "$why"
    return 0
}

ca=$CERTS/ca.pem
other=$CERTS/other-ca.pem
cc_mtls="-cert $CERTS/client.pem -key $CERTS/client.key"

# 1. server.c: a blocking server, `openssl s_client` as the client.
check "server: TLS 1.3 and TLS 1.2 clients" 0 '^conn 2: accepted, TLSv1\.2' \
    with_server server "-n 2" "sclient -tls1_3" "sclient -tls1_2"
check "server: max TLS 1.2, clients TLS 1.2 then TLS 1.3 only" 1 '^conn 2: SSL_accept failed' \
    with_server server "-n 2 -max tls1_2" "sclient -tls1_2" "sclient -tls1_3"
check "server: min TLS 1.3, clients TLS 1.2 only then any" 1 '^conn 2: accepted, TLSv1\.3' \
    with_server server "-n 2 -min tls1_3" "sclient -tls1_2" "sclient"
check "server: RSA certificate, TLS 1.3 and TLS 1.2" 0 '^conn 2: accepted, TLSv1\.2' \
    with_server server "-n 2 -cert $CERTS/server-rsa.pem -key $CERTS/server-rsa.key" "sclient -tls1_3" "sclient -tls1_2"
check "server: a chain file (leaf and CA) is sent whole" 0 '^s_client: 1 s:O = ferrotls demo, CN = ferrotls demo CA' \
    with_server server "-n 1 -cert $pki/server-chain.pem" "sclient"
check "server: client certificates required (ok 1.3, ok 1.2, none 1.3, none 1.2, unknown CA)" 1 \
    '^conn 1: peer certificate /O=ferrotls demo/CN=demo-client, verify result 0' \
    with_server server "-n 5 -verify $ca" "sclient -tls1_3 $cc_mtls" "sclient -tls1_2 $cc_mtls" \
    "sclient -tls1_3" "sclient -tls1_2" "sclient -cert $pki/rogue-client.pem -key $pki/rogue-client.key"

# 2. nonblock.c against s_server -www.
for v in tls1_3 tls1_2; do
    check "nonblock: $v" 0 '^saw WANT_READ: yes' prog nonblock "$S_WWW" $ca $v
done

# 3b. tickets.c: tickets under the program's keys (SSL_CTX_set_tlsext_ticket_key_evp_cb).
for v in tls1_2 tls1_3; do
    check "tickets: $v, the program's ticket keys" 0 '^renewal asked: TLSv1\.[23], client reused 1, server reused 1' \
        prog tickets $v
done

# 3. biopair.c: both ends in one process.
for v in tls1_3 tls1_2; do
    check "biopair: $v" 0 '^client: TLSv1\.[23], init finished 1, session reused 1' prog biopair $v
    differs "biopair: $v, client certificate, no session id context" 1 'reason 277$' 0 \
        '^server: TLSv1\.[23], init finished 1, session reused 1' \
        "OpenSSL fails the resumption (277); ferrotls resumes, since its sessions never leave the context that made them" \
        prog biopair $v mtls
    check "biopair: $v, client certificate and a session id context" 0 \
        '^server: TLSv1\.[23], init finished 1, session reused 1, peer /O=ferrotls demo/CN=demo-client' \
        prog biopair $v mtls-sidctx
done

# 4. sessions.c against s_server -www (S_WWW2 never saw the session).
for v in tls1_3 tls1_2; do
    check "sessions: $v" 0 'connected: TLSv1\.[23], session reused 1' prog sessions $v "$S_WWW" "$S_WWW2" $ca
done

# 5. verify.c.
with_cert_file() { # FILE COMMAND...: COMMAND with SSL_CERT_FILE=FILE and an empty SSL_CERT_DIR
    local f=$1
    shift
    SSL_CERT_FILE=$f SSL_CERT_DIR=$work/empty "$@"
}
check "verify: right CA" 0 '^SSL_connect: 1' prog verify cb "$S_WWW" $ca
check "verify: right CA, TLS 1.2" 0 '^SSL_connect: 1' prog verify cb "$S_TLS12" $ca
check "verify: right CA, the server sends the chain" 0 '^SSL_get_peer_cert_chain: 2' prog verify cb "$S_CHAIN" $ca
check "verify: unknown CA" 1 '^SSL_get_verify_result: 20 ' prog verify cb "$S_WWW" $other
check "verify: unknown CA, the server sends the chain" 1 '^SSL_get_verify_result: 19 ' prog verify cb "$S_CHAIN" $other
check "verify: unknown CA, the callback overrides" 0 '^SSL_get_verify_result: 21 ' prog verify override "$S_WWW" $other
check "verify: unknown CA, SSL_VERIFY_NONE" 0 '^SSL_get_verify_result: 20 ' prog verify none "$S_WWW" $other
check "verify: SSL_set1_host(localhost)" 0 '^SSL_get0_peername: localhost' prog verify cb "$S_WWW" $ca localhost
check "verify: SSL_set1_host(wrong.example)" 1 '^SSL_get_verify_result: 62 ' prog verify cb "$S_WWW" $ca wrong.example
check "verify: SSL_set1_host(wrong.example), the callback overrides" 0 '^SSL_get_verify_result: 62 ' \
    prog verify override "$S_WWW" $ca wrong.example
check "verify: a certificate for wrong.example, no SSL_set1_host: no name check" 0 '^SSL_get_verify_result: 0 ' \
    prog verify cb "$S_WRONG" $ca
check "verify: a certificate for wrong.example, SSL_set1_host(localhost)" 1 '^SSL_get_verify_result: 62 ' \
    prog verify cb "$S_WRONG" $ca localhost
check "verify: an expired certificate" 1 '^SSL_get_verify_result: 10 ' prog verify cb "$S_EXPIRED" $ca
check "verify: an expired certificate, the callback overrides" 0 '^SSL_get_verify_result: 10 ' \
    prog verify override "$S_EXPIRED" $ca
check "verify: trust by X509_STORE_add_cert" 0 '^X509_STORE_add_cert: 1' prog verify store "$S_WWW" $ca
check "verify: X509_STORE_add_cert of the wrong CA" 1 '^SSL_get_verify_result: 20 ' prog verify store "$S_WWW" $other
check "verify: SSL_CTX_set_default_verify_paths, SSL_CERT_FILE=ca.pem" 0 '^SSL_connect: 1' \
    with_cert_file $ca prog verify default "$S_WWW" -
check "verify: SSL_CTX_set_default_verify_paths, SSL_CERT_FILE=other-ca.pem" 1 '^SSL_get_verify_result: 20 ' \
    with_cert_file $other prog verify default "$S_WWW" -

# 6. alpn.c: as a client against s_server -alpn h2,http/1.1 (and without ALPN), and as a server.
for protos in h2,http/1.1 http/1.1,h2 http/1.1 foo,http/1.1 -; do
    check "alpn: client offers $protos" 0 '^client: SSL_get0_alpn_selected' prog alpn client "$S_ALPN" $ca "$protos"
done
check "alpn: client offers foo, no overlap" 1 '^SSL_connect failed' prog alpn client "$S_ALPN" $ca foo
check "alpn: client offers h2, server without ALPN" 0 '^client: SSL_get0_alpn_selected: \(none\)' \
    prog alpn client "$S_WWW" $ca h2
check "alpn: server h2,http/1.1, s_client http/1.1,h2" 0 '^server: SSL_get0_alpn_selected: h2' \
    with_server alpn "server h2,http/1.1 noack" "SIN= sclient -no_ign_eof -alpn http/1.1,h2"
check "alpn: server h2, s_client http/1.1: NOACK" 0 '^server: SSL_get0_alpn_selected: \(none\)' \
    with_server alpn "server h2 noack" "SIN= sclient -no_ign_eof -alpn http/1.1"
check "alpn: server h2, s_client http/1.1: ALERT_FATAL" 1 '^SSL_accept failed' \
    with_server alpn "server h2 fatal" "SIN= sclient -no_ign_eof -alpn http/1.1"
check "alpn: server h2, s_client without ALPN" 0 '^server: SSL_get0_alpn_selected: \(none\)' \
    with_server alpn "server h2 fatal" "SIN= sclient -no_ign_eof"

# 7. errors.c.
check "errors: files, keys, cipher strings, version bounds" 0 '^SSL_CTX_set_cipher_list\(kRSA-no-such\): 0, .* reason 185' \
    prog errors files
check "errors: min TLS 1.0 against a TLS 1.2+ server; SSL_write after SSL_shutdown" 0 \
    '^SSL_write after SSL_shutdown: -1, SSL_get_error 1, reason 207' prog errors connect "$S_WWW" $ca tls1 any
why11="OpenSSL sends a ClientHello it cannot complete and reports the peer's alert; ferrotls speaks no version below TLS 1.2 and fails before sending, with SSL_R_NO_PROTOCOLS_AVAILABLE (191)"
differs "errors: max TLS 1.1 against a TLS 1.2+ server" 1 '^SSL_connect failed: -1, SSL_get_error 1, reason 1080$' \
    1 '^SSL_connect failed: -1, SSL_get_error 1, reason 191$' "$why11" prog errors connect "$S_WWW" $ca any tls1_1
differs "errors: max TLS 1.1 at security level 0 against a TLS 1.2 server" 1 \
    '^SSL_connect failed: -1, SSL_get_error 1, reason 1070$' 1 '^SSL_connect failed: -1, SSL_get_error 1, reason 191$' \
    "$why11" prog errors connect "$S_TLS12" $ca any tls1_1 'DEFAULT@SECLEVEL=0'
check "errors: min TLS 1.3 against a TLS 1.2 server" 1 '^SSL_connect failed: -1, SSL_get_error 1, reason 1070$' prog errors connect "$S_TLS12" $ca tls1_3 any
check "errors: a plain-text server" 1 '^SSL_connect failed: -1, SSL_get_error 1, reason 267$' \
    with_peer "-plain 'HTTP/1.0 400 Bad Request'" prog errors connect PORT $ca any any
check "errors: the server closes at once" 1 '^SSL_connect failed: -1, SSL_get_error 1, reason 294$' \
    with_peer "-plain ''" prog errors connect PORT $ca any any
check "errors: close_notify: SSL_ERROR_ZERO_RETURN" 0 '^read ended: 0, SSL_get_error 6' \
    prog errors read "$S_WWW" $ca strict "GET / HTTP/1.0"
check "errors: EOF without close_notify: SSL_R_UNEXPECTED_EOF_WHILE_READING" 0 \
    '^  queue: 0, first error lib 20 reason 294' \
    with_peer "-noshutdown" prog errors read PORT $ca strict hello
check "errors: EOF without close_notify, SSL_OP_IGNORE_UNEXPECTED_EOF" 0 '^read ended: 0, SSL_get_error 6' \
    with_peer "-noshutdown" prog errors read PORT $ca ignore-eof hello

if [ "$failures" -gt 0 ]; then
    echo "programs_c: $failures of $cases cases FAILED"
    exit 1
fi
echo "programs_c: all $cases cases passed (${sides[*]})"
