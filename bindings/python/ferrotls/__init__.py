"""ferrotls: Python bindings (ctypes) to the ferrotls TLS library, shaped like the ``ssl`` module.

``ferrotls.SSLContext`` is an ``ssl.SSLContext`` subclass (so libraries that check the type take
it), but every byte goes through ferrotls: its ``wrap_socket`` / ``wrap_bio`` give ferrotls
``SSLSocket`` / ``SSLObject`` objects (``ssl.SSLSocket`` / ``ssl.SSLObject`` subclasses).

    import ferrotls, socket
    ctx = ferrotls.create_default_context(cafile="ca.pem")
    with socket.create_connection(("localhost", 8443)) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(b"hello")

Session resumption: ``SSLSocket.session`` / ``SSLObject.session`` give a ``Session`` to pass
as ``wrap_socket(..., session=)``; ``session_reused`` tells whether it was resumed. Unlike
``ssl``, a client context also resumes on its own for the same server name (its session cache;
``Context.set_session_cache_size(0)`` turns that off).

Key exchange: post-quantum X25519MLKEM768 first by default (TLS 1.3), with an X25519 share beside
it; ``Context.set_groups("X25519MLKEM768:X25519")`` / ``set_ecdh_curve("SecP384r1MLKEM1024")``
choose, and ``SSLSocket.group()`` / ``SSLObject.group()`` tell what was negotiated.
"""

from ._lib import ABI_VERSION, VERSION_STRING as FERROTLS_VERSION
from ._errors import (
    SSLError, SSLZeroReturnError, SSLWantReadError, SSLWantWriteError, SSLEOFError,
    SSLCertVerificationError,
)
from ._context import (
    Context, SSLContext, create_default_context, PROTOCOL_TLS, PROTOCOL_TLS_CLIENT,
    PROTOCOL_TLS_SERVER, TLSVersion, VerifyMode, Purpose, CERT_NONE, CERT_OPTIONAL, CERT_REQUIRED,
)
from ._session import Session
from ._socket import SSLSocket, CHANNEL_BINDING_TYPES
from ._bio import SSLObject
from ssl import MemoryBIO, CertificateError

SSLSession = Session
HAS_ALPN = True
HAS_SNI = True
HAS_TLSv1_2 = True
HAS_TLSv1_3 = True
OPENSSL_VERSION = FERROTLS_VERSION

__version__ = "0.1.0"

__all__ = [
    "Context", "SSLContext", "Session", "SSLSession", "SSLSocket", "SSLObject", "MemoryBIO", "create_default_context",
    "PROTOCOL_TLS", "PROTOCOL_TLS_CLIENT", "PROTOCOL_TLS_SERVER", "TLSVersion", "VerifyMode",
    "Purpose", "CERT_NONE", "CERT_OPTIONAL", "CERT_REQUIRED", "SSLError", "SSLZeroReturnError",
    "SSLWantReadError", "SSLWantWriteError", "SSLEOFError", "SSLCertVerificationError",
    "CertificateError", "FERROTLS_VERSION", "ABI_VERSION", "CHANNEL_BINDING_TYPES",
]
