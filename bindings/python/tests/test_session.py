"""Session resumption: ``Session``, ``session=``, ``session_reused``, against ``ssl``, the C
example server and ourselves; misuse and corrupt sessions."""

from __future__ import annotations

import hashlib
import pickle
import socket
import ssl
import time

import pytest

import ferrotls
from conftest import (
    ServerThread, _pump, client_ctx, server_ctx, stdlib_client_ctx, stdlib_server_ctx,
)
from test_interop import c_server, connect  # noqa: F401  (fixture)


def explicit_client_ctx(version=None):
    """A ferrotls client context that resumes only when given ``session=`` (cache off)."""
    ctx = client_ctx(version)
    ctx.set_session_cache_size(0)
    return ctx


def roundtrip(s, data=b"ping"):
    """Send ``data``, read the echo: afterwards a TLS 1.3 server's tickets have been read."""
    s.sendall(data)
    got = bytearray()
    while len(got) < len(data):
        d = s.recv(65536)
        assert d, "peer closed early"
        got += d
    assert got == data


def reuse_echo_handler(s):
    """Echo until the peer's close_notify, answer it; returns whether the handshake resumed.
    (OpenSSL keeps a server session in its cache only after a clean shutdown.)"""
    reused = s.session_reused
    while True:
        d = s.recv(65536)
        if not d:
            break
        s.sendall(d)
    s.unwrap()
    return reused


# ---- our client ----------------------------------------------------------------------------

def test_client_resumes_stdlib_server(client_version):
    version, name = client_version
    ctx = explicit_client_ctx(version)
    with ServerThread(stdlib_server_ctx(version), reuse_echo_handler, conns=3) as srv:
        with ctx.wrap_socket(connect(srv.port), server_hostname="localhost") as s:
            assert s.session_reused is False
            roundtrip(s)
            sess = s.session
            assert isinstance(sess, ferrotls.Session)
            assert sess.version == name and sess.server_name == "localhost"
            s.unwrap()
        with ctx.wrap_socket(connect(srv.port), server_hostname="localhost", session=sess) as s:
            assert s.session_reused is True
            assert s.version() == name
            roundtrip(s)
            s.unwrap()
        # Without session= and with the cache off: a full handshake.
        with ctx.wrap_socket(connect(srv.port), server_hostname="localhost") as s:
            assert s.session_reused is False
            roundtrip(s)
            s.unwrap()
    assert not srv.errors, srv.errors
    assert srv.results == [False, True, False]


def test_client_cache_resumes_without_session_argument(client_version):
    """The ferrotls difference from ssl: a client context's cache resumes by server name."""
    version, _ = client_version
    ctx = client_ctx(version)
    with ServerThread(stdlib_server_ctx(version), reuse_echo_handler, conns=2) as srv:
        for expect in (False, True):
            with ctx.wrap_socket(connect(srv.port), server_hostname="localhost") as s:
                roundtrip(s)  # TLS 1.3: the ticket arrives with the server's data
                assert s.session_reused is expect
                s.unwrap()
    assert not srv.errors, srv.errors
    assert srv.results == [False, True]


def test_client_resumes_c_server(client_version, c_server):  # noqa: F811
    version, name = client_version
    port = c_server("--echo", "--tls1.3" if name == "TLSv1.3" else "--tls1.2")
    ctx = explicit_client_ctx(version)
    with ctx.wrap_socket(connect(port), server_hostname="localhost") as s:
        roundtrip(s)
        sess = s.session
        assert s.session_reused is False
    assert sess is not None and sess.version == name
    for _ in range(2):  # a session can be offered again (TLS 1.2 IDs and tickets; 1.3 tickets)
        with ctx.wrap_socket(connect(port), server_hostname="localhost", session=sess) as s:
            assert s.session_reused is True
            roundtrip(s, b"resumed " * 100)


# ---- our server ----------------------------------------------------------------------------

def test_server_resumes_stdlib_client(server_version):
    version, name = server_version
    sctx = server_ctx(version)
    cctx = stdlib_client_ctx(version)
    with ServerThread(sctx, reuse_echo_handler, conns=2) as srv:
        with cctx.wrap_socket(connect(srv.port), server_hostname="localhost") as s:
            roundtrip(s)
            sess = s.session
            assert s.session_reused is False
            assert sess is not None and sess.has_ticket
            s.unwrap()
        with cctx.wrap_socket(connect(srv.port), server_hostname="localhost", session=sess) as s:
            assert s.version() == name
            assert s.session_reused is True
            roundtrip(s)
            s.unwrap()
    assert not srv.errors, srv.errors
    assert srv.results == [False, True]


def test_server_tls12_session_id_without_tickets(tls12_support):
    """TLS 1.2 with tickets off: the stdlib client resumes from our server's session cache."""
    if tls12_support["server"] is not None:
        pytest.skip("no TLS 1.2 server: %s" % tls12_support["server"])
    v = ssl.TLSVersion.TLSv1_2
    sctx = server_ctx(v)
    sctx.set_ticket_lifetime(0)
    cctx = stdlib_client_ctx(v)
    cctx.options |= ssl.OP_NO_TICKET
    with ServerThread(sctx, reuse_echo_handler, conns=2) as srv:
        with cctx.wrap_socket(connect(srv.port), server_hostname="localhost") as s:
            roundtrip(s)
            sess = s.session
            assert not sess.has_ticket
            s.unwrap()
        with cctx.wrap_socket(connect(srv.port), server_hostname="localhost", session=sess) as s:
            assert s.session_reused is True
            roundtrip(s)
            s.unwrap()
    assert not srv.errors, srv.errors
    assert srv.results == [False, True]


# ---- wrap_bio, by hand ---------------------------------------------------------------------

def bio_pair(cctx, sctx, session=None, name="localhost"):
    bios = [ssl.MemoryBIO() for _ in range(4)]
    c = cctx.wrap_bio(bios[0], bios[1], server_hostname=name, session=session)
    s = sctx.wrap_bio(bios[2], bios[3], server_side=True)
    return c, s, bios


def bio_handshake_and_data(c, s, bios):
    """Handshake, then server → client data, so a TLS 1.3 ticket reaches the client."""
    _pump(c, bios[0], bios[1], s, bios[2], bios[3])
    s.write(b"hello")
    bios[0].write(bios[3].read())
    assert c.read(5) == b"hello"


def test_wrap_bio_resumption_by_hand(both_version):
    version, name = both_version
    cctx, sctx = explicit_client_ctx(version), server_ctx(version)
    sctx.set_ticket_lifetime(600)
    c, s, bios = bio_pair(cctx, sctx)
    assert c.session is None  # nothing yet
    _pump(c, bios[0], bios[1], s, bios[2], bios[3])
    if name == "TLSv1.3":
        assert c.session is None  # the ticket is there, but not read yet
    s.write(b"hello")
    bios[0].write(bios[3].read())
    assert c.read(5) == b"hello"
    sess = c.session
    assert s.session is None  # server side: no client session
    assert sess is not None and not c.session_reused and not s.session_reused
    assert sess.version == name and sess.server_name == "localhost"
    # Even with its cache off, a ferrotls client asks for a ticket in both versions, so a
    # session kept by the application resumes without the server's session cache.
    assert sess.has_ticket
    assert sess.timeout == sess.ticket_lifetime_hint == 600
    assert abs(sess.time - time.time()) < 60
    assert isinstance(sess.id, bytes) and len(sess.id) in range(1, 33)
    assert sess == c.session and hash(sess) == hash(c.session)
    copy = ferrotls.Session.from_bytes(sess.to_bytes())
    assert copy == sess and copy.id == sess.id

    # The repr names the session but never holds the blob (or the secret inside it).
    blob = sess.to_bytes()
    r = repr(sess)
    assert "Session" in r and blob.hex()[:64] not in r and blob.hex()[-64:] not in r
    secret_len = blob[9]
    secret = blob[10:10 + secret_len]
    assert len(secret) >= 32 and secret.hex() not in r and secret.hex()[:16] not in r
    with pytest.raises(TypeError):
        pickle.dumps(sess)
    with pytest.raises(TypeError):
        ferrotls.Session(blob)

    c2, s2, bios2 = bio_pair(cctx, sctx, session=sess)
    assert c2.session == sess  # before the handshake: the session to resume
    bio_handshake_and_data(c2, s2, bios2)
    assert c2.session_reused is True and s2.session_reused is True
    assert c2.version() == name

    # Assigning .session before the handshake works the same way.
    c3, s3, bios3 = bio_pair(cctx, sctx)
    c3.session = copy
    bio_handshake_and_data(c3, s3, bios3)
    assert c3.session_reused is True and s3.session_reused is True

    # A client with the cache on (the default) resumes on its own.
    auto = client_ctx(version)
    for expect in (False, True):
        c4, s4, bios4 = bio_pair(auto, sctx)
        bio_handshake_and_data(c4, s4, bios4)
        assert c4.session_reused is expect and s4.session_reused is expect
        assert c4.session.has_ticket is True


def test_session_kept_after_close(both_version):
    version, _ = both_version
    cctx, sctx = explicit_client_ctx(version), server_ctx(version)
    c, s, bios = bio_pair(cctx, sctx)
    bio_handshake_and_data(c, s, bios)
    sess = c.session
    c.close()
    assert c.session == sess


def test_no_tickets_tls13_gives_no_session():
    v = ssl.TLSVersion.TLSv1_3
    cctx, sctx = explicit_client_ctx(v), server_ctx(v)
    sctx.num_tickets = 0
    assert sctx.num_tickets == 0
    c, s, bios = bio_pair(cctx, sctx)
    bio_handshake_and_data(c, s, bios)
    assert c.session is None


# ---- misuse --------------------------------------------------------------------------------

def a_session(version=None):
    cctx, sctx = explicit_client_ctx(version), server_ctx(version)
    c, s, bios = bio_pair(cctx, sctx)
    bio_handshake_and_data(c, s, bios)
    return cctx, sctx, c.session


def test_session_on_server_or_after_handshake_raises():
    cctx, sctx, sess = a_session()
    # Server side: wrap_bio(session=) and assignment.
    with pytest.raises(ValueError, match="server-side"):
        sctx.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_side=True, session=sess)
    srv = sctx.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_side=True)
    with pytest.raises(ValueError, match="server-side"):
        srv.session = sess
    # Client after the handshake (and after it started).
    c, s, bios = bio_pair(cctx, sctx)
    bio_handshake_and_data(c, s, bios)
    with pytest.raises(ValueError, match="after handshake"):
        c.session = sess
    c5 = cctx.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="localhost")
    with pytest.raises(ssl.SSLWantReadError):
        c5.do_handshake()
    with pytest.raises(ValueError, match="after handshake"):
        c5.session = sess
    # Not a Session; a session of another context (as in ssl).
    c6 = cctx.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="localhost")
    with pytest.raises(TypeError):
        c6.session = sess.to_bytes()
    other = explicit_client_ctx()
    with pytest.raises(ValueError, match="different SSLContext"):
        other.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="localhost", session=sess)
    with pytest.raises(ValueError, match="different SSLContext"):
        other.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="localhost").session = sess
    # A restored session carries no context: any client context may offer it.
    other.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="localhost",
                   session=ferrotls.Session.from_bytes(sess.to_bytes()))


def test_socket_session_on_server_or_after_handshake_raises():
    cctx, sctx, sess = a_session()
    a, b = socket.socketpair()
    with a, b:
        srv = sctx.wrap_socket(a, server_side=True, do_handshake_on_connect=False)
        with srv:
            with pytest.raises(ValueError, match="server-side"):
                srv.session = sess
    with socket.socket() as raw:
        with pytest.raises(ValueError, match="server-side"):
            sctx.wrap_socket(raw, server_side=True, session=sess)

    def handler(s):
        s.recv(1)

    with ServerThread(sctx, handler) as st:
        with cctx.wrap_socket(connect(st.port), server_hostname="localhost") as s:
            with pytest.raises(ValueError, match="after handshake"):
                s.session = sess
            s.sendall(b"x")
    assert not st.errors, st.errors


def _with_sum(body: bytes) -> bytes:
    return body + hashlib.sha256(body).digest()


def test_corrupt_session_blob_raises():
    cctx, sctx, sess = a_session()
    blob = sess.to_bytes()
    # Plainly not a session, or edited: ValueError from Session.from_bytes.
    for bad in (b"", b"garbage", b"FTSS\x01" + bytes(40), b"XXXX" + blob[4:],
                blob[:-1] + bytes([blob[-1] ^ 1]), blob[:20] + bytes([blob[20] ^ 0x80]) + blob[21:]):
        with pytest.raises(ValueError):
            ferrotls.Session.from_bytes(bad)
    # A well-formed checksum over a malformed body: the library refuses it, clearly.
    broken = ferrotls.Session.from_bytes(_with_sum(blob[:-32 - 7]))
    with pytest.raises(ferrotls.SSLError) as ei:
        cctx.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="localhost", session=broken)
    assert "session" in str(ei.value) and ei.value.code != 0
    assert broken.version is None or broken.id  # attributes never raise
    repr(broken)
    # Another format version: refused with a clear message.
    future = ferrotls.Session.from_bytes(blob[:4] + b"\x63" + blob[5:])
    with pytest.raises(ferrotls.SSLError, match="version"):
        cctx.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="localhost", session=future)
    # Another server name: refused, and the connection stays usable for a full handshake.
    ctx2 = explicit_client_ctx()
    ctx2.check_hostname = False
    restored = ferrotls.Session.from_bytes(blob)
    with pytest.raises(ferrotls.SSLError, match="localhost"):
        ctx2.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="other.example",
                      session=restored)
    c, s, bios = bio_pair(cctx, sctx)
    with pytest.raises(ferrotls.SSLError):
        c.session = broken
    bio_handshake_and_data(c, s, bios)
    assert c.session_reused is False
    # wrap_socket(session=broken) leaves the caller's socket as it was.
    a, b = socket.socketpair()
    with a, b:
        with pytest.raises(ferrotls.SSLError):
            cctx.wrap_socket(a, server_hostname="localhost", session=broken)
        a.sendall(b"still mine")
        assert b.recv(100) == b"still mine"


def test_mutated_session_blobs_never_crash(both_version):
    """Bounded fuzz: single-byte edits with a recomputed checksum either fail cleanly or are
    accepted (then a handshake either resumes, falls back, or fails with SSLError)."""
    cctx, sctx, sess = a_session(both_version[0])
    body = sess.to_bytes()[:-32]
    accepted = 0
    for i in range(5, len(body), max(1, len(body) // 200)):
        for flip in (0x01, 0xFF):
            mutated = ferrotls.Session.from_bytes(
                _with_sum(body[:i] + bytes([body[i] ^ flip]) + body[i + 1:]))
            try:
                c, s, bios = bio_pair(cctx, sctx, session=mutated)
            except ferrotls.SSLError:
                continue
            accepted += 1
            try:
                bio_handshake_and_data(c, s, bios)
            except (ssl.SSLError, AssertionError):
                pass
    assert accepted > 0  # edits of e.g. the certificates or timestamps pass the decoder
    for n in range(0, len(body), max(1, len(body) // 40)):
        try:
            bio_pair(cctx, sctx, session=ferrotls.Session.from_bytes(_with_sum(body[:n])))
        except (ValueError, ferrotls.SSLError):
            pass


# ---- context options -----------------------------------------------------------------------

def test_context_session_options():
    cctx = client_ctx()
    assert cctx.session_cache_size == 256
    cctx.set_session_cache_size(0)
    assert cctx.session_cache_size == 0
    with pytest.raises(ValueError):
        cctx.set_session_cache_size(-1)
    with pytest.raises(ValueError, match="server context"):
        cctx.num_tickets = 1
    with pytest.raises(ValueError, match="server context"):
        cctx.set_ticket_lifetime(60)
    sctx = server_ctx()
    assert sctx.num_tickets == 2
    sctx.num_tickets = 1
    with pytest.raises(ValueError):
        sctx.num_tickets = -1
    with pytest.raises(ferrotls.SSLError):
        sctx.num_tickets = 100
    with pytest.raises(ferrotls.SSLError):
        sctx.set_ticket_lifetime(10 ** 7)
    both = ferrotls.Context(ferrotls.PROTOCOL_TLS)
    both.num_tickets = 3
    both.set_ticket_lifetime(60)
    both.set_session_cache_size(10)
    assert ferrotls.SSLSession is ferrotls.Session
