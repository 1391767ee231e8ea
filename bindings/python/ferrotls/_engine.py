"""One ferrotls connection driven over the sans-IO calls, with a pluggable transport.

The transport has ``recv_raw() -> bytes`` (b"" at EOF; raises SSLWantReadError when nothing
is available yet) and ``send_raw(data) -> int`` (raises SSLWantWriteError when it would block).
All TLS logic stays in the library: this only moves bytes and maps result codes.
"""

from __future__ import annotations

import ctypes
import weakref
from ctypes import byref, c_size_t, c_uint8, POINTER

from . import _lib, _errors
from ._lib import lib

_CHUNK = 16384 * 4


class Engine:
    """A connection handle plus the byte shuffling around it."""

    def __init__(self, config, role: int, server_hostname: str | None, transport, verified: bool):
        h = ctypes.c_void_p()
        if role == _lib.ROLE_CLIENT:
            name = server_hostname.encode("idna" if not _is_ascii(server_hostname) else "ascii") \
                if server_hostname else None
            r = lib.ferrotls_conn_new_client(config, name, byref(h))
        else:
            r = lib.ferrotls_conn_new_server(config, byref(h))
        if r != _lib.OK:
            raise _errors.from_code(r, _lib.last_error_detail())
        self.h = h.value
        self._finalizer = weakref.finalize(self, lib.ferrotls_conn_free, self.h)
        self.role = role
        self.transport = transport
        self.verified = verified
        self.inbuf = bytearray()     # ciphertext received but not yet taken by the engine
        self.outbuf = bytearray()    # ciphertext taken from the engine but not yet sent
        self.pending_write = 0       # plaintext accepted while its ciphertext is still unsent
        self.handshake_done = False
        self.peer_closed = False
        self.started = False         # a handshake, read, write or shutdown was attempted
        self.offered = None          # the session set before the handshake (bytes), if any
        self.close_sent = False      # ferrotls_conn_close was called (close_notify queued)
        self.server_hostname = server_hostname if role == _lib.ROLE_CLIENT else None
        self._rbuf = None            # a reusable ctypes buffer for reads
        self.received = 0            # plaintext bytes read() returned so far
        # Handshake Again: ``received`` where the peer last authenticated again (None before
        # the first time), and every such point in order.
        self.authenticated_at = None
        self.authentications: list = []

    # ---- plumbing -----------------------------------------------------------------------

    def free(self) -> None:
        """Release the connection handle now (idempotent)."""
        self._finalizer()

    @property
    def alive(self) -> bool:
        return self._finalizer.alive

    def _handle(self):
        if not self._finalizer.alive:
            raise ValueError("the TLS connection is closed")
        return self.h

    def error(self, code: int) -> _errors.SSLError:
        """The exception for a failing call that just returned ``code``."""
        detail = _lib.last_error_detail()
        reason = None
        if self._finalizer.alive:
            if not detail:
                detail = _lib.text(lib.ferrotls_conn_error_detail(self.h))
            # The reason of the connection's sticky error, when that is the failure at hand
            # (not for a code made up here, such as EOF, or a non-fatal misuse).
            if lib.ferrotls_conn_error(self.h) == code:
                reason = _lib.conn_error_reason(self.h)
        chain = None
        if _errors.is_cert_error(code):
            try:
                chain = self.peer_cert_chain()
            except Exception:  # noqa: BLE001 - only refines verify_code
                chain = None
        return _errors.from_code(code, detail, chain, self.server_hostname, reason)

    def fail(self, code: int):
        """Raise for ``code`` after a best-effort send of the alert the engine queued."""
        exc = self.error(code)
        try:
            self.flush()
        except Exception:
            pass
        raise exc

    def pull_outgoing(self) -> None:
        h = self._handle()
        n = lib.ferrotls_conn_outgoing_len(h)
        while n:
            buf = ctypes.create_string_buffer(n)
            got = c_size_t()
            r = lib.ferrotls_conn_take_outgoing(h, buf, n, byref(got))
            if r != _lib.OK:
                raise self.error(r)
            self.outbuf += buf.raw[:got.value]
            n = lib.ferrotls_conn_outgoing_len(h)

    def flush(self) -> None:
        """Send every byte of waiting ciphertext (raises SSLWantWriteError if it would block)."""
        self.pull_outgoing()
        while self.outbuf:
            n = self.transport.send_raw(bytes(self.outbuf))
            del self.outbuf[:n]

    def feed_pending(self) -> None:
        h = self._handle()
        while self.inbuf:
            consumed = c_size_t()
            r = lib.ferrotls_conn_feed(h, bytes(self.inbuf), len(self.inbuf), byref(consumed))
            if r not in (_lib.OK, _lib.WANT_READ, _lib.CLOSED):
                del self.inbuf[:]
                self.fail(r)
            del self.inbuf[:consumed.value]
            if consumed.value == 0:
                break

    def receive(self) -> None:
        """Get ciphertext from the transport and feed it; EOF goes to ferrotls_conn_feed_eof."""
        data = self.transport.recv_raw()
        if not data:
            r = lib.ferrotls_conn_feed_eof(self._handle())
            if r == _lib.CLOSED:
                self.peer_closed = True
                return
            self.fail(r)
        self.inbuf += data
        self.feed_pending()

    # ---- operations ---------------------------------------------------------------------

    def do_handshake(self) -> None:
        self.started = True
        while True:
            self.feed_pending()
            r = lib.ferrotls_conn_handshake(self._handle())
            if r == _lib.OK:
                self.handshake_done = True
                self.flush()
                return
            if r != _lib.WANT_READ:
                self.fail(r)
            self.flush()
            if self.peer_closed:
                self.fail(_lib.ERR_UNEXPECTED_EOF)
            self.receive()

    def read(self, n: int) -> bytes:
        """Up to ``n`` bytes of plaintext; b"" after the peer's close_notify.

        A read never returns bytes from both sides of a point where the peer authenticated
        again (FERROTLS_PEER_AUTHENTICATED: TLS 1.3 post-handshake authentication, or a
        TLS 1.2 renegotiation completed on a server, asked for or started by the client):
        there it records the point (``authenticated_at``: the bytes returned before it) and
        goes on reading, so the caller sees only data, as with the stdlib; the peer
        certificate changes exactly there. A client answers a TLS 1.2 server's HelloRequest
        inside this call (the library does; its messages are sent here), as OpenSSL does
        inside SSL_read."""
        self.started = True
        if not self.handshake_done:
            self.do_handshake()
        if n <= 0:
            return b""
        n = min(n, _CHUNK)
        h = self._handle()
        buf = self._read_buffer(n)
        while True:
            self.feed_pending()
            got = c_size_t()
            r = lib.ferrotls_conn_read(h, buf, n, byref(got))
            if r == _lib.OK:
                # Plaintext consumed frees room: ciphertext held back can be fed next time.
                data = ctypes.string_at(buf, got.value)
                self.received += len(data)
                self._flush_replies()
                return data
            if r == _lib.PEER_AUTHENTICATED:
                self._peer_authenticated()
                continue
            if r == _lib.CLOSED:
                self.peer_closed = True
                return b""
            if r != _lib.WANT_READ:
                self.fail(r)
            self.flush()
            self.receive()

    def _peer_authenticated(self) -> None:
        self.authenticated_at = self.received
        self.authentications.append(self.received)

    def _flush_replies(self) -> None:
        """Best effort, after a read that returned data: send what processing the input
        queued (a post-handshake authentication answer, a KeyUpdate reply, a TLS 1.2
        renegotiation's next flight) now, as OpenSSL does inside SSL_read, instead of with the
        next write. A transport that cannot take it now keeps it for the next call, which also
        reports a broken one."""
        if not self.outbuf and not lib.ferrotls_conn_outgoing_len(self.h):
            return
        try:
            self.flush()
        except OSError:  # SSLWantWriteError, a timeout, a reset: the next call sends or fails
            pass

    def request_client_certificate(self) -> None:
        """Server: ask the client for its certificate again, after the handshake (Handshake
        Again): TLS 1.3 queues a CertificateRequest (post-handshake authentication), TLS 1.2
        a HelloRequest (a secure renegotiation, RFC 5746, whose new handshake asks for the
        certificate); try to send it now. Misuse raises SSLError with the library's detail
        and changes nothing; a transport that cannot take the request now sends it with the
        next call."""
        r = lib.ferrotls_conn_request_client_certificate(self._handle())
        if r != _lib.OK:
            exc = self.error(r)
            if r in (_lib.ERR_WRONG_ROLE, _lib.ERR_WRONG_STATE):  # misuse: nothing changed
                exc = _errors.SSLError(
                    r, "verify_client_post_handshake() is not possible on this connection: %s "
                    "(it needs a server socket after its handshake, verify_mode CERT_OPTIONAL or "
                    "CERT_REQUIRED on the server and no earlier request unanswered; in TLS 1.3 "
                    "SSLContext.post_handshake_auth = True on both sides, in TLS 1.2 a client "
                    "that supports secure renegotiation (RFC 5746) and renegotiation not "
                    "switched off with OP_NO_RENEGOTIATION on the server)"
                    % exc.detail)
            raise exc
        try:
            self.flush()
        except _errors.SSLWantWriteError:
            pass

    def _read_buffer(self, n: int):
        if self._rbuf is None or len(self._rbuf) < n:
            self._rbuf = ctypes.create_string_buffer(max(n, 16384))
        return self._rbuf

    def write(self, data) -> int:
        """Encrypt and send some of ``data``; returns how many bytes were taken.

        Like OpenSSL: when the ciphertext cannot all be sent, SSLWantWriteError is raised and
        the plaintext counts as taken; call again with the same data to finish and get the count.
        """
        self.started = True
        if not self.handshake_done:
            self.do_handshake()
        if self.pending_write:
            self.flush()
            n, self.pending_write = self.pending_write, 0
            return n
        self.flush()
        data = bytes(memoryview(data).cast("B")[:_CHUNK])
        if not data:
            return 0
        acc = c_size_t()
        r = lib.ferrotls_conn_write(self._handle(), data, len(data), byref(acc))
        if r != _lib.OK:
            self.fail(r)
        if acc.value == 0:
            raise _errors.SSLError(_lib.ERR_INVALID_ARGUMENT,
                                   "the connection's buffers are full (buffer limit too small)")
        try:
            self.flush()
        except _errors.SSLWantWriteError:
            self.pending_write = acc.value
            raise
        return acc.value

    def shutdown(self) -> None:
        """Send close_notify and wait for the peer's (data arriving meanwhile is dropped)."""
        self.started = True
        h = self._handle()
        if not self.close_sent:
            r = lib.ferrotls_conn_close(h)
            if r not in (_lib.OK, _lib.CLOSED):
                self.fail(r)
            self.close_sent = True
        self.flush()
        buf = self._read_buffer(_CHUNK)
        while not self.peer_closed:
            self.feed_pending()
            got = c_size_t()
            r = lib.ferrotls_conn_read(h, buf, _CHUNK, byref(got))
            if r == _lib.CLOSED:
                self.peer_closed = True
            elif r == _lib.OK:
                continue
            elif r == _lib.PEER_AUTHENTICATED:
                self._peer_authenticated()
            elif r == _lib.WANT_READ:
                try:
                    self.receive()
                except _errors.SSLEOFError:
                    return  # peer hung up after our close_notify: nothing can be lost now
            else:
                self.fail(r)

    def close_notify_quietly(self, send_once) -> None:
        """On close: queue close_notify and try one non-blocking send; never raises."""
        try:
            if self.alive and self.handshake_done and not self.close_sent \
                    and not lib.ferrotls_conn_error(self.h):
                self.close_sent = True
                if lib.ferrotls_conn_close(self.h) == _lib.OK:
                    self.pull_outgoing()
                    if self.outbuf:
                        send_once(bytes(self.outbuf))
        except Exception:
            pass

    # ---- introspection ------------------------------------------------------------------

    def pending(self) -> int:
        return lib.ferrotls_conn_readable(self.h) if self.alive else 0

    def version(self) -> str | None:
        if not self.alive:
            return None
        return _lib.text(lib.ferrotls_conn_version_name(self.h)) or None

    def cipher(self):
        if not self.alive or not self.handshake_done:
            return None
        name = _lib.text(lib.ferrotls_conn_cipher_name(self.h))
        if not name:
            return None
        u = name.upper().replace("-", "_")
        bits = 128 if ("AES_128" in u or "AES128" in u) else 256
        return (name, self.version(), bits)

    def group(self) -> str | None:
        """The negotiated key-exchange group, spelled as OpenSSL's ``SSL_get0_group_name()``
        (what ``ssl``'s ``group()`` returns): "X25519MLKEM768", "SecP256r1MLKEM768",
        "SecP384r1MLKEM1024", "MLKEM1024", "x25519", "secp256r1", "secp384r1"; None before the
        handshake completes (or when no group was used)."""
        if not self.alive or not self.handshake_done:
            return None
        gid = lib.ferrotls_conn_group(self.h)
        if not gid:
            return None
        return GROUP_NAMES.get(gid) or _lib.text(lib.ferrotls_conn_group_name(self.h)) or None

    def alpn(self) -> str | None:
        if not self.alive:
            return None
        p = POINTER(c_uint8)()
        n = c_size_t()
        if lib.ferrotls_conn_alpn(self.h, byref(p), byref(n)) != _lib.OK or not p:
            return None
        return ctypes.string_at(p, n.value).decode("ascii", "replace")

    def server_name(self) -> str | None:
        if not self.alive:
            return None
        return _lib.text(lib.ferrotls_conn_server_name(self.h)) or None

    def peer_cert_der(self, index: int = 0) -> bytes | None:
        if not self.alive:
            return None
        p = POINTER(c_uint8)()
        n = c_size_t()
        if lib.ferrotls_conn_peer_cert(self.h, index, byref(p), byref(n)) != _lib.OK or not p:
            return None
        return ctypes.string_at(p, n.value)

    def peer_cert_chain(self) -> list:
        if not self.alive:
            return []
        count = lib.ferrotls_conn_peer_cert_count(self.h)
        return [c for c in (self.peer_cert_der(i) for i in range(count)) if c is not None]

    def set_session(self, blob: bytes) -> None:
        """Client, before the handshake: offer the session in ``blob``. A blob the library
        refuses (corrupt, foreign, another server name) raises SSLError and changes nothing."""
        r = lib.ferrotls_conn_set_session(self._handle(), blob, len(blob))
        if r != _lib.OK:
            detail = _lib.last_error_detail()
            raise _errors.from_code(r, "cannot resume this session: " + detail if detail else "",
                                    ferrotls_reason=_lib.last_error_reason())
        self.offered = blob

    def get_session(self) -> bytes | None:
        """The newest resumable session blob (client), or None while there is none."""
        if not self.alive or self.role != _lib.ROLE_CLIENT:
            return None
        needed = c_size_t()
        r = lib.ferrotls_conn_get_session(self.h, None, 0, byref(needed))
        while r == _lib.ERR_BUFFER_TOO_SMALL:
            buf = ctypes.create_string_buffer(needed.value)
            r = lib.ferrotls_conn_get_session(self.h, buf, needed.value, byref(needed))
            if r == _lib.OK:
                blob = buf.raw[:needed.value]
                ctypes.memset(buf, 0, len(buf))  # best effort: the blob holds a secret
                return blob
        if r in (_lib.OK, _lib.ERR_NOT_FOUND):
            return None
        raise self.error(r)

    def session_reused(self) -> bool:
        return self.alive and lib.ferrotls_conn_handshake_kind(self.h) == _lib.HANDSHAKE_RESUMED

    def export_keying_material(self, label: bytes, length: int, context: bytes | None) -> bytes:
        buf = ctypes.create_string_buffer(max(length, 1))
        r = lib.ferrotls_conn_export_keying_material(
            self._handle(), buf, length, label, len(label), context,
            0 if context is None else len(context))
        if r != _lib.OK:
            raise self.error(r)
        return buf.raw[:length]


# IANA codepoint -> the name ``ssl``'s ``group()`` gives (OpenSSL's TLS group names; the
# post-quantum ones are the IANA names, which ferrotls_conn_group_name also gives, while for
# the classic curves OpenSSL says "x25519" / "secp256r1" where the library says "X25519" / "P-256").
GROUP_NAMES = {
    0x11EC: "X25519MLKEM768",
    0x11EB: "SecP256r1MLKEM768",
    0x11ED: "SecP384r1MLKEM1024",
    0x0202: "MLKEM1024",
    0x001D: "x25519",
    0x0017: "secp256r1",
    0x0018: "secp384r1",
}


def _is_ascii(s: str) -> bool:
    try:
        s.encode("ascii")
        return True
    except UnicodeEncodeError:
        return False
