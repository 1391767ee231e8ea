#!/usr/bin/env bash
# Debian's own TLS servers (and a TLS client daemon), unmodified, on the libssl under test, against
# peers on the real OpenSSL (issue 19, servers): nginx (SNI between an ECDSA and an RSA certificate,
# HTTP/1.1 and HTTP/2, TLS 1.2 and 1.3, the shared session cache and tickets, optional client
# certificates), stunnel in both directions around a plain echo, and HAProxy as a TLS front end
# and as a TLS client of its backend.
#
#   LIBSSL_DIR= bash tests/libssl/servers.sh                 # the oracle: everything on Debian's libssl
#   LIBSSL_DIR=target/libssl bash tests/libssl/servers.sh    # the servers under test on ours
#
# The daemon under test (nginx, stunnel, haproxy) gets LD_LIBRARY_PATH=$LIBSSL_DIR; every process,
# under test or peer (curl, openssl s_client/s_server, a stunnel on Debian's libssl), runs with
# LD_DEBUG=libs into a log of its own, and each case requires that the daemon under test
# initialised exactly $LIBSSL_DIR/libssl.so.3 (and not Debian's) and every peer Debian's; daemons
# (and nginx's workers) are checked in /proc/PID/maps too. The daemons run in the foreground as
# children of this script, on free 127.0.0.1 ports, with their configuration, logs and state in a
# temporary folder; certificates the demo set lacks (rsa.localhost, mtls.localhost, a client of an
# unrelated CA) are made there at start with the demo CA (examples-c/certs/ca.key) and thrown away.
# Every case prints "ok    ..." or "FAIL: ..." with its evidence; all cases run, and the script
# exits 1 if any failed (KEEP_WORK=1 keeps the temporary folder). scripts/install-deps.sh installs nginx, stunnel4 and haproxy.
unset LD_LIBRARY_PATH # set-up commands run on Debian's libssl; the program under test gets UT_ENV
PATH=$PATH:/usr/sbin:/sbin # Debian's nginx and haproxy, off a user's PATH
T=30 # timeout of every client command, seconds
GREP_TEXT=1 SHOW_ONCE=1 KEEP_WORK_OK=1
# shellcheck source=SCRIPTDIR/harness.sh
. "$(dirname "$0")/harness.sh"
echo "$BANNER"
chmod 711 "$work" # nginx's workers (user nobody) reach their documents inside

PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=python3
# free_ports N: N distinct TCP ports free on 127.0.0.1 (held together while chosen).
free_ports() {
    "$PYTHON" -c 'import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))' "$1"
}

# --- the checks of this script (the harness has the others) ------------------------------------
# need_count FILE ERE N: FILE has (within 2 s: a server's log) at least N lines matching ERE.
need_count() {
    local n i
    for i in $(seq 40); do
        n=$(count_of "$1" "$2")
        [ "$n" -ge "$3" ] && break
        sleep 0.05
    done
    if [ "$n" -ge "$3" ]; then evidence+=("$n lines /$2/"); else need "$n lines matching /$2/ in $(basename "$1"), want $3 or more"; fi
}
# need_lib_plain TAG: a plain (no TLS) helper initialised no libssl or Debian's, never ours.
need_lib_plain() {
    local have
    have=$(ld_libssl "$1")
    [ -z "$have" ] || [ "$have" = "$SYS_LIB" ] || need "$1 initialised libssl '$have', want none or $SYS_LIB"
}
# need_log FILE ERE BEFORE: new_log_line: the server or the peer saw what it should, for that reason.
need_log() {
    local line
    if line=$(new_log_line "$@"); then
        evidence+=("$(basename "$1"): $(sed 's/^[[:space:]]*//' <<<"$line" | cut -c1-140)")
    else
        need "$(basename "$1") got no new line matching /$2/"
        show "$1"
    fi
}
# skip_all WHY CASE...: the cases cannot run (a program is missing): each fails with WHY.
skip_all() {
    local w=$1 c
    shift
    for c in "$@"; do begin "$c"; need "$w"; finish; done
}
sum_of() { if [ -f "$1" ]; then sha256sum <"$1" | awk '{print $1}'; else echo missing; fi; }
# need_same GOT WANT: the file GOT has the bytes of WANT (sha256).
need_same() {
    local got want
    got=$(sum_of "$1")
    want=$(sum_of "$2")
    if [ "$got" = "$want" ]; then
        evidence+=("$(basename "$2") $(wc -c <"$1") B sha256 ${got:0:12}… matches")
    else
        need "$(basename "$1"): $( [ -f "$1" ] && wc -c <"$1" || echo no) bytes, sha256 $got; want $(wc -c <"$2") bytes, $want"
    fi
}
# --- certificates made for this run (the demo CA signs; the keys are thrown away at the end) ---
pki=$work/pki
mkdir "$pki"
# leaf OUT SUBJ EXTENSIONS CA CA-KEY GENPKEY-ARGS...: OUT.key and OUT.pem, signed by CA.
leaf() {
    local out=$1 subj=$2 exts=$3 ca=$4 cakey=$5
    shift 5
    openssl genpkey "$@" -out "$out.key" 2>>"$pki/log" &&
        openssl req -new -key "$out.key" -subj "$subj" -out "$out.csr" 2>>"$pki/log" &&
        printf '%b' "$exts" >"$out.ext" &&
        openssl x509 -req -in "$out.csr" -CA "$ca" -CAkey "$cakey" -set_serial "0x$(openssl rand -hex 8)" \
            -days 2 -extfile "$out.ext" -out "$out.pem" 2>>"$pki/log" >/dev/null
}
EC=(-algorithm EC -pkeyopt ec_paramgen_curve:P-256)
SERVER_EXT='basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n'
CLIENT_EXT='basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n'
pki_bad=
leaf "$pki/rsa" "/O=ferrotls demo/CN=rsa.localhost" "${SERVER_EXT}subjectAltName=DNS:rsa.localhost\n" \
    "$CERTS/ca.pem" "$CERTS/ca.key" -algorithm RSA -pkeyopt rsa_keygen_bits:2048 || pki_bad="making rsa.localhost's certificate failed"
leaf "$pki/mtls" "/O=ferrotls demo/CN=mtls.localhost" "${SERVER_EXT}subjectAltName=DNS:mtls.localhost\n" \
    "$CERTS/ca.pem" "$CERTS/ca.key" "${EC[@]}" || pki_bad="making mtls.localhost's certificate failed"
if [ -f "$CERTS/client.pem" ] && [ -f "$CERTS/client.key" ]; then
    CLIENT_PEM=$CERTS/client.pem CLIENT_KEY=$CERTS/client.key
else
    leaf "$pki/client" "/O=ferrotls demo/CN=demo-client" "$CLIENT_EXT" "$CERTS/ca.pem" "$CERTS/ca.key" "${EC[@]}" ||
        pki_bad="making the demo client's certificate failed"
    CLIENT_PEM=$pki/client.pem CLIENT_KEY=$pki/client.key
fi
CLIENT_DN=$(openssl x509 -in "$CLIENT_PEM" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')
# An unrelated CA and a client certificate it signed: a client nginx must refuse.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/O=elsewhere/CN=rogue CA" \
    -keyout "$pki/rogue-ca.key" -out "$pki/rogue-ca.pem" 2>>"$pki/log" || pki_bad="making the rogue CA failed"
leaf "$pki/rogue-client" "/O=elsewhere/CN=rogue-client" "$CLIENT_EXT" "$pki/rogue-ca.pem" "$pki/rogue-ca.key" "${EC[@]}" ||
    pki_bad="making the rogue client's certificate failed"
[ -z "$pki_bad" ] || pki_bad="$pki_bad: $(tail -c 400 "$pki/log" | tr '\n' ' ')"
chmod 644 "$pki"/*.pem

head -c $((1024 * 1024)) /dev/urandom >"$work/1m.bin"

read -r NGX_PORT NGX_PORT2 ECHO_PORT ST_UT_DEF ST_UT_S ST_SYS_S ST_UT_C ST_UT_CBAD PY_PORT SSRV_PORT HP_TLS HP_PLAIN <<<"$(free_ports 12)"

# ===== nginx (under test) ======================================================================
NGX_CASES=()
for host in localhost rsa.localhost; do
    for h in 1.1 2; do
        for v in 2 3; do NGX_CASES+=("nginx https://$host/ 0 B, 16 KiB, 5 MiB with curl --http$h --tlsv1.$v --tls-max 1.$v"); done
    done
done
NGX_CASES+=("nginx SNI localhost: s_client sees the ECDSA P-256 certificate"
    "nginx SNI rsa.localhost: s_client sees the RSA-2048 certificate"
    "nginx s_client -tls1_2 -reconnect: resumed with session tickets"
    "nginx s_client -tls1_2 -no_ticket -reconnect: resumed from ssl_session_cache shared:SSL"
    "nginx s_client -tls1_3 -sess_out, then -sess_in: resumed (a TLS 1.3 ticket)")
for v in 2 3; do NGX_CASES+=("nginx mtls.localhost ssl_verify_client optional: curl --tlsv1.$v --cert client.pem is SUCCESS with its DN"); done
for v in 2 3; do NGX_CASES+=("nginx mtls.localhost, the default server of a port of its own: curl --tlsv1.$v --cert client.pem is SUCCESS"); done
NGX_CASES+=("nginx mtls.localhost: a client certificate of an unrelated CA gets 400 The SSL certificate error"
    "nginx mtls.localhost: a client without a certificate gets NONE")

if ! command -v nginx >/dev/null; then
    skip_all "nginx is not installed (scripts/install-deps.sh)" "${NGX_CASES[@]}"
elif [ -n "$pki_bad" ]; then
    skip_all "$pki_bad" "${NGX_CASES[@]}"
else
    ngx=$work/nginx
    mkdir -p "$ngx/www" "$ngx/tmp"
    chmod 755 "$ngx" "$ngx/www"
    : >"$ngx/www/empty.bin"
    head -c 16384 /dev/urandom >"$ngx/www/16k.bin"
    head -c $((5 * 1024 * 1024)) /dev/urandom >"$ngx/www/5m.bin"
    chmod 644 "$ngx/www"/*
    NGX_USER=
    [ "$(id -u)" = 0 ] && NGX_USER="user nobody $(id -gn nobody 2>/dev/null || echo nogroup);"
    listen="listen 127.0.0.1:$NGX_PORT ssl http2"
    cat >"$ngx/nginx.conf" <<EOF
$NGX_USER
daemon off;
master_process on;
worker_processes 1;
pid $ngx/nginx.pid;
error_log $ngx/error.log info;
events { worker_connections 256; }
http {
    default_type application/octet-stream;
    log_format t '\$ssl_server_name \$ssl_protocol \$ssl_cipher \$server_protocol "\$request_uri" \$status \$body_bytes_sent reused=\$ssl_session_reused';
    access_log $ngx/access.log t;
    client_body_temp_path $ngx/tmp/body;
    proxy_temp_path $ngx/tmp/proxy;
    fastcgi_temp_path $ngx/tmp/fastcgi;
    uwsgi_temp_path $ngx/tmp/uwsgi;
    scgi_temp_path $ngx/tmp/scgi;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:SSL:1m;
    ssl_session_tickets on;
    ssl_session_timeout 10m;
    server {
        $listen default_server;
        server_name localhost;
        ssl_certificate $CERTS/server.pem;
        ssl_certificate_key $CERTS/server.key;
        root $ngx/www;
    }
    server {
        $listen;
        server_name rsa.localhost;
        ssl_certificate $pki/rsa.pem;
        ssl_certificate_key $pki/rsa.key;
        root $ngx/www;
    }
    server {
        $listen;
        listen 127.0.0.1:$NGX_PORT2 ssl http2 default_server;
        server_name mtls.localhost;
        ssl_certificate $pki/mtls.pem;
        ssl_certificate_key $pki/mtls.key;
        ssl_verify_client optional;
        ssl_client_certificate $CERTS/ca.pem;
        location / {
            default_type text/plain;
            return 200 "\$ssl_client_verify \$ssl_client_s_dn\n";
        }
    }
}
EOF
    start_daemon ut nginx "$NGX_PORT $NGX_PORT2" nginx -e "$ngx/error.log" -p "$ngx" -c "$ngx/nginx.conf"
    NGX_BAD=$SBAD

    # ngx_curl TAG HOST ARGS... -- PATH...: curl on Debian's libssl fetches https://HOST:PORT/PATH?c=TAG
    # (PORT: NGX_CURL_PORT, else NGX_PORT) for each PATH over one connection, into TAG.PATH; TAG.w gets a line "CODE HTTP-VERSION SIZE" each.
    ngx_curl() {
        local tag=$1 host=$2 port=${NGX_CURL_PORT:-$NGX_PORT}
        shift 2
        local args=() urls=()
        while [ "$1" != -- ]; do args+=("$1"); shift; done
        shift
        local p
        for p in "$@"; do urls+=(-o "$work/$tag.$p" "https://$host:$port/$p?c=$tag"); done
        run sys "$tag" curl -sS --cacert "$CERTS/ca.pem" --resolve "$host:$port:127.0.0.1" "${args[@]}" \
            -w '%{http_code} %{http_version} %{size_download}\n' "${urls[@]}" >"$work/$tag.w" 2>"$work/$tag.err"
        rc=$?
        show "$work/$tag.w" "$work/$tag.err"
    }
    i=0
    for host in localhost rsa.localhost; do
        for h in 1.1 2; do
            for v in 2 3; do
                tag=ngx_${host%%.*}_h${h/./}_1$v
                begin "${NGX_CASES[$i]}"
                i=$((i + 1))
                need_server nginx "$NGX_BAD"
                if [ -z "$NGX_BAD" ]; then
                    ngx_curl "$tag" "$host" --http"$h" --tlsv1.$v --tls-max 1.$v -- empty.bin 16k.bin 5m.bin
                    need_rc 0
                    [ "$(grep -c "^200 ${h%.0} " "$work/$tag.w")" = 3 ] ||
                        need "curl -w: $(tr '\n' ';' <"$work/$tag.w"), want 3 times 200 HTTP/$h"
                    for f in empty.bin 16k.bin 5m.bin; do need_same "$work/$tag.$f" "$ngx/www/$f"; done
                    proto=HTTP/$h
                    [ "$h" = 2 ] && proto=HTTP/2.0
                    need_count "$ngx/access.log" "^$host TLSv1\.$v [^ ]+ ${proto//./\\.} \"/[a-z0-9]+\.bin\?c=$tag\" 200 " 3
                    show "$ngx/access.log"
                    need_lib sys "$tag"
                fi
                show "$ngx/error.log"
                need_lib ut nginx
                finish
            done
        done
    done

    NGX_VERIFY=(-CAfile "$CERTS/ca.pem" -verify_return_error)
    # ngx_s_client TAG HOST ARGS...: s_client on Debian's libssl to nginx with SNI HOST, the
    # certificate verified for HOST; stdin from TAG.in if there, else nothing.
    ngx_s_client() {
        local tag=$1 host=$2 in=/dev/null
        shift 2
        [ -f "$work/$tag.in" ] && in=$work/$tag.in
        run sys "$tag" openssl s_client -connect "127.0.0.1:$NGX_PORT" -servername "$host" "${NGX_VERIFY[@]}" \
            -verify_hostname "$host" "$@" <"$in" >"$work/$tag.out" 2>"$work/$tag.err"
        rc=$?
        show "$work/$tag.out" "$work/$tag.err"
    }
    begin "${NGX_CASES[$((i++))]}"
    need_server nginx "$NGX_BAD"
    if [ -z "$NGX_BAD" ]; then
        ngx_s_client ngx_cert_ec localhost
        need_rc 0
        need_grep "$work/ngx_cert_ec.out" '^subject=O = ferrotls demo, CN = localhost$'
        need_grep "$work/ngx_cert_ec.out" '^Server public key is 256 bit$'
        need_grep "$work/ngx_cert_ec.out" '^Peer signature type: ECDSA$'
        need_grep "$work/ngx_cert_ec.out" '^ *Verify return code: 0 \(ok\)$'
        need_lib sys ngx_cert_ec
    fi
    need_lib ut nginx
    finish
    begin "${NGX_CASES[$((i++))]}"
    need_server nginx "$NGX_BAD"
    if [ -z "$NGX_BAD" ]; then
        ngx_s_client ngx_cert_rsa rsa.localhost
        need_rc 0
        need_grep "$work/ngx_cert_rsa.out" '^subject=O = ferrotls demo, CN = rsa\.localhost$'
        need_grep "$work/ngx_cert_rsa.out" '^Server public key is 2048 bit$'
        need_grep "$work/ngx_cert_rsa.out" '^Peer signature type: RSA-PSS$'
        need_grep "$work/ngx_cert_rsa.out" '^ *Verify return code: 0 \(ok\)$'
        need_lib sys ngx_cert_rsa
    fi
    need_lib ut nginx
    finish

    # -reconnect: the first handshake, then five more with its session (s_client drops each
    # connection as soon as its handshake is done).
    for ticket in yes no; do
        begin "${NGX_CASES[$((i++))]}"
        need_server nginx "$NGX_BAD"
        if [ -z "$NGX_BAD" ]; then
            tag=ngx_reconnect_$ticket
            args=(-tls1_2 -reconnect)
            [ "$ticket" = no ] && args+=(-no_ticket)
            ngx_s_client "$tag" localhost "${args[@]}"
            need_rc 0
            need_grep "$work/$tag.out" '^New, TLSv1\.2, Cipher is '
            need_count "$work/$tag.out" '^Reused, TLSv1\.2, Cipher is ' 5
            if [ "$ticket" = yes ]; then
                need_grep "$work/$tag.out" '^ *TLS session ticket lifetime hint: '
            else
                need_nogrep "$work/$tag.out" '^ *TLS session ticket'
                need_grep "$work/$tag.out" '^ *Session-ID: [0-9A-F]{64}$'
            fi
            need_lib sys "$tag"
        fi
        need_lib ut nginx
        finish
    done
    # TLS 1.3: s_client -reconnect drops the connection before nginx's ticket arrives (after the
    # handshake), so the session goes through a file, kept once a request's answer has been read.
    begin "${NGX_CASES[$((i++))]}"
    need_server nginx "$NGX_BAD"
    if [ -z "$NGX_BAD" ]; then
        printf 'GET /16k.bin?c=ngx_sess13 HTTP/1.0\r\nHost: localhost\r\n\r\n' >"$work/ngx_sess13.in"
        printf 'GET /16k.bin?c=ngx_resume13 HTTP/1.0\r\nHost: localhost\r\n\r\n' >"$work/ngx_resume13.in"
        ngx_s_client ngx_sess13 localhost -tls1_3 -ign_eof -sess_out "$work/sess13.pem"
        need_rc 0
        need_grep "$work/ngx_sess13.out" '^New, TLSv1\.3, Cipher is '
        need_grep "$work/ngx_sess13.out" '^HTTP/1\.1 200 OK'
        [ -s "$work/sess13.pem" ] || need "-sess_out wrote no session"
        ngx_s_client ngx_resume13 localhost -tls1_3 -ign_eof -sess_in "$work/sess13.pem"
        need_rc 0
        need_grep "$work/ngx_resume13.out" '^Reused, TLSv1\.3, Cipher is '
        need_grep "$work/ngx_resume13.out" '^HTTP/1\.1 200 OK'
        need_log "$ngx/access.log" '^localhost TLSv1\.3 .*c=ngx_resume13" 200 [0-9]+ reused=r$' 0
        show "$ngx/access.log"
        need_lib sys ngx_sess13
        need_lib sys ngx_resume13
    fi
    need_lib ut nginx
    finish

    # mtls.localhost: ssl_verify_client optional, the server block chosen by SNI on the shared
    # port (the callback switches the SSL_CTX and its verify mode), then on its own port.
    for port in "$NGX_PORT" "$NGX_PORT2"; do
        for v in 2 3; do
            begin "${NGX_CASES[$((i++))]}"
            need_server nginx "$NGX_BAD"
            if [ -z "$NGX_BAD" ]; then
                tag=ngx_mtls_1$v
                [ "$port" = "$NGX_PORT2" ] && tag=ngx_mtls_own_1$v
                NGX_CURL_PORT=$port ngx_curl "$tag" mtls.localhost --tlsv1.$v --tls-max 1.$v --cert "$CLIENT_PEM" --key "$CLIENT_KEY" -- who
                need_rc 0
                need_grep "$work/$tag.w" '^200 '
                need_grep "$work/$tag.who" "^SUCCESS ${CLIENT_DN}\$"
                need_log "$ngx/access.log" "^mtls\.localhost TLSv1\.$v .*c=$tag\" 200 " 0
                need_lib sys "$tag"
            fi
            need_lib ut nginx
            finish
        done
    done
    begin "${NGX_CASES[$((i++))]}"
    need_server nginx "$NGX_BAD"
    if [ -z "$NGX_BAD" ]; then
        before=$(count_of "$ngx/error.log" 'client SSL certificate verify error')
        ngx_curl ngx_mtls_rogue mtls.localhost --cert "$pki/rogue-client.pem" --key "$pki/rogue-client.key" -- who
        need_rc 0
        need_grep "$work/ngx_mtls_rogue.w" '^400 '
        need_grep "$work/ngx_mtls_rogue.who" '<center>The SSL certificate error</center>'
        need_log "$ngx/error.log" 'client SSL certificate verify error' "$before"
        need_lib sys ngx_mtls_rogue
    fi
    need_lib ut nginx
    finish
    begin "${NGX_CASES[$((i++))]}"
    need_server nginx "$NGX_BAD"
    if [ -z "$NGX_BAD" ]; then
        ngx_curl ngx_mtls_none mtls.localhost -- who
        need_rc 0
        need_grep "$work/ngx_mtls_none.w" '^200 '
        need_grep "$work/ngx_mtls_none.who" '^NONE *$'
        need_lib sys ngx_mtls_none
    fi
    need_lib ut nginx
    finish
fi

# ===== stunnel (under test), both directions around a plain echo ==============================
ST_CASES=("stunnel starts with its default curves (X25519:P-256:X448:P-521:P-384)"
    "stunnel server (TLS in, plain out to an echo): openssl s_client sends 1 MiB and reads it back"
    "stunnel server: openssl s_client -CAfile other-ca.pem (unknown CA) fails"
    "stunnel client (plain in, TLS out, verifyChain, CAfile ca.pem) to a stunnel server on Debian's libssl: 1 MiB echoed"
    "stunnel client with CAfile other-ca.pem (unknown CA): refused, nothing echoed")
if ! command -v stunnel >/dev/null; then
    skip_all "stunnel is not installed (scripts/install-deps.sh: stunnel4)" "${ST_CASES[@]}"
else
    st=$work/stunnel
    mkdir "$st"
    # The plain echo: socat without TLS, on Debian's libssl (socat links it).
    start_daemon plain echo "$ECHO_PORT" socat "TCP-LISTEN:$ECHO_PORT,bind=127.0.0.1,reuseaddr,fork" EXEC:cat
    ECHO_BAD=$SBAD
    # stunnel_conf FILE SECTION...: a foreground stunnel logging to stderr, with SECTIONs. The
    # groups are named (not stunnel's default list, which has X448 and P-521: its own case) so
    # that the cases of data are about data.
    stunnel_conf() {
        local f=$1
        shift
        {
            printf 'foreground = yes\npid =\nsyslog = no\ndebug = info\n%b' "${ST_CURVES-curves = X25519:P-256:P-384\n}"
            printf '%b\n' "$@"
        } >"$f"
    }
    SERVE_SECTION="[echo]\naccept = 127.0.0.1:%s\nconnect = 127.0.0.1:$ECHO_PORT\ncert = $CERTS/server.pem\nkey = $CERTS/server.key\n"
    # shellcheck disable=SC2059
    stunnel_conf "$st/ut_server.conf" "$(printf "$SERVE_SECTION" "$ST_UT_S")"
    # shellcheck disable=SC2059
    stunnel_conf "$st/sys_server.conf" "$(printf "$SERVE_SECTION" "$ST_SYS_S")"
    CLIENT_SECTION="client = yes\nconnect = 127.0.0.1:$ST_SYS_S\nsni = localhost\ncheckHost = localhost\nverifyChain = yes\n"
    stunnel_conf "$st/ut_client.conf" "[to-echo]\naccept = 127.0.0.1:$ST_UT_C\nCAfile = $CERTS/ca.pem\n$CLIENT_SECTION" \
        "[to-echo-wrong-ca]\naccept = 127.0.0.1:$ST_UT_CBAD\nCAfile = $CERTS/other-ca.pem\n$CLIENT_SECTION"
    # shellcheck disable=SC2059
    ST_CURVES= stunnel_conf "$st/ut_default.conf" "$(printf "$SERVE_SECTION" "$ST_UT_DEF")"
    start_daemon ut stunnel_default "$ST_UT_DEF" stunnel "$st/ut_default.conf"
    STD_BAD=$SBAD
    start_daemon ut stunnel_server "$ST_UT_S" stunnel "$st/ut_server.conf"
    STS_BAD=$SBAD
    start_daemon sys stunnel_sys "$ST_SYS_S" stunnel "$st/sys_server.conf"
    STSYS_BAD=$SBAD
    start_daemon ut stunnel_client "$ST_UT_C $ST_UT_CBAD" stunnel "$st/ut_client.conf"
    STC_BAD=$SBAD

    # s_client_echo TAG ARGS...: 1m.bin through openssl s_client (Debian's libssl) to the stunnel
    # server under test; stdin stays open until as much has come back (20 s at most), then s_client
    # ends the connection (-no_ign_eof; -nocommands: no byte of the data is a command).
    s_client_echo() {
        local tag=$1
        shift
        : >"$work/$tag.back"
        rm -f "$work/$tag.rc"
        {
            cat "$work/1m.bin"
            for _ in $(seq 400); do
                [ "$(stat -c %s "$work/$tag.back")" -ge $((1024 * 1024)) ] || [ -f "$work/$tag.rc" ] && break
                sleep 0.05
            done
        } | {
            run sys "$tag" openssl s_client -connect "127.0.0.1:$ST_UT_S" -servername localhost \
                -verify_return_error -verify_hostname localhost -quiet -no_ign_eof -nocommands "$@" \
                >"$work/$tag.back" 2>"$work/$tag.err"
            echo $? >"$work/$tag.rc"
        }
        rc=$(cat "$work/$tag.rc")
        show "$work/$tag.err"
    }
    begin "${ST_CASES[0]}"
    need_server stunnel_default "$STD_BAD"
    if [ -z "$STD_BAD" ]; then
        need_grep "$work/stunnel_default.err" 'Configuration successful'
    fi
    show "$work/stunnel_default.err"
    need_lib ut stunnel_default
    finish

    begin "${ST_CASES[1]}"
    need_server stunnel_server "$STS_BAD"
    need_server echo "$ECHO_BAD"
    if [ -z "$STS_BAD$ECHO_BAD" ]; then
        before=$(count_of "$work/stunnel_server.err" 'Connection closed: ')
        s_client_echo st_sc -CAfile "$CERTS/ca.pem"
        need_rc 0
        need_same "$work/st_sc.back" "$work/1m.bin"
        need_grep "$work/stunnel_server.err" 'TLS accepted: new session negotiated'
        need_grep "$work/stunnel_server.err" 'TLSv1\.3 ciphersuite: '
        need_log "$work/stunnel_server.err" 'Connection closed: [0-9]+ byte\(s\) sent to TLS, [0-9]+ byte\(s\) sent to socket' "$before"
        need_lib sys st_sc
        need_lib_plain echo
    fi
    show "$work/stunnel_server.err"
    need_lib ut stunnel_server
    finish

    begin "${ST_CASES[2]}"
    need_server stunnel_server "$STS_BAD"
    if [ -z "$STS_BAD" ]; then
        before=$(count_of "$work/stunnel_server.err" 'alert unknown ca')
        s_client_echo st_sc_badca -CAfile "$CERTS/other-ca.pem"
        [ "$rc" = 1 ] || need "$(rc_text), want 1 (OpenSSL's s_client exits 1 on a failed handshake)"
        evidence+=("exit $rc")
        need_grep "$work/st_sc_badca.err" '^verify error:num=20:'
        [ ! -s "$work/st_sc_badca.back" ] || need "$(wc -c <"$work/st_sc_badca.back") bytes came back"
        need_log "$work/stunnel_server.err" 'alert unknown ca' "$before"
        need_lib sys st_sc_badca
    fi
    show "$work/stunnel_server.err"
    need_lib ut stunnel_server
    finish

    # plain_client TAG PORT: 1m.bin through socat (plain TCP, Debian's libssl) to 127.0.0.1:PORT.
    plain_client() {
        run sys "$1" socat -t 10 - "TCP:127.0.0.1:$2" <"$work/1m.bin" >"$work/$1.back" 2>"$work/$1.err"
        rc=$?
        show "$work/$1.err"
    }
    begin "${ST_CASES[3]}"
    need_server stunnel_client "$STC_BAD"
    need_server stunnel_sys "$STSYS_BAD"
    if [ -z "$STC_BAD$STSYS_BAD$ECHO_BAD" ]; then
        before=$(count_of "$work/stunnel_sys.err" 'Connection closed: ')
        plain_client st_plain "$ST_UT_C"
        need_rc 0
        need_same "$work/st_plain.back" "$work/1m.bin"
        need_grep "$work/stunnel_client.err" 'Certificate accepted at depth=0: O=ferrotls demo, CN=localhost'
        need_grep "$work/stunnel_client.err" 'TLS connected: new session negotiated'
        need_log "$work/stunnel_sys.err" 'Connection closed: [0-9]+ byte\(s\) sent to TLS' "$before"
        need_lib_plain st_plain
    fi
    show "$work/stunnel_client.err"
    need_lib ut stunnel_client
    need_lib sys stunnel_sys
    finish

    begin "${ST_CASES[4]}"
    need_server stunnel_client "$STC_BAD"
    need_server stunnel_sys "$STSYS_BAD"
    if [ -z "$STC_BAD$STSYS_BAD" ]; then
        before=$(count_of "$work/stunnel_sys.err" 'alert unknown ca')
        before_c=$(count_of "$work/stunnel_client.err" 'Rejected by CERT at depth=')
        plain_client st_plain_badca "$ST_UT_CBAD"
        [ ! -s "$work/st_plain_badca.back" ] || need "$(wc -c <"$work/st_plain_badca.back") bytes came back"
        evidence+=("nothing came back")
        need_log "$work/stunnel_client.err" 'Rejected by CERT at depth=' "$before_c"
        need_log "$work/stunnel_sys.err" 'alert unknown ca' "$before"
        need_lib_plain st_plain_badca
    fi
    show "$work/stunnel_client.err"
    need_lib ut stunnel_client
    finish
fi

# ===== HAProxy (under test): TLS front end, and TLS client of its backend ======================
HP_CASES=()
for v in 2 3; do
    h=1.1
    [ "$v" = 3 ] && h=2
    HP_CASES+=("haproxy bind ssl crt (mode http, plain backend): curl --tlsv1.$v --http$h gets 1 MiB")
done
HP_CASES+=("haproxy bind ssl crt: curl --cacert other-ca.pem (unknown CA) fails with 60")
for v in 3 2; do
    HP_CASES+=("haproxy server ssl verify required ca-file ca.pem sni str(localhost)$([ $v = 2 ] && echo ' ssl-max-ver TLSv1.2') to s_server -www: TLSv1.$v")
done
HP_CASES+=("haproxy server ssl verify required ca-file other-ca.pem (unknown CA): 503")

if ! command -v haproxy >/dev/null; then
    skip_all "haproxy is not installed (scripts/install-deps.sh)" "${HP_CASES[@]}"
else
    hp=$work/haproxy
    mkdir -p "$hp/www"
    cp "$work/1m.bin" "$hp/www/1m.bin"
    cat "$CERTS/server.pem" "$CERTS/server.key" >"$hp/combined.pem"
    SRV="server s1 127.0.0.1:$SSRV_PORT ssl verify required sni str(localhost)"
    cat >"$hp/haproxy.cfg" <<EOF
global
    log stderr format raw local0 info
defaults
    mode http
    log global
    log-format "%ft %b/%s %ST %B fc=%sslv bc=%[ssl_bc_protocol] %{+Q}r"
    error-log-format "%ft %ci:%cp: %[fc_err_str] / %[ssl_fc_err_str]"
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend tls_in
    bind 127.0.0.1:$HP_TLS ssl crt $hp/combined.pem alpn h2,http/1.1
    default_backend plain_out
backend plain_out
    server py 127.0.0.1:$PY_PORT
frontend plain_in
    bind 127.0.0.1:$HP_PLAIN
    use_backend tls12_out if { path_beg /tls12 }
    use_backend tls_bad_ca if { path_beg /bad-ca }
    default_backend tls_out
backend tls_out
    $SRV ca-file $CERTS/ca.pem
backend tls12_out
    $SRV ca-file $CERTS/ca.pem ssl-max-ver TLSv1.2
backend tls_bad_ca
    retries 0
    $SRV ca-file $CERTS/other-ca.pem
EOF
    # The plain HTTP backend, and the TLS one on Debian's libssl.
    start_daemon plain py_http "$PY_PORT" "$PYTHON" -m http.server --protocol HTTP/1.1 --bind 127.0.0.1 --directory "$hp/www" "$PY_PORT"
    PY_BAD=$SBAD
    start_daemon sys s_server "$SSRV_PORT" openssl s_server -www -accept "127.0.0.1:$SSRV_PORT" \
        -cert "$CERTS/server.pem" -key "$CERTS/server.key"
    SSRV_BAD=$SBAD
    start_daemon ut haproxy "$HP_TLS $HP_PLAIN" haproxy -db -f "$hp/haproxy.cfg"
    HP_BAD=$SBAD

    i=0
    for v in 2 3; do
        h=1.1
        [ "$v" = 3 ] && h=2
        begin "${HP_CASES[$((i++))]}"
        need_server haproxy "$HP_BAD"
        need_server py_http "$PY_BAD"
        if [ -z "$HP_BAD$PY_BAD" ]; then
            tag=hp_front_1$v
            run sys "$tag" curl -sS --cacert "$CERTS/ca.pem" --resolve "localhost:$HP_TLS:127.0.0.1" --tlsv1.$v --tls-max 1.$v \
                --http$h -w '%{http_code} %{http_version}\n' -o "$work/$tag.out" "https://localhost:$HP_TLS/1m.bin?c=$tag" \
                >"$work/$tag.w" 2>"$work/$tag.err"
            rc=$?
            show "$work/$tag.w" "$work/$tag.err"
            need_rc 0
            need_grep "$work/$tag.w" "^200 ${h}\$"
            need_same "$work/$tag.out" "$hp/www/1m.bin"
            need_log "$work/haproxy.err" "^tls_in~ plain_out/py 200 [0-9]+ fc=TLSv1\.$v bc=- \"GET [^ ]*/1m\.bin\?c=$tag HTTP/$h" 0
            need_lib sys "$tag"
            need_lib_plain py_http
        fi
        show "$work/haproxy.err"
        need_lib ut haproxy
        finish
    done
    begin "${HP_CASES[$((i++))]}"
    need_server haproxy "$HP_BAD"
    if [ -z "$HP_BAD" ]; then
        before=$(count_of "$work/haproxy.err" 'SSL handshake failure')
        run sys hp_front_badca curl -sS --cacert "$CERTS/other-ca.pem" --resolve "localhost:$HP_TLS:127.0.0.1" \
            -o /dev/null "https://localhost:$HP_TLS/1m.bin" 2>"$work/hp_front_badca.err"
        rc=$?
        show "$work/hp_front_badca.err"
        need_rc 60
        need_grep "$work/hp_front_badca.err" '^curl: \(60\)'
        need_log "$work/haproxy.err" 'SSL handshake failure' "$before"
        need_lib sys hp_front_badca
    fi
    show "$work/haproxy.err"
    need_lib ut haproxy
    finish

    # hp_plain TAG PATH: curl http://127.0.0.1:HP_PLAIN/PATH (haproxy's plain front end).
    hp_plain() {
        run sys "$1" curl -sS -w '%{http_code}\n' -o "$work/$1.out" "http://127.0.0.1:$HP_PLAIN/$2" >"$work/$1.w" 2>"$work/$1.err"
        rc=$?
        show "$work/$1.w" "$work/$1.err"
    }
    for v in 3 2; do
        begin "${HP_CASES[$((i++))]}"
        need_server haproxy "$HP_BAD"
        need_server s_server "$SSRV_BAD"
        if [ -z "$HP_BAD$SSRV_BAD" ]; then
            tag=hp_back_1$v
            path=$tag
            [ "$v" = 2 ] && path=tls12/$tag
            hp_plain "$tag" "$path"
            need_rc 0
            need_grep "$work/$tag.w" '^200$'
            need_grep "$work/$tag.out" '^s_server -www '
            need_grep "$work/$tag.out" "^ *Protocol  : TLSv1\.$v\$"
            need_log "$work/haproxy.err" "^plain_in (tls_out|tls12_out)/s1 200 [0-9]+ fc=- bc=TLSv1\.$v \"GET /$path " 0
            need_lib sys "$tag"
        fi
        show "$work/haproxy.err" "$work/s_server.err"
        need_lib ut haproxy
        need_lib sys s_server
        finish
    done
    begin "${HP_CASES[$((i++))]}"
    need_server haproxy "$HP_BAD"
    need_server s_server "$SSRV_BAD"
    if [ -z "$HP_BAD$SSRV_BAD" ]; then
        before=$(count_of "$work/s_server.err" 'alert unknown ca')
        hp_plain hp_back_badca bad-ca/x
        need_rc 0
        need_grep "$work/hp_back_badca.w" '^503$'
        need_log "$work/haproxy.err" '^plain_in tls_bad_ca/s1 503 ' 0
        need_log "$work/s_server.err" 'alert unknown ca' "$before"
        need_lib sys hp_back_badca
    fi
    show "$work/haproxy.err" "$work/s_server.err"
    need_lib ut haproxy
    finish
fi

summary servers
