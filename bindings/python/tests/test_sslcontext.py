"""ferrotls.SSLContext as an ssl.SSLContext: the type checks pass, every member of the stdlib's
classes is overridden (nothing reaches OpenSSL), settings rebuild the configuration only on a
real change, trust anchors and chains load once, host names may be str or bytes, what cannot be
honoured raises, and verification errors carry OpenSSL's numbers. Plus eight threads on one
context."""

from __future__ import annotations

import datetime
import hashlib
import os
import socket
import ssl
import threading
import time

import _ssl
import certifi
import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import ferrotls
from conftest import TIMEOUT, ServerThread, _pump, cert
from libsupport import HTTPSServer, fetch_http_client, ours_client, ours_server, stdlib_server


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


@pytest.fixture(scope="module")
def leaf(ca):
    return ca.issue_cert("localhost", "127.0.0.1")


def bios():
    return [ssl.MemoryBIO() for _ in range(4)]


def handshake(cctx, sctx, name="localhost"):
    """An in-memory handshake; the client then reads the server's session tickets."""
    b = bios()
    c = cctx.wrap_bio(b[0], b[1], server_hostname=name)
    s = sctx.wrap_bio(b[2], b[3], server_side=True)
    _pump(c, b[0], b[1], s, b[2], b[3])
    b[0].write(b[3].read())
    try:
        c.read(1)
    except ssl.SSLWantReadError:
        pass
    return c, s


# ---- the type, and nothing left to OpenSSL -------------------------------------------------

def test_is_an_ssl_context_and_makes_ssl_objects(ca, leaf):
    ctx = ours_client(ca_wrapper(ca))
    assert isinstance(ctx, ssl.SSLContext) and ferrotls.SSLContext is ferrotls.Context
    assert ctx.protocol == ssl.PROTOCOL_TLS_CLIENT
    c, s = handshake(ctx, stdlib_server(leaf))
    assert isinstance(c, ssl.SSLObject) and isinstance(c, ferrotls.SSLObject)
    assert c.context is ctx and c.server_side is False and c.server_hostname == "localhost"
    with socket.socket() as raw:
        sock = ctx.wrap_socket(raw, server_hostname="localhost", do_handshake_on_connect=False)
        assert isinstance(sock, ssl.SSLSocket) and isinstance(sock, ferrotls.SSLSocket)
        sock.close()


def ca_wrapper(ca):
    class P:
        pass
    p = P()
    p.ca = ca
    return p


STDLIB_DATA = {"_windows_cert_stores"}  # a tuple of Windows store names, no behaviour


@pytest.mark.parametrize("ours, bases", [
    (ferrotls.SSLContext, (ssl.SSLContext, _ssl._SSLContext)),
    (ferrotls.SSLSocket, (ssl.SSLSocket,)),
    (ferrotls.SSLObject, (ssl.SSLObject,)),
], ids=["SSLContext", "SSLSocket", "SSLObject"])
def test_every_stdlib_member_is_overridden(ours, bases):
    """No method or property of the stdlib's classes (or of _ssl's OpenSSL context) is
    inherited: each one is ferrotls's, so none can configure or use OpenSSL silently."""
    missing = []
    for base in bases:
        for name in set(vars(base)) | set(dir(base) if base is _ssl._SSLContext else ()):
            if name.startswith("__") and name != "__init__":
                continue
            if name in STDLIB_DATA:
                continue
            if name not in vars(ours):
                missing.append("%s.%s" % (base.__name__, name))
    assert not missing, "inherited from the stdlib: %s" % sorted(missing)


def test_openssl_underneath_is_sealed(ca, leaf):
    """The stdlib's own code paths refuse our context, and the OpenSSL context the base class
    allocated cannot make a connection (no protocol version is enabled in it)."""
    ctx = ours_client(ca_wrapper(ca))
    b = bios()
    with pytest.raises(NotImplementedError):
        ssl.SSLObject._create(b[0], b[1], server_side=False, server_hostname="localhost",
                              context=ctx)
    a, b2 = socket.socketpair()
    with a, b2, pytest.raises(NotImplementedError):
        ssl.SSLSocket._create(sock=a, server_hostname="localhost", context=ctx)
    raw_openssl = _ssl._SSLContext._wrap_bio(ctx, b[0], b[1], False, "localhost")
    with pytest.raises(ssl.SSLError, match="NO_PROTOCOLS_AVAILABLE|no protocols available"):
        raw_openssl.do_handshake()
    # What code that reaches into ._sslobj (httpcore does, for ALPN) sees is ferrotls.
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    sctx = stdlib_server(leaf)
    sctx.set_alpn_protocols(["http/1.1"])
    c, _ = handshake(ctx, sctx)
    assert c._sslobj.selected_alpn_protocol() == "http/1.1" == c.selected_alpn_protocol()
    assert c._sslobj.version() == "TLSv1.3" and c._sslobj.owner is c
    with pytest.raises(NotImplementedError):
        c._sslobj.some_openssl_only_thing()


def test_unsupported_settings_raise_instead_of_passing_to_openssl(ca):
    ctx = ours_client(ca_wrapper(ca))
    sctx = ferrotls.SSLContext(ferrotls.PROTOCOL_TLS_SERVER)
    cb = lambda *a: None  # noqa: E731
    for call in (lambda: setattr(sctx, "sni_callback", cb),
                 lambda: sctx.set_servername_callback(cb),
                 lambda: sctx.load_dh_params(cert("ca.pem")),
                 lambda: ctx.set_npn_protocols(["http/1.1"]),
                 lambda: setattr(ctx, "_msg_callback", cb),
                 lambda: ctx.session_stats(),
                 lambda: ctx._wrap_socket(None, False),
                 lambda: ctx._wrap_bio(None, None, False)):
        with pytest.raises(NotImplementedError):
            call()
    for call in (lambda: setattr(ctx, "options", ctx.options | ssl.OP_NO_TICKET),
                 lambda: setattr(ctx, "options", ctx.options | ssl.OP_IGNORE_UNEXPECTED_EOF),
                 lambda: setattr(ctx, "verify_flags", ssl.VERIFY_CRL_CHECK_LEAF),
                 lambda: setattr(ctx, "hostname_checks_common_name", True),
                 lambda: ctx.set_ecdh_curve("secp521r1"),
                 lambda: setattr(ctx, "verify_mode", 7)):
        with pytest.raises(ValueError):
            call()
    # What describes ferrotls anyway is accepted and reported back.
    ctx.sni_callback = None
    sctx.set_servername_callback(None)
    # Post-handshake authentication is supported (test_post_handshake_auth.py): a bool, as in ssl.
    assert ctx.post_handshake_auth is False
    ctx.post_handshake_auth = False
    ctx.post_handshake_auth = True
    assert ctx.post_handshake_auth is True
    ctx.post_handshake_auth = 0
    assert ctx.post_handshake_auth is False
    ctx.options |= ssl.OP_NO_COMPRESSION | ssl.OP_NO_TLSv1 | ssl.OP_NO_TLSv1_1 | ssl.OP_NO_RENEGOTIATION
    assert ctx.options & ssl.OP_NO_COMPRESSION
    ctx.options &= ~ssl.OP_IGNORE_UNEXPECTED_EOF  # what anyio does
    ctx.verify_flags |= ssl.VERIFY_X509_STRICT | ssl.VERIFY_X509_PARTIAL_CHAIN
    assert ctx.hostname_checks_common_name is False and ctx.security_level == 2
    ctx.keylog_filename = None
    ctx.set_ecdh_curve("prime256v1")
    ctx.set_ciphers("TLS_AES_256_GCM_SHA384:ECDHE-RSA-AES128-GCM-SHA256")
    assert [c["name"] for c in ctx.get_ciphers()] == ["TLS_AES_256_GCM_SHA384",
                                                      "ECDHE-RSA-AES128-GCM-SHA256"]
    assert ctx.verify_flags & ssl.VERIFY_X509_STRICT


def test_versions_through_options(ca, leaf, tls12_support):
    ctx = ours_client(ca_wrapper(ca))
    ctx.options |= ssl.OP_NO_TLSv1_2 | ssl.OP_NO_TLSv1_3
    with pytest.raises(ValueError, match="no TLS version"):
        ctx.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="localhost")
    ctx.options &= ~ssl.OP_NO_TLSv1_2
    if tls12_support["client"] is not None:
        pytest.skip("no TLS 1.2 client: %s" % tls12_support["client"])
    c, _ = handshake(ctx, stdlib_server(leaf))
    assert c.version() == "TLSv1.2"


# ---- rebuild only on a real change ---------------------------------------------------------

def test_same_values_do_not_rebuild_and_sessions_survive(ca, leaf, tmp_path):
    """What http.client, urllib3 and httpx do before every connection (verify_mode,
    check_hostname, ALPN, load_verify_locations with the same bundle) keeps the built
    configuration, so its session cache survives and the next connection resumes."""
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    ctx = ferrotls.SSLContext(ferrotls.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(str(ca_file))
    ctx.set_alpn_protocols(["http/1.1"])
    ctx.keylog_filename = str(tmp_path / "keys.log")
    sctx = stdlib_server(leaf)
    c, _ = handshake(ctx, sctx)
    assert not c.session_reused and ctx._builds == 1
    for _ in range(3):
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.check_hostname = True
        ctx.set_alpn_protocols(["http/1.1"])
        ctx.load_verify_locations(str(ca_file))
        ctx.load_verify_locations(cadata=ca.cert_pem.bytes().decode())
        ctx.load_verify_locations(cadata=ssl.PEM_cert_to_DER_cert(ca.cert_pem.bytes().decode()))
        ctx.minimum_version = ctx.minimum_version
        ctx.maximum_version = ctx.maximum_version
        ctx.options = ctx.options
        ctx.keylog_filename = str(tmp_path / "keys.log")
        ctx.set_session_cache_size(256)
        c, _ = handshake(ctx, sctx)
        assert c.session_reused
    ctx.check_hostname = False  # checked by wrap_*, not part of the built configuration
    ctx.check_hostname = True
    assert ctx._builds == 1
    ctx.set_alpn_protocols(["h2", "http/1.1"])  # a real change: new configuration, new caches
    c, _ = handshake(ctx, sctx)
    assert ctx._builds == 2 and not c.session_reused


def test_trust_anchors_load_once(ca, leaf, tmp_path):
    """The same root twice is one root: a bundle loaded again, the same certificates from
    another source, or a file with some new roots adds only the new ones; a repeated load
    costs a stat() and rebuilds nothing."""
    ctx = ferrotls.create_default_context(cafile=certifi.where())
    n = ctx.cert_store_stats()["x509_ca"]
    assert n > 100 and ctx.cert_store_stats()["x509"] == n
    ca.configure_trust(ctx)
    handshake(ctx, stdlib_server(leaf))
    builds = ctx._builds
    t0 = time.perf_counter()
    for _ in range(200):
        ctx.load_verify_locations(certifi.where())
    per_call = (time.perf_counter() - t0) / 200
    copy = tmp_path / "copy.pem"
    copy.write_bytes(open(certifi.where(), "rb").read())
    ctx.load_verify_locations(str(copy))              # same roots, another file
    ca.configure_trust(ctx)                           # same root as cadata again
    handshake(ctx, stdlib_server(leaf))
    assert ctx._builds == builds and ctx.cert_store_stats()["x509_ca"] == n + 1
    assert per_call < 0.002, "a repeated load_verify_locations took %.1f ms" % (per_call * 1e3)
    other = trustme.CA()
    copy.write_bytes(copy.read_bytes() + other.cert_pem.bytes())  # the file changes: one new root
    ctx.load_verify_locations(str(copy))
    assert ctx.cert_store_stats()["x509_ca"] == n + 2
    ders = ctx.get_ca_certs(binary_form=True)
    assert len(ders) == n + 2 and len(set(ders)) == n + 2
    assert ssl.PEM_cert_to_DER_cert(other.cert_pem.bytes().decode()) in ders
    small = ours_client(ca_wrapper(ca))
    assert [d["subject"] for d in small.get_ca_certs()] == [x["subject"] for x in [
        ssl._ssl._test_decode_cert(ca_file_of(ca, tmp_path))]]


def ca_file_of(ca, tmp_path):
    path = tmp_path / "ca-only.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def test_cert_chain_loads_once(leaf, tmp_path):
    path = tmp_path / "chain.pem"
    leaf.private_key_and_cert_chain_pem.write_to_path(str(path))
    sctx = ferrotls.SSLContext(ferrotls.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(str(path))
    b = bios()
    sctx.wrap_bio(b[0], b[1], server_side=True)
    sctx.load_cert_chain(str(path))
    sctx.wrap_bio(b[2], b[3], server_side=True)
    assert sctx._builds == 1


# ---- host names ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["localhost", b"localhost", bytearray(b"localhost"), "LocalHost"])
def test_server_hostname_str_or_bytes(name, ca, leaf):
    """As ssl: str (IDNA-encoded) or bytes (anyio, hence httpx.AsyncClient, passes bytes)."""
    c, _ = handshake(ours_client(ca_wrapper(ca)), stdlib_server(leaf), name=name)
    expected = ssl.create_default_context()._encode_hostname(name)  # what ssl makes of it
    assert c.server_hostname == expected and c.version() == "TLSv1.3"
    with socket.socket() as raw:
        s = ours_client(ca_wrapper(ca)).wrap_socket(raw, server_hostname=name,
                                                    do_handshake_on_connect=False)
        assert s.server_hostname == expected
        s.close()


def test_server_hostname_checks(ca):
    ctx = ours_client(ca_wrapper(ca))
    b = bios()
    assert ctx.wrap_bio(b[0], b[1], server_hostname="bücher.example").server_hostname == \
        "xn--bcher-kva.example"
    for bad, exc in ((b"", ValueError), ("", ValueError), (".example", ValueError),
                     (123, TypeError), (b"\xff", UnicodeDecodeError)):
        with pytest.raises(exc):
            ctx.wrap_bio(b[0], b[1], server_hostname=bad)


# ---- verification errors: OpenSSL's numbers ------------------------------------------------

def _self_signed(tmp_path, name="localhost"):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    c = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(days=1))
         .not_valid_after(now + datetime.timedelta(days=30))
         .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
         .sign(key, hashes.SHA256()))
    path = tmp_path / "self-signed.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption())
                     + c.public_bytes(serialization.Encoding.PEM))
    return str(path)


def _server_file(tmp_path, case, ca):
    now = datetime.datetime.now(datetime.timezone.utc)
    day = datetime.timedelta(days=1)
    path = tmp_path / ("%s.pem" % case)
    if case == "self_signed":
        return _self_signed(tmp_path)
    if case == "wrong_name":
        c = ca.issue_cert("other.example")
    elif case in ("unknown_ca", "ip_mismatch"):
        c = (trustme.CA() if case == "unknown_ca" else ca).issue_cert("localhost", "127.0.0.1")
    elif case == "untrusted_root_sent":
        other = trustme.CA()
        c = other.issue_cert("localhost")
        path.write_bytes(c.private_key_and_cert_chain_pem.bytes() + other.cert_pem.bytes())
        return str(path)
    elif case == "expired":
        c = ca.issue_cert("localhost", not_before=now - 10 * day, not_after=now - day)
    elif case == "not_yet_valid":
        c = ca.issue_cert("localhost", not_before=now + day, not_after=now + 10 * day)
    c.private_key_and_cert_chain_pem.write_to_path(str(path))
    return str(path)


@pytest.mark.parametrize("case, code", [
    ("wrong_name", 62), ("ip_mismatch", 64), ("unknown_ca", 20), ("self_signed", 18),
    ("untrusted_root_sent", 19), ("expired", 10), ("not_yet_valid", 9)])
def test_verify_errors_match_stdlib(case, code, ca, tmp_path):
    """verify_code / verify_message / reason / library as ssl gives them; ours in code/name."""
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(_server_file(tmp_path, case, ca))
    name = "10.0.0.1" if case == "ip_mismatch" else "localhost"
    got = {}
    for which, cctx in (("stdlib", ssl.create_default_context()), ("ours", ours_client(ca_wrapper(ca)))):
        if which == "stdlib":
            ca.configure_trust(cctx)
        with pytest.raises(ssl.SSLCertVerificationError) as ei:
            handshake(cctx, sctx, name=name)
        got[which] = ei.value
    t, o = got["stdlib"], got["ours"]
    assert isinstance(o, ferrotls.SSLCertVerificationError)
    assert t.verify_code == code, (t.verify_code, t.verify_message)
    assert (o.verify_code, o.verify_message, o.reason, o.library) == \
        (t.verify_code, t.verify_message, t.reason, t.library), (o.name, o.detail)
    assert 400 <= o.code <= 411 and o.name.startswith("FERROTLS_ERR_CERT_") and o.detail
    assert o.errno == t.errno == ssl.SSL_ERROR_SSL
    assert str(o).startswith("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: ")


# ---- sockets -------------------------------------------------------------------------------

def test_sendfile_goes_through_tls(tmp_path):
    """socket.sendfile() would be os.sendfile(): plaintext. Ours sends through TLS."""
    data = os.urandom(300_000)
    path = tmp_path / "blob"
    path.write_bytes(data)

    def handler(s):
        got = bytearray()
        while len(got) < len(data):
            d = s.recv(65536)
            if not d:
                break
            got += d
        s.sendall(hashlib.sha256(got).digest())
        return bytes(got) == data

    from conftest import client_ctx, stdlib_server_ctx
    with ServerThread(stdlib_server_ctx(), handler) as srv:
        raw = socket.create_connection(("127.0.0.1", srv.port), timeout=TIMEOUT)
        with client_ctx().wrap_socket(raw, server_hostname="localhost") as s, open(path, "rb") as f:
            assert s.sendfile(f) == len(data)
            assert s.recv(32) == hashlib.sha256(data).digest()
    assert srv.results == [True], srv.errors


def test_channel_binding(ca, leaf):
    c, s = handshake(ours_client(ca_wrapper(ca)), ours_server(leaf))
    a, b = c.get_channel_binding("tls-exporter"), s.get_channel_binding("tls-exporter")
    assert a == b and len(a) == 32
    with pytest.raises(NotImplementedError):
        c.get_channel_binding("tls-unique")
    with pytest.raises(ValueError):
        c.get_channel_binding("tls-server-end-point")


# ---- threads -------------------------------------------------------------------------------

def test_eight_threads_share_one_context(ca, leaf):
    """Eight threads make 10 new connections each with one ferrotls client context against a
    server on one ferrotls server context, and call what libraries call per connection
    (set_alpn_protocols, load_verify_locations, verify_mode, check_hostname) meanwhile."""
    cctx = ours_client(ca_wrapper(ca))
    sctx = ours_server(leaf)
    errors, bodies = [], []
    pem = ca.cert_pem.bytes().decode()

    def worker(i):
        try:
            for j in range(10):
                cctx.set_alpn_protocols(["http/1.1"])
                cctx.load_verify_locations(cadata=pem)
                cctx.verify_mode = ssl.CERT_REQUIRED
                cctx.check_hostname = True
                bodies.extend(fetch_http_client(cctx, [srv.url("/%d/%d" % (i, j))]))
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    with HTTPSServer(sctx) as srv:
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(TIMEOUT * 3)
    assert not errors, errors
    assert not srv.errors, srv.errors
    assert sorted(bodies) == sorted(b"hello /%d/%d" % (i, j) for i in range(8) for j in range(10))
    assert len(srv.conns) == 80 and all(c["type"] is ferrotls.SSLSocket for c in srv.conns)
    resumed = sum(c["reused"] for c in srv.conns)
    # Connections that start together may find no session yet (a TLS 1.3 ticket comes with
    # the response, and each is spent once): most resume, not all (about 65-75 of 80 here).
    print("eight threads: %d of 80 connections resumed" % resumed)
    assert resumed >= 40, resumed
    assert cctx._builds == 1 and sctx._builds == 1
