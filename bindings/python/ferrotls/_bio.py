"""SSLObject: a ferrotls connection over two ``ssl.MemoryBIO``s (the sans-IO path for event loops)."""

from __future__ import annotations

from . import _errors
from ._session import check_settable
from ._socket import peercert, session_of


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


class SSLObject:
    """Like ``ssl.SSLObject``: create it with ``Context.wrap_bio``. Ciphertext from the peer
    goes into ``incoming``; what to send to the peer appears in ``outgoing``."""

    def __init__(self, *args, **kwargs):
        raise TypeError("%s does not have a public constructor; use Context.wrap_bio()"
                        % self.__class__.__name__)

    @classmethod
    def _create(cls, context, incoming, outgoing, server_side, server_hostname, session=None):
        self = object.__new__(cls)
        self._context = context
        self._last_session = None
        self._engine = context._new_engine(server_side, server_hostname,
                                           _BioTransport(incoming, outgoing), session)
        self.server_side = server_side
        self.server_hostname = server_hostname if not server_side else None
        return self

    @property
    def context(self):
        return self._context

    def _e(self):
        e = self._engine
        if e is None or not e.alive:
            raise ValueError("the TLS session is over (SSLObject unwrapped)")
        return e

    def do_handshake(self) -> None:
        """Advance the handshake; SSLWantReadError until the peer's data completes it."""
        self._e().do_handshake()

    def read(self, len: int = 1024, buffer=None):
        """Plaintext: up to ``len`` bytes (b"" after close_notify), or into ``buffer``."""
        if buffer is not None and len <= 0:
            len = memoryview(buffer).nbytes
        data = self._e().read(len)
        if buffer is not None:
            memoryview(buffer).cast("B")[:data.__len__()] = data
            return data.__len__()
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
        """Send close_notify and wait for the peer's (SSLWantReadError until it arrives)."""
        e = self._e()
        e.shutdown()
        self.close()

    def pending(self) -> int:
        e = self._engine
        return e.pending() if e and e.alive else 0

    def version(self):
        e = self._engine
        return e.version() if e and e.alive and e.handshake_done else None

    def cipher(self):
        e = self._engine
        return e.cipher() if e and e.alive else None

    def shared_ciphers(self):
        return None

    def compression(self):
        return None

    def selected_alpn_protocol(self):
        e = self._engine
        return e.alpn() if e and e.alive else None

    def selected_npn_protocol(self):
        return None

    def getpeercert(self, binary_form: bool = False):
        return peercert(self._e(), binary_form)

    def get_peer_cert_chain(self) -> list:
        return self._e().peer_cert_chain()

    def export_keying_material(self, label: bytes, length: int, context: bytes | None = None) -> bytes:
        return self._e().export_keying_material(label, length, context)

    @property
    def session(self):
        """The client's current ``ferrotls.Session``, or None; see ``SSLSocket.session``
        (TLS 1.3: only after the server's ticket has been read). Set it before the handshake
        to resume; on a server or after the handshake started that raises ValueError."""
        e = self._engine
        if e is None or not e.alive:
            return self._last_session
        return session_of(e, self._context) or self._last_session

    @session.setter
    def session(self, value):
        e = self._engine
        alive = e is not None and e.alive
        check_settable(value, self._context, self.server_side, not alive or e.started)
        e.set_session(value._blob)

    @property
    def session_reused(self) -> bool:
        """True when the handshake resumed a session (on either side)."""
        e = self._engine
        return bool(e and e.alive and e.session_reused())

    def close(self) -> None:
        """Free the connection now (also done when the object is collected)."""
        e, self._engine = self._engine, None
        if e is not None:
            try:
                self._last_session = session_of(e, self._context) or self._last_session
            except Exception:  # noqa: BLE001
                pass
            e.free()
