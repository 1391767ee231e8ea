"""Certificate failures, ragged EOF, and misuse: clear exceptions, never a crash."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import threading

import pytest

import ferrotls
from conftest import LIB, PKG_DIR, TIMEOUT, ServerThread, cert, client_ctx, server_ctx, \
    stdlib_client_ctx, stdlib_server_ctx


def connect(port):
    return socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)


def failing_handler(s):
    s.recv(1)


def client_failure(ctx, hostname="localhost", sctx=None):
    with ServerThread(sctx or stdlib_server_ctx(), failing_handler) as srv:
        with pytest.raises(ferrotls.SSLError) as ei:
            with ctx.wrap_socket(connect(srv.port), server_hostname=hostname) as s:
                # Only read: data the server never reads could turn its close into a reset.
                s.recv(10)
    return ei.value


def test_wrong_hostname():
    e = client_failure(client_ctx(), hostname="wrong.example")
    assert isinstance(e, ferrotls.SSLCertVerificationError)
    assert isinstance(e, ssl.SSLCertVerificationError) and isinstance(e, ssl.SSLError)
    # ssl's fields hold what ssl (OpenSSL) puts there; ferrotls's own are in code/name/detail.
    assert e.verify_code == 62 and e.reason == "CERTIFICATE_VERIFY_FAILED"
    assert e.verify_message == "Hostname mismatch, certificate is not valid for 'wrong.example'."
    assert e.code == 403
    assert e.name == "FERROTLS_ERR_CERT_NAME_MISMATCH"
    assert "wrong.example" in e.detail and "localhost" in e.detail
    assert e.detail in str(e) and "CERTIFICATE_VERIFY_FAILED" in str(e)
    assert e.ferrotls_reason is None  # a certificate failure is not a protocol violation


def test_unknown_ca():
    e = client_failure(client_ctx(cafile="other-ca.pem"))
    assert isinstance(e, ferrotls.SSLCertVerificationError)
    assert e.name == "FERROTLS_ERR_CERT_UNKNOWN_ISSUER"
    assert e.verify_code == 20 and e.verify_message == "unable to get local issuer certificate"


def test_client_cert_required_by_stdlib_server():
    """The server's certificate_required / bad_certificate / unknown_ca alert reaches our client
    as an SSLError (code 1000 + alert) with OpenSSL's reason, as ssl raises it (not a
    certificate verification error: our side verified nothing wrong)."""
    sctx = stdlib_server_ctx()
    sctx.verify_mode = ssl.CERT_REQUIRED
    sctx.load_verify_locations(cert("other-ca.pem"))
    ctx = client_ctx()
    ctx.load_cert_chain(cert("client.pem"), cert("client.key"))
    e = client_failure(ctx, sctx=sctx)
    assert isinstance(e, ferrotls.SSLError) and not isinstance(e, ssl.SSLCertVerificationError), e
    assert 1000 <= e.code <= 1255
    assert e.reason in ("TLSV1_ALERT_UNKNOWN_CA", "SSLV3_ALERT_BAD_CERTIFICATE",
                        "TLSV13_ALERT_CERTIFICATE_REQUIRED"), e.reason


def test_our_server_rejects_missing_client_cert():
    sctx = server_ctx()
    sctx.verify_mode = ferrotls.CERT_REQUIRED
    sctx.load_verify_locations(cafile=cert("ca.pem"))
    with ServerThread(sctx, failing_handler) as srv:
        with pytest.raises(ssl.SSLError):
            with stdlib_client_ctx().wrap_socket(connect(srv.port), server_hostname="localhost") as s:
                s.recv(10)
    assert len(srv.errors) == 1 and isinstance(srv.errors[0], ferrotls.SSLError), srv.errors
    assert srv.errors[0].detail


# ---- the engine's reason: which check refused the peer's input ----------------------------

class PlaintextServer:
    """A plain TCP server on 127.0.0.1 that reads what the client sends first (its
    ClientHello) and answers with ``answer``, as an HTTP server on a TLS port would."""

    def __init__(self, answer: bytes):
        self.answer = answer
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(TIMEOUT)
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        try:
            raw, _ = self.listener.accept()
            with raw:
                raw.settimeout(TIMEOUT)
                raw.recv(65536)
                raw.sendall(self.answer)
                raw.shutdown(socket.SHUT_WR)
                while raw.recv(65536):  # until the client hangs up: no reset under its alert
                    pass
        except OSError:
            pass
        finally:
            self.listener.close()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.thread.join(TIMEOUT)


def test_plaintext_http_server_has_reason_not_tls():
    with PlaintextServer(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n") as srv:
        with pytest.raises(ferrotls.SSLError) as ei:
            with client_ctx().wrap_socket(connect(srv.port), server_hostname="localhost"):
                pass
    e = ei.value
    assert e.ferrotls_reason == "NOT_TLS", (e.ferrotls_reason, e.detail)
    assert e.name == "FERROTLS_ERR_DECODE" and e.reason == "ERR_DECODE"  # ssl's field unchanged
    assert "HTTP" in e.detail
    # pickling keeps it
    import pickle
    again = pickle.loads(pickle.dumps(e))
    assert again.ferrotls_reason == "NOT_TLS" and again.code == e.code and again.detail == e.detail


def test_our_server_fed_plaintext_http_has_reason_not_tls():
    with ServerThread(server_ctx(), failing_handler) as srv:
        with connect(srv.port) as raw:
            raw.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            try:
                while raw.recv(65536):  # the server's decode_error alert, then its close
                    pass
            except OSError:
                pass
    assert len(srv.errors) == 1 and isinstance(srv.errors[0], ferrotls.SSLError), srv.errors
    assert srv.errors[0].ferrotls_reason == "NOT_TLS", srv.errors[0]


def test_unknown_record_type_has_its_reason():
    """In memory: a record of content type 99 where the ServerHello should be."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    c = client_ctx().wrap_bio(incoming, outgoing, server_hostname="localhost")
    with pytest.raises(ssl.SSLWantReadError) as ei:
        c.do_handshake()
    assert ei.value.ferrotls_reason is None
    incoming.write(bytes([99, 3, 3, 0, 1, 0]))
    with pytest.raises(ferrotls.SSLError) as ei:
        c.do_handshake()
    assert ei.value.name == "FERROTLS_ERR_UNEXPECTED_MESSAGE"
    assert ei.value.ferrotls_reason == "UNKNOWN_CONTENT_TYPE", ei.value
    with pytest.raises(ferrotls.SSLError) as ei:  # sticky: the same failure again
        c.do_handshake()
    assert ei.value.ferrotls_reason == "UNKNOWN_CONTENT_TYPE"


def test_ragged_eof_raises():
    def handler(s):
        s.sendall(b"partial")
        # End the TCP stream without close_notify.
        socket.socket(fileno=os.dup(s.fileno())).shutdown(socket.SHUT_RDWR)

    with ServerThread(stdlib_server_ctx(), handler) as srv:
        with client_ctx().wrap_socket(connect(srv.port), server_hostname="localhost") as s:
            assert s.recv(100) == b"partial"
            with pytest.raises(ferrotls.SSLEOFError) as ei:
                s.recv(100)
            assert isinstance(ei.value, ssl.SSLEOFError)
            assert ei.value.name == "FERROTLS_ERR_UNEXPECTED_EOF"
            assert ei.value.ferrotls_reason is None


def test_close_notify_gives_empty_bytes():
    def handler(s):
        s.sendall(b"bye")
        s.unwrap()

    with ServerThread(stdlib_server_ctx(), handler) as srv:
        with client_ctx().wrap_socket(connect(srv.port), server_hostname="localhost") as s:
            assert s.recv(100) == b"bye"
            assert s.recv(100) == b""
            assert s.recv(100) == b""


# ---- misuse --------------------------------------------------------------------------------

def test_recv_after_close():
    with ServerThread(stdlib_server_ctx(), failing_handler) as srv:
        s = client_ctx().wrap_socket(connect(srv.port), server_hostname="localhost")
        s.sendall(b"x")
        s.close()
        with pytest.raises(OSError):
            s.recv(10)
        with pytest.raises(OSError):
            s.sendall(b"x")
        s.close()  # twice is fine
        assert s.version() is None and s.cipher() is None and s.pending() == 0


def test_wrong_role():
    with socket.socket() as raw:
        with pytest.raises(ValueError, match="server"):
            client_ctx().wrap_socket(raw, server_side=True)
        with pytest.raises(ValueError):
            server_ctx().wrap_socket(raw, server_side=False, server_hostname="localhost")
        with pytest.raises(ValueError, match="server_hostname"):
            client_ctx().wrap_socket(raw)  # check_hostname needs a name
        raw.getsockname()  # the caller's socket is still usable


def test_bad_paths_and_garbage():
    ctx = ferrotls.Context(ferrotls.PROTOCOL_TLS_CLIENT)
    with pytest.raises(FileNotFoundError):
        ctx.load_verify_locations(cafile="/nonexistent/ca.pem")
    with pytest.raises(FileNotFoundError):
        ctx.load_verify_locations(capath="/nonexistent/dir")
    with pytest.raises(FileNotFoundError):
        ctx.load_cert_chain("/nonexistent/cert.pem", "/nonexistent/key.pem")
    with pytest.raises(TypeError):
        ctx.load_verify_locations()
    with pytest.raises(ferrotls.SSLError) as ei:
        ctx.load_verify_locations(cadata="this is not PEM")
    assert ei.value.code >= 500 and ei.value.detail
    with pytest.raises(ferrotls.SSLError):
        ctx.load_verify_locations(cadata=b"\x30\x82garbage")
    with pytest.raises(ferrotls.SSLError) as ei:
        ctx.load_cert_chain(cert("server.pem"), cert("client.key"))  # key does not match
    assert ei.value.name == "FERROTLS_ERR_KEY"
    with pytest.raises(ferrotls.SSLError):
        ctx.load_cert_chain(cert("README.md"), cert("server.key"))
    with pytest.raises(ferrotls.SSLError):
        ctx.set_ciphers("NOT-A-CIPHER")
    with pytest.raises(ValueError):
        ctx.set_alpn_protocols([""])
    with pytest.raises(ValueError):
        ctx.minimum_version = ferrotls.TLSVersion.TLSv1
    with pytest.raises(ValueError):
        ctx.verify_mode = ferrotls.CERT_NONE  # check_hostname is on
    with pytest.raises(ValueError):
        ferrotls.Context(ssl.PROTOCOL_TLSv1_2 if hasattr(ssl, "PROTOCOL_TLSv1_2") else 99)


def test_cadata_der_and_pem():
    pem = open(cert("ca.pem")).read()
    der = ssl.PEM_cert_to_DER_cert(pem)
    for cadata in (pem, der, der + ssl.PEM_cert_to_DER_cert(open(cert("other-ca.pem")).read())):
        ctx = ferrotls.Context(ferrotls.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(cadata=cadata)
        bios = [ssl.MemoryBIO() for _ in range(4)]
        from conftest import _pump
        c = ctx.wrap_bio(bios[0], bios[1], server_hostname="localhost")
        s = stdlib_server_ctx().wrap_bio(bios[2], bios[3], server_side=True)
        _pump(c, bios[0], bios[1], s, bios[2], bios[3])


def test_recv_before_handshake_nonblocking():
    with ServerThread(stdlib_server_ctx(), failing_handler) as srv:
        raw = connect(srv.port)
        raw.setblocking(False)
        with client_ctx().wrap_socket(raw, server_hostname="localhost",
                                      do_handshake_on_connect=False) as s:
            with pytest.raises(ValueError):
                s.getpeercert()  # handshake not done yet
            with pytest.raises(ssl.SSLWantReadError):
                s.recv(10)  # runs the handshake as far as it goes, then wants the peer
            s.setblocking(True)
            s.settimeout(TIMEOUT)
            s.do_handshake()
            s.sendall(b"x")


def test_timeout_raises_timeout_error():
    def handler(s):
        s.recv(1)  # never answers before the client times out

    with ServerThread(stdlib_server_ctx(), handler) as srv:
        with client_ctx().wrap_socket(connect(srv.port), server_hostname="localhost") as s:
            s.settimeout(0.2)
            with pytest.raises(TimeoutError):
                s.recv(10)
            s.sendall(b"x")


def test_cert_none_client_and_empty_peercert_dict():
    ctx = ferrotls.Context(ferrotls.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ferrotls.CERT_NONE
    with ServerThread(stdlib_server_ctx(), failing_handler) as srv:
        with ctx.wrap_socket(connect(srv.port)) as s:
            assert s.getpeercert() == {}
            assert s.getpeercert(binary_form=True)
            s.sendall(b"x")


def test_constructors_and_makefile():
    with pytest.raises(TypeError):
        ferrotls.SSLSocket()

    def handler(s):
        s.sendall(b"line one\nline two\n")
        s.recv(1)

    with ServerThread(stdlib_server_ctx(), handler) as srv:
        with client_ctx().wrap_socket(connect(srv.port), server_hostname="localhost") as s:
            with s.makefile("rb") as f:
                assert f.readline() == b"line one\n"
                assert f.readline() == b"line two\n"
            s.sendall(b"x")


def test_handles_are_freed_without_close():
    """Objects dropped without close() are finalized (no crash, no leak of the fd)."""
    import gc
    for _ in range(50):
        ctx = client_ctx()
        bios = [ssl.MemoryBIO(), ssl.MemoryBIO()]
        ctx.wrap_bio(bios[0], bios[1], server_hostname="localhost")
    gc.collect()


def _import_in_subprocess(env_lib):
    env = dict(os.environ, FERROTLS_LIBRARY=env_lib, PYTHONPATH=str(PKG_DIR))
    return subprocess.run([sys.executable, "-c", "import ferrotls"], env=env,
                          capture_output=True, text=True, timeout=TIMEOUT)


def test_import_errors_are_clear(tmp_path):
    r = _import_in_subprocess(str(tmp_path / "nope.so"))
    assert r.returncode != 0 and "ImportError" in r.stderr and "FERROTLS_LIBRARY" in r.stderr
    r = _import_in_subprocess(str(LIB))
    assert r.returncode == 0, r.stderr
