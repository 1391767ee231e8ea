#!/usr/bin/env bash
# Install what `make test` needs on a Debian/Ubuntu machine: the peers the interop tests talk to
# (OpenSSL, GnuTLS, curl), valgrind, pkg-config, the OpenSSL headers for `make bench`, and the
# Python test requirements. With --if-missing it installs only when something is absent, so
# `make test` can call it every time at almost no cost.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

DEBIAN_DEPS="build-essential pkg-config binutils ca-certificates openssl curl netcat-openbsd gnutls-bin valgrind libssl-dev socat postgresql"
PYREQ=bindings/python/requirements-test.txt

need_debian=1
need_python=1
if [ "${1:-}" = --if-missing ]; then
    need_debian=0
    for tool in cc pkg-config objdump openssl curl nc gnutls-cli gnutls-serv valgrind socat; do
        command -v "$tool" >/dev/null 2>&1 || need_debian=1
    done
    [ -f /usr/include/openssl/ssl.h ] || need_debian=1
    # PostgreSQL for tests/libssl/programs.sh: Debian keeps initdb off PATH, in /usr/lib/postgresql/N/bin
    command -v initdb >/dev/null 2>&1 || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need_debian=1
    [ -d /etc/ssl/certs ] || need_debian=1
    python3 -c 'import pytest, cryptography, setuptools, wheel, requests, urllib3, certifi, httpx, anyio, aiohttp, trustme, tlslite, kyber_py, ecdsa' >/dev/null 2>&1 && need_python=0
fi

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
if [ "$need_debian" = 1 ]; then
    echo "== installing Debian packages: $DEBIAN_DEPS"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    # shellcheck disable=SC2086
    $SUDO apt-get install -y -qq --no-install-recommends $DEBIAN_DEPS >/dev/null
fi
if [ "$need_python" = 1 ]; then
    echo "== installing Python test requirements ($PYREQ)"
    python3 -m pip install -q --disable-pip-version-check -r "$PYREQ" \
        || python3 -m pip install -q --disable-pip-version-check --break-system-packages -r "$PYREQ" \
        || $SUDO apt-get install -y -qq --no-install-recommends \
            python3-pytest python3-cryptography python3-setuptools python3-wheel >/dev/null
fi
