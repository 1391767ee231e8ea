#!/usr/bin/env bash
# Regenerates the DEMO-ONLY PKI in examples-c/certs/ with the openssl CLI.
# The output is committed, so `make demo` and the tests need no openssl CLI.
# DEMO ONLY: these private keys are public. Never use them in production.
#
#   scripts/make-demo-certs.sh [OUTDIR]     (default: examples-c/certs)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$here/examples-c/certs}"
mkdir -p "$out"
cd "$out"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

command -v openssl >/dev/null || { echo "make-demo-certs: the openssl CLI is required" >&2; exit 1; }

# PKCS#8 private keys (openssl genpkey writes PKCS#8 PEM: "BEGIN PRIVATE KEY").
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca.key
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out server.key
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out server-rsa.key 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out client.key
# The same server key in SEC1 form ("BEGIN EC PRIVATE KEY"), for tests of SEC1 loading.
openssl ec -in server.key -out server-ec-sec1.key 2>/dev/null

# Demo CA: self-signed, 20 years.
cat > "$tmp/ca.cnf" <<'CNF'
[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca
[dn]
O = ferrotls demo
CN = ferrotls demo CA (DEMO ONLY)
[v3_ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
CNF
openssl req -new -x509 -sha256 -days 7305 -key ca.key -config "$tmp/ca.cnf" -out ca.pem

cat > "$tmp/server.ext" <<'CNF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF
cat > "$tmp/client.ext" <<'CNF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF

sign() { # KEY SUBJECT EXTFILE OUT
    openssl req -new -sha256 -key "$1" -subj "$2" -out "$tmp/req.csr"
    openssl x509 -req -sha256 -days 3652 -in "$tmp/req.csr" -CA ca.pem -CAkey ca.key \
        -set_serial "0x$(openssl rand -hex 16)" -extfile "$3" -out "$4" 2>/dev/null
}
sign server.key     "/O=ferrotls demo/CN=localhost"   "$tmp/server.ext" server.pem
sign server-rsa.key "/O=ferrotls demo/CN=localhost"   "$tmp/server.ext" server-rsa.pem
sign client.key     "/O=ferrotls demo/CN=demo-client" "$tmp/client.ext" client.pem

# A second, unrelated CA: the "wrong CA" for negative tests (its key is not kept).
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/other.key"
sed 's/ferrotls demo CA (DEMO ONLY)/unrelated demo CA (DEMO ONLY)/' "$tmp/ca.cnf" > "$tmp/other.cnf"
openssl req -new -x509 -sha256 -days 7305 -key "$tmp/other.key" -config "$tmp/other.cnf" -out other-ca.pem

chmod 644 ./*.pem ./*.key
for c in server.pem server-rsa.pem client.pem; do
    openssl verify -CAfile ca.pem "$c" >/dev/null
done
echo "make-demo-certs: wrote DEMO-ONLY certificates to $out"
