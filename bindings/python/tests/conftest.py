"""Shared fixtures: the library from the build tree, demo certificates, servers in threads,
and TLS 1.2 detection (1.2 cases skip while the library cannot negotiate TLS 1.2)."""

from __future__ import annotations

import importlib.util
import os
import socket
import ssl
import sys
import threading
from pathlib import Path

import pytest

PKG_DIR = Path(__file__).resolve().parents[1]
REPO = PKG_DIR.parents[1]
LIB = REPO / "target" / "release" / "libferrotls.so"
CERTS = REPO / "examples-c" / "certs"
C_SERVER = REPO / "target" / "examples-c" / "ferrotls-server"
TIMEOUT = 10.0

if not LIB.is_file():
    pytest.exit("%s is missing: run `make` in %s first" % (LIB, REPO), returncode=2)
os.environ["FERROTLS_LIBRARY"] = str(LIB)
sys.path.insert(0, str(PKG_DIR))

import ferrotls  # noqa: E402

# The libraries the tests put ferrotls under: without them the run would not test what it says.
_MISSING = [m for m in ("requests", "urllib3", "certifi", "httpx", "anyio", "aiohttp", "trustme")
            if importlib.util.find_spec(m) is None]
# The post-quantum interop peer (tests/test_post_quantum.py): tlslite-ng, with kyber-py for its
# ML-KEM hybrids and ecdsa for its elliptic curves.
_MISSING += [m for m in ("tlslite", "kyber_py", "ecdsa") if importlib.util.find_spec(m) is None]
if _MISSING:
    pytest.exit("missing test requirements (%s): pip install -r %s" % (
        ", ".join(_MISSING), PKG_DIR / "requirements-test.txt"), returncode=2)

VERSIONS = {
    "1.3": (ssl.TLSVersion.TLSv1_3, "TLSv1.3"),
    "1.2": (ssl.TLSVersion.TLSv1_2, "TLSv1.2"),
}


def cert(name: str) -> str:
    return str(CERTS / name)


def _pump(a, a_in, a_out, b, b_in, b_out, rounds=50):
    """Run two in-memory handshakes against each other until both are done."""
    done = [False, False]
    for _ in range(rounds):
        for i, (obj, inc, out, peer_in) in enumerate(((a, a_in, a_out, b_in), (b, b_in, b_out, a_in))):
            if not done[i]:
                try:
                    obj.do_handshake()
                    done[i] = True
                except ssl.SSLWantReadError:
                    pass
            data = out.read()
            if data:
                peer_in.write(data)
        if all(done):
            return
    raise AssertionError("handshake did not finish")


def _tls12_reason(role: str) -> str | None:
    """Try one TLS 1.2-only handshake in memory, ferrotls in ``role`` against the stdlib.
    None if it negotiates TLS 1.2, else why not."""
    try:
        v = ssl.TLSVersion.TLSv1_2
        bios = [ssl.MemoryBIO() for _ in range(4)]
        if role == "client":
            ours_ctx, theirs_ctx = client_ctx(v), stdlib_server_ctx(v)
            ours = ours_ctx.wrap_bio(bios[0], bios[1], server_hostname="localhost")
            theirs = theirs_ctx.wrap_bio(bios[2], bios[3], server_side=True)
        else:
            ours_ctx, theirs_ctx = server_ctx(v), stdlib_client_ctx(v)
            ours = ours_ctx.wrap_bio(bios[0], bios[1], server_side=True)
            theirs = theirs_ctx.wrap_bio(bios[2], bios[3], server_hostname="localhost")
        _pump(ours, bios[0], bios[1], theirs, bios[2], bios[3])
        if ours.version() != "TLSv1.2":
            return "negotiated %s instead of TLSv1.2" % ours.version()
        return None
    except Exception as e:  # noqa: BLE001 - any failure means "not yet"
        return "%s: %s" % (type(e).__name__, e)


@pytest.fixture(scope="session")
def tls12_support() -> dict:
    """{"client": reason or None, "server": reason or None}, probed once per session."""
    return {role: _tls12_reason(role) for role in ("client", "server")}


def _version_fixture(request, tls12_support, roles):
    if request.param == "1.2":
        for role in roles:
            if tls12_support[role] is not None:
                pytest.skip("libferrotls cannot negotiate TLS 1.2 as a %s yet (%s)"
                            % (role, tls12_support[role]))
    return VERSIONS[request.param]


@pytest.fixture(params=["1.3", "1.2"])
def client_version(request, tls12_support):
    """(ssl.TLSVersion, name) for tests of our client; TLS 1.2 skips until the library has it."""
    return _version_fixture(request, tls12_support, ["client"])


@pytest.fixture(params=["1.3", "1.2"])
def server_version(request, tls12_support):
    """(ssl.TLSVersion, name) for tests of our server; TLS 1.2 skips until the library has it."""
    return _version_fixture(request, tls12_support, ["server"])


@pytest.fixture(params=["1.3", "1.2"])
def both_version(request, tls12_support):
    """For tests where ferrotls is on both sides."""
    return _version_fixture(request, tls12_support, ["client", "server"])


def pin(ctx, version) -> None:
    ctx.minimum_version = ctx.maximum_version = version


def client_ctx(version=None, cafile="ca.pem"):
    ctx = ferrotls.create_default_context(cafile=cert(cafile))
    if version is not None:
        pin(ctx, version)
    return ctx


def server_ctx(version=None, certfile="server.pem", keyfile="server.key"):
    ctx = ferrotls.Context(ferrotls.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert(certfile), cert(keyfile))
    if version is not None:
        pin(ctx, version)
    return ctx


def stdlib_server_ctx(version=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert("server.pem"), cert("server.key"))
    if version is not None:
        pin(ctx, version)
    return ctx


def stdlib_client_ctx(version=None):
    ctx = ssl.create_default_context(cafile=cert("ca.pem"))
    if version is not None:
        pin(ctx, version)
    return ctx


class ServerThread:
    """Accept connections on 127.0.0.1 in a thread, wrap them with ``ctx`` (ferrotls or ssl)
    and run ``handler(tls_sock)`` on each. Exceptions are kept in ``errors``."""

    def __init__(self, ctx, handler, conns=1):
        self.ctx, self.handler, self.conns = ctx, handler, conns
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(TIMEOUT)
        self.port = self.listener.getsockname()[1]
        self.errors: list = []
        self.results: list = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        try:
            for _ in range(self.conns):
                raw, _ = self.listener.accept()
                raw.settimeout(TIMEOUT)
                try:
                    with self.ctx.wrap_socket(raw, server_side=True) as s:
                        self.results.append(self.handler(s))
                except Exception as e:  # noqa: BLE001
                    self.errors.append(e)
        except Exception as e:  # noqa: BLE001
            self.errors.append(e)
        finally:
            self.listener.close()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.thread.join(TIMEOUT)
        assert not self.thread.is_alive(), "server thread did not finish"


def echo_handler(s):
    """Echo until the peer closes; then answer close_notify."""
    while True:
        d = s.recv(65536)
        if not d:
            break
        s.sendall(d)
    return True


@pytest.fixture
def certs():
    return cert
