"""Handshake Again: TLS 1.3 post-handshake authentication (``SSLContext.post_handshake_auth``,
``SSLSocket.verify_client_post_handshake()``; TLS 1.2 renegotiation through the same call is
test_renegotiation.py's) with the stdlib's meaning, against the stdlib on
real loopback sockets both ways, and between our two sides in memory (``wrap_bio``): where the
client's identity begins in the byte stream (``authenticated_at``), ``getpeercert()`` before
and after it, the refusals, and a required certificate that is missing."""

from __future__ import annotations

import socket
import ssl

import pytest

import ferrotls
from conftest import TIMEOUT, ServerThread, _pump, cert, client_ctx, server_ctx, stdlib_client_ctx

REQUEST = b"GET /private HTTP/1.0\r\n\r\n"
ASK = b"send your certificate\n"


def connect(port):
    return socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)


def recv_exactly(s, n: int) -> bytes:
    got = bytearray()
    while len(got) < n:
        d = s.recv(n - len(got))
        assert d, "the peer closed early (%r so far)" % bytes(got)
        got += d
    return bytes(got)


def subject_cn(peercert) -> str | None:
    for rdn in peercert.get("subject", ()):
        for k, v in rdn:
            if k == "commonName":
                return v
    return None


def our_pha_server(verify_mode=ferrotls.CERT_REQUIRED, pha=True, version=None):
    ctx = server_ctx(version)
    ctx.load_verify_locations(cafile=cert("ca.pem"))
    ctx.verify_mode = verify_mode
    ctx.post_handshake_auth = pha
    return ctx


def our_pha_client(with_cert=True, pha=True, version=None):
    ctx = client_ctx(version)
    if with_cert:
        ctx.load_cert_chain(cert("client.pem"), cert("client.key"))
    ctx.post_handshake_auth = pha
    return ctx


# ---- against the stdlib, over loopback sockets ---------------------------------------------

def test_our_server_asks_a_stdlib_client_after_the_handshake():
    """(a) Our server (post_handshake_auth, CERT_REQUIRED) and the stdlib client
    (post_handshake_auth = True, with a client certificate): the request arrives
    unauthenticated, the server asks, the stdlib client answers inside its next read, and the
    server's next recv() returns what came after the boundary."""
    sctx = our_pha_server()
    assert sctx.post_handshake_auth is True

    def handler(s):
        out = {"version": s.version()}
        out["request"] = recv_exactly(s, len(REQUEST))
        out["cert_before"] = s.getpeercert()
        out["at_before"] = s.authenticated_at
        s.verify_client_post_handshake()
        s.sendall(ASK)  # the stdlib client reads this, and answers the request before it
        out["after"] = s.recv(1024)  # the boundary is crossed inside this call
        out["authenticated_at"] = s.authenticated_at
        out["cert_after"] = s.getpeercert()
        out["der_after"] = s.getpeercert(binary_form=True)
        s.sendall(b"hello, demo-client")
        out["eof"] = s.recv(1)  # the client's close_notify
        return out

    cctx = stdlib_client_ctx()
    cctx.load_cert_chain(cert("client.pem"), cert("client.key"))
    cctx.post_handshake_auth = True
    with ServerThread(sctx, handler) as srv:
        with cctx.wrap_socket(connect(srv.port), server_hostname="localhost") as c:
            c.sendall(REQUEST)
            assert recv_exactly(c, len(ASK)) == ASK  # OpenSSL answers inside this read
            c.sendall(b"after")
            assert recv_exactly(c, 18) == b"hello, demo-client"
            c.unwrap()  # close_notify: the stdlib's close() alone would not send one
    assert not srv.errors, srv.errors
    r = srv.results[0]
    assert r["version"] == "TLSv1.3" and r["eof"] == b""
    assert r["request"] == REQUEST
    assert r["cert_before"] is None and r["at_before"] is None
    assert r["after"] == b"after"
    assert r["authenticated_at"] == len(REQUEST)
    assert subject_cn(r["cert_after"]) == "demo-client"
    with open(cert("client.pem")) as f:
        assert r["der_after"] == ssl.PEM_cert_to_DER_cert(f.read())


def test_stdlib_server_asks_our_client_after_the_handshake():
    """(b) The stdlib server (post_handshake_auth = True, CERT_REQUIRED) calls
    verify_client_post_handshake() against our client (post_handshake_auth = True, with a
    client certificate): afterwards its getpeercert() shows our certificate."""
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(cert("server.pem"), cert("server.key"))
    sctx.load_verify_locations(cert("ca.pem"))
    sctx.verify_mode = ssl.CERT_REQUIRED
    sctx.post_handshake_auth = True

    def handler(s):
        out = {"request": recv_exactly(s, len(REQUEST)), "cert_before": s.getpeercert()}
        s.verify_client_post_handshake()
        s.sendall(ASK)  # the CertificateRequest goes out with this write
        out["after"] = recv_exactly(s, 5)  # OpenSSL checks our answer inside this read
        out["cert_after"] = s.getpeercert()
        s.sendall(b"bye")
        s.recv(1)
        return out

    cctx = our_pha_client()
    with ServerThread(sctx, handler) as srv:
        with cctx.wrap_socket(connect(srv.port), server_hostname="localhost") as c:
            assert c.version() == "TLSv1.3"
            c.sendall(REQUEST)
            assert recv_exactly(c, len(ASK)) == ASK  # we answer while reading this
            c.sendall(b"after")
            assert recv_exactly(c, 3) == b"bye"
            assert c.authenticated_at is None  # a client sees no boundary of its own
    assert not srv.errors, srv.errors
    r = srv.results[0]
    assert r["request"] == REQUEST and r["after"] == b"after"
    assert r["cert_before"] is None
    assert subject_cn(r["cert_after"]) == "demo-client"


# ---- our two sides in memory (SSLObject) ---------------------------------------------------

class Pair:
    """A client and a server SSLObject over MemoryBIOs, handshaken."""

    def __init__(self, cctx, sctx):
        self.b = [ssl.MemoryBIO() for _ in range(4)]
        self.c = cctx.wrap_bio(self.b[0], self.b[1], server_hostname="localhost")
        self.s = sctx.wrap_bio(self.b[2], self.b[3], server_side=True)
        _pump(self.c, self.b[0], self.b[1], self.s, self.b[2], self.b[3])

    def move(self):
        """Deliver what each side wrote to the other."""
        self.b[2].write(self.b[1].read())
        self.b[0].write(self.b[3].read())

    def read(self, obj, n=4096) -> bytes:
        try:
            return obj.read(n)
        except ssl.SSLWantReadError:
            return b""

    def exchange(self, data: bytes = b"ping") -> None:
        """Data still flows both ways."""
        for a, b in ((self.c, self.s), (self.s, self.c)):
            a.write(data)
            self.move()
            assert self.read(b) == data


def test_in_memory_the_boundary_is_where_the_answer_ends():
    p = Pair(our_pha_client(), our_pha_server())
    c, s = p.c, p.s
    assert s.version() == "TLSv1.3"
    assert s.getpeercert() is None and s.authenticated_at is None and s.authentications == []
    c.write(b"one")
    p.move()
    s.verify_client_post_handshake()
    assert p.b[3].pending > 0, "the CertificateRequest was not written to outgoing"
    c.write(b"two")  # sent before the client saw the request: still unauthenticated
    p.move()
    assert p.read(c) == b""  # the client takes the request in and answers it now
    assert p.b[1].pending > 0, "the client's answer was not written out by its read"
    c.write(b"three")
    p.move()
    assert p.read(s) == b"onetwo"  # never bytes from both sides of the boundary
    assert s.getpeercert() is None and s.authenticated_at is None and s.pending() == 0
    assert p.read(s) == b"three"
    assert s.authenticated_at == 6 and s.authentications == [6]
    assert subject_cn(s.getpeercert()) == "demo-client"
    p.exchange()
    # Again: the position of the second boundary, after 6 + 5 + 4 bytes read. This time
    # data follows the request, and the read that returns it sends the client's answer.
    s.verify_client_post_handshake()
    s.write(b"ask")
    p.move()
    assert p.read(c) == b"ask"
    assert p.b[1].pending > 0, "the read that returned data did not send the answer"
    c.write(b"four")
    p.move()
    assert p.read(s) == b"four"
    assert s.authenticated_at == 15 and s.authentications == [6, 15]
    assert subject_cn(s.getpeercert()) == "demo-client"
    s.close()
    assert s.authenticated_at == 15, "authenticated_at stays readable after close()"


def test_in_memory_a_required_certificate_that_is_missing():
    p = Pair(our_pha_client(with_cert=False), our_pha_server(ferrotls.CERT_REQUIRED))
    p.s.verify_client_post_handshake()
    p.move()
    assert p.read(p.c) == b""  # answers with an empty Certificate
    p.move()
    with pytest.raises(ferrotls.SSLError) as e:
        p.s.read(100)
    assert e.value.name == "FERROTLS_ERR_CERTIFICATE_REQUIRED", e.value
    assert p.s.getpeercert() is None
    p.move()
    with pytest.raises(ssl.SSLError) as e:
        p.c.read(100)
    assert e.value.reason == "TLSV13_ALERT_CERTIFICATE_REQUIRED", e.value
    # Optional: the empty answer is accepted; the boundary is still reported.
    p = Pair(our_pha_client(with_cert=False), our_pha_server(ferrotls.CERT_OPTIONAL))
    p.s.verify_client_post_handshake()
    p.move()
    p.read(p.c)
    p.c.write(b"x")
    p.move()
    assert p.read(p.s) == b"x" and p.s.authenticated_at == 0
    assert p.s.getpeercert() is None


def refused(obj, *words):
    """verify_client_post_handshake() raises ferrotls.SSLError (an ssl.SSLError) naming the
    reason, and changes nothing."""
    with pytest.raises(ferrotls.SSLError) as e:
        obj.verify_client_post_handshake()
    assert isinstance(e.value, ssl.SSLError)
    text = str(e.value)
    for w in words:
        assert w in text, text
    return e.value


def test_requests_that_are_not_possible_raise_and_change_nothing(tls12_support):
    sctx = our_pha_server()
    # Before the handshake.
    b = [ssl.MemoryBIO() for _ in range(2)]
    fresh = sctx.wrap_bio(b[0], b[1], server_side=True)
    refused(fresh, "after its handshake")
    # On the client.
    p = Pair(our_pha_client(), sctx)
    assert refused(p.c, "server connections").name == "FERROTLS_ERR_WRONG_ROLE"
    # A request still open.
    p.s.verify_client_post_handshake()
    assert refused(p.s, "previous request").name == "FERROTLS_ERR_WRONG_STATE"
    p.move()
    p.read(p.c)
    p.exchange()
    assert p.s.authenticated_at == 0 and subject_cn(p.s.getpeercert()) == "demo-client"
    # The client did not offer it.
    p = Pair(our_pha_client(pha=False), sctx)
    refused(p.s, "did not offer post_handshake_auth")
    p.exchange()
    # The server's context has it off (it asked in the handshake instead).
    p = Pair(our_pha_client(), our_pha_server(pha=False))
    assert subject_cn(p.s.getpeercert()) == "demo-client"
    refused(p.s, "post_handshake_auth")
    p.exchange()
    # CERT_NONE on the server.
    p = Pair(our_pha_client(), our_pha_server(ferrotls.CERT_NONE))
    refused(p.s, "verification mode")
    p.exchange()
    # TLS 1.2 is no refusal: with post_handshake_auth the handshake asks for no certificate
    # there either, and the call renegotiates (test_renegotiation.py has the details).
    if tls12_support["server"] is None and tls12_support["client"] is None:
        v = ssl.TLSVersion.TLSv1_2
        p = Pair(our_pha_client(version=v), our_pha_server(version=v))
        assert p.s.version() == "TLSv1.2"
        assert p.s.getpeercert() is None
        p.s.verify_client_post_handshake()
        for _ in range(4):
            p.move()
            p.read(p.c)
            p.move()
            p.read(p.s)
        p.exchange()
        assert p.s.authenticated_at == 0 and subject_cn(p.s.getpeercert()) == "demo-client"


def test_a_socket_misuse_raises_like_ssl():
    """On sockets: a client socket raises ferrotls.SSLError, as ssl raises SSLError."""
    def handler(s):
        s.sendall(b"hi")
        return recv_exactly(s, 2)

    with ServerThread(our_pha_server(), handler) as srv:
        with our_pha_client().wrap_socket(connect(srv.port), server_hostname="localhost") as c:
            assert recv_exactly(c, 2) == b"hi"
            with pytest.raises(ssl.SSLError):
                c.verify_client_post_handshake()
            c.sendall(b"ok")
    assert not srv.errors, srv.errors
    assert srv.results == [b"ok"]
