"""SSLObject: a ferrotls connection over two ``ssl.MemoryBIO``s (the sans-IO path for event
loops: asyncio's SSL transport, ``loop.start_tls``, aiohttp, anyio / httpx.AsyncClient).

It is an ``ssl.SSLObject`` whose every method is overridden, and it raises what the stdlib's
raises: ``ssl.SSLWantReadError`` while the peer's data is needed (``read()`` returns b"" after
close_notify, as the stdlib's does), ``ssl.SSLEOFError`` for a transport that ended without
close_notify, and ``ssl.SSLCertVerificationError`` / ``ssl.SSLError`` for failures.
"""

from __future__ import annotations

import ssl

from . import _errors
from ._session import check_settable
from ._socket import Inner, channel_binding, peercert, session_of


class _BioTransport:
    def __init__(self, incoming, outgoing):
        self.incoming = incoming
        self.outgoing = outgoing

    def recv_raw(self) -> bytes:
        data = self.incoming.read()
        if data:
            return data
        if self.incoming.eof:
            return b""
        raise _errors.want_read()

    def send_raw(self, data: bytes) -> int:
        return self.outgoing.write(data)


class SSLObject(ssl.SSLObject):
    """Like ``ssl.SSLObject`` (and an instance of it): create it with ``Context.wrap_bio``.
    Ciphertext from the peer goes into ``incoming``; what to send to the peer appears in
    ``outgoing``."""

    @property
    def _sslobj(self):
        """ssl's OpenSSL object: here a view answered by the ferrotls connection."""
        return Inner(self) if self._live() is not None else None

    def __init__(self, *args, **kwargs):
        raise TypeError("%s does not have a public constructor; use Context.wrap_bio()"
                        % self.__class__.__name__)

    @classmethod
    def _create(cls, incoming, outgoing, server_side=False, server_hostname=None, session=None,
                context=None):
        if context is None:
            raise TypeError("a ferrotls SSLObject needs its ferrotls context")
        self = object.__new__(cls)
        self._context = context
        self._last_session = None
        self._unwrapped = False
        name = context._encode_hostname(server_hostname)
        self._engine = context._new_engine(server_side, name, _BioTransport(incoming, outgoing),
                                           session)
        self._server_side = bool(server_side)
        self._server_hostname = name if not server_side else None
        return self

    @property
    def context(self):
        return self._context

    @context.setter
    def context(self, ctx):
        if ctx is not self._context:
            raise NotImplementedError("ferrotls cannot move a connection to another context")

    @property
    def server_side(self) -> bool:
        return self._server_side

    @property
    def server_hostname(self):
        """The server name (an ASCII str, IDNA-encoded) given to ``wrap_bio``; None on a server."""
        return self._server_hostname

    def _e(self):
        e = self._engine
        if e is None or not e.alive:
            raise ValueError("the TLS connection is closed (SSLObject.close())")
        return e

    def _live(self):
        e = self._engine
        return e if e is not None and e.alive else None

    def do_handshake(self) -> None:
        """Advance the handshake; SSLWantReadError until the peer's data completes it."""
        self._e().do_handshake()

    def read(self, len: int = 1024, buffer=None):
        """Plaintext: up to ``len`` bytes (b"" after close_notify), or into ``buffer``
        (returning the count). Never bytes from both sides of the point where the peer
        authenticated again (``authenticated_at``)."""
        if buffer is not None:
            size = memoryview(buffer).nbytes
            if len <= 0 or len > size:
                len = size
        data = self._e().read(len)
        if buffer is not None:
            n = data.__len__()
            memoryview(buffer).cast("B")[:n] = data
            return n
        return data

    def write(self, data) -> int:
        """Encrypt all of ``data`` into the outgoing BIO; returns its length."""
        e = self._e()
        view = memoryview(data).cast("B")
        done = 0
        while done < view.__len__():
            done += e.write(view[done:])
        return done

    def unwrap(self) -> None:
        """Send close_notify and wait for the peer's (SSLWantReadError until it arrives);
        call again when more data came in, as with ``ssl``. The connection stays readable
        for ``version()``, ``cipher()``, ``session`` afterwards."""
        e = self._e()
        e.shutdown()
        self._unwrapped = True

    def pending(self) -> int:
        e = self._live()
        return e.pending() if e else 0

    def version(self):
        e = self._live()
        return e.version() if e and e.handshake_done else None

    def cipher(self):
        e = self._live()
        return e.cipher() if e else None

    def group(self):
        """The negotiated key-exchange group's name ("X25519MLKEM768", "x25519", ...; see
        ``SSLSocket.group()``), or None before the handshake and after ``close()``."""
        e = self._live()
        return e.group() if e else None

    def shared_ciphers(self):
        return None

    def compression(self):
        return None

    def selected_alpn_protocol(self):
        e = self._live()
        return e.alpn() if e else None

    def selected_npn_protocol(self):
        return None

    def getpeercert(self, binary_form: bool = False):
        return peercert(self._e(), binary_form)

    def get_peer_cert_chain(self) -> list:
        """Every certificate the peer sent, DER, leaf first (ferrotls extension)."""
        return self._e().peer_cert_chain()

    def get_unverified_chain(self) -> list:
        return self.get_peer_cert_chain()

    def get_verified_chain(self):
        raise NotImplementedError("ferrotls does not export the chain it built; "
                                  "get_peer_cert_chain() gives what the peer sent")

    def get_channel_binding(self, cb_type="tls-unique"):
        """"tls-exporter" (RFC 9266) bytes; "tls-unique" raises NotImplementedError."""
        return channel_binding(self._live(), cb_type)

    def verify_client_post_handshake(self) -> None:
        """Server: ask the client for its certificate now, after the handshake, as ``ssl``'s:
        in TLS 1.3 by post-handshake authentication (a CertificateRequest), in TLS 1.2 --
        where the stdlib raises -- by a secure renegotiation (a HelloRequest, RFC 5746); the
        request goes into ``outgoing`` at once. See ``SSLSocket.verify_client_post_handshake()``:
        the same conditions and errors, and ``read()`` records where the client's identity
        begins in ``authenticated_at`` (in TLS 1.2, ``read()`` also runs this server's part
        of the new handshake: keep moving both BIOs)."""
        self._e().request_client_certificate()

    @property
    def authenticated_at(self):
        """The plaintext bytes ``read()`` had returned when the peer last authenticated
        again, or None (ferrotls extension; see ``SSLSocket.authenticated_at``)."""
        e = self._engine
        return e.authenticated_at if e is not None else getattr(self, "_authenticated_at", None)

    @property
    def authentications(self) -> list:
        """Every ``authenticated_at`` position so far, in order (ferrotls extension)."""
        e = self._engine
        return list(e.authentications) if e is not None else list(getattr(self, "_authentications", []))

    def export_keying_material(self, label: bytes, length: int, context: bytes | None = None) -> bytes:
        return self._e().export_keying_material(label, length, context)

    @property
    def session(self):
        """The client's current ``ferrotls.Session``, or None; see ``SSLSocket.session``
        (TLS 1.3: only after the server's ticket has been read). Set it before the handshake
        to resume; on a server or after the handshake started that raises ValueError."""
        e = self._live()
        if e is None:
            return self._last_session
        return session_of(e, self._context) or self._last_session

    @session.setter
    def session(self, value):
        e = self._live()
        check_settable(value, self._context, self.server_side, e is None or e.started)
        e.set_session(value._blob)

    @property
    def session_reused(self) -> bool:
        """True when the handshake resumed a session (on either side)."""
        e = self._live()
        return bool(e and e.session_reused())

    def close(self) -> None:
        """Free the connection now (also done when the object is collected; ferrotls
        extension)."""
        e, self._engine = self._engine, None
        if e is not None:
            self._authenticated_at = e.authenticated_at
            self._authentications = list(e.authentications)
            try:
                self._last_session = session_of(e, self._context) or self._last_session
            except Exception:  # noqa: BLE001
                pass
            e.free()

    def __repr__(self) -> str:
        return "<ferrotls.SSLObject server_side=%s server_hostname=%r version=%s>" % (
            self._server_side, self._server_hostname, self.version())
