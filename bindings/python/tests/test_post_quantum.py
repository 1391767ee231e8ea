"""Post-quantum key exchange through the Python API: the group names (``set_groups()``,
``set_ecdh_curve()``, ``group()``), and real TLS 1.3 handshakes over 127.0.0.1 against
tlslite-ng 0.9 (pure Python, its ML-KEM from kyber-py) for X25519MLKEM768, SecP256r1MLKEM768 and
SecP384r1MLKEM1024, in both roles, with and without a HelloRetryRequest.

What each side says it negotiated is checked against the wire: a tap under tlslite's socket
keeps the bytes, and the plaintext hellos (ClientHello, ServerHello / HelloRetryRequest) are
parsed here, so "no HelloRetryRequest", "one ClientHello with shares for X25519MLKEM768 and
X25519" and "the server chose 0x11EC" are facts of the bytes, not of either implementation.
"""

from __future__ import annotations

import hashlib
import socket
import ssl
import struct
import threading
import time
import warnings

import pytest

import ferrotls
from conftest import (
    TIMEOUT, ServerThread, _pump, cert, client_ctx, echo_handler, server_ctx, stdlib_server_ctx,
)

with warnings.catch_warnings():  # tlslite.integration imports asyncore (deprecated in 3.11)
    warnings.simplefilter("ignore", DeprecationWarning)
    from tlslite import HandshakeSettings, TLSConnection, X509CertChain
    from tlslite.constants import GroupName
    from tlslite.errors import TLSLocalAlert, TLSRemoteAlert
    from tlslite.utils.compat import ML_KEM_AVAILABLE
    from tlslite.utils.keyfactory import parsePEMKey

if not ML_KEM_AVAILABLE:  # tlslite-ng without kyber-py offers no hybrid at all
    pytest.exit("tlslite-ng cannot load kyber-py (ML-KEM): pip install -r "
                "bindings/python/requirements-test.txt", returncode=2)

# (our name as group() gives it, tlslite's name, IANA codepoint)
HYBRIDS = [
    ("X25519MLKEM768", "x25519mlkem768", 0x11EC),
    ("SecP256r1MLKEM768", "secp256r1mlkem768", 0x11EB),
    ("SecP384r1MLKEM1024", "secp384r1mlkem1024", 0x11ED),
]
X25519 = 0x001D
PAYLOAD = bytes(range(256)) * 16  # 4 KiB each way: tlslite's AES-GCM is pure Python

# The times of the handshakes below (seconds), for the summary test at the end.
TIMES: dict = {}


def hybrid_params(rows=HYBRIDS):
    return pytest.mark.parametrize("ours,theirs,gid", rows, ids=[r[0] for r in rows])


# ---- the wire: a tap under tlslite's socket, and the plaintext hellos --------------------

class Tap:
    """A socket that keeps what passes through it (tlslite calls send/recv only)."""

    def __init__(self, sock):
        self._sock = sock
        self.sent = bytearray()
        self.received = bytearray()

    def send(self, data):
        n = self._sock.send(data)
        self.sent += bytes(data[:n])
        return n

    def sendall(self, data):
        self._sock.sendall(data)
        self.sent += bytes(data)

    def recv(self, n, *flags):
        data = self._sock.recv(n, *flags)
        self.received += data
        return data

    def __getattr__(self, name):
        return getattr(self._sock, name)


HRR_RANDOM = hashlib.sha256(b"HelloRetryRequest").digest()  # RFC 8446 §4.1.3


def _messages(stream):
    """The handshake messages [(type, body)] of the plaintext records a stream starts with
    (up to its first encrypted record)."""
    hs, i = bytearray(), 0
    while i + 5 <= len(stream):
        ctype, n = stream[i], struct.unpack(">H", stream[i + 3:i + 5])[0]
        if ctype == 23:  # application_data: the rest is encrypted
            break
        if ctype == 22:
            hs += stream[i + 5:i + 5 + n]
        i += 5 + n
    out, j = [], 0
    while j + 4 <= len(hs):
        n = int.from_bytes(hs[j + 1:j + 4], "big")
        out.append((hs[j], bytes(hs[j + 4:j + 4 + n])))
        j += 4 + n
    return out


def _extensions(body, client):
    p = 34 + 1 + body[34]  # legacy_version, random, session id
    if client:
        p += 2 + struct.unpack(">H", body[p:p + 2])[0]  # cipher suites
        p += 1 + body[p]  # compression methods
    else:
        p += 3  # cipher suite, compression method
    end = p + 2 + struct.unpack(">H", body[p:p + 2])[0]
    p += 2
    out = []
    while p < end:
        t, n = struct.unpack(">HH", body[p:p + 4])
        out.append((t, body[p + 4:p + 4 + n]))
        p += 4 + n
    return out


def _u16s(b):
    return [struct.unpack(">H", b[i:i + 2])[0] for i in range(0, len(b), 2)]


class ClientHello:
    def __init__(self, body):
        ext = _extensions(body, True)
        self.extension_order = [t for t, _ in ext]
        d = dict(ext)
        ks, self.shares, p = d.get(51, b""), [], 2
        while p < len(ks):
            g, n = struct.unpack(">HH", ks[p:p + 4])
            self.shares.append((g, n))
            p += 4 + n
        self.share_groups = [g for g, _ in self.shares]
        self.supported_groups = _u16s(d.get(10, b"\x00\x00")[2:])


class ServerHello:
    def __init__(self, body):
        self.is_hrr = body[2:34] == HRR_RANDOM
        ks = dict(_extensions(body, False)).get(51, b"")
        self.group = struct.unpack(">H", ks[:2])[0] if len(ks) >= 2 else None


def hellos(client_stream, server_stream):
    """([ClientHello], [ServerHello]) from the bytes each side sent."""
    return ([ClientHello(b) for t, b in _messages(client_stream) if t == 1],
            [ServerHello(b) for t, b in _messages(server_stream) if t == 2])


def check_wire(chs, shs, gid, hrr):
    """One ClientHello and a ServerHello choosing ``gid``; or, with ``hrr``, a
    HelloRetryRequest asking for ``gid``, a second ClientHello with that one share, then the
    ServerHello."""
    if not hrr:
        assert len(chs) == 1 and len(shs) == 1, (len(chs), len(shs))
        assert not shs[0].is_hrr
        assert gid in chs[0].share_groups
    else:
        assert len(chs) == 2 and len(shs) == 2, (len(chs), len(shs))
        assert shs[0].is_hrr and not shs[1].is_hrr
        assert shs[0].group == gid  # the HelloRetryRequest's selected_group
        assert gid not in chs[0].share_groups and gid in chs[0].supported_groups
        assert chs[1].share_groups == [gid]
    assert shs[-1].group == gid


# ---- tlslite-ng --------------------------------------------------------------------------

def tl_settings(key_shares=None, curves=None, restrict=False):
    """TLS 1.3-only tlslite settings; ``restrict`` (a server) leaves it no FFDHE group."""
    st = HandshakeSettings()
    st.minVersion = st.maxVersion = (3, 4)
    if curves is not None:
        st.eccCurves = list(curves)
    if key_shares is not None:
        st.keyShares = list(key_shares)
    if restrict:
        st.dhGroups = []
    return st


def tl_group(conn) -> str:
    """The group tlslite negotiated (its name), from the key_share it used."""
    return GroupName.toStr(conn.ecdhCurve)


@pytest.fixture(scope="module")
def tl_identity():
    """tlslite's form of the demo server identity (ECDSA P-256, signed by ca.pem)."""
    chain = X509CertChain()
    with open(cert("server.pem")) as f:
        chain.parsePemList(f.read())
    with open(cert("server.key")) as f:
        key = parsePEMKey(f.read(), private=True)
    return chain, key


def tlslite_client(port, settings, key):
    """Connect, handshake, send PAYLOAD, read it back, close. -> (tlslite group name, Tap)."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    tap = Tap(raw)
    conn = TLSConnection(tap)
    try:
        t0 = time.perf_counter()
        conn.handshakeClientCert(settings=settings, serverName="localhost")
        TIMES[key] = time.perf_counter() - t0
        assert conn.version == (3, 4)
        group = tl_group(conn)
        conn.write(PAYLOAD)
        got = bytearray()
        while len(got) < len(PAYLOAD):
            d = conn.read(max=65536)
            assert d, "EOF before the echo"
            got += d
        assert bytes(got) == PAYLOAD
        conn.close()  # close_notify both ways
        return group, tap
    finally:
        raw.close()


class TlsliteServer:
    """One tlslite-ng server connection on 127.0.0.1 in a thread: handshake, echo until the
    client closes. ``group`` is what it negotiated, ``error`` what it raised, ``tap`` the wire."""

    def __init__(self, identity, settings):
        self.chain, self.key = identity
        self.settings = settings
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(TIMEOUT)
        self.port = self.listener.getsockname()[1]
        self.group = self.error = self.tap = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        raw = None
        try:
            raw, _ = self.listener.accept()
            raw.settimeout(TIMEOUT)
            self.tap = Tap(raw)
            conn = TLSConnection(self.tap)
            conn.handshakeServer(certChain=self.chain, privateKey=self.key, settings=self.settings)
            self.group = tl_group(conn)
            while True:
                d = conn.read(max=65536)
                if not d:
                    break
                conn.write(d)
            conn.close()
        except Exception as e:  # noqa: BLE001
            self.error = e
        finally:
            if raw is not None:
                raw.close()
            self.listener.close()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.thread.join(TIMEOUT)
        assert not self.thread.is_alive(), "tlslite server thread did not finish"


def our_client(port, ctx, key):
    """Our client: handshake, PAYLOAD both ways, unwrap. -> its group()."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    t0 = time.perf_counter()
    with ctx.wrap_socket(raw, server_hostname="localhost") as s:
        TIMES[key] = time.perf_counter() - t0
        assert s.version() == "TLSv1.3"
        group = s.group()
        s.sendall(PAYLOAD)
        got = bytearray()
        while len(got) < len(PAYLOAD):
            d = s.recv(65536)
            assert d, "EOF before the echo"
            got += d
        assert bytes(got) == PAYLOAD
        assert s.group() == group  # stays the same after the handshake
    return group


def group_handler(s):
    """Our server's side: what it negotiated, then echo until the peer closes."""
    seen = (s.version(), s.group())
    while True:
        d = s.recv(65536)
        if not d:
            break
        s.sendall(d)
    return seen


# ---- configuring the groups ------------------------------------------------------------

def test_set_groups_takes_the_post_quantum_names():
    ctx = ferrotls.SSLContext(ferrotls.PROTOCOL_TLS_CLIENT)
    ctx.set_groups("X25519MLKEM768:X25519:P-256")
    # Case-insensitive (as OpenSSL 3.5), and the aliases of the classic curves.
    ctx.set_groups("x25519mlkem768:SECP256R1MLKEM768:SecP384r1MLKEM1024:mlkem1024:x25519:"
                   "secp256r1:prime256v1:secp384r1")
    ctx.set_groups(b"X25519MLKEM768")
    with pytest.raises(ssl.SSLError) as e:
        ctx.set_groups("X25519MLKEM768:X25519Kyber768Draft00")
    # The message names what there is, post-quantum groups included.
    for name in ("X25519MLKEM768", "SecP256r1MLKEM768", "SecP384r1MLKEM1024", "MLKEM1024"):
        assert name in str(e.value)
    with pytest.raises(TypeError):
        ctx.set_groups(0x11EC)


@pytest.mark.parametrize("name", ["X25519MLKEM768", "x25519mlkem768", "SecP256r1MLKEM768",
                                  "SECP384R1MLKEM1024", "MLKEM1024", b"X25519MLKEM768",
                                  "X25519", "prime256v1", "secp256r1", "secp384r1"])
def test_set_ecdh_curve_takes_openssl_35_names(name):
    ctx = ferrotls.SSLContext(ferrotls.PROTOCOL_TLS_SERVER)
    ctx.set_ecdh_curve(name)


def test_set_ecdh_curve_refuses_what_ferrotls_lacks():
    ctx = ferrotls.SSLContext(ferrotls.PROTOCOL_TLS_SERVER)
    for bad in ("secp521r1", "X448", "X25519Kyber768Draft00", "X25519MLKEM768:X25519", ""):
        with pytest.raises(ValueError) as e:
            ctx.set_ecdh_curve(bad)
        assert "X25519MLKEM768" in str(e.value) and "secp384r1" in str(e.value)


def test_post_quantum_groups_alone_mean_tls13_only():
    ctx = client_ctx()
    ctx.set_ecdh_curve("X25519MLKEM768")
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    with pytest.raises(ssl.SSLError, match="TLS 1.3 only"):
        ctx.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="localhost")


# ---- group(): between our two sides, in memory --------------------------------------------

def _memory_pair(cctx, sctx):
    bios = [ssl.MemoryBIO() for _ in range(4)]
    c = cctx.wrap_bio(bios[0], bios[1], server_hostname="localhost")
    s = sctx.wrap_bio(bios[2], bios[3], server_side=True)
    return c, s, bios


@pytest.mark.parametrize("curve,expected", [
    (None, "X25519MLKEM768"),  # the default
    ("SecP256r1MLKEM768", "SecP256r1MLKEM768"),
    ("SecP384r1MLKEM1024", "SecP384r1MLKEM1024"),
    ("MLKEM1024", "MLKEM1024"),
    ("X25519", "x25519"),  # the classic curves as OpenSSL (and so ssl) names them
    ("prime256v1", "secp256r1"),
    ("secp384r1", "secp384r1"),
])
def test_group_in_memory(curve, expected):
    cctx, sctx = client_ctx(), server_ctx()
    if curve is not None:
        cctx.set_ecdh_curve(curve)
        sctx.set_ecdh_curve(curve)
    c, s, bios = _memory_pair(cctx, sctx)
    assert c.group() is None and s.group() is None  # before the handshake
    _pump(c, bios[0], bios[1], s, bios[2], bios[3])
    assert c.group() == s.group() == expected
    assert c.version() == s.version() == "TLSv1.3"
    c.close()
    assert c.group() is None  # the connection is gone


def test_group_tls12_is_classic(tls12_support):
    if tls12_support["client"] is not None or tls12_support["server"] is not None:
        pytest.skip("no TLS 1.2 on both sides: %s" % (tls12_support,))
    v = ssl.TLSVersion.TLSv1_2
    c, s, bios = _memory_pair(client_ctx(v), server_ctx(v))
    _pump(c, bios[0], bios[1], s, bios[2], bios[3])
    assert c.version() == "TLSv1.2"
    assert c.group() == s.group() == "x25519"  # TLS 1.2 never uses a KEM


def test_group_on_sockets_and_their_sslobj():
    """SSLSocket.group(): None before the handshake and after unwrap; the ``_sslobj`` view
    (which code written for ``ssl`` may call) answers the same."""
    with ServerThread(server_ctx(), group_handler) as srv:
        raw = socket.create_connection(("127.0.0.1", srv.port), timeout=TIMEOUT)
        s = client_ctx().wrap_socket(raw, server_hostname="localhost",
                                     do_handshake_on_connect=False)
        assert s.group() is None
        s.do_handshake()
        assert s.group() == s._sslobj.group() == "X25519MLKEM768"
        s.sendall(b"x")
        assert s.recv(1) == b"x"
        s.unwrap()
        assert s.group() is None
        s.close()
    assert not srv.errors, srv.errors
    assert srv.results == [("TLSv1.3", "X25519MLKEM768")]


def test_default_client_against_openssl_without_post_quantum():
    """The stdlib's server (OpenSSL 3.0 here: no ML-KEM) takes the X25519 share our default
    client sends beside the hybrid one: no HelloRetryRequest, group() says x25519."""
    if ssl.OPENSSL_VERSION_INFO >= (3, 5):
        pytest.skip("this OpenSSL has X25519MLKEM768 (%s)" % ssl.OPENSSL_VERSION)
    with ServerThread(stdlib_server_ctx(), echo_handler) as srv:
        assert our_client(srv.port, client_ctx(), "ours -> OpenSSL 3.0") == "x25519"
    assert not srv.errors, srv.errors


# ---- tlslite-ng client -> our server ---------------------------------------------------------

def test_tlslite_defaults_to_our_default_server():
    """tlslite's defaults: shares for x25519mlkem768, secp256r1 and x25519. Our default server
    takes the hybrid at once."""
    with ServerThread(server_ctx(), group_handler) as srv:
        group, tap = tlslite_client(srv.port, tl_settings(), "tlslite defaults -> ours")
    assert not srv.errors, srv.errors
    assert group == "x25519mlkem768"
    assert srv.results == [("TLSv1.3", "X25519MLKEM768")]
    chs, shs = hellos(tap.sent, tap.received)
    check_wire(chs, shs, 0x11EC, hrr=False)
    assert chs[0].share_groups[0] == 0x11EC


@hybrid_params()
def test_tlslite_single_hybrid_to_our_default_server(ours, theirs, gid):
    """tlslite offering one hybrid only. Our default server has X25519MLKEM768 (and X25519,
    P-256, P-384): the NIST hybrids are refused (handshake_failure, the error names them)."""
    with ServerThread(server_ctx(), group_handler) as srv:
        st = tl_settings(key_shares=[theirs], curves=[theirs])
        if ours == "X25519MLKEM768":
            group, tap = tlslite_client(srv.port, st, "tlslite %s -> ours (default)" % ours)
        else:
            with pytest.raises(TLSRemoteAlert) as e:
                tlslite_client(srv.port, st, "refused")
            assert e.value.description == 40  # handshake_failure
    if ours == "X25519MLKEM768":
        assert not srv.errors, srv.errors
        assert group == theirs and srv.results == [("TLSv1.3", ours)]
        check_wire(*hellos(tap.sent, tap.received), gid, hrr=False)
    else:
        assert len(srv.errors) == 1 and isinstance(srv.errors[0], ssl.SSLError), srv.errors
        assert srv.errors[0].name == "FERROTLS_ERR_NO_SHARED_GROUP"
        assert ours in str(srv.errors[0])  # "the client supports SecP256r1MLKEM768, ..."


@hybrid_params()
def test_tlslite_to_our_server_restricted_by_set_ecdh_curve(ours, theirs, gid):
    """Our server with ``set_ecdh_curve(<hybrid>)``; tlslite sends that share (among its
    default supported groups): no HelloRetryRequest."""
    sctx = server_ctx()
    sctx.set_ecdh_curve(ours)
    with ServerThread(sctx, group_handler) as srv:
        group, tap = tlslite_client(srv.port, tl_settings(key_shares=[theirs]),
                                    "tlslite %s -> ours (%s only)" % (theirs, ours))
    assert not srv.errors, srv.errors
    assert group == theirs
    assert srv.results == [("TLSv1.3", ours)]
    check_wire(*hellos(tap.sent, tap.received), gid, hrr=False)


@hybrid_params()
def test_tlslite_hybrid_among_more_to_our_server_preferring_it(ours, theirs, gid):
    """tlslite sends shares for the hybrid and x25519; our server lists the hybrid first
    (``set_groups``), then X25519: the hybrid wins."""
    sctx = server_ctx()
    sctx.set_groups(ours + ":X25519")
    with ServerThread(sctx, group_handler) as srv:
        group, tap = tlslite_client(srv.port, tl_settings(key_shares=["x25519", theirs]),
                                    "tlslite x25519+%s -> ours" % theirs)
    assert not srv.errors, srv.errors
    assert group == theirs and srv.results == [("TLSv1.3", ours)]
    chs, shs = hellos(tap.sent, tap.received)
    check_wire(chs, shs, gid, hrr=False)
    assert chs[0].share_groups == [X25519, gid]


@hybrid_params()
def test_hello_retry_request_from_our_server(ours, theirs, gid):
    """tlslite sends an x25519 share only but supports the hybrid; our server accepts only the
    hybrid, so it asks for that share (HelloRetryRequest) and gets it."""
    sctx = server_ctx()
    sctx.set_groups(ours)
    with ServerThread(sctx, group_handler) as srv:
        group, tap = tlslite_client(
            srv.port, tl_settings(key_shares=["x25519"], curves=["x25519", theirs]),
            "tlslite x25519 -> ours %s, HRR" % ours)
    assert not srv.errors, srv.errors
    assert group == theirs and srv.results == [("TLSv1.3", ours)]
    chs, shs = hellos(tap.sent, tap.received)
    check_wire(chs, shs, gid, hrr=True)
    assert chs[0].share_groups == [X25519]


# ---- our client -> tlslite-ng server ---------------------------------------------------------

def test_our_default_client_to_tlslite_defaults(tl_identity):
    """Our default ClientHello: shares for X25519MLKEM768 and X25519, then the classic curves
    in supported_groups. tlslite's default server prefers x25519mlkem768."""
    with TlsliteServer(tl_identity, tl_settings()) as srv:
        group = our_client(srv.port, client_ctx(), "ours (default) -> tlslite defaults")
    assert srv.error is None, srv.error
    assert group == "X25519MLKEM768" and srv.group == "x25519mlkem768"
    chs, shs = hellos(srv.tap.received, srv.tap.sent)
    check_wire(chs, shs, 0x11EC, hrr=False)
    assert chs[0].share_groups == [0x11EC, X25519]
    assert chs[0].supported_groups == [0x11EC, X25519, 0x0017, 0x0018]


@hybrid_params()
def test_our_default_client_to_tlslite_restricted(tl_identity, ours, theirs, gid):
    """A tlslite server with one hybrid only. Our default client has X25519MLKEM768 and no NIST
    hybrid (they are opt-in): the NIST-only servers refuse it (handshake_failure)."""
    st = tl_settings(key_shares=[], curves=[theirs], restrict=True)
    with TlsliteServer(tl_identity, st) as srv:
        if ours == "X25519MLKEM768":
            group = our_client(srv.port, client_ctx(), "ours (default) -> tlslite %s" % theirs)
        else:
            with pytest.raises(ssl.SSLError) as e:
                our_client(srv.port, client_ctx(), "refused")
            assert e.value.reason == "SSLV3_ALERT_HANDSHAKE_FAILURE", e.value
    if ours == "X25519MLKEM768":
        assert srv.error is None, srv.error
        assert group == ours and srv.group == theirs
        check_wire(*hellos(srv.tap.received, srv.tap.sent), gid, hrr=False)
    else:
        assert isinstance(srv.error, TLSLocalAlert), srv.error
        assert "No acceptable group" in str(srv.error)
        chs, _ = hellos(srv.tap.received, srv.tap.sent)
        assert gid not in chs[0].supported_groups


@hybrid_params()
def test_our_client_preferring_a_hybrid_to_tlslite(tl_identity, ours, theirs, gid):
    """Our client with ``set_groups("<hybrid>:X25519")``: shares for both; a tlslite server
    restricted to the hybrid takes it without a HelloRetryRequest (ML-KEM encapsulation by
    tlslite, decapsulation by us)."""
    cctx = client_ctx()
    cctx.set_groups(ours + ":X25519")
    st = tl_settings(key_shares=[], curves=[theirs], restrict=True)
    with TlsliteServer(tl_identity, st) as srv:
        group = our_client(srv.port, cctx, "ours %s -> tlslite %s only" % (ours, theirs))
    assert srv.error is None, srv.error
    assert group == ours and srv.group == theirs
    chs, shs = hellos(srv.tap.received, srv.tap.sent)
    check_wire(chs, shs, gid, hrr=False)
    assert chs[0].share_groups == [gid, X25519]


# After a HelloRetryRequest our second ClientHello must be the first with only key_share
# replaced (in its place) and a cookie added (RFC 8446 §4.1.2): tlslite-ng compares the two
# hellos extension by extension. (It once moved key_share to the end; tlslite found it.)


@pytest.mark.parametrize("ours,theirs,gid", [
    ("SecP256r1MLKEM768", "secp256r1mlkem768", 0x11EB),
    ("SecP384r1MLKEM1024", "secp384r1mlkem1024", 0x11ED),
    ("secp384r1", "secp384r1", 0x0018),  # a classic group: the same path
], ids=["SecP256r1MLKEM768", "SecP384r1MLKEM1024", "secp384r1"])
def test_hello_retry_request_to_our_client(tl_identity, ours, theirs, gid):
    """Our client sends shares for X25519MLKEM768 and X25519 and lists the NIST hybrids; a
    tlslite server accepting only one of them asks for its share (HelloRetryRequest)."""
    cctx = client_ctx()
    cctx.set_groups("X25519MLKEM768:X25519:P-256:P-384:SecP256r1MLKEM768:SecP384r1MLKEM1024")
    st = tl_settings(key_shares=[], curves=[theirs], restrict=True)
    with TlsliteServer(tl_identity, st) as srv:
        try:
            group = our_client(srv.port, cctx, "ours -> tlslite %s, HRR" % theirs)
        except ssl.SSLError as e:
            group = e
    chs, shs = hellos(srv.tap.received, srv.tap.sent)
    assert srv.error is None, srv.error
    assert group == ours and srv.group == theirs
    check_wire(chs, shs, gid, hrr=True)
    assert chs[0].extension_order == [t for t in chs[1].extension_order if t != 44]


def test_timings():
    """The handshakes above stay far below the sockets' timeouts (kyber-py is pure Python)."""
    if not TIMES:
        pytest.skip("no handshake ran")
    slowest = max(TIMES.items(), key=lambda kv: kv[1])
    print("\n%d tlslite handshakes: median %.0f ms, slowest %.0f ms (%s)" % (
        len(TIMES), 1000 * sorted(TIMES.values())[len(TIMES) // 2], 1000 * slowest[1], slowest[0]))
    assert slowest[1] < TIMEOUT / 2
