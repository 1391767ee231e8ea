#!/usr/bin/env bash
# make bench-nginx: Debian's nginx, unmodified, on OpenSSL's libssl.so.3 and on ours
# (target/libssl/libssl.so.3), side by side in one run (issue 19, performance). See
# bench/nginx/README.md for what each number is and how it is measured.
#
#   bash bench/nginx/run.sh                      # after make libssl (make bench-nginx does both)
#   BENCH_NGINX_SECS=5 BENCH_NGINX_ROUNDS=5 bash bench/nginx/run.sh
#   BENCH_NGINX_ONLY="full handshakes" bash bench/nginx/run.sh   # only the rows whose name contains it
#
# One nginx per library (worker_processes 1, the same nginx.conf but for paths and ports), both
# started at once and pinned with taskset to CPU 0; the load generators run on CPU 1. Every row
# takes turns: a warm-up on each side, then ROUNDS rounds of SECS seconds, OpenSSL, ferrotls,
# OpenSSL, ferrotls, ...; the table gives medians and ferrotls/OpenSSL. nginx's CPU time comes
# from /proc/WORKER/stat (utime + stime) before and after each round, the client's from bash's
# `time`. The table goes to stdout and to bench/nginx/RESULTS.md (BENCH_NGINX_OUT).
set -uo pipefail
unset LD_LIBRARY_PATH # everything runs on Debian's libssl but the nginx under test
export LC_ALL=C
PATH=$PATH:/usr/sbin:/sbin
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
CERTS=$ROOT/examples-c/certs

SECS=${BENCH_NGINX_SECS:-4}
ROUNDS=${BENCH_NGINX_ROUNDS:-3}
WARM=${BENCH_NGINX_WARMUP:-1}
CONC=${BENCH_NGINX_CONC:-32}   # handshake client: connections at a time
KA_CONNS=${BENCH_NGINX_KA_CONNS:-16}
IDLE=${BENCH_NGINX_IDLE:-1000}
ONLY=${BENCH_NGINX_ONLY:-}
OUT=${BENCH_NGINX_OUT:-$ROOT/bench/nginx/RESULTS.md}
OURS_DIR=${LIBSSL_DIR:-$ROOT/target/libssl}
NGX_CPU=${BENCH_NGINX_SERVER_CPU:-0}
CLI_CPU=${BENCH_NGINX_CLIENT_CPU:-1}
start_time=$EPOCHREALTIME
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

die() { echo "bench-nginx: $*" >&2; exit 1; }

# ---- what it needs (Debian packages, installed here when missing) ---------------------------
pkgs=()
command -v nginx >/dev/null || pkgs+=(nginx)
command -v wrk >/dev/null || pkgs+=(wrk)
command -v cc >/dev/null || pkgs+=(gcc libc6-dev)
[ -f /usr/include/openssl/ssl.h ] || pkgs+=(libssl-dev)
command -v openssl >/dev/null || pkgs+=(openssl)
command -v taskset >/dev/null || pkgs+=(util-linux)
command -v ss >/dev/null || pkgs+=(iproute2)
[ -x /usr/bin/python3 ] || pkgs+=(python3)
if [ "${#pkgs[@]}" -gt 0 ]; then
    SUDO=
    [ "$(id -u)" = 0 ] || SUDO=sudo
    echo "== bench-nginx: installing Debian packages: ${pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # No service starts while installing (nginx's would listen on port 80): policy-rc.d says 101.
    own_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null && $SUDO chmod 755 /usr/sbin/policy-rc.d
        own_policy=1
    fi
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
    rc=$?
    [ "$own_policy" = 1 ] && $SUDO rm -f /usr/sbin/policy-rc.d
    [ "$rc" = 0 ] || die "apt-get install ${pkgs[*]} failed"
fi

SYS_LIB=$(ldconfig -p | awk '$1 == "libssl.so.3" && /x86-64/ {print $NF; exit}')
[ -n "$SYS_LIB" ] || SYS_LIB=/usr/lib/x86_64-linux-gnu/libssl.so.3
SYS_LIB=$(realpath "$SYS_LIB")
[ -f "$OURS_DIR/libssl.so.3" ] || die "$OURS_DIR/libssl.so.3 is missing: run make libssl (make bench-nginx does)"
OURS_LIB=$(realpath "$OURS_DIR/libssl.so.3")
OURS_DIR=$(dirname "$OURS_LIB")
[ "$OURS_LIB" != "$SYS_LIB" ] || die "LIBSSL_DIR=$OURS_DIR is Debian's own libssl"
if [ "$(nproc)" -lt 2 ]; then
    echo "bench-nginx: warning: $(nproc) CPU: nginx and the load generator share it" >&2
    NGX_CPU=0 CLI_CPU=0
fi
ulimit -n 65536 2>/dev/null || ulimit -n 16384 2>/dev/null || true
[ "$(ulimit -n)" -gt "$((IDLE + 200))" ] || die "ulimit -n is $(ulimit -n): $IDLE idle connections need more"
CLK_TCK=$(getconf CLK_TCK)

work=$(mktemp -d /tmp/bench-nginx.XXXXXX)
chmod 711 "$work" # nginx's worker (user nobody) reads its documents inside
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    if [ -n "${KEEP_WORK:-}" ]; then echo "(KEEP_WORK: logs in $work)"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the load generator, certificates, documents --------------------------------------------
BIN=$ROOT/target/bench-nginx
mkdir -p "$BIN"
HSLOAD=$BIN/hsload
if [ ! -x "$HSLOAD" ] || [ "$ROOT/bench/nginx/hsload.c" -nt "$HSLOAD" ]; then
    cc -O2 -g -Wall -Wextra -std=c11 -o "$HSLOAD.tmp" "$ROOT/bench/nginx/hsload.c" -lssl -lcrypto -rdynamic &&
        mv -f "$HSLOAD.tmp" "$HSLOAD" || die "building $HSLOAD failed"
fi

pki=$work/pki
mkdir "$pki"
# leaf NAME GENPKEY-ARGS...: NAME.key, NAME.pem (CN=localhost), signed by the demo CA; thrown away at the end.
leaf() {
    local out=$pki/$1
    shift
    openssl genpkey "$@" -out "$out.key" 2>>"$pki/log" &&
        openssl req -new -key "$out.key" -subj "/O=ferrotls bench/CN=localhost" -out "$out.csr" 2>>"$pki/log" &&
        printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$out.ext" &&
        openssl x509 -req -in "$out.csr" -CA "$CERTS/ca.pem" -CAkey "$CERTS/ca.key" -set_serial "0x$(openssl rand -hex 8)" \
            -days 2 -extfile "$out.ext" -out "$out.pem" 2>>"$pki/log" >/dev/null
}
leaf ec -algorithm EC -pkeyopt ec_paramgen_curve:P-256 || die "making the ECDSA certificate failed: $(tail -5 "$pki/log")"
leaf rsa -algorithm RSA -pkeyopt rsa_keygen_bits:2048 || die "making the RSA certificate failed: $(tail -5 "$pki/log")"

# An OpenSSL configuration for the clients on Debian's libssl that cannot be told which TLS 1.3
# suite to offer (wrk, python): the same pinned suite and group as hsload's.
cat >"$work/client-openssl.cnf" <<'EOF'
openssl_conf = openssl_init
[openssl_init]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
Ciphersuites = TLS_AES_128_GCM_SHA256
Groups = X25519
EOF
CLIENT_ENV=(OPENSSL_CONF="$work/client-openssl.cnf")

PYTHON=/usr/bin/python3
free_ports() {
    "$PYTHON" -c 'import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))' "$1"
}

SIDES=(ossl ours)
declare -A LABEL=([ossl]="OpenSSL 3.0" [ours]="ferrotls")
declare -A PORT_EC PORT_RSA PORT_SID MASTER WORKER NGXDIR
read -r PORT_EC[ossl] PORT_RSA[ossl] PORT_SID[ossl] PORT_EC[ours] PORT_RSA[ours] PORT_SID[ours] <<<"$(free_ports 6)"

NGX_USER=
[ "$(id -u)" = 0 ] && NGX_USER="user nobody $(id -gn nobody 2>/dev/null || echo nogroup);"
for side in "${SIDES[@]}"; do
    d=$work/nginx-$side
    NGXDIR[$side]=$d
    mkdir -p "$d/www" "$d/tmp"
    chmod 755 "$d" "$d/www"
    head -c 64 /dev/urandom >"$d/www/64b"
    head -c $((1024 * 1024)) /dev/urandom >"$d/www/1m"
    chmod 644 "$d/www"/*
    # The same configuration on both sides but for its paths and ports.
    cat >"$d/nginx.conf" <<EOF
$NGX_USER
daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile 16384;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 8192; }
http {
    default_type application/octet-stream;
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
    client_body_temp_path $d/tmp/body;
    proxy_temp_path $d/tmp/proxy;
    fastcgi_temp_path $d/tmp/fastcgi;
    uwsgi_temp_path $d/tmp/uwsgi;
    scgi_temp_path $d/tmp/scgi;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:SSL:10m;
    ssl_session_timeout 10m;
    ssl_session_tickets on;
    root $d/www;
    server {
        listen 127.0.0.1:${PORT_EC[$side]} ssl;
        server_name localhost;
        ssl_certificate $pki/ec.pem;
        ssl_certificate_key $pki/ec.key;
    }
    server {
        listen 127.0.0.1:${PORT_RSA[$side]} ssl;
        server_name localhost;
        ssl_certificate $pki/rsa.pem;
        ssl_certificate_key $pki/rsa.key;
    }
    server {
        listen 127.0.0.1:${PORT_SID[$side]} ssl;
        server_name localhost;
        ssl_certificate $pki/ec.pem;
        ssl_certificate_key $pki/ec.key;
        ssl_session_tickets off;
    }
}
EOF
done

listening() { [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]; }
children_of() { cat "/proc/$1/task/$1/children" 2>/dev/null; }
maps_libssl() {
    awk '$6 ~ /\/libssl\.so\.3$/ {print $6}' "/proc/$1/maps" 2>/dev/null |
        while read -r f; do realpath "$f"; done | sort -u | tr '\n' ' ' | sed 's/ $//'
}
want_lib() { if [ "$1" = ours ]; then echo "$OURS_LIB"; else echo "$SYS_LIB"; fi; }

# start_nginx SIDE: nginx on CPU NGX_CPU, on that side's libssl; sets MASTER[SIDE], WORKER[SIDE].
start_nginx() {
    local side=$1 d=${NGXDIR[$1]} envs=(-u LD_LIBRARY_PATH) i
    [ "$side" = ours ] && envs=(LD_LIBRARY_PATH="$OURS_DIR")
    : >"$d/error.log"
    taskset -c "$NGX_CPU" env "${envs[@]}" nginx -e "$d/error.log" -p "$d" -c "$d/nginx.conf" \
        >"$d/nginx.out" 2>&1 </dev/null &
    MASTER[$side]=$!
    pids+=("${MASTER[$side]}")
    for i in $(seq 200); do
        listening "${PORT_EC[$side]}" && listening "${PORT_RSA[$side]}" && listening "${PORT_SID[$side]}" && break
        kill -0 "${MASTER[$side]}" 2>/dev/null || break
        sleep 0.05
    done
    WORKER[$side]=$(children_of "${MASTER[$side]}" | awk '{print $1}')
    [ -n "${WORKER[$side]}" ] && listening "${PORT_EC[$side]}" ||
        die "nginx on ${LABEL[$side]} did not start: $(tail -c 800 "$d/nginx.out" "$d/error.log")"
    local have want
    have=$(maps_libssl "${WORKER[$side]}")
    want=$(want_lib "$side")
    [ "$have" = "$want" ] || die "nginx's worker (pid ${WORKER[$side]}) maps libssl '$have', not $want"
    EVIDENCE[$side]="worker pid ${WORKER[$side]} maps $have"
}
stop_nginx() {
    local side=$1
    kill "${MASTER[$side]}" 2>/dev/null
    wait "${MASTER[$side]}" 2>/dev/null
}
declare -A EVIDENCE
for side in "${SIDES[@]}"; do start_nginx "$side"; done
echo "bench-nginx: nginx on OpenSSL: ${EVIDENCE[ossl]}"
echo "bench-nginx: nginx on ferrotls: ${EVIDENCE[ours]}"

# Both serve the pinned suite to a client that offers only it (wrk's and python's configuration).
for side in "${SIDES[@]}"; do
    line=$(env "${CLIENT_ENV[@]}" timeout 10 openssl s_client -connect "127.0.0.1:${PORT_EC[$side]}" -servername localhost \
        -brief </dev/null 2>&1 | grep -m1 -i 'Ciphersuite')
    case "$line" in
    *TLS_AES_128_GCM_SHA256*) ;;
    *) die "nginx on ${LABEL[$side]}: a client offering only TLS_AES_128_GCM_SHA256 got '${line:-no handshake}'" ;;
    esac
done

cpu_ticks() { awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$1/stat" 2>/dev/null; }
# The time (ns) PID was runnable but waiting for its CPU (another process had it): /proc/PID/schedstat.
wait_ns() { awk '{print $2}' "/proc/$1/schedstat" 2>/dev/null; }
errlog_lines() { grep -cE '\[(error|crit|alert|emerg)\]' "${NGXDIR[$1]}/error.log" 2>/dev/null; }

# ---- one measurement ------------------------------------------------------------------------
# measure SIDE KIND SECS ARGS...: KIND hs (hsload ARGS) or wrk (ARGS: PATH BYTES). Sets M_OK=1 and
# M_RATE (ops/s), M_OPS, M_NGX (nginx CPU %), M_CLI (client CPU %), M_US (nginx CPU µs per op),
# M_BYTES (body bytes/s, wrk), M_INFO; or M_OK=0 and M_ERR (why, with the error lines).
declare -A FAILS
measure() {
    local side=$1 kind=$2 secs=$3
    shift 3
    local w=${WORKER[$side]} out=$work/run.out err=$work/run.err tf=$work/run.time
    local e0 c0 c1 q0 q1 t0 t1 rc wall cli
    M_OK=0 M_ERR= M_INFO= M_BYTES=0 M_CLIWAIT=
    e0=$(errlog_lines "$side")
    q0=$(wait_ns "$w")
    c0=$(cpu_ticks "$w")
    t0=$EPOCHREALTIME
    local TIMEFORMAT='%3U %3S'
    if [ "$kind" = hs ]; then
        { time taskset -c "$CLI_CPU" "$HSLOAD" --duration "$secs" --concurrency "$CONC" "$@" >"$out" 2>"$err"; } 2>"$tf"
        rc=$?
    else
        local port=$1 path=$2
        { time taskset -c "$CLI_CPU" env "${CLIENT_ENV[@]}" wrk -t1 -c"$KA_CONNS" -d"${secs}s" \
            "https://127.0.0.1:$port$path" >"$out" 2>"$err"; } 2>"$tf"
        rc=$?
    fi
    t1=$EPOCHREALTIME
    c1=$(cpu_ticks "$w")
    q1=$(wait_ns "$w")
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')
    cli=$(awk '{print $1 + $2}' "$tf" 2>/dev/null)
    local why=
    if ! kill -0 "$w" 2>/dev/null || [ -z "$c1" ]; then
        why="nginx's worker (pid $w) is gone"
        # the master starts another: keep measuring on it
        sleep 0.5
        WORKER[$side]=$(children_of "${MASTER[$side]}" | awk '{print $1}')
    fi
    local e1
    e1=$(errlog_lines "$side")
    if [ "$kind" = hs ]; then
        local line
        line=$(grep -m1 '^hsload:' "$out")
        kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
        if [ "$rc" != 0 ] || [ -z "$line" ]; then
            why="${why:+$why; }hsload exit $rc: ${line:-no summary}"
        else
            M_OPS=$(kv ok)
            M_RATE=$(kv rate)
            M_INFO="$(kv negotiated); full $(kv full), resumed $(kv resumed), refused $(kv refused)"
            M_CLIWAIT=$(kv client_wait)
            if [[ " $* " == *" --resume "* ]]; then
                local res ref
                res=$(kv resumed) ref=$(kv refused)
                # every offered session must resume (a few without a session yet: the first C)
                [ "$ref" = 0 ] || why="${why:+$why; }$ref of $(kv started) connections offered a session and got a full handshake"
                [ "$res" -gt 0 ] || why="${why:+$why; }no handshake resumed"
            fi
        fi
    else
        local reqs errs non2
        reqs=$(awk '/ requests in / {print $1}' "$out")
        errs=$(grep -m1 'Socket errors' "$out")
        non2=$(grep -m1 'Non-2xx' "$out")
        if [ "$rc" != 0 ] || [ -z "$reqs" ] || [ "$reqs" = 0 ]; then
            why="${why:+$why; }wrk exit $rc, $(tr '\n' ' ' <"$out" | cut -c1-300)"
        elif [ -n "$errs$non2" ]; then
            why="${why:+$why; }wrk: $errs $non2"
        else
            local dur
            dur=$(awk '/ requests in / {sub(/s,$/, "", $4); print $4}' "$out")
            M_OPS=$reqs
            M_RATE=$(awk -v n="$reqs" -v d="$dur" 'BEGIN {printf "%.1f", n / d}')
            M_BYTES=$(awk -v r="$M_RATE" -v b="$3" 'BEGIN {printf "%.1f", r * b}')
        fi
    fi
    if [ "$e1" -gt "$e0" ]; then
        why="${why:+$why; }$((e1 - e0)) new [error]/[crit]/[alert] lines in nginx's error.log"
    fi
    if [ -n "$why" ]; then
        M_ERR="$why"
        local lines
        lines=$( { sed 's/^/    client stderr: /' "$err" | head -n 6
            grep -E '\[(error|crit|alert|emerg)\]' "${NGXDIR[$side]}/error.log" 2>/dev/null | tail -n +"$((e0 + 1))" | head -n 6 |
                sed 's/^/    nginx error.log: /'; } | cut -c1-300)
        [ -n "$lines" ] && M_ERR+=$'\n'"$lines"
        return
    fi
    M_NGX=$(awk -v c="$((c1 - c0))" -v t="$CLK_TCK" -v w="$wall" 'BEGIN {printf "%.1f", 100 * c / t / w}')
    M_CLI=$(awk -v c="$cli" -v w="$wall" 'BEGIN {printf "%.1f", 100 * c / w}')
    M_NGXWAIT=$(awk -v q="$((${q1:-0} - ${q0:-0}))" -v w="$wall" 'BEGIN {printf "%.1f", q / 1e7 / w}')
    [ -n "$M_CLIWAIT" ] && M_CLIWAIT=$(awk -v q="$M_CLIWAIT" -v w="$wall" 'BEGIN {if (q < 0) print ""; else printf "%.1f", 100 * q / w}')
    M_US=$(awk -v c="$((c1 - c0))" -v t="$CLK_TCK" -v n="$M_OPS" 'BEGIN {printf "%.2f", 1e6 * c / t / n}')
    M_OK=1
}

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR] = $1} END {if (NR == 0) print ""; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# ---- the rows ---------------------------------------------------------------------------------
# name | kind | unit | args (ports as @EC, @RSA, @SID)
ROWS=(
    "Full handshakes/s, TLS 1.3, ECDSA P-256|hs|handshake|--port @EC --tls13 --path /64b --body-bytes 64"
    "Full handshakes/s, TLS 1.3, RSA-2048|hs|handshake|--port @RSA --tls13 --path /64b --body-bytes 64"
    "Full handshakes/s, TLS 1.2, ECDSA P-256|hs|handshake|--port @EC --tls12 --path /64b --body-bytes 64"
    "Full handshakes/s, TLS 1.2, RSA-2048|hs|handshake|--port @RSA --tls12 --path /64b --body-bytes 64"
    "Resumed handshakes/s, TLS 1.3 ticket (psk_dhe_ke)|hs|handshake|--port @EC --tls13 --resume --path /64b --body-bytes 64"
    "Resumed handshakes/s, TLS 1.2 session ticket|hs|handshake|--port @EC --tls12 --resume --path /64b --body-bytes 64"
    "Resumed handshakes/s, TLS 1.2 session id (shared cache)|hs|handshake|--port @SID --tls12 --resume --no-ticket --path /64b --body-bytes 64"
    "Keep-alive requests/s, 64 B, TLS 1.3, $KA_CONNS conns|wrk|request|@EC /64b 64"
    "MB/s, 1 MiB file, keep-alive, TLS 1.3, $KA_CONNS conns|wrk|MiB response|@EC /1m 1048576"
)
declare -A R_RATE R_NGX R_CLI R_US R_FAIL R_INFO R_NGXW R_CLIW
selected=()
for row in "${ROWS[@]}"; do
    name=${row%%|*}
    if [ -n "$ONLY" ] && [[ "$name" != *"$ONLY"* ]]; then continue; fi
    selected+=("$row")
done

ports_of() { local a=$2; a=${a//@EC/${PORT_EC[$1]}}; a=${a//@RSA/${PORT_RSA[$1]}}; echo "${a//@SID/${PORT_SID[$1]}}"; }

for row in "${selected[@]}"; do
    IFS='|' read -r name kind unit args <<<"$row"
    echo "== $name"
    for side in "${SIDES[@]}"; do
        # shellcheck disable=SC2046
        [ "$WARM" != 0 ] && measure "$side" "$kind" "$WARM" $(ports_of "$side" "$args")
    done
    for r in $(seq "$ROUNDS"); do
        for side in "${SIDES[@]}"; do
            key="$name|$side"
            [ -n "${R_FAIL[$key]:-}" ] && continue # it failed: no more rounds of it
            # shellcheck disable=SC2046
            measure "$side" "$kind" "$SECS" $(ports_of "$side" "$args")
            if [ "$M_OK" = 1 ]; then
                val=$M_RATE
                [ "$kind" = wrk ] && [ "$unit" = "MiB response" ] && val=$(awk -v b="$M_BYTES" 'BEGIN {printf "%.1f", b / 1e6}')
                R_RATE[$key]+="$val "
                R_NGX[$key]+="$M_NGX "
                R_CLI[$key]+="$M_CLI "
                R_NGXW[$key]+="$M_NGXWAIT "
                [ -n "$M_CLIWAIT" ] && R_CLIW[$key]+="$M_CLIWAIT "
                R_US[$key]+="$M_US "
                R_INFO[$key]=$M_INFO
                printf '   round %d %-12s %9s/s  nginx CPU %5s%% (+%4s%% waiting)  client CPU %5s%%%s  nginx %7s µs/%s  %s\n' \
                    "$r" "${LABEL[$side]}" "$val" "$M_NGX" "$M_NGXWAIT" "$M_CLI" "${M_CLIWAIT:+ (+$M_CLIWAIT% waiting)}" \
                    "$M_US" "$unit" "$M_INFO"
            else
                R_FAIL[$key]="round $r: $M_ERR"
                printf '   round %d %-12s FAILED: %s\n' "$r" "${LABEL[$side]}" "$M_ERR"
            fi
        done
    done
done

# ---- memory: VmRSS of a fresh worker, before and with IDLE idle TLS connections --------------
RSS_NAME="nginx worker VmRSS growth with $IDLE idle TLS 1.3 connections (kB)"
declare -A RSS_BEFORE RSS_GROWTH RSS_FAIL
vmrss() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null; }
if [ -z "$ONLY" ] || [[ "$RSS_NAME" == *"$ONLY"* ]]; then
    echo "== $RSS_NAME"
    for side in "${SIDES[@]}"; do stop_nginx "$side"; done
    for r in $(seq "$ROUNDS"); do
        for side in "${SIDES[@]}"; do
            [ -n "${RSS_FAIL[$side]:-}" ] && continue
            start_nginx "$side"
            w=${WORKER[$side]}
            coproc IDLEC { taskset -c "$CLI_CPU" env "${CLIENT_ENV[@]}" "$PYTHON" "$ROOT/bench/nginx/idle_conns.py" \
                "${PORT_EC[$side]}" "$IDLE" 20 2>&1; }
            ipid=$IDLEC_PID
            line=
            read -r -t 60 line <&"${IDLEC[0]}"
            if [ "$line" != warm ]; then
                RSS_FAIL[$side]="round $r: warm-up: ${line:-no answer}"
            else
                sleep 0.3
                before=$(vmrss "$w")
                echo go >&"${IDLEC[1]}"
                line=
                read -r -t 120 line <&"${IDLEC[0]}"
                if [ "$line" != "held $IDLE" ]; then
                    RSS_FAIL[$side]="round $r: ${line:-no answer from the client}"
                else
                    sleep 0.5
                    after=$(vmrss "$w")
                    if [ -z "$after" ]; then
                        RSS_FAIL[$side]="round $r: nginx's worker is gone: $(tail -3 "${NGXDIR[$side]}/error.log")"
                    else
                        RSS_BEFORE[$side]+="$before "
                        RSS_GROWTH[$side]+="$((after - before)) "
                        printf '   round %d %-12s before %6s kB, with %d idle connections %6s kB: +%s kB (%.1f kB each)\n' \
                            "$r" "${LABEL[$side]}" "$before" "$IDLE" "$after" "$((after - before))" \
                            "$(awk -v d="$((after - before))" -v n="$IDLE" 'BEGIN {print d / n}')"
                    fi
                fi
                echo quit >&"${IDLEC[1]}" 2>/dev/null
            fi
            [ -n "${RSS_FAIL[$side]:-}" ] && printf '   round %d %-12s FAILED: %s\n' "$r" "${LABEL[$side]}" "${RSS_FAIL[$side]}"
            wait "$ipid" 2>/dev/null
            stop_nginx "$side"
        done
    done
fi

# ---- the report -------------------------------------------------------------------------------
fmt() { # fmt VALUE: thousands grouped, decimals by size
    awk -v v="$1" 'BEGIN {
        if (v == "") { print "–"; exit }
        d = (v >= 1000) ? 0 : (v >= 100 ? 1 : 2); s = sprintf("%." d "f", v)
        n = split(s, p, "."); i = p[1]; o = ""
        neg = (substr(i, 1, 1) == "-"); if (neg) i = substr(i, 2)
        while (length(i) > 3) { o = "," substr(i, length(i) - 2) o; i = substr(i, 1, length(i) - 3) }
        o = i o; if (neg) o = "-" o; if (n > 1) o = o "." p[2]; print o }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "" || b == "" || a + 0 == 0) print "–"; else printf "%.2f", b / a}'; }

table=$work/table.md
sat=$work/saturation.md
fails=$work/fails.md
: >"$fails"
{
    echo "| metric | OpenSSL 3.0 | ferrotls | ratio |"
    echo "|---|---:|---:|---:|"
} >"$table"
{
    echo "| metric | OpenSSL: nginx CPU / client CPU, % | ferrotls: nginx CPU / client CPU, % | what limited the rate |"
    echo "|---|---:|---:|---|"
} >"$sat"
ECDSA13_US_RATIO= ECDSA13_RATE_RATIO=
for row in "${selected[@]}"; do
    IFS='|' read -r name kind unit args <<<"$row"
    declare -A md_rate=() md_us=() md_ngx=() md_cli=() md_ngxw=() md_cliw=() cell=() ucell=()
    for side in "${SIDES[@]}"; do
        key="$name|$side"
        md_rate[$side]=$(median <<<"${R_RATE[$key]:-}")
        md_us[$side]=$(median <<<"${R_US[$key]:-}")
        md_ngx[$side]=$(median <<<"${R_NGX[$key]:-}")
        md_cli[$side]=$(median <<<"${R_CLI[$key]:-}")
        md_ngxw[$side]=$(median <<<"${R_NGXW[$key]:-}")
        md_cliw[$side]=$(median <<<"${R_CLIW[$key]:-}")
        if [ -n "${R_FAIL[$key]:-}" ]; then
            cell[$side]="FAILED"
            ucell[$side]="FAILED"
            printf -- '- **%s, %s**: %s\n' "$name" "${LABEL[$side]}" "${R_FAIL[$key]//$'\n'/$'\n'  }" >>"$fails"
            md_rate[$side]= md_us[$side]=
        else
            cell[$side]=$(fmt "${md_rate[$side]}")
            ucell[$side]=$(fmt "${md_us[$side]}")
        fi
    done
    echo "| $name | ${cell[ossl]} | ${cell[ours]} | $(ratio "${md_rate[ossl]}" "${md_rate[ours]}") |" >>"$table"
    echo "| ↳ nginx CPU µs per $unit | ${ucell[ossl]} | ${ucell[ours]} | $(ratio "${md_us[ossl]}" "${md_us[ours]}") |" >>"$table"
    limit=
    for side in "${SIDES[@]}"; do
        [ -n "${md_ngx[$side]}" ] || continue
        l=$(awk -v n="${md_ngx[$side]}" -v nw="${md_ngxw[$side]}" -v c="${md_cli[$side]}" -v cw="${md_cliw[$side]}" \
            -v ncpu="$NGX_CPU" -v ccpu="$CLI_CPU" 'BEGIN {
            cw += 0
            if (n >= 95) print "nginx";
            else if (c >= 95) print "the client";
            else if (n + nw >= 90 && n + nw >= c + cw) print "nginx, sharing CPU " ncpu " with other work";
            else if (c + cw >= 90) print "the client, sharing CPU " ccpu " with other work";
            else if (nw + cw >= 20) print "neither core saturated: other work on both";
            else print "neither core saturated" }')
        limit+="${limit:+; }${LABEL[$side]}: $l"
    done
    pc() { if [ -n "${md_ngx[$1]}" ]; then echo "${md_ngx[$1]}% (+${md_ngxw[$1]}) / ${md_cli[$1]}%${md_cliw[$1]:+ (+${md_cliw[$1]})}"; else echo "–"; fi; }
    echo "| $name | $(pc ossl) | $(pc ours) | ${limit:-–} |" >>"$sat"
    if [ "$name" = "Full handshakes/s, TLS 1.3, ECDSA P-256" ]; then
        ECDSA13_RATE_RATIO=$(ratio "${md_rate[ossl]}" "${md_rate[ours]}")
        ECDSA13_US_RATIO=$(ratio "${md_us[ours]}" "${md_us[ossl]}") # capacity ratio: OpenSSL µs / ours µs
    fi
    if [ "$name" = "Full handshakes/s, TLS 1.2, ECDSA P-256" ]; then
        ECDSA12_RATE_RATIO=$(ratio "${md_rate[ossl]}" "${md_rate[ours]}")
        ECDSA12_US_RATIO=$(ratio "${md_us[ours]}" "${md_us[ossl]}")
    fi
    unset md_rate md_us md_ngx md_cli md_ngxw md_cliw cell ucell
done
if [ -z "$ONLY" ] || [[ "$RSS_NAME" == *"$ONLY"* ]]; then
    declare -A rb rg rc_
    for side in "${SIDES[@]}"; do
        rb[$side]=$(median <<<"${RSS_BEFORE[$side]:-}")
        rg[$side]=$(median <<<"${RSS_GROWTH[$side]:-}")
        rc_[$side]=$(fmt "${rg[$side]}")
        if [ -n "${RSS_FAIL[$side]:-}" ]; then
            rc_[$side]=FAILED
            rg[$side]=
            printf -- '- **%s, %s**: %s\n' "$RSS_NAME" "${LABEL[$side]}" "${RSS_FAIL[$side]}" >>"$fails"
        fi
    done
    echo "| $RSS_NAME | ${rc_[ossl]} | ${rc_[ours]} | $(ratio "${rg[ossl]}" "${rg[ours]}") |" >>"$table"
    per() { awk -v g="$1" -v n="$IDLE" 'BEGIN {if (g == "") print "–"; else printf "%.1f", g / n}'; }
    echo "| ↳ per connection (kB) | $(per "${rg[ossl]}") | $(per "${rg[ours]}") | $(ratio "${rg[ossl]}" "${rg[ours]}") |" >>"$table"
    echo "| ↳ VmRSS before, after 20 warm-up connections (kB) | $(fmt "${rb[ossl]}") | $(fmt "${rb[ours]}") | $(ratio "${rb[ossl]}" "${rb[ours]}") |" >>"$table"
fi

elapsed=$(awk -v s="$start_time" -v e="$EPOCHREALTIME" 'BEGIN {printf "%.0f", e - s}')
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
ngx_ver=$(nginx -v 2>&1 | sed 's/^nginx version: //')
ngx_pkg=$(dpkg-query -W -f='${Version}' nginx 2>/dev/null)
ossl_ver=$(openssl version)
ossl_pkg=$(dpkg-query -W -f='${Version}' libssl3 2>/dev/null)
ferro_ver=$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -n 1)
commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
lib_sum=$(sha256sum "$OURS_LIB" | cut -c1-12)
lib_date=$(date -u -r "$OURS_LIB" '+%Y-%m-%d %H:%M UTC')
goal=
if [ -n "${ECDSA13_US_RATIO:-}" ] && [ "$ECDSA13_US_RATIO" != – ]; then
    goal=$(awk -v a="$ECDSA13_RATE_RATIO" -v b="$ECDSA13_US_RATIO" -v c="${ECDSA12_RATE_RATIO:-–}" -v d="${ECDSA12_US_RATIO:-–}" 'BEGIN {
        printf "Issue 19 goal, ECDSA full handshakes at least 2x OpenSSL: TLS 1.3: %sx measured handshakes/s, %sx per nginx CPU second (OpenSSL µs / ferrotls µs)", a, b
        if (c != "–") printf "; TLS 1.2: %sx handshakes/s, %sx per nginx CPU second", c, d
        printf ". %s\n", (b + 0 >= 2) ? "Reached (per CPU second, TLS 1.3)." : "Not reached (per CPU second, TLS 1.3)." }')
fi

report=$work/report.md
{
    echo "# nginx on OpenSSL's libssl and on ferrotls's (make bench-nginx)"
    echo
    echo "Generated by \`make bench-nginx\` (bench/nginx/run.sh) on $(date -u '+%Y-%m-%d %H:%M UTC'), in ${elapsed} s."
    echo
    echo "**A shared, noisy 2-core virtual machine: read the ratios, not the absolute values.** Both"
    echo "libraries ran in the same run, taking turns (OpenSSL, ferrotls, OpenSSL, ferrotls, ...; $ROUNDS rounds"
    echo "of ${SECS} s each after a ${WARM} s warm-up each); each cell is the median of its rounds."
    echo
    echo "- machine: \`nproc\` = $(nproc), $cpu_model, Linux $(uname -r); load average $load_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
    echo "- nginx: $ngx_ver (Debian $ngx_pkg), \`worker_processes 1\`, pinned with taskset to CPU $NGX_CPU (master and worker); the clients on CPU $CLI_CPU"
    echo "- OpenSSL: $ossl_ver (Debian libssl3 $ossl_pkg), $SYS_LIB"
    echo "- ferrotls: $ferro_ver (commit $commit, with the working tree as built), $OURS_LIB (sha256 $lib_sum…, built $lib_date)"
    echo "- the same nginx.conf on both sides (paths and ports aside): TLS 1.2 and 1.3, \`ssl_session_cache shared:SSL:10m\`, \`ssl_session_tickets on\` (off on the session-id port), \`access_log off\`"
    echo "- pinned on the client side: X25519, TLS_AES_128_GCM_SHA256, ECDHE-{ECDSA,RSA}-AES128-GCM-SHA256; certificates made at run time (ECDSA P-256 and RSA-2048 leaves signed by examples-c/certs/ca.key, thrown away after)"
    echo
    echo "ratio = ferrotls / OpenSSL: above 1 is better for rates; below 1 is better for CPU time per operation and memory."
    echo
    cat "$table"
    echo
    [ -n "$goal" ] && { echo "$goal"; echo; }
    echo "What limited each rate: medians of nginx's worker CPU and of the client's CPU, in % of the round's wall time,"
    echo "with (+N) the time it was runnable but waiting for its CPU (another process had it: /proc/PID/schedstat;"
    echo "not measured for wrk). A side at ≥ 95% CPU was the bottleneck; at ≥ 90% CPU + waiting, it would have"
    echo "been on a quiet machine."
    echo
    cat "$sat"
    echo
    if [ -s "$fails" ]; then
        echo "Failures:"
        echo
        cat "$fails"
        echo
    fi
    echo "How: full and resumed handshakes by bench/nginx/hsload (C, Debian's OpenSSL, $CONC connections at a time,"
    echo "one request for a 64 B file with \`Connection: close\` per connection, response checked). To make the"
    echo "client cheaper than the server it skips the server's signature check and the chain's, reuses one X25519"
    echo "key share, the parsed server certificate and OpenSSL's fetched algorithms (the server's work is unchanged;"
    echo "see bench/nginx/hsload.c). Even so an OpenSSL 3.0 client costs about as much per full handshake as a"
    echo "fast server: where the client was the bottleneck, the rate understates the faster side and the CPU time"
    echo "per handshake is the number to compare. Keep-alive rows: wrk -t1 -c$KA_CONNS"
    echo "(HTTP/1.1, TLS 1.3). Memory: Debian's python3 opens $IDLE TLS 1.3 connections to a freshly started nginx"
    echo "(after 20 warm-up connections) and holds them; VmRSS of the worker from /proc. \"nginx CPU µs per ...\""
    echo "is the worker's utime + stime from /proc over the round divided by the operations: the fairest number"
    echo "here, whichever side was the bottleneck. See bench/nginx/README.md."
} >"$report"
cat "$report"
mkdir -p "$(dirname "$OUT")"
cp "$report" "$OUT.tmp$$" && mv -f "$OUT.tmp$$" "$OUT"
echo
echo "(written to ${OUT#"$ROOT"/})"
[ ! -s "$fails" ]
