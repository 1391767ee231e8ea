#!/usr/bin/env bash
# Debian's own programs, unmodified, on the libssl under test, against peers on the real OpenSSL:
# openssl s_client and s_server, curl (libcurl), socat, and psql (libpq) against PostgreSQL.
#
#   LIBSSL_DIR= bash tests/libssl/programs.sh                 # the oracle: everything on Debian's libssl
#   LIBSSL_DIR=target/libssl bash tests/libssl/programs.sh    # the programs under test on ours
#
# The program under test gets LD_LIBRARY_PATH=$LIBSSL_DIR; every process, under test or peer, runs
# with LD_DEBUG=libs into a log of its own, and each case requires that the program under test
# initialised exactly $LIBSSL_DIR/libssl.so.3 (and not Debian's) and the peer exactly Debian's;
# servers are checked in /proc/PID/maps too. Every case prints "ok    ..." or "FAIL: ..." with
# its evidence; all cases run, and the script exits 1 if any failed.
T=30 # timeout of every client command, seconds
# shellcheck source=SCRIPTDIR/harness.sh
. "$(dirname "$0")/harness.sh"
echo "$BANNER"
chmod 711 "$work" # PostgreSQL's user reaches its own folder inside
pg_user=

GET=$'GET / HTTP/1.0\r\n\r\n'
CLIENT_VERIFY=(-CAfile "$CERTS/ca.pem" -verify_return_error -verify_hostname localhost -servername localhost)

# ===== openssl s_client (under test) against openssl s_server on Debian's libssl ===============
ACCEPT_RE='^ACCEPT 127\.0\.0\.1:\([0-9][0-9]*\)$'
SERVE=(openssl s_server -www -accept 127.0.0.1:0 -cert "$CERTS/server.pem" -key "$CERTS/server.key")
start_server sys srv_www "$ACCEPT_RE" "${SERVE[@]}"
WWW_PORT=$PORT WWW_BAD=$SLIB
start_server sys srv_alpn "$ACCEPT_RE" "${SERVE[@]}" -alpn h2
ALPN_PORT=$PORT ALPN_BAD=$SLIB
start_server sys srv_auth "$ACCEPT_RE" "${SERVE[@]}" -Verify 1 -CAfile "$CERTS/ca.pem"
AUTH_PORT=$PORT AUTH_BAD=$SLIB

# s_client TAG PORT ARGS...: the GET line into s_client under test, output in TAG.out/.err.
s_client() {
    local tag=$1 port=$2
    shift 2
    printf '%s' "$GET" | run ut "$tag" openssl s_client -connect "127.0.0.1:$port" "$@" >"$work/$tag.out" 2>"$work/$tag.err"
    rc=$?
    # s_client's own report, and the page (-www prints the session as the server saw it)
    sed '/^HTTP\/1\.0 /,$d' "$work/$tag.out" >"$work/$tag.head"
    sed -n '/^HTTP\/1\.0 /,$p' "$work/$tag.out" >"$work/$tag.page"
    show "$work/$tag.out" "$work/$tag.err"
}

for v in 2 3; do
    begin "s_client -tls1_$v -CAfile ca.pem -verify_return_error against s_server -www"
    need_server "$WWW_BAD"
    s_client sc_tls1$v "$WWW_PORT" -tls1_$v "${CLIENT_VERIFY[@]}" -ign_eof
    need_rc 0
    need_grep "$work/sc_tls1$v.head" '^ *Verify return code: 0 \(ok\)$'
    need_grep "$work/sc_tls1$v.head" "^New, TLSv1\.$v, Cipher is "
    need_grep "$work/sc_tls1$v.page" '^HTTP/1\.0 200 ok'
    need_grep "$work/sc_tls1$v.page" "Protocol  : TLSv1\.$v\$"
    need_lib ut sc_tls1$v
    need_lib sys srv_www
    finish
done

begin "s_client -CAfile other-ca.pem -verify_return_error (unknown CA) fails"
need_server "$WWW_BAD"
before=$(count_of "$work/srv_www.err" 'alert unknown ca')
s_client sc_badca "$WWW_PORT" -CAfile "$CERTS/other-ca.pem" -verify_return_error -servername localhost -ign_eof
[ "$rc" = 1 ] || need "$(rc_text), want 1 (OpenSSL's s_client exits 1 on a failed handshake)"
evidence+=("exit $rc")
need_grep "$work/sc_badca.err" '^verify error:num=20:'
need_grep "$work/sc_badca.out" '^ *Verify return code: 20 '
need_nogrep "$work/sc_badca.out" '^HTTP/1\.0 200'
need_peer_log "$work/srv_www.err" 'alert unknown ca' "$before"
need_lib ut sc_badca
finish

for v in 2 3; do
    begin "s_client -tls1_$v -sess_out, then -sess_in: the session is resumed"
    need_server "$WWW_BAD"
    s_client sc_sess1$v "$WWW_PORT" -tls1_$v "${CLIENT_VERIFY[@]}" -ign_eof -sess_out "$work/sess1$v.pem"
    need_rc 0
    need_grep "$work/sc_sess1$v.head" "^New, TLSv1\.$v, "
    [ -s "$work/sess1$v.pem" ] || need "-sess_out wrote no session"
    need_lib ut sc_sess1$v
    s_client sc_resume1$v "$WWW_PORT" -tls1_$v "${CLIENT_VERIFY[@]}" -ign_eof -sess_in "$work/sess1$v.pem"
    need_rc 0
    need_grep "$work/sc_resume1$v.head" "^Reused, TLSv1\.$v, Cipher is "
    need_grep "$work/sc_resume1$v.out" '^HTTP/1\.0 200 ok'
    need_lib ut sc_resume1$v
    finish
done

begin "s_client -alpn h2 against s_server -alpn h2"
need_server "$ALPN_BAD"
s_client sc_alpn "$ALPN_PORT" "${CLIENT_VERIFY[@]}" -alpn h2 -ign_eof
need_rc 0
need_grep "$work/sc_alpn.head" '^ALPN protocol: h2$'
need_grep "$work/sc_alpn.out" '^HTTP/1\.0 200 ok'
need_lib ut sc_alpn
need_lib sys srv_alpn
finish

for v in 2 3; do
    begin "s_client -tls1_$v -cert client.pem -key client.key -quiet against s_server -Verify 1 -CAfile ca.pem"
    need_server "$AUTH_BAD"
    s_client sc_auth1$v "$AUTH_PORT" -tls1_$v "${CLIENT_VERIFY[@]}" -cert "$CERTS/client.pem" -key "$CERTS/client.key" -quiet
    need_rc 0
    need_grep "$work/sc_auth1$v.out" '^HTTP/1\.0 200 ok'
    need_grep "$work/sc_auth1$v.page" "Protocol  : TLSv1\.$v\$"
    need_grep "$work/sc_auth1$v.out" '^Client certificate$'
    need_grep "$work/sc_auth1$v.out" 'Subject: O=ferrotls demo, CN=demo-client$'
    need_lib ut sc_auth1$v
    need_lib sys srv_auth
    finish
done

begin "s_client without a certificate against s_server -Verify 1 fails"
need_server "$AUTH_BAD"
before=$(count_of "$work/srv_auth.err" 'peer did not return a certificate')
s_client sc_noauth "$AUTH_PORT" "${CLIENT_VERIFY[@]}" -quiet
need_fail
evidence+=("exit $rc")
need_nogrep "$work/sc_noauth.out" '^HTTP/1\.0 200'
need_peer_log "$work/srv_auth.err" 'peer did not return a certificate' "$before"
need_lib ut sc_noauth
finish

begin "s_client -msg shows the handshake messages"
need_server "$WWW_BAD"
s_client sc_msg "$WWW_PORT" "${CLIENT_VERIFY[@]}" -msg -ign_eof
need_rc 0
need_grep "$work/sc_msg.out" '^>>> .*, ClientHello$'
need_grep "$work/sc_msg.out" '^<<< .*, ServerHello$'
need_grep "$work/sc_msg.out" '^<<< .*, Finished$'
need_grep "$work/sc_msg.out" '^HTTP/1\.0 200 ok'
need_lib ut sc_msg
finish

begin "s_client -state -keylogfile: the info callback and the key log"
need_server "$WWW_BAD"
rm -f "$work/keylog.txt"
s_client sc_state "$WWW_PORT" "${CLIENT_VERIFY[@]}" -tls1_3 -state -keylogfile "$work/keylog.txt" -ign_eof
need_rc 0
# The info callback's loop events (s_client prints them as SSL_connect:<state>); both
# libraries name the state in their own words, so only the event is required.
need_grep "$work/sc_state.err" '^SSL_connect:'
need_grep "$work/sc_state.out" '^HTTP/1\.0 200 ok'
# The key log callback: the TLS 1.3 secrets in NSS's format, for this connection's random.
for label in CLIENT_HANDSHAKE_TRAFFIC_SECRET SERVER_HANDSHAKE_TRAFFIC_SECRET CLIENT_TRAFFIC_SECRET_0 SERVER_TRAFFIC_SECRET_0; do
    need_grep "$work/keylog.txt" "^$label [0-9a-f]{64} [0-9a-f]{64,96}\$"
done
evidence+=("$(grep -c '^[A-Z]' "$work/keylog.txt") key log lines")
need_lib ut sc_state
finish

# ===== openssl s_server -www (under test), fetched by curl on Debian's libssl ===================
start_server ut ut_www "$ACCEPT_RE" "${SERVE[@]}"
UTWWW_PORT=$PORT UTWWW_BAD=$SLIB
for v in 2 3; do
    begin "s_server -www fetched by curl --tlsv1.$v --tls-max 1.$v --cacert ca.pem (curl on Debian's libssl)"
    need_server "$UTWWW_BAD"
    [ -n "${SERVER_EVIDENCE[ut_www]:-}" ] && evidence+=("${SERVER_EVIDENCE[ut_www]}")
    if [ -n "$UTWWW_PORT" ]; then
        run sys curl_utwww1$v curl -sS --tlsv1.$v --tls-max 1.$v --cacert "$CERTS/ca.pem" \
            --resolve "localhost:$UTWWW_PORT:127.0.0.1" -o "$work/curl_utwww1$v.out" \
            "https://localhost:$UTWWW_PORT/" 2>"$work/curl_utwww1$v.err"
        rc=$?
        show "$work/curl_utwww1$v.out" "$work/curl_utwww1$v.err"
        need_rc 0
        need_grep "$work/curl_utwww1$v.out" '^s_server -www '
        need_grep "$work/curl_utwww1$v.out" "Protocol  : TLSv1\.$v\$"
        need_lib sys curl_utwww1$v
    fi
    show "$work/ut_www.err"
    need_lib ut ut_www
    finish
done

# ===== openssl s_server -servername -cert2 (under test): its servername callback picks the =====
# certificate: a second SSL_CTX with an RSA leaf for rsa.localhost (made here, signed by the demo
# CA), the first (EC, localhost) otherwise; s_client on Debian's libssl asks for each name.
openssl req -new -newkey rsa:2048 -nodes -keyout "$work/rsa.key" -subj /CN=rsa.localhost \
    -out "$work/rsa.csr" 2>/dev/null
printf 'subjectAltName=DNS:rsa.localhost\n' >"$work/rsa.ext"
openssl x509 -req -in "$work/rsa.csr" -CA "$CERTS/ca.pem" -CAkey "$CERTS/ca.key" -CAcreateserial \
    -CAserial "$work/ca.srl" -days 2 -extfile "$work/rsa.ext" -out "$work/rsa.pem" 2>/dev/null
start_server ut ut_sni "$ACCEPT_RE" "${SERVE[@]}" -servername rsa.localhost \
    -cert2 "$work/rsa.pem" -key2 "$work/rsa.key"
UTSNI_PORT=$PORT UTSNI_BAD=$SLIB
for name in rsa.localhost localhost; do
    begin "s_server -servername rsa.localhost -cert2: SNI $name gets its own certificate"
    need_server "$UTSNI_BAD"
    if [ -n "$UTSNI_PORT" ]; then
        printf '%s' "$GET" | run sys sc_sni_$name openssl s_client -connect "127.0.0.1:$UTSNI_PORT" \
            -servername "$name" -CAfile "$CERTS/ca.pem" -verify_return_error -verify_hostname "$name" \
            >"$work/sc_sni_$name.out" 2>"$work/sc_sni_$name.err"
        rc=$?
        show "$work/sc_sni_$name.out" "$work/sc_sni_$name.err"
        need_rc 0
        need_grep "$work/sc_sni_$name.out" "^subject=.*CN = $name\$"
        need_grep "$work/sc_sni_$name.out" '^Verify return code: 0 \(ok\)'
        if [ "$name" = rsa.localhost ]; then
            need_grep "$work/sc_sni_$name.out" '^Peer signature type: RSA'
        else
            need_grep "$work/sc_sni_$name.out" '^Peer signature type: ECDSA'
        fi
        need_lib sys sc_sni_$name
    fi
    show "$work/ut_sni.err"
    need_lib ut ut_sni
    finish
done

# ===== curl (under test: libcurl's libssl) against openssl s_server -www on Debian's libssl =====
# curl_ut TAG ARGS... URL-HOST: GET https://HOST:WWW_PORT/ with HOST resolved to 127.0.0.1.
curl_ut() {
    local tag=$1 host=$2
    shift 2
    run ut "$tag" curl -sS "$@" --resolve "$host:$WWW_PORT:127.0.0.1" -o "$work/$tag.out" \
        -w '%{http_code}\n' "https://$host:$WWW_PORT/" >"$work/$tag.code" 2>"$work/$tag.err"
    rc=$?
    show "$work/$tag.out" "$work/$tag.err"
}
for v in 2 3; do
    begin "curl --tlsv1.$v --tls-max 1.$v --cacert ca.pem https://localhost/ against s_server -www"
    need_server "$WWW_BAD"
    curl_ut curl_tls1$v localhost --tlsv1.$v --tls-max 1.$v --cacert "$CERTS/ca.pem"
    need_rc 0
    need_grep "$work/curl_tls1$v.code" '^200$'
    need_grep "$work/curl_tls1$v.out" "Protocol  : TLSv1\.$v\$"
    need_lib ut curl_tls1$v
    finish
done
begin "curl --cacert ca.pem https://wrong.example/ (a certificate for localhost) fails with 60"
need_server "$WWW_BAD"
curl_ut curl_badname wrong.example --cacert "$CERTS/ca.pem"
need_rc 60
need_grep "$work/curl_badname.err" '^curl: \(60\)'
need_lib ut curl_badname
finish
begin "curl --cacert other-ca.pem (unknown CA) fails with 60"
need_server "$WWW_BAD"
before=$(count_of "$work/srv_www.err" 'alert unknown ca')
curl_ut curl_badca localhost --cacert "$CERTS/other-ca.pem"
need_rc 60
need_grep "$work/curl_badca.err" '^curl: \(60\)'
need_peer_log "$work/srv_www.err" 'alert unknown ca' "$before"
need_lib ut curl_badca
finish
begin "curl -k --cacert other-ca.pem (unknown CA, not verified) succeeds"
need_server "$WWW_BAD"
curl_ut curl_insecure localhost -k --cacert "$CERTS/other-ca.pem"
need_rc 0
need_grep "$work/curl_insecure.code" '^200$'
need_grep "$work/curl_insecure.out" '^s_server -www '
need_lib ut curl_insecure
finish

# ===== socat ====================================================================================
SOCAT_RE='.* listening on AF=2 127\.0\.0\.1:\([0-9][0-9]*\)$'
SIZE=$((5 * 1024 * 1024))
head -c "$SIZE" /dev/urandom >"$work/random.bin"
want_sum=$(sha256sum <"$work/random.bin" | awk '{print $1}')
# socat_client SIDE TAG PORT CAFILE: send random.bin through a socat client, TAG.back is the echo.
socat_client() {
    run "$1" "$2" socat -t 10 - "OPENSSL:localhost:$3,cafile=$4" <"$work/random.bin" >"$work/$2.back" 2>"$work/$2.err"
    rc=$?
    show "$work/$2.err"
}
need_echo() {
    local sum
    sum=$(sha256sum <"$work/$1.back" | awk '{print $1}')
    if [ "$sum" = "$want_sum" ]; then
        evidence+=("$(wc -c <"$work/$1.back") bytes back, sha256 ${sum:0:16}… matches")
    else
        need "echo: $(wc -c <"$work/$1.back") bytes, sha256 $sum, want $SIZE bytes, $want_sum"
    fi
}
SOCAT_SERVE=(socat -d -d "OPENSSL-LISTEN:0,bind=127.0.0.1,cert=$CERTS/server.pem,key=$CERTS/server.key,cafile=$CERTS/ca.pem,verify=0,reuseaddr,fork" EXEC:cat)
if command -v socat >/dev/null; then
    start_server ut ut_socat "$SOCAT_RE" "${SOCAT_SERVE[@]}"
    UTSOCAT_PORT=$PORT UTSOCAT_BAD=$SLIB
    start_server sys srv_socat "$SOCAT_RE" "${SOCAT_SERVE[@]}"
    SOCAT_PORT=$PORT SOCAT_BAD=$SLIB

    begin "socat OPENSSL-LISTEN,fork EXEC:cat echoes 5 MiB to a socat client on Debian's libssl"
    need_server "$UTSOCAT_BAD"
    [ -n "${SERVER_EVIDENCE[ut_socat]:-}" ] && evidence+=("${SERVER_EVIDENCE[ut_socat]}")
    if [ -n "$UTSOCAT_PORT" ]; then
        socat_client sys socat_tout "$UTSOCAT_PORT" "$CERTS/ca.pem"
        need_rc 0
        need_echo socat_tout
        need_lib sys socat_tout
    fi
    show "$work/ut_socat.err"
    need_lib ut ut_socat
    finish

    begin "socat client OPENSSL:localhost:PORT,cafile=ca.pem sends 5 MiB through socat on Debian's libssl"
    need_server "$SOCAT_BAD"
    socat_client ut socat_cout "$SOCAT_PORT" "$CERTS/ca.pem"
    need_rc 0
    need_echo socat_cout
    need_lib ut socat_cout
    need_lib sys srv_socat
    finish

    begin "socat client with cafile=other-ca.pem fails with the exit code it has on Debian's libssl"
    need_server "$SOCAT_BAD"
    before=$(count_of "$work/srv_socat.err" 'alert unknown ca')
    socat_client sys socat_badca_sys "$SOCAT_PORT" "$CERTS/other-ca.pem"
    sys_rc=$rc
    need_peer_log "$work/srv_socat.err" 'alert unknown ca' "$before"
    evidence=() # the evidence that counts is the client's under test
    before=$(count_of "$work/srv_socat.err" 'alert unknown ca')
    socat_client ut socat_badca "$SOCAT_PORT" "$CERTS/other-ca.pem"
    [ "$sys_rc" != 0 ] || need "on Debian's libssl the wrong-CA client exited 0"
    need_fail
    [ "$rc" = "$sys_rc" ] || need "exit code $rc, on Debian's libssl $sys_rc"
    evidence+=("exit $rc (Debian's: $sys_rc)")
    need_grep "$work/socat_badca.err" ' E SSL_connect\(\): '
    need_peer_log "$work/srv_socat.err" 'alert unknown ca' "$before"
    need_lib ut socat_badca
    need_lib sys socat_badca_sys
    finish
else
    for c in "socat server under test" "socat client under test" "socat client wrong CA"; do
        begin "$c"
        need "socat is not installed (scripts/install-deps.sh)"
        finish
    done
fi

# ===== psql (libpq) against PostgreSQL (ssl=on) on Debian's libssl ==============================
initdb_bin=$(command -v initdb 2>/dev/null)
[ -n "$initdb_bin" ] || initdb_bin=$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -1)
PGBIN=
[ -n "$initdb_bin" ] && PGBIN=$(dirname "$(realpath "$initdb_bin")")
pg_bad=
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/postgres" ] || [ ! -x "$PGBIN/psql" ]; then
    pg_bad="PostgreSQL's initdb, postgres, psql not found (scripts/install-deps.sh installs postgresql)"
else
    if [ "$(id -u)" = 0 ]; then # postgres refuses to run as root
        pg_user=nobody
        id -u "$pg_user" >/dev/null 2>&1 || { pg_user=ferrotls-pg; id -u "$pg_user" >/dev/null 2>&1 || useradd -r -M -s /usr/sbin/nologin "$pg_user"; }
    fi
    AS_PG=()
    [ -n "$pg_user" ] && AS_PG=(setpriv --reuid "$(id -u "$pg_user")" --regid "$(id -g "$pg_user")" --clear-groups --)
    pg=$work/pg
    mkdir "$pg"
    install -m 0644 "$CERTS/server.pem" "$pg/server.pem"
    install -m 0600 "$CERTS/server.key" "$pg/server.key"
    [ -n "$pg_user" ] && chown -R "$pg_user" "$pg"
    pg_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    if ! timeout 60 env -u LD_LIBRARY_PATH "${AS_PG[@]}" "$PGBIN/initdb" -D "$pg/data" -U postgres -A trust -N --locale=C -E UTF8 >"$pg/initdb.log" 2>&1; then
        pg_bad="initdb failed: $(tail -c 600 "$pg/initdb.log" | tr '\n' ' ')"
    else
        printf 'hostssl all all 127.0.0.1/32 trust\n' >"$pg/data/pg_hba.conf"
        # postgres itself, not pg_ctl's daemon: a child of this script (setpriv execs it), ended by
        # cleanup (timeout passes the TERM on: a smart shutdown, with no client left)
        timeout 150 env -u LD_LIBRARY_PATH "${AS_PG[@]}" "$PGBIN/postgres" -D "$pg/data" -c listen_addresses=127.0.0.1 \
            -c port="$pg_port" -c unix_socket_directories= -c fsync=off -c ssl=on \
            -c ssl_cert_file="$pg/server.pem" -c ssl_key_file="$pg/server.key" >"$pg/server.log" 2>&1 </dev/null &
        pg_tpid=$!
        bg_pids+=("$pg_tpid")
        for _ in $(seq 600); do
            grep -q 'database system is ready to accept connections' "$pg/server.log" && break
            kill -0 "$pg_tpid" 2>/dev/null || break
            sleep 0.05
        done
        if ! grep -q 'database system is ready to accept connections' "$pg/server.log"; then
            pg_bad="postgres did not start: $(tail -c 600 "$pg/server.log" | tr '\n' ' ')"
        else
            pg_pid=$(head -1 "$pg/data/postmaster.pid")
            pg_maps=$(maps_libssl "$pg_pid")
            [ "$pg_maps" = "$SYS_LIB" ] || pg_bad="the PostgreSQL server (pid $pg_pid) maps libssl '$pg_maps', not $SYS_LIB"
        fi
    fi
fi
PG_CONN="host=localhost hostaddr=127.0.0.1 port=${pg_port:-0} user=postgres dbname=postgres sslmode=verify-full"
# psql_ut TAG ROOTCERT CONNINFO-EXTRA ARGS...
psql_ut() {
    local tag=$1 rootcert=$2 extra=$3
    shift 3
    PGSSLROOTCERT=$rootcert run ut "$tag" "$PGBIN/psql" -X -At "$PG_CONN $extra" "$@" >"$work/$tag.out" 2>"$work/$tag.err"
    rc=$?
    show "$work/$tag.out" "$work/$tag.err"
}
QUERY='select ssl, version from pg_stat_ssl where pid = pg_backend_pid()'

begin "psql sslmode=verify-full with PGSSLROOTCERT=ca.pem: select 1, \\conninfo, pg_stat_ssl"
need_server "$pg_bad"
if [ -z "$pg_bad" ]; then
    psql_ut psql_ok "$CERTS/ca.pem" "" -c 'select 1' -c '\conninfo' -c "$QUERY"
    need_rc 0
    need_grep "$work/psql_ok.out" '^1$'
    need_grep "$work/psql_ok.out" '^SSL connection \(protocol: TLSv1\.[23], '
    need_grep "$work/psql_ok.out" '^t\|TLSv1\.3$'
    need_lib ut psql_ok
fi
finish

begin "psql sslmode=verify-full ssl_max_protocol_version=TLSv1.2: pg_stat_ssl says TLSv1.2"
need_server "$pg_bad"
if [ -z "$pg_bad" ]; then
    psql_ut psql_tls12 "$CERTS/ca.pem" "ssl_max_protocol_version=TLSv1.2" -c "$QUERY"
    need_rc 0
    need_grep "$work/psql_tls12.out" '^t\|TLSv1\.2$'
    need_lib ut psql_tls12
fi
finish

begin "psql sslmode=verify-full with PGSSLROOTCERT=other-ca.pem (unknown CA) fails"
need_server "$pg_bad"
if [ -z "$pg_bad" ]; then
    before=$(count_of "$pg/server.log" 'alert unknown ca')
    psql_ut psql_badca "$CERTS/other-ca.pem" "" -c 'select 1'
    need_rc 2
    need_peer_log "$pg/server.log" 'alert unknown ca' "$before"
    need_nogrep "$work/psql_badca.out" '^1$'
    need_grep "$work/psql_badca.err" 'SSL error: certificate verify failed'
    need_lib ut psql_badca
fi
finish

begin "psql sslmode=verify-full host=wrong.example (a certificate for localhost) fails"
need_server "$pg_bad"
if [ -z "$pg_bad" ]; then
    PG_CONN=${PG_CONN/host=localhost/host=wrong.example} psql_ut psql_badname "$CERTS/ca.pem" "" -c 'select 1'
    need_rc 2
    need_nogrep "$work/psql_badname.out" '^1$'
    need_grep "$work/psql_badname.err" 'does not match host name "wrong.example"'
    need_lib ut psql_badname
fi
finish

summary programs
