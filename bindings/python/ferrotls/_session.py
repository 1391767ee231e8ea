"""Session: the ``ssl.SSLSession`` look-alike, an opaque holder of a ferrotls session blob."""

from __future__ import annotations

import hashlib
import hmac
import weakref

# The blob (src/session.rs): b"FTSS", format version, fields, SHA-256 of everything before it.
_MAGIC = b"FTSS"
_FORMAT = 1
_SUM = 32
_VERSION_NAMES = {0x0303: "TLSv1.2", 0x0304: "TLSv1.3"}


class _Reader:
    def __init__(self, b: bytes):
        self.b, self.i = b, 0

    def take(self, n: int) -> bytes:
        if self.i + n > len(self.b):
            raise ValueError("truncated")
        v = self.b[self.i:self.i + n]
        self.i += n
        return v

    def int(self, n: int) -> int:
        return int.from_bytes(self.take(n), "big")

    def vec(self, width: int) -> bytes:
        return self.take(self.int(width))


def _fields(blob: bytes) -> dict | None:
    """The non-secret fields of a format-1 blob, or None if it cannot be read here (a newer
    format: the library still decides whether it is usable)."""
    if len(blob) < len(_MAGIC) + 1 + _SUM or blob[4] != _FORMAT:
        return None
    try:
        r = _Reader(blob[5:-_SUM])
        version = r.int(2)
        r.int(2)                 # cipher suite
        r.vec(1)                 # the secret: skipped, never kept apart from the blob
        if version == 0x0303:
            r.int(1)             # extended master secret
            session_id = r.vec(1)
            ticket = r.vec(2)
        elif version == 0x0304:
            r.int(4)             # ticket_age_add
            session_id = b""
            ticket = r.vec(2)
        else:
            return None
        name = r.vec(2)
        r.vec(3)                 # the peer's certificates
        created_ms = r.int(8)
        lifetime = r.int(4)
        return {
            "version": _VERSION_NAMES[version],
            "session_id": session_id,
            "ticket": ticket,
            "server_name": name.decode("utf-8", "replace") or None,
            "created_ms": created_ms,
            "lifetime": lifetime,
        }
    except (ValueError, IndexError):
        return None


class Session:
    """A TLS session that a client can resume, like ``ssl.SSLSession``.

    Get one from ``SSLSocket.session`` / ``SSLObject.session`` after a handshake and pass it to
    ``wrap_socket(..., session=)`` / ``wrap_bio(..., session=)`` (or assign ``.session`` before
    the handshake) to resume it. It holds the library's session blob, which contains the
    session's secret: the repr never shows it, and the object does not pickle. ``to_bytes()``
    and ``Session.from_bytes()`` (ferrotls extensions) store and restore it: whoever holds those
    bytes can resume the session, so keep them like a private key.

    Attributes (read-only; None when the blob is in a format these bindings do not read):

    ``id``
        bytes. TLS 1.2 with a session ID: that ID. Otherwise (TLS 1.3, or a TLS 1.2 ticket
        without an ID) the library has no session ID, so this is SHA-256 of the ticket, as
        OpenSSL does; for an unreadable blob, SHA-256 of the whole blob. It is an identifier
        for comparison and logging, not the secret.
    ``has_ticket``
        True when the server gave a session ticket (always for TLS 1.3).
    ``time``
        When the session was established, in seconds since the epoch (int).
    ``timeout``
        How long the session can be resumed, in seconds: the lifetime the server gave with
        its ticket; for a TLS 1.2 session ID without a ticket, the library's default (7200).
    ``ticket_lifetime_hint``
        The ticket's lifetime from the server, in seconds; 0 without a ticket (as in ``ssl``).
    ``version``, ``server_name``
        ferrotls extensions: "TLSv1.3" / "TLSv1.2", and the name the session is bound to.

    Two Session objects are equal when they hold the same session.
    """

    __slots__ = ("_blob", "_fields", "_ctx", "__weakref__")

    def __init__(self, *args, **kwargs):
        raise TypeError("Session has no public constructor: get one from SSLSocket.session, "
                        "or use Session.from_bytes()")

    @classmethod
    def _new(cls, blob: bytes, context=None) -> "Session":
        self = object.__new__(cls)
        self._blob = bytes(blob)
        self._fields = _fields(self._blob)
        self._ctx = weakref.ref(context) if context is not None else None
        return self

    @classmethod
    def from_bytes(cls, data) -> "Session":
        """A Session from ``to_bytes()`` output (ferrotls extension). Raises ValueError when
        ``data`` is plainly not a ferrotls session (wrong magic, too short, or a bad checksum);
        the library checks the rest when the session is used (an ``SSLError`` then)."""
        data = bytes(memoryview(data).cast("B"))
        if len(data) < len(_MAGIC) + 1 + _SUM or not data.startswith(_MAGIC):
            raise ValueError("not a ferrotls session (bad magic or too short)")
        if data[4] == _FORMAT and not hmac.compare_digest(
                hashlib.sha256(data[:-_SUM]).digest(), data[-_SUM:]):
            raise ValueError("the ferrotls session's checksum does not match: it is corrupt "
                             "or was edited")
        return cls._new(data)

    def to_bytes(self) -> bytes:
        """The session blob, for ``Session.from_bytes()`` (ferrotls extension). It contains
        the session's secret: store it like a private key."""
        return self._blob

    def _get(self, key):
        f = self._fields
        return None if f is None else f[key]

    @property
    def id(self) -> bytes:
        f = self._fields
        if f is None:
            return hashlib.sha256(self._blob).digest()
        if f["session_id"]:
            return f["session_id"]
        return hashlib.sha256(f["ticket"]).digest()

    @property
    def has_ticket(self):
        f = self._fields
        return None if f is None else bool(f["ticket"])

    @property
    def time(self):
        f = self._fields
        return None if f is None else f["created_ms"] // 1000

    @property
    def timeout(self):
        return self._get("lifetime")

    @property
    def ticket_lifetime_hint(self):
        f = self._fields
        if f is None:
            return None
        return f["lifetime"] if f["ticket"] else 0

    @property
    def version(self):
        return self._get("version")

    @property
    def server_name(self):
        return self._get("server_name")

    def _context(self):
        return None if self._ctx is None else self._ctx()

    def __eq__(self, other):
        if not isinstance(other, Session):
            return NotImplemented
        return hmac.compare_digest(self._blob, other._blob)

    def __hash__(self) -> int:
        return hash(self.id)

    def __reduce__(self):
        raise TypeError("a ferrotls.Session does not pickle (it holds a secret); use "
                        "to_bytes() / Session.from_bytes() deliberately")

    def __repr__(self) -> str:
        return "<ferrotls.Session %s server_name=%r id=%s has_ticket=%s>" % (
            self.version or "?", self.server_name, self.id.hex()[:16] + "...", self.has_ticket)


def check_settable(session, context, server_side: bool, started: bool) -> None:
    """The stdlib's checks for assigning a session (``_ssl`` PySSLSocket_set_session)."""
    if not isinstance(session, Session):
        raise TypeError("Value is not a ferrotls.Session.")
    if server_side:
        raise ValueError("Cannot set session for server-side SSLSocket.")
    if started:
        raise ValueError("Cannot set session after handshake.")
    ctx = session._ctx
    if ctx is not None and ctx() is not context:
        raise ValueError("Session refers to a different SSLContext.")
