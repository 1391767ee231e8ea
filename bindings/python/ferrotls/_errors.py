"""Exceptions: subclasses of the stdlib ``ssl`` ones carrying the library's code, name and detail.

Where code written for ``ssl`` reads an exception's fields, they hold what ``ssl`` (OpenSSL)
would put there: ``SSLCertVerificationError.verify_code`` is OpenSSL's X509_V_ERR number (62 for
a hostname mismatch, 20 for an unknown issuer, ...), ``verify_message`` OpenSSL's text and
``reason`` "CERTIFICATE_VERIFY_FAILED"; an alert from the peer has OpenSSL's reason
("TLSV1_ALERT_UNKNOWN_CA", ...). The library's own code, name and explanation stay in
``code``, ``name`` and ``detail``, and ``ferrotls_reason`` names the check that refused the
peer's input ("NOT_TLS", "FINISHED_MISMATCH", ...; None when the failure has none): match on
that, not on the sentences.
"""

from __future__ import annotations

import ipaddress
import ssl

from . import _lib


class SSLError(ssl.SSLError):
    """A ferrotls failure. ``code`` is the FERROTLS_* result code, ``name`` its symbol
    (e.g. "FERROTLS_ERR_CERT_NAME_MISMATCH"), ``detail`` the library's explanation, and
    ``ferrotls_reason`` the engine's reason for a protocol error of a connection (a stable
    name such as "NOT_TLS" or "UNEXPECTED_MESSAGE_TYPE"; None for failures without one:
    certificates, alerts from the peer, EOF, misuse). ``reason`` stays OpenSSL's."""

    def __init__(self, code: int = 0, detail: str = "", *, errno: int | None = None,
                 ferrotls_reason: str | None = None):
        self.code = code
        self.ferrotls_reason = ferrotls_reason or None
        self.name = _lib.result_name(code) if code else "FERROTLS_ERR"
        self.detail = detail or (_lib.result_message(code) if code else "")
        super().__init__(errno if errno is not None else code, self.detail)
        self.library = "ferrotls"
        self.reason = self.name[len("FERROTLS_"):] if self.name.startswith("FERROTLS_") else self.name
        alert = code - _lib.ERR_ALERT_BASE
        if _lib.ERR_ALERT_BASE <= code <= _lib.ERR_ALERT_MAX and alert in _ALERT_REASONS:
            self.library = "SSL"
            self.reason = _ALERT_REASONS[alert]

    def __str__(self) -> str:
        return "[%s] %s" % (self.name, self.detail)

    def __reduce__(self):
        return (type(self), (self.code, self.detail), {"ferrotls_reason": self.ferrotls_reason})


class SSLZeroReturnError(SSLError, ssl.SSLZeroReturnError):
    """The peer closed the TLS session cleanly (close_notify)."""


class SSLWantReadError(SSLError, ssl.SSLWantReadError):
    """Non-blocking: more data from the peer is needed; wait until the socket is readable."""


class SSLWantWriteError(SSLError, ssl.SSLWantWriteError):
    """Non-blocking: the socket cannot take more data now; wait until it is writable."""


class SSLEOFError(SSLError, ssl.SSLEOFError):
    """The transport ended without close_notify (the data may be truncated)."""

    def __init__(self, code: int = 0, detail: str = "", **kw):
        super().__init__(code, detail, **kw)
        self.library = "SSL"
        self.reason = "UNEXPECTED_EOF_WHILE_READING"  # what OpenSSL 3 says


class SSLCertVerificationError(SSLError, ssl.SSLCertVerificationError):
    """The peer's certificate was rejected by us.

    As in ``ssl``: ``verify_code`` is OpenSSL's X509_V_ERR number (62 hostname mismatch,
    64 IP address mismatch, 20 unknown issuer, 18 self-signed leaf, 19 self-signed root in the
    chain, 10 expired, 9 not yet valid, ...), ``verify_message`` OpenSSL's text for it,
    ``reason`` "CERTIFICATE_VERIFY_FAILED" and ``library`` "SSL". The library's own result
    code, name and explanation are in ``code``, ``name`` (e.g.
    "FERROTLS_ERR_CERT_NAME_MISMATCH") and ``detail``."""

    def __init__(self, code: int = 0, detail: str = "", *, verify_code: int | None = None,
                 verify_message: str | None = None, **kw):
        kw.setdefault("errno", ssl.SSL_ERROR_SSL)
        super().__init__(code, detail, **kw)
        if verify_code is None:
            verify_code, verify_message = x509_verify_error(code)
        self.verify_code = verify_code
        self.verify_message = verify_message or _X509_MESSAGES.get(verify_code, "")
        self.library = "SSL"
        self.reason = "CERTIFICATE_VERIFY_FAILED"
        self.strerror = str(self)

    def __str__(self) -> str:
        return "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: %s (ferrotls %s: %s)" % (
            self.verify_message, self.name, self.detail)

    def __reduce__(self):
        return (_rebuild_cert_error, (type(self), self.code, self.detail, self.verify_code,
                                      self.verify_message), {"ferrotls_reason": self.ferrotls_reason})


def _rebuild_cert_error(cls, code, detail, verify_code, verify_message):
    return cls(code, detail, verify_code=verify_code, verify_message=verify_message)


# ---- OpenSSL's numbers and texts ----------------------------------------------------------

X509_V_ERR_UNSPECIFIED = 1
X509_V_ERR_CERT_SIGNATURE_FAILURE = 7
X509_V_ERR_CERT_NOT_YET_VALID = 9
X509_V_ERR_CERT_HAS_EXPIRED = 10
X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT = 18
X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN = 19
X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY = 20
X509_V_ERR_CERT_REVOKED = 23
X509_V_ERR_INVALID_CA = 24
X509_V_ERR_INVALID_PURPOSE = 26
X509_V_ERR_HOSTNAME_MISMATCH = 62
X509_V_ERR_IP_ADDRESS_MISMATCH = 64

_X509_MESSAGES = {
    X509_V_ERR_UNSPECIFIED: "unspecified certificate verification error",
    X509_V_ERR_CERT_SIGNATURE_FAILURE: "certificate signature failure",
    X509_V_ERR_CERT_NOT_YET_VALID: "certificate is not yet valid",
    X509_V_ERR_CERT_HAS_EXPIRED: "certificate has expired",
    X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT: "self-signed certificate",
    X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN: "self-signed certificate in certificate chain",
    X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "unable to get local issuer certificate",
    X509_V_ERR_CERT_REVOKED: "certificate revoked",
    X509_V_ERR_INVALID_CA: "invalid CA certificate",
    X509_V_ERR_INVALID_PURPOSE: "unsupported certificate purpose",
    X509_V_ERR_HOSTNAME_MISMATCH: "hostname mismatch",
    X509_V_ERR_IP_ADDRESS_MISMATCH: "IP address mismatch",
}

# FERROTLS_ERR_CERT_* -> X509_V_ERR_*. UNKNOWN_ISSUER and NAME_MISMATCH are refined below.
_X509_CODES = {
    400: X509_V_ERR_CERT_HAS_EXPIRED,
    401: X509_V_ERR_CERT_NOT_YET_VALID,
    402: X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
    403: X509_V_ERR_HOSTNAME_MISMATCH,
    404: X509_V_ERR_CERT_SIGNATURE_FAILURE,
    405: X509_V_ERR_UNSPECIFIED,       # BAD_ENCODING
    406: X509_V_ERR_UNSPECIFIED,       # UNSUPPORTED_ALGORITHM
    407: X509_V_ERR_INVALID_PURPOSE,
    408: X509_V_ERR_INVALID_CA,
    409: X509_V_ERR_CERT_REVOKED,
    410: X509_V_ERR_UNSPECIFIED,       # MISSING
    411: X509_V_ERR_UNSPECIFIED,       # OTHER
}

# Alert descriptions (RFC 8446 §6) -> OpenSSL's reason for receiving them.
_ALERT_REASONS = {
    10: "SSLV3_ALERT_UNEXPECTED_MESSAGE", 20: "SSLV3_ALERT_BAD_RECORD_MAC",
    22: "TLSV1_ALERT_RECORD_OVERFLOW", 30: "SSLV3_ALERT_DECOMPRESSION_FAILURE",
    40: "SSLV3_ALERT_HANDSHAKE_FAILURE", 42: "SSLV3_ALERT_BAD_CERTIFICATE",
    43: "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE", 44: "SSLV3_ALERT_CERTIFICATE_REVOKED",
    45: "SSLV3_ALERT_CERTIFICATE_EXPIRED", 46: "SSLV3_ALERT_CERTIFICATE_UNKNOWN",
    47: "SSLV3_ALERT_ILLEGAL_PARAMETER", 48: "TLSV1_ALERT_UNKNOWN_CA",
    49: "TLSV1_ALERT_ACCESS_DENIED", 50: "TLSV1_ALERT_DECODE_ERROR",
    51: "TLSV1_ALERT_DECRYPT_ERROR", 70: "TLSV1_ALERT_PROTOCOL_VERSION",
    71: "TLSV1_ALERT_INSUFFICIENT_SECURITY", 80: "TLSV1_ALERT_INTERNAL_ERROR",
    86: "TLSV1_ALERT_INAPPROPRIATE_FALLBACK", 90: "TLSV1_ALERT_USER_CANCELLED",
    100: "TLSV1_ALERT_NO_RENEGOTIATION", 109: "TLSV13_ALERT_MISSING_EXTENSION",
    110: "TLSV1_ALERT_UNSUPPORTED_EXTENSION", 112: "TLSV1_UNRECOGNIZED_NAME",
    113: "TLSV1_BAD_CERTIFICATE_STATUS_RESPONSE", 115: "TLSV1_ALERT_UNKNOWN_PSK_IDENTITY",
    116: "TLSV13_ALERT_CERTIFICATE_REQUIRED", 120: "TLSV1_ALERT_NO_APPLICATION_PROTOCOL",
}


def _self_signed(der: bytes) -> bool:
    """Subject == issuer and the signature verifies with its own key (OpenSSL's test)."""
    try:
        from cryptography import x509
        c = x509.load_der_x509_certificate(der)
        if c.subject != c.issuer:
            return False
        try:
            c.verify_directly_issued_by(c)
        except Exception:  # noqa: BLE001 - not self-signed, or an algorithm we cannot check
            return False
        return True
    except Exception:  # noqa: BLE001 - no cryptography, or an unparsable certificate
        return False


def x509_verify_error(code: int, peer_chain=None, hostname: str | None = None):
    """(X509_V_ERR number, OpenSSL's verify_message) for a FERROTLS_ERR_CERT_* code.
    ``peer_chain`` (DER, leaf first) tells a self-signed leaf or root from an unknown issuer;
    ``hostname`` goes into the mismatch message as the stdlib puts it there."""
    v = _X509_CODES.get(code, X509_V_ERR_UNSPECIFIED)
    if code == _lib.ERR_CERT_FIRST + 2 and peer_chain:  # UNKNOWN_ISSUER
        if _self_signed(peer_chain[-1]):
            v = X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT if len(peer_chain) == 1 \
                else X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN
    if code == _lib.ERR_CERT_FIRST + 3:  # NAME_MISMATCH
        is_ip = False
        if hostname:
            try:
                ipaddress.ip_address(hostname)
                is_ip = True
            except ValueError:
                pass
        if is_ip:
            return X509_V_ERR_IP_ADDRESS_MISMATCH, \
                "IP address mismatch, certificate is not valid for '%s'." % hostname
        if hostname:
            return X509_V_ERR_HOSTNAME_MISMATCH, \
                "Hostname mismatch, certificate is not valid for '%s'." % hostname
    return v, _X509_MESSAGES[v]


def is_cert_error(code: int) -> bool:
    """Codes 400..411: the certificate we were sent failed our verification."""
    return _lib.ERR_CERT_FIRST <= code <= _lib.ERR_CERT_LAST


def from_code(code: int, detail: str = "", peer_chain=None, hostname: str | None = None,
              ferrotls_reason: str | None = None) -> SSLError:
    """The exception for a result code; ``ferrotls_reason`` is the engine's reason name
    (``ferrotls_conn_error_reason``), if the failure has one."""
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
        return SSLEOFError(code, detail or "EOF occurred in violation of protocol",
                           errno=ssl.SSL_ERROR_EOF, ferrotls_reason=ferrotls_reason)
    if is_cert_error(code):
        v, msg = x509_verify_error(code, peer_chain, hostname)
        return SSLCertVerificationError(code, detail, verify_code=v, verify_message=msg,
                                        ferrotls_reason=ferrotls_reason)
    return SSLError(code, detail, ferrotls_reason=ferrotls_reason)


def want_read() -> SSLWantReadError:
    return from_code(_lib.WANT_READ)  # type: ignore[return-value]


def want_write() -> SSLWantWriteError:
    return from_code(_lib.WANT_WRITE)  # type: ignore[return-value]
