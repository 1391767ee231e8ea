"""Our client and server against the stdlib, the C example server, curl and openssl s_client."""

from __future__ import annotations

import hashlib
import re
import select
import shutil
import socket
import ssl
import subprocess
import time

import pytest

import ferrotls
from conftest import (
    C_SERVER, TIMEOUT, ServerThread, cert, client_ctx, echo_handler, server_ctx, stdlib_client_ctx,
    stdlib_server_ctx,
)


def connect(port):
    return socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)


def test_client_vs_stdlib_server(client_version):
    version, name = client_version
    payload = bytes(range(256)) * 400
    with ServerThread(stdlib_server_ctx(version), echo_handler) as srv:
        with client_ctx(version).wrap_socket(connect(srv.port), server_hostname="localhost") as s:
            assert s.version() == name
            cname, proto, bits = s.cipher()
            assert proto == name and bits in (128, 256) and cname
            assert s.server_hostname == "localhost"
            assert s.session_reused is False
            s.sendall(payload)
            got = bytearray()
            while len(got) < len(payload):
                got += s.recv(65536)
            assert got == payload
            assert isinstance(s.session, ferrotls.Session)  # TLS 1.3: the ticket came with the data
            s.unwrap()
    assert not srv.errors, srv.errors


def test_getpeercert_matches_stdlib():
    """Our dict form equals what an ssl client reports for the same server certificate."""
    def handler(s):
        s.recv(1)

    with ServerThread(stdlib_server_ctx(), handler, conns=2) as srv:
        with client_ctx().wrap_socket(connect(srv.port), server_hostname="localhost") as s:
            ours = s.getpeercert()
            der = s.getpeercert(binary_form=True)
            s.sendall(b"x")
        with stdlib_client_ctx().wrap_socket(connect(srv.port), server_hostname="localhost") as s:
            theirs = s.getpeercert()
            their_der = s.getpeercert(binary_form=True)
            s.sendall(b"x")
    assert der == their_der
    assert ours == theirs


def test_client_alpn_and_mutual_tls():
    sctx = stdlib_server_ctx()
    sctx.set_alpn_protocols(["h2", "http/1.1"])
    sctx.verify_mode = ssl.CERT_REQUIRED
    sctx.load_verify_locations(cert("ca.pem"))

    def handler(s):
        s.sendall(b"ok")
        s.recv(1)
        return s.getpeercert()

    ctx = client_ctx()
    ctx.set_alpn_protocols(["http/1.1"])
    ctx.load_cert_chain(cert("client.pem"), cert("client.key"))
    with ServerThread(sctx, handler) as srv:
        with ctx.wrap_socket(connect(srv.port), server_hostname="localhost") as s:
            assert s.selected_alpn_protocol() == "http/1.1"
            assert s.recv(2) == b"ok"
            s.sendall(b"x")
    assert not srv.errors, srv.errors
    assert dict(x[0] for x in srv.results[0]["subject"])["commonName"] == "demo-client"


@pytest.fixture
def c_server(request):
    """Start target/examples-c/ferrotls-server --port 0 with extra args; yields the port."""
    if not C_SERVER.is_file():
        pytest.fail("%s is missing: run `make`" % C_SERVER)
    procs = []

    def start(*args):
        p = subprocess.Popen([str(C_SERVER), "--cert", cert("server.pem"), "--key", cert("server.key"),
                              "--port", "0", *args], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
        procs.append(p)
        deadline = time.monotonic() + TIMEOUT
        line = b""
        while time.monotonic() < deadline:
            r, _, _ = select.select([p.stderr], [], [], 0.5)
            if r:
                line = p.stderr.readline()
                m = re.search(rb"listening on (\S+):(\d+)", line)
                if m:
                    return int(m.group(2))
                if not line:
                    break
        p.kill()
        pytest.fail("ferrotls-server did not report its port (last line: %r)" % line)

    yield start
    for p in procs:
        p.kill()
        p.wait(TIMEOUT)


def test_client_vs_c_server(client_version, c_server):
    version, name = client_version
    port = c_server("--echo", "--tls1.3" if name == "TLSv1.3" else "--tls1.2", "--alpn", "h2,http/1.1")
    ctx = client_ctx(version)
    ctx.set_alpn_protocols(["h2"])
    data = b"ferrotls python " * 5000
    with ctx.wrap_socket(connect(port), server_hostname="localhost") as s:
        assert s.version() == name
        assert s.selected_alpn_protocol() == "h2"
        s.sendall(data)
        got = bytearray()
        while len(got) < len(data):
            chunk = s.recv(65536)
            assert chunk, "server closed early"
            got += chunk
        assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()


def test_client_http_vs_c_server(c_server):
    port = c_server()
    with client_ctx().wrap_socket(connect(port), server_hostname="localhost") as s:
        s.sendall(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
        body = bytearray()
        while True:
            d = s.recv(65536)
            if not d:
                break
            body += d
    assert body.startswith(b"HTTP/1.0 200")


def test_server_vs_stdlib_client(server_version):
    version, name = server_version
    payload = b"0123456789abcdef" * 20000
    with ServerThread(server_ctx(version), echo_handler) as srv:
        with stdlib_client_ctx(version).wrap_socket(connect(srv.port), server_hostname="localhost") as s:
            assert s.version() == name
            s.sendall(payload)
            got = bytearray()
            while len(got) < len(payload):
                got += s.recv(65536)
            assert got == payload
            s.unwrap()
    assert not srv.errors, srv.errors
    assert srv.results == [True]


def http_handler(s):
    req = bytearray()
    while b"\r\n\r\n" not in req:
        d = s.recv(4096)
        if not d:
            break
        req += d
    body = b"hello from ferrotls-python " + s.version().encode() + b"\n"
    s.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s"
              % (len(body), body))
    s.unwrap()
    return bytes(req)


def test_server_vs_curl(server_version):
    if not shutil.which("curl"):
        pytest.skip("curl is not installed")
    version, name = server_version
    flag = ["--tlsv1.3"] if name == "TLSv1.3" else ["--tlsv1.2", "--tls-max", "1.2"]
    with ServerThread(server_ctx(version), http_handler) as srv:
        out = subprocess.run(
            ["curl", "-sS", "--max-time", str(int(TIMEOUT)), "--cacert", cert("ca.pem"), *flag,
             "--resolve", "localhost:%d:127.0.0.1" % srv.port, "https://localhost:%d/" % srv.port],
            capture_output=True, timeout=TIMEOUT + 5)
    assert out.returncode == 0, out.stderr.decode()
    assert out.stdout == ("hello from ferrotls-python %s\n" % name).encode()
    assert not srv.errors, srv.errors


def test_server_vs_openssl_s_client(server_version):
    if not shutil.which("openssl"):
        pytest.skip("openssl is not installed")
    version, name = server_version

    def handler(s):
        line = bytearray()
        while not line.endswith(b"\n"):
            d = s.recv(100)
            if not d:
                break
            line += d
        s.sendall(b"echo: " + line)
        return bytes(line)

    flag = "-tls1_3" if name == "TLSv1.3" else "-tls1_2"
    with ServerThread(server_ctx(version), handler) as srv:
        out = subprocess.run(
            ["openssl", "s_client", "-connect", "127.0.0.1:%d" % srv.port, "-servername", "localhost",
             "-verify_hostname", "localhost", "-CAfile", cert("ca.pem"), "-verify_return_error",
             flag, "-quiet"],
            input=b"ping\n", capture_output=True, timeout=TIMEOUT + 5)
    assert not srv.errors, srv.errors
    assert srv.results == [b"ping\n"]
    assert b"echo: ping" in out.stdout, out.stderr.decode()


def test_server_requests_client_cert():
    sctx = server_ctx()
    sctx.verify_mode = ferrotls.CERT_REQUIRED
    sctx.load_verify_locations(cafile=cert("ca.pem"))

    def handler(s):
        s.sendall(b"hi")
        return s.getpeercert()

    cctx = stdlib_client_ctx()
    cctx.load_cert_chain(cert("client.pem"), cert("client.key"))
    with ServerThread(sctx, handler) as srv:
        with cctx.wrap_socket(connect(srv.port), server_hostname="localhost") as s:
            assert s.recv(2) == b"hi"
    assert not srv.errors, srv.errors
    assert ("commonName", "demo-client") in [x[0] for x in srv.results[0]["subject"]]
