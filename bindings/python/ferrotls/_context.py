"""Context: a real ``ssl.SSLContext`` subclass whose every setting goes to ferrotls.

``isinstance(ctx, ssl.SSLContext)`` holds, so libraries that insist on the stdlib type (asyncio's
``start_tls``, aiohttp, trustme, anyio, ...) take it; but every method and property of
``ssl.SSLContext`` is overridden here, the connections it makes (``wrap_socket`` /
``wrap_bio``) are ferrotls connections, and the OpenSSL context that the base class allocates
is sealed (no protocol version is enabled in it) so that nothing can go through OpenSSL even
by calling the base class directly. What ferrotls cannot honour raises ``NotImplementedError``
or ``ValueError`` instead of being accepted silently.

Settings go into ferrotls config builders at once (so bad input fails where it is given); the
immutable config is built at the first wrap and rebuilt only after a real change: setting a
value to what it already is, or loading the same trust anchors or certificate again, changes
nothing (the built config holds the session and verified-chain caches, which a rebuild empties).
"""

from __future__ import annotations

import base64
import binascii
import ctypes
import errno
import hashlib
import os
import re
import ssl
import sys
import threading
import weakref
from ctypes import byref

import _ssl

from . import _lib, _errors, _session
from ._bio import SSLObject
from ._lib import lib
from ._socket import SSLSocket

PROTOCOL_TLS_CLIENT = ssl.PROTOCOL_TLS_CLIENT
PROTOCOL_TLS_SERVER = ssl.PROTOCOL_TLS_SERVER
PROTOCOL_TLS = ssl.PROTOCOL_TLS
TLSVersion = ssl.TLSVersion
VerifyMode = ssl.VerifyMode
VerifyFlags = ssl.VerifyFlags
Options = ssl.Options
CERT_NONE, CERT_OPTIONAL, CERT_REQUIRED = ssl.CERT_NONE, ssl.CERT_OPTIONAL, ssl.CERT_REQUIRED
Purpose = ssl.Purpose

_WIRE_VERSION = {TLSVersion.TLSv1_2: 0x0303, TLSVersion.TLSv1_3: 0x0304}

# ---- options and flags: what is honoured, what is true of ferrotls anyway -----------------

# Options that describe what ferrotls always does, or OpenSSL bug workarounds that have no
# meaning in ferrotls: accepted, set or cleared, and reported back.
_OP_INHERENT = (int(ssl.OP_ALL) | int(ssl.OP_NO_SSLv2) | int(ssl.OP_NO_SSLv3) | int(ssl.OP_NO_TLSv1)
                | int(ssl.OP_NO_TLSv1_1) | int(ssl.OP_NO_COMPRESSION)
                | int(ssl.OP_ENABLE_MIDDLEBOX_COMPAT) | int(ssl.OP_CIPHER_SERVER_PREFERENCE)
                | int(ssl.OP_SINGLE_DH_USE) | int(ssl.OP_SINGLE_ECDH_USE))
# OP_NO_RENEGOTIATION: no TLS 1.2 renegotiation (ferrotls_config_builder_set_renegotiation).
_OP_NO_RENEGOTIATION = int(getattr(ssl, "OP_NO_RENEGOTIATION", 0))
# Options that change what ferrotls does.
_OP_VERSIONS = int(ssl.OP_NO_TLSv1_2) | int(ssl.OP_NO_TLSv1_3)
_OP_HONOURED = _OP_VERSIONS | _OP_NO_RENEGOTIATION
_OP_DEFAULT = (int(ssl.OP_ALL) | int(ssl.OP_NO_SSLv3) | int(ssl.OP_NO_COMPRESSION)
               | int(ssl.OP_ENABLE_MIDDLEBOX_COMPAT) | int(ssl.OP_CIPHER_SERVER_PREFERENCE))

# ferrotls builds chains to any loaded certificate (a loaded intermediate is an anchor, as with
# VERIFY_X509_PARTIAL_CHAIN), checks strictly, and prefers the trust anchors.
_VERIFY_OK = (int(ssl.VERIFY_DEFAULT) | int(ssl.VERIFY_X509_TRUSTED_FIRST)
              | int(ssl.VERIFY_X509_STRICT) | int(getattr(ssl, "VERIFY_X509_PARTIAL_CHAIN", 0)))

_HOSTFLAG_NEVER_CHECK_SUBJECT = getattr(_ssl, "HOSTFLAG_NEVER_CHECK_SUBJECT", 0x20)
_HOSTFLAG_NO_PARTIAL_WILDCARDS = 0x4

# set_ecdh_curve() names (lower case; OpenSSL's, which since 3.5 include the post-quantum
# groups, plus the usual aliases) -> ferrotls group names.
_CURVES = {"prime256v1": "P-256", "secp256r1": "P-256", "p-256": "P-256",
           "secp384r1": "P-384", "p-384": "P-384", "x25519": "X25519",
           "x25519mlkem768": "X25519MLKEM768", "secp256r1mlkem768": "SecP256r1MLKEM768",
           "secp384r1mlkem1024": "SecP384r1MLKEM1024", "mlkem1024": "MLKEM1024"}
# For messages: what set_ecdh_curve() and set_groups() take.
_GROUPS_HELP = ("X25519MLKEM768, SecP256r1MLKEM768, SecP384r1MLKEM1024, MLKEM1024 (post-quantum, "
                "TLS 1.3 only), X25519, prime256v1 (P-256) and secp384r1 (P-384)")

# (IANA name, OpenSSL name, id, protocol, kea, auth, symmetric, bits) for get_ciphers().
_SUITES = [
    ("TLS_AES_256_GCM_SHA384", "TLS_AES_256_GCM_SHA384", 0x1302, "TLSv1.3", "any", "any", "aes-256-gcm", 256),
    ("TLS_CHACHA20_POLY1305_SHA256", "TLS_CHACHA20_POLY1305_SHA256", 0x1303, "TLSv1.3", "any", "any", "chacha20-poly1305", 256),
    ("TLS_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256", 0x1301, "TLSv1.3", "any", "any", "aes-128-gcm", 128),
    ("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384", 0xC02C, "TLSv1.2", "ecdhe", "ecdsa", "aes-256-gcm", 256),
    ("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384", 0xC030, "TLSv1.2", "ecdhe", "rsa", "aes-256-gcm", 256),
    ("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305", 0xCCA9, "TLSv1.2", "ecdhe", "ecdsa", "chacha20-poly1305", 256),
    ("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305", 0xCCA8, "TLSv1.2", "ecdhe", "rsa", "chacha20-poly1305", 256),
    ("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256", 0xC02B, "TLSv1.2", "ecdhe", "ecdsa", "aes-128-gcm", 128),
    ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256", 0xC02F, "TLSv1.2", "ecdhe", "rsa", "aes-128-gcm", 128),
]


def _not_here(what: str, why: str = ""):
    return NotImplementedError("ferrotls.SSLContext does not support %s%s" % (what, why and ": " + why))


def _check(code: int) -> None:
    if code != _lib.OK:
        raise _errors.from_code(code, _lib.last_error_detail())


def _need_file(p, what: str, directory: bool = False) -> bytes:
    if not isinstance(p, (str, bytes, os.PathLike)):
        raise TypeError("%s should be a valid filesystem path" % what)
    p = os.fspath(p)
    ok = os.path.isdir(p) if directory else os.path.isfile(p)
    if not ok:
        kind = "directory" if directory else "file"
        raise FileNotFoundError(errno.ENOENT, "%s: no such %s" % (what, kind), p)
    return os.fsencode(p)


def _file_key(path: bytes, kind: str):
    """What identifies a file's contents cheaply: its real path, inode, size and mtime."""
    st = os.stat(path)
    return (kind, os.path.realpath(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.S)


def _pem_certs(data: bytes):
    """[(der, pem)] for each certificate in PEM text, or None when the text holds anything but
    plain CERTIFICATE blocks (then the library reads it itself, and says what is wrong)."""
    out = []
    for m in _PEM_BLOCK.finditer(data):
        if m.group(1) != b"CERTIFICATE":
            return None
        try:
            der = base64.b64decode(b"".join(m.group(2).split()), validate=True)
        except (binascii.Error, ValueError):
            return None
        out.append((der, m.group(0)))
    return out or None


def _split_der(der: bytes) -> list:
    """Concatenated DER certificates → a list of DER certificates (outer SEQUENCE lengths)."""
    out, i = [], 0
    while i < len(der):
        if der[i] != 0x30 or i + 2 > len(der):
            raise _errors.SSLError(501, "cadata: not DER certificate data")
        ln = der[i + 1]
        hdr = 2
        if ln & 0x80:
            nb = ln & 0x7F
            if nb == 0 or nb > 4 or i + 2 + nb > len(der):
                raise _errors.SSLError(501, "cadata: bad DER length")
            ln = int.from_bytes(der[i + 2:i + 2 + nb], "big")
            hdr = 2 + nb
        end = i + hdr + ln
        if end > len(der):
            raise _errors.SSLError(501, "cadata: truncated DER certificate")
        out.append(der[i:end])
        i = end
    return out


def _der_to_pem(der: bytes) -> bytes:
    b64 = base64.encodebytes(der).decode().replace("\n", "")
    lines = [b64[j:j + 64] for j in range(0, len(b64), 64)]
    return ("-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n").encode()


def encode_hostname(hostname):
    """As ``ssl.SSLContext._encode_hostname``: str (IDNA-encoded) or bytes → ASCII str, and the
    stdlib's checks for an empty name or a leading dot."""
    if hostname is None:
        return None
    if isinstance(hostname, str):
        name = hostname.encode("idna").decode("ascii")
    elif isinstance(hostname, (bytes, bytearray)):
        name = bytes(hostname).decode("ascii")
    else:
        raise TypeError("server_hostname must be str or bytes, not %s" % type(hostname).__name__)
    if not name or name.startswith("."):
        raise ValueError("server_hostname cannot be an empty string or start with a leading dot.")
    if "\x00" in name:
        raise ValueError("server_hostname must not contain NUL characters")
    return name


class _Builder:
    """One ferrotls_config_builder and the config last built from it."""

    def __init__(self, role: int):
        h = ctypes.c_void_p()
        _check(lib.ferrotls_config_builder_new(role, byref(h)))
        self.role = role
        self.h = h.value
        self._free_builder = weakref.finalize(self, lib.ferrotls_config_builder_free, self.h)
        self.config = None
        self._free_config = None
        self.dirty = True
        self.builds = 0

    def call(self, fn, *args) -> None:
        _check(fn(self.h, *args))
        self.dirty = True

    def build(self):
        c = ctypes.c_void_p()
        _check(lib.ferrotls_config_builder_build(self.h, byref(c)))
        if self._free_config is not None:
            self._free_config()  # connections hold their own reference
        self.config = c.value
        self._free_config = weakref.finalize(self, lib.ferrotls_config_free, self.config)
        self.dirty = False
        self.builds += 1
        return self.config


def _roles_for(protocol):
    if protocol == PROTOCOL_TLS_CLIENT:
        return (_lib.ROLE_CLIENT,)
    if protocol == PROTOCOL_TLS_SERVER:
        return (_lib.ROLE_SERVER,)
    if protocol == PROTOCOL_TLS:
        return (_lib.ROLE_CLIENT, _lib.ROLE_SERVER)
    raise ValueError("ferrotls supports PROTOCOL_TLS_CLIENT, PROTOCOL_TLS_SERVER and "
                     "PROTOCOL_TLS only, not %r" % (protocol,))


def _seal_openssl(ctx) -> None:
    """Make the OpenSSL context underneath unusable: no protocol version is enabled in it, it
    has no trust anchors and requires verification. Nothing of ferrotls goes through it."""
    base = _ssl._SSLContext
    base.minimum_version.__set__(ctx, TLSVersion.TLSv1_3)
    base.maximum_version.__set__(ctx, TLSVersion.TLSv1_2)
    if base.verify_mode.__get__(ctx) != CERT_REQUIRED:
        base.verify_mode.__set__(ctx, CERT_REQUIRED)


class Context(ssl.SSLContext):
    """Like ``ssl.SSLContext`` (and an instance of it): settings shared by many connections
    of one role (``PROTOCOL_TLS_CLIENT`` / ``PROTOCOL_TLS_SERVER``; ``PROTOCOL_TLS`` for both).
    Thread-safe: any number of threads may configure it and wrap connections with it."""

    sslsocket_class = SSLSocket
    sslobject_class = SSLObject

    def __new__(cls, protocol=None, *args, **kwargs):
        if protocol is None:
            protocol = PROTOCOL_TLS
        roles = _roles_for(protocol)
        ossl = PROTOCOL_TLS_CLIENT if roles == (_lib.ROLE_CLIENT,) else PROTOCOL_TLS_SERVER
        self = _ssl._SSLContext.__new__(cls, ossl)
        _seal_openssl(self)
        self._setup(protocol, roles)
        return self

    def __init__(self, protocol=None, *args, **kwargs):
        pass  # all state is set up in __new__, so subclasses need not call this

    def _setup(self, protocol, roles) -> None:
        self._protocol = protocol
        self._lock = threading.RLock()
        self._builders = {r: _Builder(r) for r in roles}
        client_only = protocol == PROTOCOL_TLS_CLIENT
        self._verify_mode = CERT_REQUIRED if client_only else CERT_NONE
        self._check_hostname = client_only
        self._min = TLSVersion.TLSv1_2
        self._max = TLSVersion.MAXIMUM_SUPPORTED
        self._options = _OP_DEFAULT
        self._verify_flags = int(ssl.VERIFY_X509_TRUSTED_FIRST)
        self._keylog = None
        self._alpn: list = []
        self._alpn_wire = b""
        self._ciphers = None
        self._groups = None
        self._num_tickets = 2
        self._session_cache_size = 256
        self._buffer_limit = None
        self._ticket_lifetime = None
        self._roots: dict = {}       # sha256(DER) -> DER of every trust anchor given to ferrotls
        self._loaded: set = set()    # trust-anchor sources already loaded (file keys, cadata hashes)
        self._chains: set = set()    # certificate chains already loaded
        self._system_roots = False
        self._pha = False            # post_handshake_auth
        self._client_reneg = False   # allow_client_renegotiation
        self._cert_change = False    # allow_peer_certificate_change

    # ---- helpers --------------------------------------------------------------------------

    def _apply(self, fn, *args) -> None:
        with self._lock:
            for b in self._builders.values():
                b.call(fn, *args)

    def _config_for(self, role: int):
        """The built config for ``role`` (rebuilt when settings changed)."""
        b = self._builders.get(role)
        if b is None:
            raise ValueError("Cannot create a %s socket with a %s context" % (
                "server" if role == _lib.ROLE_SERVER else "client",
                "PROTOCOL_TLS_CLIENT" if _lib.ROLE_CLIENT in self._builders else "PROTOCOL_TLS_SERVER"))
        with self._lock:
            if b.dirty or b.config is None:
                b.call(lib.ferrotls_config_builder_set_verify, self._library_verify(role))
                b.call(lib.ferrotls_config_builder_set_versions, *self._wire_versions())
                b.build()
            return lib.ferrotls_config_clone(b.config), self._verifies(role)

    def _library_verify(self, role: int) -> int:
        if role == _lib.ROLE_CLIENT:
            return _lib.VERIFY_DANGEROUS_NO_VERIFY if self._verify_mode == CERT_NONE else _lib.VERIFY_SERVER
        return {CERT_NONE: _lib.VERIFY_NO_CLIENT_AUTH,
                CERT_OPTIONAL: _lib.VERIFY_REQUEST_CLIENT_CERT,
                CERT_REQUIRED: _lib.VERIFY_REQUIRE_CLIENT_CERT}[self._verify_mode]

    def _verifies(self, role: int) -> bool:
        return self._verify_mode != CERT_NONE

    def _dirty(self) -> None:
        for b in self._builders.values():
            b.dirty = True

    @property
    def _builds(self) -> int:
        """How many times a configuration was built (diagnostics for tests)."""
        return sum(b.builds for b in self._builders.values())

    # ---- protocol, verification -----------------------------------------------------------

    @property
    def protocol(self):
        return ssl._SSLMethod(self._protocol)

    @property
    def verify_mode(self) -> VerifyMode:
        return VerifyMode(self._verify_mode)

    @verify_mode.setter
    def verify_mode(self, value) -> None:
        try:
            value = VerifyMode(value)
        except ValueError:
            raise ValueError("invalid value for verify_mode") from None
        with self._lock:
            if value == self._verify_mode:
                return
            if value == CERT_NONE and self._check_hostname:
                raise ValueError("Cannot set verify_mode to CERT_NONE when check_hostname is enabled.")
            self._verify_mode = value
            self._dirty()

    @property
    def check_hostname(self) -> bool:
        return self._check_hostname

    @check_hostname.setter
    def check_hostname(self, value) -> None:
        value = bool(value)
        with self._lock:
            if value == self._check_hostname:
                return
            if value and self._verify_mode == CERT_NONE:
                self._verify_mode = CERT_REQUIRED
                self._dirty()
            # The name itself is checked by the library whenever it verifies (see README), so
            # the flag changes only what wrap_socket/wrap_bio insist on: no rebuild.
            self._check_hostname = value

    @property
    def hostname_checks_common_name(self) -> bool:
        """Always False: ferrotls matches names against subjectAltName only."""
        return False

    @hostname_checks_common_name.setter
    def hostname_checks_common_name(self, value) -> None:
        if value:
            raise ValueError("ferrotls matches host names against subjectAltName only; it never "
                             "falls back to the subject's common name")

    @property
    def _host_flags(self) -> int:
        return _HOSTFLAG_NEVER_CHECK_SUBJECT | _HOSTFLAG_NO_PARTIAL_WILDCARDS

    @_host_flags.setter
    def _host_flags(self, value) -> None:
        if not int(value) & _HOSTFLAG_NEVER_CHECK_SUBJECT:
            raise ValueError("ferrotls never checks the subject's common name")

    @property
    def verify_flags(self) -> VerifyFlags:
        return VerifyFlags(self._verify_flags)

    @verify_flags.setter
    def verify_flags(self, value) -> None:
        value = int(value)
        bad = value & ~_VERIFY_OK
        if bad:
            raise ValueError("ferrotls cannot honour verify_flags %r (CRL checks and proxy "
                             "certificates are not supported)" % (VerifyFlags(bad),))
        self._verify_flags = value

    @property
    def security_level(self) -> int:
        """ferrotls refuses what OpenSSL's level 2 refuses (RSA < 2048 bits, SHA-1, ...)."""
        return 2

    @property
    def post_handshake_auth(self) -> bool:
        """Post-handshake authentication ("Handshake Again"; default False), with the
        stdlib's meaning in TLS 1.3, for both roles, and carried over to TLS 1.2 on a server.

        Client: offer it in TLS 1.3, and answer a server's later certificate request with
        the chain from ``load_cert_chain()`` (an empty answer without one); the answer is
        made while a ``recv()`` / ``read()`` takes the request in, and sent then. (In TLS 1.2
        a client answers a server's renegotiation whatever this says: see ``options``
        OP_NO_RENEGOTIATION to decline.)

        Server: with ``verify_mode`` CERT_OPTIONAL or CERT_REQUIRED, ask for no certificate
        in the handshake; ``SSLSocket.verify_client_post_handshake()`` asks later, and the
        answer is checked with ``verify_mode``. In TLS 1.3 that is post-handshake
        authentication, as with the stdlib. In TLS 1.2 -- where the stdlib's server still
        asks in the handshake and its ``verify_client_post_handshake()`` raises -- ferrotls
        deliberately does more: the handshake asks for nothing either, and
        ``verify_client_post_handshake()`` asks by a secure renegotiation (RFC 5746).
        ``SSLSocket.authenticated_at`` tells where in the received bytes the client's
        identity began (ferrotls extension)."""
        return self._pha

    @post_handshake_auth.setter
    def post_handshake_auth(self, value) -> None:
        value = bool(value)
        with self._lock:
            if value == self._pha:
                return
            self._apply(lib.ferrotls_config_builder_set_post_handshake_auth, value)
            self._pha = value

    @property
    def allow_client_renegotiation(self) -> bool:
        """Server, TLS 1.2 (ferrotls extension; default False, as OpenSSL 3 without
        SSL_OP_ALLOW_CLIENT_RENEGOTIATION, which the stdlib does not expose): accept a
        secure renegotiation (RFC 5746) the client starts. False declines it with a
        no_renegotiation warning and the connection goes on. Where an accepted one
        completes, ``recv()`` / ``read()`` record the point in ``authenticated_at``, as after
        ``verify_client_post_handshake()``, and the certificate of the new handshake (which
        must be the one before unless ``allow_peer_certificate_change``) is
        ``getpeercert()``'s from then on. Each costs the server a full handshake; at most 10
        renegotiations a minute. ``OP_NO_RENEGOTIATION`` in ``options`` overrides it.
        Setting it on a client-only context raises ValueError."""
        return self._client_reneg

    @allow_client_renegotiation.setter
    def allow_client_renegotiation(self, value) -> None:
        value = bool(value)
        b = self._server_builder("allow_client_renegotiation")
        with self._lock:
            if value == self._client_reneg:
                return
            b.call(lib.ferrotls_config_builder_set_client_renegotiation, value)
            self._client_reneg = value

    @property
    def allow_peer_certificate_change(self) -> bool:
        """TLS 1.2 (ferrotls extension; default False): whether the peer may present another
        certificate in a renegotiation than in the handshake before. False fails that new
        handshake (``ferrotls_reason`` "PEER_CERTIFICATE_CHANGED"), which closes the
        triple-handshake class of attacks; a client that had no certificate may always
        present a first one (what ``verify_client_post_handshake()`` is for). Both roles."""
        return self._cert_change

    @allow_peer_certificate_change.setter
    def allow_peer_certificate_change(self, value) -> None:
        value = bool(value)
        with self._lock:
            if value == self._cert_change:
                return
            self._apply(lib.ferrotls_config_builder_set_peer_certificate_change, value)
            self._cert_change = value

    def load_verify_locations(self, cafile=None, capath=None, cadata=None) -> None:
        """Trust anchors from a PEM file, a directory of PEM files, or ``cadata``
        (PEM ``str``, or DER ``bytes``: one or more concatenated certificates).

        A certificate already loaded is not given to the library again, and a file (same
        path, inode, size and mtime) or ``cadata`` already loaded is not read again: libraries
        that call this for every connection (``requests`` with certifi's bundle) cost a
        ``stat()`` and keep the built configuration and its caches."""
        if cafile is None and capath is None and cadata is None:
            raise TypeError("cafile, capath and cadata cannot be all omitted")
        with self._lock:
            if cafile is not None:
                self._load_cafile(_need_file(cafile, "cafile"))
            if capath is not None:
                path = _need_file(capath, "capath", directory=True)
                key = _file_key(path, "dir")
                if key not in self._loaded:
                    self._apply(lib.ferrotls_config_builder_add_roots_file, path)
                    self._loaded.add(key)
            if cadata is not None:
                self._load_cadata(cadata)

    def _load_cafile(self, path: bytes) -> None:
        key = _file_key(path, "file")
        if key in self._loaded:
            return
        with open(path, "rb") as f:
            data = f.read()
        certs = _pem_certs(data)
        if certs is None:
            self._apply(lib.ferrotls_config_builder_add_roots_file, path)
        else:
            self._add_roots(certs)
        self._loaded.add(key)

    def _load_cadata(self, cadata) -> None:
        if isinstance(cadata, str):
            data = cadata.encode("ascii")
            key = ("pem", hashlib.sha256(data).digest())
            if key in self._loaded:
                return
            certs = _pem_certs(data)
            if certs is None:
                self._apply(lib.ferrotls_config_builder_add_roots_pem, data, len(data))
            else:
                self._add_roots(certs)
        elif isinstance(cadata, (bytes, bytearray, memoryview)):
            data = bytes(cadata)
            key = ("der", hashlib.sha256(data).digest())
            if key in self._loaded:
                return
            self._add_roots([(d, _der_to_pem(d)) for d in _split_der(data)])
        else:
            raise TypeError("cadata should be an ASCII string or a bytes-like object")
        self._loaded.add(key)

    def _add_roots(self, certs) -> None:
        """Give the library the certificates it does not have yet (the same root twice is
        one root); nothing new, nothing done: the built configuration stays."""
        new, fresh = [], set()
        for der, pem in certs:
            h = hashlib.sha256(der).digest()
            if h in self._roots or h in fresh:
                continue
            fresh.add(h)
            new.append((h, der, pem))
        if not new:
            return
        blob = b"\n".join(pem for _, _, pem in new) + b"\n"
        self._apply(lib.ferrotls_config_builder_add_roots_pem, blob, len(blob))
        for h, der, _ in new:
            self._roots[h] = der

    def load_default_certs(self, purpose=Purpose.SERVER_AUTH) -> None:
        """The operating system's trust anchors (loaded once per context)."""
        if not isinstance(purpose, ssl._ASN1Object):
            raise TypeError(purpose)
        self.set_default_verify_paths()

    def set_default_verify_paths(self) -> None:
        with self._lock:
            if not self._system_roots:
                self._apply(lib.ferrotls_config_builder_add_system_roots)
                self._system_roots = True

    def _load_windows_store_certs(self, storename, purpose):
        raise _not_here("the Windows certificate store")

    def cert_store_stats(self) -> dict:
        """Counts of the trust anchors loaded from ``cafile`` / ``cadata`` (as in ``ssl``,
        those of a ``capath`` directory, and here the system's, are not counted)."""
        n = len(self._roots)
        return {"x509": n, "crl": 0, "x509_ca": n}

    def get_ca_certs(self, binary_form: bool = False) -> list:
        """The trust anchors loaded from ``cafile`` / ``cadata``: DER with ``binary_form``,
        else ``getpeercert()``-style dicts (needs ``cryptography``)."""
        ders = list(self._roots.values())
        if binary_form:
            return ders
        from . import _cert
        return [_cert.decode(d) for d in ders]

    def load_cert_chain(self, certfile, keyfile=None, password=None) -> None:
        """Our certificate chain (PEM, leaf first) and its private key (PEM; in ``certfile``
        when ``keyfile`` is None). An encrypted key is decrypted with ``password``. Loading
        the same files (same path, inode, size, mtime and password) again changes nothing."""
        cert = _need_file(certfile, "certfile")
        key = _need_file(keyfile if keyfile is not None else certfile, "keyfile")
        if password is not None and not callable(password) and \
                not isinstance(password, (str, bytes, bytearray)):
            raise TypeError("password should be a string or callable")
        dedup = None
        if not callable(password):
            pw = None if password is None else hashlib.sha256(
                password.encode() if isinstance(password, str) else bytes(password)).digest()
            dedup = (_file_key(cert, "cert"), _file_key(key, "key"), pw)
        with self._lock:
            if dedup is not None and dedup in self._chains:
                return
            self._load_cert_chain(cert, key, password)
            if dedup is not None:
                self._chains.add(dedup)

    def _load_cert_chain(self, cert: bytes, key: bytes, password) -> None:
        if password is None:
            self._apply(lib.ferrotls_config_builder_add_cert_key_file, cert, key)
            return
        from cryptography.hazmat.primitives import serialization
        if callable(password):
            password = password()
        if isinstance(password, str):
            password = password.encode()
        with open(key, "rb") as f:
            k = serialization.load_pem_private_key(f.read(), password=bytes(password))
        key_pem = k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())
        with open(cert, "rb") as f:
            chain = f.read()
        self._apply(lib.ferrotls_config_builder_add_cert_key_pem, chain, len(chain), key_pem, len(key_pem))

    def load_dh_params(self, path) -> None:
        raise _not_here("load_dh_params()", "ferrotls has no finite-field Diffie-Hellman "
                        "(ECDHE over X25519, P-256 and P-384, and the ML-KEM groups, only)")

    # ---- negotiation ----------------------------------------------------------------------

    def set_alpn_protocols(self, protocols) -> None:
        """ALPN protocols in preference order, e.g. ["h2", "http/1.1"]."""
        wire = bytearray()
        for p in protocols:
            b = p.encode("ascii") if isinstance(p, str) else bytes(p)
            if not 1 <= len(b) <= 255:
                raise ValueError("ALPN protocols must be 1 to 255 bytes long")
            wire += bytes([len(b)]) + b
        wire = bytes(wire)
        with self._lock:
            if wire == self._alpn_wire:
                return
            self._apply(lib.ferrotls_config_builder_set_alpn, wire, len(wire))
            self._alpn_wire = wire
            self._alpn = list(protocols)

    def _set_alpn_protocols(self, wire) -> None:
        wire, protos, i = bytes(wire), [], 0
        while i < len(wire):
            n = wire[i]
            protos.append(wire[i + 1:i + 1 + n])
            i += 1 + n
        self.set_alpn_protocols(protos)

    def set_npn_protocols(self, protocols) -> None:
        raise _not_here("NPN", "use set_alpn_protocols()")

    def set_ciphers(self, ciphers: str) -> None:
        """Cipher suites as a ':'-separated list of IANA or OpenSSL names. Unlike ``ssl``'s,
        the list covers TLS 1.3 suites too (OpenSSL sets those apart)."""
        if not isinstance(ciphers, str):
            raise TypeError("ciphers must be a str")
        with self._lock:
            if ciphers == self._ciphers:
                return
            try:
                self._apply(lib.ferrotls_config_builder_set_cipher_list, ciphers.encode("ascii"))
            except _errors.SSLError as e:
                raise _errors.SSLError(e.code, "No cipher can be selected: " + e.detail) from None
            self._ciphers = ciphers

    def get_ciphers(self) -> list:
        """The cipher suites ferrotls offers, in the order given to ``set_ciphers()`` when it
        was called (dicts shaped like ``ssl``'s)."""
        suites = _SUITES
        if self._ciphers:
            wanted = [n.strip().upper() for n in self._ciphers.split(":") if n.strip()]
            by_name = {}
            for s in _SUITES:
                by_name[s[0].upper()] = s
                by_name[s[1].upper()] = s
            suites = []
            for n in wanted:
                s = by_name.get(n)
                if s is not None and s not in suites:
                    suites.append(s)
        return [{"id": 0x03000000 | sid, "name": ossl, "protocol": proto,
                 "description": "%s %s Kx=%s Au=%s Enc=%s" % (ossl, proto, kea, auth, sym),
                 "strength_bits": bits, "alg_bits": bits, "aead": True, "symmetric": sym,
                 "digest": None, "kea": "kx-" + kea, "auth": "auth-" + auth, "iana_name": iana}
                for iana, ossl, sid, proto, kea, auth, sym, bits in suites]

    def set_groups(self, groups: str) -> None:
        """Key-exchange groups in preference order as a ':'-separated list (as the stdlib's
        ``set_groups()`` in recent Pythons, and OpenSSL's group lists), e.g.
        "X25519MLKEM768:X25519:P-256". Names are case-insensitive: X25519MLKEM768 (the default
        first group), SecP256r1MLKEM768, SecP384r1MLKEM1024, MLKEM1024 (these four post-quantum,
        TLS 1.3 only), X25519, P-256 (secp256r1, prime256v1), P-384 (secp384r1). The default is
        "X25519MLKEM768:X25519:P-256:P-384"; a client sends key shares for its first group and,
        when that one is post-quantum, also for the first classic one (X25519 by default); a
        server takes the first group in its own order that the client sent a share for, and
        only when there is none asks (HelloRetryRequest) for a share of the first of its groups
        the client supports. An unknown name raises SSLError naming the supported groups, and
        changes nothing."""
        if isinstance(groups, bytes):
            groups = groups.decode("ascii")
        if not isinstance(groups, str):
            raise TypeError("groups must be a str")
        with self._lock:
            if groups == self._groups:
                return
            self._apply(lib.ferrotls_config_builder_set_group_list, groups.encode("ascii"))
            self._groups = groups

    def set_ecdh_curve(self, curve_name) -> None:
        """As in ``ssl``: use this one group for key exchange. The names OpenSSL takes there
        (its 3.5 and later take the post-quantum groups too), case-insensitive: "prime256v1" /
        "secp256r1", "secp384r1", "X25519", "X25519MLKEM768", "SecP256r1MLKEM768",
        "SecP384r1MLKEM1024", "MLKEM1024". A post-quantum group alone allows TLS 1.3 only.
        Anything else raises ValueError, as in ``ssl``."""
        name = curve_name.decode("ascii") if isinstance(curve_name, bytes) else curve_name
        if not isinstance(name, str):
            raise TypeError("curve_name must be str or bytes")
        group = _CURVES.get(name.lower())
        if group is None:
            raise ValueError("unknown elliptic curve name %r (ferrotls has %s)" % (name, _GROUPS_HELP))
        self.set_groups(group)

    def _set_versions(self, lo, hi) -> None:
        for v in (lo, hi):
            if v not in (TLSVersion.MINIMUM_SUPPORTED, TLSVersion.MAXIMUM_SUPPORTED) and \
                    v not in _WIRE_VERSION:
                raise ValueError("ferrotls supports TLSv1_2 and TLSv1_3 only, not %s" % (v,))
        with self._lock:
            if (lo, hi) == (self._min, self._max):
                return
            self._min, self._max = lo, hi
            self._dirty()

    def _wire_versions(self):
        """(min, max) for ferrotls_config_builder_set_versions (options OP_NO_TLSv1_2 and
        OP_NO_TLSv1_3 applied)."""
        def wire(v):
            if v == TLSVersion.MINIMUM_SUPPORTED:
                return 0x0303
            if v == TLSVersion.MAXIMUM_SUPPORTED:
                return 0x0304
            return _WIRE_VERSION[v]
        lo, hi = wire(self._min), wire(self._max)
        if self._options & int(ssl.OP_NO_TLSv1_2):
            lo = max(lo, 0x0304)
        if self._options & int(ssl.OP_NO_TLSv1_3):
            hi = min(hi, 0x0303)
        if lo > hi:
            raise ValueError("no TLS version is left to use (minimum_version, maximum_version "
                             "and options OP_NO_TLSv1_2/OP_NO_TLSv1_3 exclude them all)")
        return lo, hi

    @property
    def minimum_version(self) -> TLSVersion:
        return self._min

    @minimum_version.setter
    def minimum_version(self, value) -> None:
        self._set_versions(TLSVersion(value), self._max)

    @property
    def maximum_version(self) -> TLSVersion:
        return self._max

    @maximum_version.setter
    def maximum_version(self, value) -> None:
        self._set_versions(self._min, TLSVersion(value))

    @property
    def options(self) -> Options:
        """``ssl``'s options. Honoured: OP_NO_TLSv1_2 / OP_NO_TLSv1_3 (versions) and
        OP_NO_RENEGOTIATION, as in OpenSSL: no TLS 1.2 renegotiation on this context's
        connections (ferrotls_config_builder_set_renegotiation(false)) -- a client declines a
        server's HelloRequest with a no_renegotiation warning and the connection goes on, a
        server declines the client's renegotiation and its ``verify_client_post_handshake()``
        raises in TLS 1.2. Without it (the default, as in ``ssl``) a client answers a
        server's renegotiation, as OpenSSL's does. Accepted and reported back, as what
        ferrotls does anyway: OP_ALL, OP_NO_SSLv2/SSLv3/TLSv1/TLSv1_1, OP_NO_COMPRESSION,
        OP_ENABLE_MIDDLEBOX_COMPAT, OP_CIPHER_SERVER_PREFERENCE, OP_SINGLE_DH_USE,
        OP_SINGLE_ECDH_USE. Any other raises ValueError."""
        return Options(self._options)

    @options.setter
    def options(self, value) -> None:
        value = int(value)
        bad = value & ~(_OP_INHERENT | _OP_HONOURED)
        if bad:
            try:
                names = repr(Options(bad))
            except ValueError:
                names = hex(bad)
            raise ValueError("ferrotls cannot honour the option(s) %s" % names)
        with self._lock:
            if value == self._options:
                return
            changed = value ^ self._options
            if changed & _OP_NO_RENEGOTIATION:
                self._apply(lib.ferrotls_config_builder_set_renegotiation,
                            not value & _OP_NO_RENEGOTIATION)
            self._options = value
            if changed & _OP_VERSIONS:
                self._dirty()

    @property
    def keylog_filename(self):
        return self._keylog

    @keylog_filename.setter
    def keylog_filename(self, path) -> None:
        with self._lock:
            if path is None:
                if self._keylog is None:
                    return
                raise ValueError("ferrotls cannot unset a key log file; use a new Context")
            path = os.fspath(path)
            if path == self._keylog:
                return
            self._apply(lib.ferrotls_config_builder_set_keylog_file, os.fsencode(path))
            self._keylog = path

    @property
    def _msg_callback(self):
        return None

    @_msg_callback.setter
    def _msg_callback(self, callback) -> None:
        if callback is not None:
            raise _not_here("_msg_callback", "ferrotls traces records and handshake messages "
                            "through its own trace callback (C API)")

    @property
    def sni_callback(self):
        return None

    @sni_callback.setter
    def sni_callback(self, callback) -> None:
        if callback is not None:
            raise _not_here("sni_callback", "a ferrotls server picks its certificate by the "
                            "client's SNI itself: load one chain per name with load_cert_chain()")

    def set_servername_callback(self, server_name_callback) -> None:
        self.sni_callback = server_name_callback

    def set_psk_client_callback(self, callback) -> None:
        if callback is not None:
            raise _not_here("TLS 1.3 external PSKs")

    def set_psk_server_callback(self, callback, identity_hint=None) -> None:
        if callback is not None:
            raise _not_here("TLS 1.3 external PSKs")

    def set_buffer_limit(self, nbytes: int) -> None:
        """Bound the plaintext and ciphertext buffered per connection (ferrotls extension)."""
        with self._lock:
            if nbytes == self._buffer_limit:
                return
            self._apply(lib.ferrotls_config_builder_set_buffer_limit, nbytes)
            self._buffer_limit = nbytes

    # ---- sessions -------------------------------------------------------------------------

    def set_session_cache_size(self, entries: int) -> None:
        """Size of the library's session cache; 0 turns it off (ferrotls extension; default 256).
        Client: sessions by server name, so a later connection from this context to the same
        name resumes without ``session=`` (the stdlib resumes only with ``session=``). Server:
        TLS 1.2 sessions by session ID (tickets work without it). Oldest entries go first."""
        if entries < 0:
            raise ValueError("the session cache size must be >= 0")
        with self._lock:
            if entries == self._session_cache_size:
                return
            self._apply(lib.ferrotls_config_builder_set_session_cache, entries)
            self._session_cache_size = entries

    @property
    def session_cache_size(self) -> int:
        """The size given to ``set_session_cache_size()`` (ferrotls extension)."""
        return self._session_cache_size

    def session_stats(self) -> dict:
        raise _not_here("session_stats()", "the library keeps no session counters; "
                        "SSLSocket.session_reused tells per connection")

    def _server_builder(self, what: str):
        b = self._builders.get(_lib.ROLE_SERVER)
        if b is None:
            raise ValueError("SSLContext is not a server context (%s)." % what)
        return b

    @property
    def num_tickets(self) -> int:
        """TLS 1.3 session tickets a server sends after each full handshake (default 2, at
        most 16), as in ``ssl``; after a resumed handshake it sends at most one (the client
        spent one). Setting it on a client-only context raises ValueError."""
        return self._num_tickets

    @num_tickets.setter
    def num_tickets(self, value) -> None:
        value = int(value)
        if value < 0:
            raise ValueError("value must be non-negative")
        b = self._server_builder("num_tickets")
        with self._lock:
            if value == self._num_tickets:
                return
            b.call(lib.ferrotls_config_builder_set_tls13_tickets, value)
            self._num_tickets = value

    def set_ticket_lifetime(self, seconds: int) -> None:
        """Server: lifetime of session tickets (TLS 1.2 and 1.3) and cached sessions, in
        seconds (default 7200, at most 604800; 0 issues no tickets). ferrotls extension."""
        if seconds < 0:
            raise ValueError("the ticket lifetime must be >= 0")
        b = self._server_builder("set_ticket_lifetime")
        with self._lock:
            if seconds == self._ticket_lifetime:
                return
            b.call(lib.ferrotls_config_builder_set_ticket_lifetime, seconds)
            self._ticket_lifetime = seconds

    # ---- wrapping -------------------------------------------------------------------------

    def _encode_hostname(self, hostname):
        return encode_hostname(hostname)

    def _new_engine(self, server_side: bool, server_hostname, transport, session=None):
        from ._engine import Engine
        if session is not None:
            _session.check_settable(session, self, server_side, False)
        role = _lib.ROLE_SERVER if server_side else _lib.ROLE_CLIENT
        server_hostname = encode_hostname(server_hostname)
        if server_side and server_hostname:
            raise ValueError("server_hostname can only be specified in client mode")
        if not server_side:
            if self._check_hostname and not server_hostname:
                raise ValueError("check_hostname requires server_hostname")
            if self._verify_mode != CERT_NONE and not server_hostname:
                raise ValueError(
                    "ferrotls verifies the server's certificate together with its name: give "
                    "server_hostname, or set check_hostname = False and verify_mode = CERT_NONE")
        config, verified = self._config_for(role)
        try:
            engine = Engine(config, role, server_hostname, transport, verified)
        finally:
            lib.ferrotls_config_free(config)
        if session is not None:
            try:
                engine.set_session(session._blob)
            except BaseException:
                engine.free()
                raise
        return engine

    def wrap_socket(self, sock, server_side=False, do_handshake_on_connect=True,
                    suppress_ragged_eofs=False, server_hostname=None, session=None):
        """Wrap a connected (or to-be-connected) stream socket; returns a ferrotls SSLSocket
        (an ``ssl.SSLSocket``). ``server_hostname`` may be str or bytes, as in ``ssl``."""
        return self.sslsocket_class._create(
            sock=sock, server_side=server_side, do_handshake_on_connect=do_handshake_on_connect,
            suppress_ragged_eofs=suppress_ragged_eofs, server_hostname=server_hostname,
            context=self, session=session)

    def wrap_bio(self, incoming, outgoing, server_side=False, server_hostname=None, session=None):
        """A ferrotls SSLObject (an ``ssl.SSLObject``) over two ``ssl.MemoryBIO``s, for event
        loops (asyncio's SSL transport, anyio, httpcore). ``server_hostname``: str or bytes."""
        return self.sslobject_class._create(
            incoming, outgoing, server_side=server_side, server_hostname=server_hostname,
            session=session, context=self)

    def _wrap_socket(self, *args, **kwargs):
        raise _not_here("_wrap_socket()", "that is OpenSSL's; use wrap_socket()")

    def _wrap_bio(self, *args, **kwargs):
        raise _not_here("_wrap_bio()", "that is OpenSSL's; use wrap_bio()")

    def __repr__(self) -> str:
        return "<ferrotls.SSLContext roles=%s verify_mode=%s check_hostname=%s>" % (
            "+".join("client" if r == 1 else "server" for r in self._builders),
            self.verify_mode.name, self._check_hostname)


SSLContext = Context


def create_default_context(purpose=Purpose.SERVER_AUTH, *, cafile=None, capath=None, cadata=None):
    """Like ``ssl.create_default_context``: a client context (for SERVER_AUTH) with system trust
    anchors, CERT_REQUIRED and check_hostname; honours SSLKEYLOGFILE."""
    if purpose == Purpose.SERVER_AUTH:
        ctx = Context(PROTOCOL_TLS_CLIENT)
    elif purpose == Purpose.CLIENT_AUTH:
        ctx = Context(PROTOCOL_TLS_SERVER)
    else:
        raise ValueError(purpose)
    if cafile or capath or cadata:
        ctx.load_verify_locations(cafile, capath, cadata)
    elif ctx.verify_mode != CERT_NONE:
        ctx.load_default_certs(purpose)
    keylog = os.environ.get("SSLKEYLOGFILE")
    if keylog and not sys.flags.ignore_environment:
        ctx.keylog_filename = keylog
    return ctx
