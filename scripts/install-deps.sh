#!/usr/bin/env bash
# Install what `make test` needs on a Debian/Ubuntu machine: the peers the interop tests talk to
# (OpenSSL, GnuTLS, curl), valgrind, pkg-config, the OpenSSL headers for `make bench`, the servers
# that tests/libssl/servers.sh runs on the libssl under test (nginx, stunnel4, haproxy: installed
# without starting their system services), and the Python test requirements. With --if-missing
# it installs only when something is absent, so `make test` can call it every time at almost no
# cost.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

DEBIAN_DEPS="build-essential pkg-config binutils ca-certificates openssl curl netcat-openbsd gnutls-bin valgrind libssl-dev socat postgresql nginx stunnel4 haproxy python3"
# The daemons tests/libssl/servers.sh runs in the foreground itself (Debian 12's nginx has the
# ssl and http_v2 modules built in; nginx-light and nginx-core only add dynamic modules to it).
# Debian keeps them in /usr/sbin, which a user's PATH may lack.
SERVER_DAEMONS="nginx stunnel haproxy"
PYREQ=bindings/python/requirements-test.txt

need_debian=1
need_python=1
if [ "${1:-}" = --if-missing ]; then
    need_debian=0
    for tool in cc pkg-config objdump openssl curl nc gnutls-cli gnutls-serv valgrind socat; do
        command -v "$tool" >/dev/null 2>&1 || need_debian=1
    done
    [ -f /usr/include/openssl/ssl.h ] || need_debian=1
    for tool in $SERVER_DAEMONS; do
        command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || [ -x "/usr/bin/$tool" ] || need_debian=1
    done
    # PostgreSQL for tests/libssl/programs.sh: Debian keeps initdb off PATH, in /usr/lib/postgresql/N/bin
    command -v initdb >/dev/null 2>&1 || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need_debian=1
    # Debian's own python3 (its _ssl links the system libssl.so.3) for tests/libssl/python*.sh
    [ -x /usr/bin/python3 ] || need_debian=1
    [ -d /etc/ssl/certs ] || need_debian=1
    python3 -c 'import pytest, cryptography, setuptools, wheel, requests, urllib3, certifi, httpx, anyio, aiohttp, trustme, tlslite, kyber_py, ecdsa' >/dev/null 2>&1 && need_python=0
fi

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
if [ "$need_debian" = 1 ]; then
    echo "== installing Debian packages: $DEBIAN_DEPS"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    # The packages of daemons that are not installed yet: their services stay off (below).
    new_services=
    for pkg in nginx haproxy stunnel4; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q ' installed$' || new_services+=" $pkg"
    done
    # No service starts while installing (nginx's would listen on port 80, as root):
    # invoke-rc.d and deb-systemd-invoke ask /usr/sbin/policy-rc.d, and 101 means "not allowed".
    # A policy-rc.d already there (Docker images have one) is left as it is.
    own_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\n# scripts/install-deps.sh: no service starts while it installs\nexit 101\n' |
            $SUDO tee /usr/sbin/policy-rc.d >/dev/null
        $SUDO chmod 755 /usr/sbin/policy-rc.d
        own_policy=1
        trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    # shellcheck disable=SC2086
    $SUDO apt-get install -y -qq --no-install-recommends $DEBIAN_DEPS >/dev/null
    if [ "$own_policy" = 1 ]; then
        $SUDO rm -f /usr/sbin/policy-rc.d
        trap - EXIT
    fi
    # Nor at the next boot, for the daemons installed just now (ones installed before keep their setting).
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
        for pkg in $new_services; do
            $SUDO systemctl disable --quiet "$pkg" 2>/dev/null || true
        done
    fi
fi
# CPython's own test_ssl for tests/libssl/python_test_ssl.sh: the test suite package of Debian's
# /usr/bin/python3 (libpython3.11-testsuite on bookworm). Where Debian has no such package, the
# install is skipped and that script says what is missing.
if [ -x /usr/bin/python3 ]; then
    py_minor=$(/usr/bin/python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    py_testsuite=libpython$py_minor-testsuite
    if [ ! -f "/usr/lib/python$py_minor/test/test_ssl.py" ] &&
        { [ "$need_debian" = 1 ] || [ "${1:-}" != --if-missing ] || apt-cache show "$py_testsuite" >/dev/null 2>&1; }; then
        echo "== installing $py_testsuite (CPython's test_ssl)"
        export DEBIAN_FRONTEND=noninteractive
        [ "$need_debian" = 1 ] || $SUDO apt-get update -qq
        $SUDO apt-get install -y -qq --no-install-recommends "$py_testsuite" >/dev/null ||
            echo "   $py_testsuite could not be installed: tests/libssl/python_test_ssl.sh will not run"
    fi
fi
if [ "$need_python" = 1 ]; then
    echo "== installing Python test requirements ($PYREQ)"
    python3 -m pip install -q --disable-pip-version-check -r "$PYREQ" \
        || python3 -m pip install -q --disable-pip-version-check --break-system-packages -r "$PYREQ" \
        || $SUDO apt-get install -y -qq --no-install-recommends \
            python3-pytest python3-cryptography python3-setuptools python3-wheel >/dev/null
fi
