#!/usr/bin/env bash
# `make demo`: one real TLS conversation between the two example programs on 127.0.0.1,
# shown step by step. Needs only what `make` built (no openssl CLI): the demo certificates
# are committed in examples-c/certs/.
#
#   scripts/demo.sh            TLS 1.3 (the default of both programs)
#   scripts/demo.sh --tls1.2   the same with TLS 1.2 (the seed's eleven steps, one by one)
#
# Exits non-zero when the conversation fails.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
bin="${FERROTLS_EXAMPLES_DIR:-target/examples-c}"
certs="examples-c/certs"
version_flag=()
case "${1:-}" in
    "") ;;
    --tls1.2 | --tls1.3) version_flag=("$1") ;;
    *) echo "usage: scripts/demo.sh [--tls1.2 | --tls1.3]" >&2; exit 2 ;;
esac

for b in ferrotls-server ferrotls-client; do
    [ -x "$bin/$b" ] || { echo "demo: $bin/$b is missing; run 'make' first" >&2; exit 1; }
done

work="$(mktemp -d)"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then kill "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

bold() { if [ -t 1 ]; then printf '\033[1m%s\033[0m\n' "$*"; else printf '%s\n' "$*"; fi; }
section() { echo; bold "==== $* ===="; }

section "1. Start the server"
cat <<EOF
ferrotls-server listens on 127.0.0.1 (port 0 = the system picks a free one) with the DEMO-ONLY
certificate $certs/server.pem (CN=localhost, ECDSA P-256, signed by the demo CA) and exits after
one connection (--max-conns 1). It answers the HTTP request with a page listing what was negotiated.
EOF
echo "\$ $bin/ferrotls-server --cert $certs/server.pem --key $certs/server.key --port 0 --max-conns 1 ${version_flag[*]:-}"
: >"$work/server.err"
"$bin/ferrotls-server" --cert "$certs/server.pem" --key "$certs/server.key" --host 127.0.0.1 --port 0 \
    --max-conns 1 "${version_flag[@]}" 2>"$work/server.err" &
server_pid=$!

port=""
for _ in $(seq 1 100); do
    port="$(sed -n 's/^ferrotls-server: listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/server.err" || true)"
    [ -n "$port" ] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
done
if [ -z "$port" ]; then
    echo "demo: the server did not start:" >&2
    cat "$work/server.err" >&2
    exit 1
fi
cat "$work/server.err"

section "2. What you are about to see"
cat <<'EOF'
The client opens a TCP connection (nothing TLS yet), then the handshake runs inside the Record
Protocol: every record has a 5-byte header (type, version, length) and carries handshake
messages, each with its own 4-byte header (type, 24-bit length). --trace prints each record and
each handshake message in order, with the step names of the walk-through the project started from:

  Step One      ClientHello          client: versions, random, cipher suites, extensions
                                     (TLS 1.3: also its key share, so no separate key exchange later)
  Step Two      ServerHello          server: chosen version and cipher suite, its random
                                     (TLS 1.3: its key share; from here on everything is encrypted)
  Step Three    Certificate          the server's certificate chain
                                     (TLS 1.3: after EncryptedExtensions; then CertificateVerify,
                                     the server's signature over the transcript)
  Step Four     ServerKeyExchange    TLS 1.2 only: the server's ECDHE share, signed
  Step Five     CertificateRequest   only when the server asks for a client certificate (mutual TLS)
  Step Six      ServerHelloDone      TLS 1.2 only
  Step Seven    client Certificate   only if requested
  Step Eight    ClientKeyExchange    TLS 1.2 only: the client's ECDHE share
  Step Nine     CertificateVerify    only with a client certificate
  Step Ten      change_cipher_spec + Finished
                                     TLS 1.2: the switch to the new keys, then the checksum over all
                                     handshake messages; TLS 1.3 keeps a dummy CCS for middleboxes
  Step Eleven   the other side's change_cipher_spec + Finished; then application_data flows
                (in TLS 1.3 the server's Finished comes in its first flight, the client's last)

Then the client sends "GET / HTTP/1.0", the server answers and both say goodbye with a
close_notify alert, so each side knows the data was not cut short.
EOF

section "3. The client, with --trace"
echo "\$ printf 'GET / HTTP/1.0\\r\\n\\r\\n' | $bin/ferrotls-client --trace --cafile $certs/ca.pem ${version_flag[*]:-} localhost $port"
set +e
printf 'GET / HTTP/1.0\r\n\r\n' | timeout 20 "$bin/ferrotls-client" --trace --cafile "$certs/ca.pem" \
    "${version_flag[@]}" localhost "$port" >"$work/client.out" 2>"$work/client.err"
client_rc=$?
set -e
grep '^\[trace\]' "$work/client.err" || echo "(no trace lines)"

section "4. The client's summary of the handshake (stderr)"
grep -v '^\[trace\]' "$work/client.err" || true

section "5. The server's page (the client's stdout)"
cat "$work/client.out"

section "6. The server's side"
wait "$server_pid" 2>/dev/null && server_rc=0 || server_rc=$?
server_pid=""
cat "$work/server.err"

echo
if [ "$client_rc" -eq 0 ] && grep -q '^HTTP/1.0 200 OK' "$work/client.out"; then
    bold "demo: OK: a verified TLS conversation, a request, a reply and a clean close."
    exit 0
fi
bold "demo: FAILED (client exit code $client_rc, server exit code $server_rc)."
exit 1
