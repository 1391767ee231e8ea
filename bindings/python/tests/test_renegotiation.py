"""Handshake Again in TLS 1.2: ``SSLSocket.verify_client_post_handshake()`` renegotiates
(RFC 5746 secure renegotiation: a HelloRequest, then a new handshake with a
CertificateRequest), where the stdlib raises. Against the stdlib's client (OpenSSL 3, which
renegotiates inside SSL_read) on real loopback sockets, between our two sides on sockets and
in memory; ``OP_NO_RENEGOTIATION`` declining; the context's switches
(``allow_client_renegotiation``, ``allow_peer_certificate_change``); the refusals.

What every test checks: ``getpeercert()`` before and after the point where the client's
identity begins, ``authenticated_at`` at that point (the bytes received before it), and that
the connection goes on afterwards."""

from __future__ import annotations

import asyncio
import select
import ssl
import threading
import time

import pytest

import ferrotls
from conftest import TIMEOUT, ServerThread, _pump, cert, stdlib_client_ctx
from test_post_handshake_auth import (
    Pair, connect, our_pha_client, our_pha_server, recv_exactly, refused, subject_cn,
)

V12 = ssl.TLSVersion.TLSv1_2
REQUEST = b"GET /private HTTP/1.1\r\nHost: localhost\r\n\r\n"
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
MORE = b"and after that"

_NO_RENEGOTIATION_WARNING = bytes([1, 100])  # alert level warning, no_renegotiation


@pytest.fixture
def tls12(tls12_support):
    for role in ("client", "server"):
        if tls12_support[role] is not None:
            pytest.skip("libferrotls cannot negotiate TLS 1.2 as a %s yet (%s)"
                        % (role, tls12_support[role]))


def client_der() -> bytes:
    with open(cert("client.pem")) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def wait_authenticated(s, timeout: float = TIMEOUT) -> bytes:
    """Read on ``s`` (non-blocking) until the peer has authenticated once more than before;
    returns the data read meanwhile. What a server does when the client sends nothing until
    it gets the response: a blocking recv() would wait past the boundary for more data."""
    seen = len(s.authentications)
    got = bytearray()
    deadline = time.monotonic() + timeout
    s.setblocking(False)
    try:
        while len(s.authentications) == seen:
            left = deadline - time.monotonic()
            assert left > 0, "the client did not authenticate again in time"
            select.select([s], [], [], left)
            try:
                d = s.recv(65536)
            except ssl.SSLWantReadError:
                continue
            assert d, "the client closed before it authenticated again"
            got += d
    finally:
        s.settimeout(TIMEOUT)
    return bytes(got)


def renegotiating_handler(s):
    """Our server's side of every socket test: the request arrives unauthenticated, the
    server asks, waits for the answer, responds, and the connection goes on."""
    out = {"version": s.version()}
    out["request"] = recv_exactly(s, len(REQUEST))
    out["cert_before"] = s.getpeercert()
    out["at_before"] = s.authenticated_at
    s.verify_client_post_handshake()
    try:
        out["meanwhile"] = wait_authenticated(s)
    except ferrotls.SSLError as e:
        out["error"] = e
        return out
    out["authenticated_at"] = s.authenticated_at
    out["authentications"] = s.authentications
    out["cert_after"] = s.getpeercert()
    out["der_after"] = s.getpeercert(binary_form=True)
    s.sendall(RESPONSE)
    out["more"] = recv_exactly(s, len(MORE))
    s.sendall(MORE)
    out["eof"] = s.recv(1)
    return out


class OpenSSLLog:
    """The stdlib client's ``_msg_callback``: what OpenSSL wrote, after the handshake's
    first Finished it read (i.e. what the renegotiation made it send)."""

    def __init__(self, ctx):
        self.events = []
        ctx._msg_callback = self._cb

    def _cb(self, conn, direction, version, content_type, msg_type, data):
        if content_type == ssl._TLSContentType.HEADER:
            return
        alert = bytes(data[:2]) if content_type == ssl._TLSContentType.ALERT else None
        self.events.append((direction, msg_type, alert))

    def written_after_hello_request(self):
        i = self.events.index(("read", ssl._TLSMessageType.HELLO_REQUEST, None))
        return [(m, a) for d, m, a in self.events[i + 1:] if d == "write"]


def stdlib_client_conversation(cctx, port, expect_failure=False):
    """The stdlib client: one request, then it waits in recv() for the response (OpenSSL
    processes our HelloRequest inside that SSL_read), then more data both ways."""
    with cctx.wrap_socket(connect(port), server_hostname="localhost") as c:
        assert c.version() == "TLSv1.2"
        c.sendall(REQUEST)
        if expect_failure:
            with pytest.raises(ssl.SSLError) as e:
                c.recv(1024)
            return e.value
        assert recv_exactly(c, len(RESPONSE)) == RESPONSE
        c.sendall(MORE)
        assert recv_exactly(c, len(MORE)) == MORE
        c.unwrap()
    return None


def stdlib_client(with_cert=True, no_renegotiation=False):
    cctx = stdlib_client_ctx(V12)
    if with_cert:
        cctx.load_cert_chain(cert("client.pem"), cert("client.key"))
    if no_renegotiation:
        cctx.options |= ssl.OP_NO_RENEGOTIATION
    return cctx, OpenSSLLog(cctx)


def assert_authenticated(r, with_cert: bool):
    assert r["version"] == "TLSv1.2" and "error" not in r, r.get("error")
    assert r["request"] == REQUEST and r["meanwhile"] == b""
    assert r["cert_before"] is None and r["at_before"] is None
    assert r["authenticated_at"] == len(REQUEST)
    assert r["authentications"] == [len(REQUEST)]
    if with_cert:
        assert subject_cn(r["cert_after"]) == "demo-client"
        assert r["der_after"] == client_der()
    else:
        assert r["cert_after"] is None and r["der_after"] is None
    assert r["more"] == MORE and r["eof"] == b""


# ---- our server, the stdlib's client (OpenSSL 3) -------------------------------------------

@pytest.mark.parametrize("mode", [ferrotls.CERT_REQUIRED, ferrotls.CERT_OPTIONAL],
                         ids=["required", "optional"])
def test_stdlib_client_with_a_certificate_renegotiates(tls12, mode):
    """OpenSSL answers our HelloRequest inside SSL_read with a new handshake, presents its
    certificate in it; from the boundary on getpeercert() names it."""
    sctx = our_pha_server(mode, version=V12)
    cctx, log = stdlib_client()
    with ServerThread(sctx, renegotiating_handler) as srv:
        stdlib_client_conversation(cctx, srv.port)
    assert not srv.errors, srv.errors
    assert_authenticated(srv.results[0], with_cert=True)
    sent = [m for m, _ in log.written_after_hello_request()]
    T = ssl._TLSMessageType
    assert sent[:6] == [T.CLIENT_HELLO, T.CERTIFICATE, T.CLIENT_KEY_EXCHANGE,
                        T.CERTIFICATE_VERIFY, T.CHANGE_CIPHER_SPEC, T.FINISHED], sent


def test_stdlib_client_without_a_certificate_under_cert_optional(tls12):
    """OpenSSL renegotiates and answers the CertificateRequest with an empty Certificate:
    the boundary is still reported, with no certificate."""
    sctx = our_pha_server(ferrotls.CERT_OPTIONAL, version=V12)
    cctx, log = stdlib_client(with_cert=False)
    with ServerThread(sctx, renegotiating_handler) as srv:
        stdlib_client_conversation(cctx, srv.port)
    assert not srv.errors, srv.errors
    assert_authenticated(srv.results[0], with_cert=False)
    sent = [m for m, _ in log.written_after_hello_request()]
    assert sent[:2] == [ssl._TLSMessageType.CLIENT_HELLO, ssl._TLSMessageType.CERTIFICATE], sent
    assert ssl._TLSMessageType.CERTIFICATE_VERIFY not in sent


def test_stdlib_client_without_a_certificate_under_cert_required(tls12):
    """The empty answer is refused: our server's read raises (reason NO_CLIENT_CERTIFICATE,
    a handshake_failure alert), and OpenSSL's read raises with that alert."""
    sctx = our_pha_server(ferrotls.CERT_REQUIRED, version=V12)
    cctx, _ = stdlib_client(with_cert=False)
    with ServerThread(sctx, renegotiating_handler) as srv:
        client_error = stdlib_client_conversation(cctx, srv.port, expect_failure=True)
    assert not srv.errors, srv.errors
    e = srv.results[0]["error"]
    assert e.ferrotls_reason == "NO_CLIENT_CERTIFICATE", e
    assert e.name == "FERROTLS_ERR_HANDSHAKE_FAILURE", e
    assert not isinstance(e, ssl.SSLCertVerificationError)
    assert client_error.reason == "SSLV3_ALERT_HANDSHAKE_FAILURE", client_error


@pytest.mark.parametrize("with_cert", [True, False], ids=["with-cert", "no-cert"])
def test_stdlib_client_with_op_no_renegotiation_declines(tls12, with_cert):
    """OP_NO_RENEGOTIATION: OpenSSL declines our HelloRequest with a no_renegotiation
    warning. Under CERT_OPTIONAL that is an answer without a certificate (even from a
    client that has one): the boundary is reported, the identity is unchanged (none), and
    the connection goes on with its keys."""
    sctx = our_pha_server(ferrotls.CERT_OPTIONAL, version=V12)
    cctx, log = stdlib_client(with_cert=with_cert, no_renegotiation=True)
    with ServerThread(sctx, renegotiating_handler) as srv:
        stdlib_client_conversation(cctx, srv.port)
    assert not srv.errors, srv.errors
    assert_authenticated(srv.results[0], with_cert=False)
    sent = log.written_after_hello_request()
    assert sent[0] == (ssl._TLSAlertType.NO_RENEGOTIATION, _NO_RENEGOTIATION_WARNING), sent
    assert ssl._TLSMessageType.CLIENT_HELLO not in [m for m, _ in sent]


def test_stdlib_client_with_op_no_renegotiation_under_cert_required(tls12):
    """A declined renegotiation under CERT_REQUIRED is a missing certificate: fatal."""
    sctx = our_pha_server(ferrotls.CERT_REQUIRED, version=V12)
    cctx, _ = stdlib_client(no_renegotiation=True)
    with ServerThread(sctx, renegotiating_handler) as srv:
        client_error = stdlib_client_conversation(cctx, srv.port, expect_failure=True)
    assert not srv.errors, srv.errors
    e = srv.results[0]["error"]
    assert e.ferrotls_reason == "NO_CLIENT_CERTIFICATE", e
    assert "no_renegotiation" in e.detail, e
    assert client_error.reason == "SSLV3_ALERT_HANDSHAKE_FAILURE", client_error


def test_stdlib_server_still_raises_in_tls12(tls12):
    """What we deliberately do more than the stdlib: its server raises for the same call in
    TLS 1.2 (so there is no stdlib server to test our client against here)."""
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(cert("server.pem"), cert("server.key"))
    sctx.load_verify_locations(cert("ca.pem"))
    sctx.verify_mode = ssl.CERT_OPTIONAL
    sctx.post_handshake_auth = True
    sctx.maximum_version = V12
    b = [ssl.MemoryBIO() for _ in range(4)]
    c = our_pha_client(version=V12).wrap_bio(b[0], b[1], server_hostname="localhost")
    s = sctx.wrap_bio(b[2], b[3], server_side=True)
    _pump(c, b[0], b[1], s, b[2], b[3])
    with pytest.raises(ssl.SSLError, match="WRONG_SSL_VERSION"):
        s.verify_client_post_handshake()


def test_asyncio_server_renegotiates_with_a_stdlib_client(tls12):
    """Our context under asyncio's SSL transport (SSLObject): asyncio sends what the
    SSLObject wrote only with the next write, so the server writes after asking; the rest of
    the new handshake runs inside asyncio's reads, which record the boundary."""
    result = {}

    async def main():
        done = asyncio.get_running_loop().create_future()

        async def handle(reader, writer):
            try:
                so = writer.get_extra_info("ssl_object")
                result["request"] = await reader.readexactly(len(REQUEST))
                result["cert_before"] = so.getpeercert()
                so.verify_client_post_handshake()
                writer.write(b"ask\n")  # the HelloRequest goes out with this
                await writer.drain()
                for _ in range(int(TIMEOUT * 100)):
                    if so.authenticated_at is not None:
                        break
                    await asyncio.sleep(0.01)
                result["authenticated_at"] = so.authenticated_at
                result["cert_after"] = so.getpeercert()
                writer.write(RESPONSE)
                await writer.drain()
                result["more"] = await reader.readexactly(len(MORE))
                writer.close()
                done.set_result(None)
            except BaseException as e:  # noqa: BLE001
                done.set_exception(e)

        server = await asyncio.start_server(handle, "127.0.0.1", 0,
                                            ssl=our_pha_server(version=V12))
        port = server.sockets[0].getsockname()[1]

        def client():
            cctx, _ = stdlib_client()
            with cctx.wrap_socket(connect(port), server_hostname="localhost") as c:
                c.sendall(REQUEST)
                result["ask"] = recv_exactly(c, 4)  # OpenSSL renegotiates inside this read
                result["response"] = recv_exactly(c, len(RESPONSE))
                c.sendall(MORE)

        t = threading.Thread(target=client, daemon=True)
        t.start()
        try:
            await asyncio.wait_for(done, TIMEOUT)
        finally:
            t.join(TIMEOUT)
            server.close()
            await server.wait_closed()

    asyncio.run(main())
    assert result["request"] == REQUEST and result["cert_before"] is None
    assert result["ask"] == b"ask\n" and result["response"] == RESPONSE
    assert result["authenticated_at"] == len(REQUEST)
    assert subject_cn(result["cert_after"]) == "demo-client"
    assert result["more"] == MORE


# ---- both sides ferrotls, over sockets -----------------------------------------------------

def our_client_conversation(cctx, port, expect_failure=False):
    with cctx.wrap_socket(connect(port), server_hostname="localhost") as c:
        assert c.version() == "TLSv1.2"
        c.sendall(REQUEST)
        if expect_failure:
            with pytest.raises(ssl.SSLError) as e:
                c.recv(1024)
            return e.value
        assert recv_exactly(c, len(RESPONSE)) == RESPONSE  # we answer inside this read
        c.sendall(MORE)
        assert recv_exactly(c, len(MORE)) == MORE
        assert c.authenticated_at is None  # a client sees no boundary of its own
        c.unwrap()
    return None


@pytest.mark.parametrize("client_pha", [True, False], ids=["client-pha", "client-no-pha"])
def test_our_client_renegotiates_with_our_server(tls12, client_pha):
    """Our client answers the HelloRequest inside recv(); its post_handshake_auth plays no
    part in TLS 1.2."""
    sctx = our_pha_server(ferrotls.CERT_REQUIRED, version=V12)
    cctx = our_pha_client(pha=client_pha, version=V12)
    with ServerThread(sctx, renegotiating_handler) as srv:
        our_client_conversation(cctx, srv.port)
    assert not srv.errors, srv.errors
    assert_authenticated(srv.results[0], with_cert=True)


def test_our_client_with_op_no_renegotiation_declines(tls12):
    sctx = our_pha_server(ferrotls.CERT_OPTIONAL, version=V12)
    cctx = our_pha_client(version=V12)
    cctx.options |= ssl.OP_NO_RENEGOTIATION
    with ServerThread(sctx, renegotiating_handler) as srv:
        our_client_conversation(cctx, srv.port)
    assert not srv.errors, srv.errors
    assert_authenticated(srv.results[0], with_cert=False)


def test_our_client_with_op_no_renegotiation_under_cert_required(tls12):
    sctx = our_pha_server(ferrotls.CERT_REQUIRED, version=V12)
    cctx = our_pha_client(version=V12)
    cctx.options |= ssl.OP_NO_RENEGOTIATION
    with ServerThread(sctx, renegotiating_handler) as srv:
        client_error = our_client_conversation(cctx, srv.port, expect_failure=True)
    assert not srv.errors, srv.errors
    assert srv.results[0]["error"].ferrotls_reason == "NO_CLIENT_CERTIFICATE"
    assert client_error.reason == "SSLV3_ALERT_HANDSHAKE_FAILURE", client_error


# ---- both sides ferrotls, in memory: where exactly the boundary is --------------------------

def test_in_memory_the_boundary_is_the_clients_finished(tls12):
    """Data the client sent before it saw the HelloRequest, and while the new handshake ran
    under the old keys, is before the boundary; what it sent after its Finished, after it.
    A read never returns bytes from both sides."""
    p = Pair(our_pha_client(version=V12), our_pha_server(version=V12))
    c, s = p.c, p.s
    assert s.version() == "TLSv1.2"
    assert s.getpeercert() is None and s.authenticated_at is None  # the handshake asked for none
    c.write(b"one")
    p.move()
    s.verify_client_post_handshake()
    assert p.b[3].pending > 0, "the HelloRequest was not written to outgoing"
    refused(s, "still unanswered")  # one request at a time
    c.write(b"two")  # before the client saw the HelloRequest
    p.move()
    assert p.read(c) == b""  # takes the HelloRequest in, answers with a ClientHello
    assert p.b[1].pending > 0, "the client's ClientHello was not written out by its read"
    c.write(b"three")  # after its ClientHello, still under the old keys
    p.move()
    assert p.read(s) == b"onetwothree"  # and our ServerHello .. ServerHelloDone go out
    assert p.b[3].pending > 0, "the server's flight was not written out by its read"
    assert s.getpeercert() is None and s.authenticated_at is None
    p.move()
    assert p.read(c) == b""  # Certificate .. Finished
    assert p.b[1].pending > 0
    c.write(b"four")  # under the new keys
    p.move()
    assert p.read(s) == b"four"  # the boundary is crossed inside this read
    assert s.authenticated_at == 11 and s.authentications == [11]
    assert subject_cn(s.getpeercert()) == "demo-client"
    assert s.getpeercert(binary_form=True) == client_der()
    p.move()
    assert p.read(c) == b""  # our ChangeCipherSpec and Finished
    assert c.authenticated_at is None
    p.exchange()
    # Again: the client keeps its certificate; the second point is after the 11 + 4 bytes
    # above and the 4 of exchange() (what the server sent does not count).
    s.verify_client_post_handshake()
    for _ in range(4):
        p.move()
        p.read(c)
        p.move()
        assert p.read(s) == b""
    c.write(b"five")
    p.move()
    assert p.read(s) == b"five"
    assert s.authentications == [11, 19] and s.authenticated_at == 19
    assert subject_cn(s.getpeercert()) == "demo-client"
    p.exchange()
    s.close()
    assert s.authenticated_at == 19, "authenticated_at stays readable after close()"


def run_renegotiation(p, rounds=4):
    for _ in range(rounds):
        p.move()
        p.read(p.c)
        p.move()
        p.read(p.s)


def test_in_memory_server_without_post_handshake_auth(tls12):
    """Without post_handshake_auth the TLS 1.2 handshake asks for the certificate; a later
    verify_client_post_handshake() renegotiates and the same certificate is accepted again."""
    p = Pair(our_pha_client(version=V12), our_pha_server(version=V12, pha=False))
    assert subject_cn(p.s.getpeercert()) == "demo-client"
    p.s.verify_client_post_handshake()
    run_renegotiation(p)
    p.c.write(b"x")
    p.move()
    assert p.read(p.s) == b"x"
    assert p.s.authenticated_at == 0 and subject_cn(p.s.getpeercert()) == "demo-client"
    p.exchange()


@pytest.mark.parametrize("allow", [False, True], ids=["declined", "accepted"])
def test_in_memory_a_renegotiation_the_client_starts(tls12, allow):
    """A renegotiation the client starts (our client through the C call; the stdlib's has
    none): declined by default (no boundary), accepted with allow_client_renegotiation, and
    then the server's read records the boundary although the server did not ask."""
    from ferrotls import _lib
    sctx = our_pha_server(ferrotls.CERT_OPTIONAL, version=V12, pha=False)
    sctx.allow_client_renegotiation = allow
    p = Pair(our_pha_client(version=V12), sctx)
    assert _lib.lib.ferrotls_conn_renegotiate(p.c._engine.h) == _lib.OK
    p.c._engine.flush()
    run_renegotiation(p)
    p.c.write(b"x")
    p.move()
    assert p.read(p.s) == b"x"
    assert p.s.authenticated_at == (0 if allow else None)
    assert subject_cn(p.s.getpeercert()) == "demo-client"
    p.exchange()


def test_in_memory_tls13_is_unchanged_by_op_no_renegotiation():
    """OP_NO_RENEGOTIATION is about TLS 1.2; TLS 1.3 post-handshake authentication works
    with it on both sides, as with OpenSSL."""
    cctx, sctx = our_pha_client(), our_pha_server()
    cctx.options |= ssl.OP_NO_RENEGOTIATION
    sctx.options |= ssl.OP_NO_RENEGOTIATION
    p = Pair(cctx, sctx)
    assert p.s.version() == "TLSv1.3"
    p.s.verify_client_post_handshake()
    p.move()
    p.read(p.c)
    p.c.write(b"x")
    p.move()
    assert p.read(p.s) == b"x"
    assert p.s.authenticated_at == 0 and subject_cn(p.s.getpeercert()) == "demo-client"


def test_tls12_requests_that_are_not_possible_raise_and_change_nothing(tls12):
    # OP_NO_RENEGOTIATION on our server: no TLS 1.2 request.
    sctx = our_pha_server(version=V12)
    sctx.options |= ssl.OP_NO_RENEGOTIATION
    p = Pair(our_pha_client(version=V12), sctx)
    assert refused(p.s, "renegotiation is switched off").name == "FERROTLS_ERR_WRONG_STATE"
    p.exchange()
    # ... and taken off again, it is possible again (the context rebuilds its config).
    sctx.options &= ~ssl.OP_NO_RENEGOTIATION
    p = Pair(our_pha_client(version=V12), sctx)
    p.s.verify_client_post_handshake()
    run_renegotiation(p)
    p.exchange()
    assert p.s.authenticated_at == 0 and subject_cn(p.s.getpeercert()) == "demo-client"
    # CERT_NONE on the server.
    p = Pair(our_pha_client(version=V12), our_pha_server(ferrotls.CERT_NONE, version=V12))
    refused(p.s, "verification mode")
    p.exchange()
    # On the client.
    p = Pair(our_pha_client(version=V12), our_pha_server(version=V12))
    assert refused(p.c, "server connections").name == "FERROTLS_ERR_WRONG_ROLE"
    p.exchange()


# ---- the context's switches ----------------------------------------------------------------

def test_renegotiation_settings_on_the_context():
    cctx, sctx = ferrotls.SSLContext(ferrotls.PROTOCOL_TLS_CLIENT), server_only()
    for ctx in (cctx, sctx):
        assert not ctx.options & ssl.OP_NO_RENEGOTIATION  # the default, as in ssl
        ctx.options |= ssl.OP_NO_RENEGOTIATION
        assert ctx.options & ssl.OP_NO_RENEGOTIATION
        ctx.options &= ~ssl.OP_NO_RENEGOTIATION
        assert not ctx.options & ssl.OP_NO_RENEGOTIATION
        assert ctx.allow_peer_certificate_change is False
        ctx.allow_peer_certificate_change = 1
        assert ctx.allow_peer_certificate_change is True
    assert sctx.allow_client_renegotiation is False
    sctx.allow_client_renegotiation = True
    assert sctx.allow_client_renegotiation is True
    with pytest.raises(ValueError, match="server context"):
        cctx.allow_client_renegotiation = True
    assert cctx.allow_client_renegotiation is False
    both = ferrotls.SSLContext(ferrotls.PROTOCOL_TLS)
    both.allow_client_renegotiation = True
    both.allow_peer_certificate_change = True
    both.options |= ssl.OP_NO_RENEGOTIATION


def test_renegotiation_settings_rebuild_only_on_a_change():
    ctx = server_only()
    ctx.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_side=True)
    assert ctx._builds == 1
    for _ in range(2):
        ctx.options = ctx.options
        ctx.allow_client_renegotiation = False
        ctx.allow_peer_certificate_change = False
        ctx.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_side=True)
    assert ctx._builds == 1
    ctx.options |= ssl.OP_NO_RENEGOTIATION
    ctx.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_side=True)
    assert ctx._builds == 2


def server_only():
    ctx = ferrotls.SSLContext(ferrotls.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert("server.pem"), cert("server.key"))
    return ctx
