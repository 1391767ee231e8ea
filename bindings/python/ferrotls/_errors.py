"""Exceptions: subclasses of the stdlib ``ssl`` ones carrying the library's code, name and detail."""

from __future__ import annotations

import ssl

from . import _lib


class SSLError(ssl.SSLError):
    """A ferrotls failure. ``code`` is the FERROTLS_* result code, ``name`` its symbol
    (e.g. "FERROTLS_ERR_CERT_NAME_MISMATCH"), ``detail`` the library's explanation."""

    def __init__(self, code: int = 0, detail: str = "", *, errno: int | None = None):
        self.code = code
        self.name = _lib.result_name(code) if code else "FERROTLS_ERR"
        self.detail = detail or (_lib.result_message(code) if code else "")
        super().__init__(errno if errno is not None else code, self.detail)
        self.library = "ferrotls"
        self.reason = self.name[len("FERROTLS_"):] if self.name.startswith("FERROTLS_") else self.name

    def __str__(self) -> str:
        return "[%s] %s" % (self.name, self.detail)

    def __reduce__(self):
        return (type(self), (self.code, self.detail))


class SSLZeroReturnError(SSLError, ssl.SSLZeroReturnError):
    """The peer closed the TLS session cleanly (close_notify)."""


class SSLWantReadError(SSLError, ssl.SSLWantReadError):
    """Non-blocking: more data from the peer is needed; wait until the socket is readable."""


class SSLWantWriteError(SSLError, ssl.SSLWantWriteError):
    """Non-blocking: the socket cannot take more data now; wait until it is writable."""


class SSLEOFError(SSLError, ssl.SSLEOFError):
    """The transport ended without close_notify (the data may be truncated)."""


class SSLCertVerificationError(SSLError, ssl.SSLCertVerificationError):
    """The peer's certificate was rejected (by us, or by the peer for ours).
    ``verify_code`` is the result code, ``verify_message`` the library's detail."""

    def __init__(self, code: int = 0, detail: str = "", **kw):
        super().__init__(code, detail, **kw)
        self.verify_code = code
        self.verify_message = self.detail


def is_cert_error(code: int) -> bool:
    """Codes 400..411, and certificate alerts received from the peer (1000 + alert)."""
    if _lib.ERR_CERT_FIRST <= code <= _lib.ERR_CERT_LAST:
        return True
    return _lib.ERR_ALERT_BASE <= code <= _lib.ERR_ALERT_MAX and \
        (code - _lib.ERR_ALERT_BASE) in _lib.CERT_ALERTS


def from_code(code: int, detail: str = "") -> SSLError:
    """The exception for a result code."""
    if code == _lib.WANT_READ:
        return SSLWantReadError(code, detail or "The operation did not complete (read)",
                                errno=ssl.SSL_ERROR_WANT_READ)
    if code == _lib.WANT_WRITE:
        return SSLWantWriteError(code, detail or "The operation did not complete (write)",
                                 errno=ssl.SSL_ERROR_WANT_WRITE)
    if code == _lib.CLOSED:
        return SSLZeroReturnError(code, detail or "TLS/SSL connection has been closed (EOF)",
                                  errno=ssl.SSL_ERROR_ZERO_RETURN)
    if code == _lib.ERR_UNEXPECTED_EOF:
        return SSLEOFError(code, detail, errno=ssl.SSL_ERROR_EOF)
    if is_cert_error(code):
        return SSLCertVerificationError(code, detail)
    return SSLError(code, detail)


def want_read() -> SSLWantReadError:
    return from_code(_lib.WANT_READ)  # type: ignore[return-value]


def want_write() -> SSLWantWriteError:
    return from_code(_lib.WANT_WRITE)  # type: ignore[return-value]
