"""Context: the ``ssl.SSLContext`` look-alike. Settings go into ferrotls config builders at once
(so bad input fails where it is given); the immutable config is built at the first wrap and
rebuilt after any change."""

from __future__ import annotations

import base64
import ctypes
import os
import ssl
import sys
import threading
import weakref
from ctypes import byref

from . import _lib, _errors, _session
from ._lib import lib

PROTOCOL_TLS_CLIENT = ssl.PROTOCOL_TLS_CLIENT
PROTOCOL_TLS_SERVER = ssl.PROTOCOL_TLS_SERVER
PROTOCOL_TLS = ssl.PROTOCOL_TLS
TLSVersion = ssl.TLSVersion
VerifyMode = ssl.VerifyMode
CERT_NONE, CERT_OPTIONAL, CERT_REQUIRED = ssl.CERT_NONE, ssl.CERT_OPTIONAL, ssl.CERT_REQUIRED
Purpose = ssl.Purpose

_WIRE_VERSION = {TLSVersion.TLSv1_2: 0x0303, TLSVersion.TLSv1_3: 0x0304}


def _check(code: int) -> None:
    if code != _lib.OK:
        raise _errors.from_code(code, _lib.last_error_detail())


def _path(p) -> bytes:
    p = os.fspath(p)
    return os.fsencode(p)


def _need_file(p, what: str, directory: bool = False) -> bytes:
    p = os.fspath(p)
    ok = os.path.isdir(p) if directory else os.path.isfile(p)
    if not ok:
        import errno
        kind = "directory" if directory else "file"
        raise FileNotFoundError(errno.ENOENT, "%s: no such %s" % (what, kind), p)
    return os.fsencode(p)


def _der_to_pem(der: bytes) -> bytes:
    """Concatenated DER certificates → PEM text (only the outer SEQUENCE lengths are read)."""
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
        b64 = base64.encodebytes(der[i:end]).decode().replace("\n", "")
        lines = [b64[j:j + 64] for j in range(0, len(b64), 64)]
        out.append("-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n")
        i = end
    return "".join(out).encode()


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
        return self.config


class Context:
    """Like ``ssl.SSLContext``: settings shared by many connections of one role."""

    def __init__(self, protocol=None):
        if protocol is None:
            protocol = PROTOCOL_TLS
        if protocol == PROTOCOL_TLS_CLIENT:
            roles = (_lib.ROLE_CLIENT,)
        elif protocol == PROTOCOL_TLS_SERVER:
            roles = (_lib.ROLE_SERVER,)
        elif protocol == PROTOCOL_TLS:
            roles = (_lib.ROLE_CLIENT, _lib.ROLE_SERVER)
        else:
            raise ValueError("ferrotls supports PROTOCOL_TLS_CLIENT, PROTOCOL_TLS_SERVER and "
                             "PROTOCOL_TLS only, not %r" % (protocol,))
        self.protocol = ssl._SSLMethod(protocol) if hasattr(ssl, "_SSLMethod") else protocol
        self._lock = threading.Lock()
        self._builders = {r: _Builder(r) for r in roles}
        client_only = protocol == PROTOCOL_TLS_CLIENT
        self._verify_mode = CERT_REQUIRED if client_only else CERT_NONE
        self._check_hostname = client_only
        self._min = TLSVersion.TLSv1_2
        self._max = TLSVersion.MAXIMUM_SUPPORTED
        self._keylog = None
        self._alpn: list = []
        self._num_tickets = 2
        self._session_cache_size = 256
        self.sni_callback = None  # accepted for compatibility; not called (see README)

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

    # ---- verification ---------------------------------------------------------------------

    @property
    def verify_mode(self) -> VerifyMode:
        return VerifyMode(self._verify_mode)

    @verify_mode.setter
    def verify_mode(self, value) -> None:
        value = VerifyMode(value)
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
        if value and self._verify_mode == CERT_NONE:
            self._verify_mode = CERT_REQUIRED
        self._check_hostname = value
        self._dirty()

    def load_verify_locations(self, cafile=None, capath=None, cadata=None) -> None:
        """Trust anchors from a PEM file, a directory of PEM files, or ``cadata``
        (PEM ``str``, or DER ``bytes``: one or more concatenated certificates)."""
        if cafile is None and capath is None and cadata is None:
            raise TypeError("cafile, capath and cadata cannot be all omitted")
        if cafile is not None:
            self._apply(lib.ferrotls_config_builder_add_roots_file, _need_file(cafile, "cafile"))
        if capath is not None:
            self._apply(lib.ferrotls_config_builder_add_roots_file,
                        _need_file(capath, "capath", directory=True))
        if cadata is not None:
            if isinstance(cadata, str):
                pem = cadata.encode("ascii")
            elif isinstance(cadata, (bytes, bytearray, memoryview)):
                pem = _der_to_pem(bytes(cadata))
            else:
                raise TypeError("cadata should be an ASCII string or a bytes-like object")
            self._apply(lib.ferrotls_config_builder_add_roots_pem, pem, len(pem))

    def load_default_certs(self, purpose=Purpose.SERVER_AUTH) -> None:
        """The operating system's trust anchors."""
        if not isinstance(purpose, ssl._ASN1Object):
            raise TypeError(purpose)
        self._apply(lib.ferrotls_config_builder_add_system_roots)

    def set_default_verify_paths(self) -> None:
        self.load_default_certs()

    def load_cert_chain(self, certfile, keyfile=None, password=None) -> None:
        """Our certificate chain (PEM, leaf first) and its private key (PEM; in ``certfile``
        when ``keyfile`` is None). An encrypted key is decrypted with ``password``."""
        cert = _need_file(certfile, "certfile")
        key = _need_file(keyfile if keyfile is not None else certfile, "keyfile")
        if password is None:
            self._apply(lib.ferrotls_config_builder_add_cert_key_file, cert, key)
            return
        from cryptography.hazmat.primitives import serialization
        if callable(password):
            password = password()
        if isinstance(password, str):
            password = password.encode()
        with open(key, "rb") as f:
            k = serialization.load_pem_private_key(f.read(), password=password)
        key_pem = k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())
        with open(cert, "rb") as f:
            chain = f.read()
        self._apply(lib.ferrotls_config_builder_add_cert_key_pem, chain, len(chain), key_pem, len(key_pem))

    # ---- negotiation ----------------------------------------------------------------------

    def set_alpn_protocols(self, protocols) -> None:
        """ALPN protocols in preference order, e.g. ["h2", "http/1.1"]."""
        wire = bytearray()
        for p in protocols:
            b = p.encode("ascii") if isinstance(p, str) else bytes(p)
            if not 1 <= len(b) <= 255:
                raise ValueError("ALPN protocols must be 1 to 255 bytes long")
            wire += bytes([len(b)]) + b
        self._apply(lib.ferrotls_config_builder_set_alpn, bytes(wire), len(wire))
        self._alpn = list(protocols)

    def set_ciphers(self, ciphers: str) -> None:
        """Cipher suites as a ':'-separated list of IANA or OpenSSL names."""
        try:
            self._apply(lib.ferrotls_config_builder_set_cipher_list, ciphers.encode("ascii"))
        except _errors.SSLError as e:
            raise _errors.SSLError(e.code, "No cipher can be selected: " + e.detail) from None

    def set_groups(self, groups: str) -> None:
        """Key-exchange groups as a ':'-separated list, e.g. "X25519:P-256" (ferrotls extension)."""
        self._apply(lib.ferrotls_config_builder_set_group_list, groups.encode("ascii"))

    def _set_versions(self, lo, hi) -> None:
        for v in (lo, hi):
            if v not in (TLSVersion.MINIMUM_SUPPORTED, TLSVersion.MAXIMUM_SUPPORTED) and \
                    v not in _WIRE_VERSION:
                raise ValueError("ferrotls supports TLSv1_2 and TLSv1_3 only, not %s" % (v,))
        self._min, self._max = lo, hi
        self._dirty()

    def _wire_versions(self):
        """(min, max) for ferrotls_config_builder_set_versions."""
        def wire(v):
            if v == TLSVersion.MINIMUM_SUPPORTED:
                return 0x0303
            if v == TLSVersion.MAXIMUM_SUPPORTED:
                return 0x0304
            return _WIRE_VERSION[v]
        return wire(self._min), wire(self._max)

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
    def keylog_filename(self):
        return self._keylog

    @keylog_filename.setter
    def keylog_filename(self, path) -> None:
        if path is None:
            raise ValueError("ferrotls cannot unset a key log file; use a new Context")
        path = os.fspath(path)
        self._apply(lib.ferrotls_config_builder_set_keylog_file, os.fsencode(path))
        self._keylog = path

    def set_buffer_limit(self, nbytes: int) -> None:
        """Bound the plaintext and ciphertext buffered per connection (ferrotls extension)."""
        self._apply(lib.ferrotls_config_builder_set_buffer_limit, nbytes)

    # ---- sessions -------------------------------------------------------------------------

    def set_session_cache_size(self, entries: int) -> None:
        """Size of the library's session cache; 0 turns it off (ferrotls extension; default 256).
        Client: sessions by server name, so a later connection from this context to the same
        name resumes without ``session=`` (the stdlib resumes only with ``session=``). Server:
        TLS 1.2 sessions by session ID (tickets work without it). Oldest entries go first."""
        if entries < 0:
            raise ValueError("the session cache size must be >= 0")
        self._apply(lib.ferrotls_config_builder_set_session_cache, entries)
        self._session_cache_size = entries

    @property
    def session_cache_size(self) -> int:
        """The size given to ``set_session_cache_size()`` (ferrotls extension)."""
        return self._session_cache_size

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
            b.call(lib.ferrotls_config_builder_set_tls13_tickets, value)
        self._num_tickets = value

    def set_ticket_lifetime(self, seconds: int) -> None:
        """Server: lifetime of session tickets (TLS 1.2 and 1.3) and cached sessions, in
        seconds (default 7200, at most 604800; 0 issues no tickets). ferrotls extension."""
        if seconds < 0:
            raise ValueError("the ticket lifetime must be >= 0")
        b = self._server_builder("set_ticket_lifetime")
        with self._lock:
            b.call(lib.ferrotls_config_builder_set_ticket_lifetime, seconds)

    # ---- wrapping -------------------------------------------------------------------------

    def _new_engine(self, server_side: bool, server_hostname, transport, session=None):
        from ._engine import Engine
        if session is not None:
            _session.check_settable(session, self, server_side, False)
        role = _lib.ROLE_SERVER if server_side else _lib.ROLE_CLIENT
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
        """Wrap a connected (or to-be-connected) stream socket; returns an SSLSocket."""
        from ._socket import SSLSocket
        return SSLSocket._create(sock, self, server_side, server_hostname,
                                 do_handshake_on_connect, suppress_ragged_eofs, session)

    def wrap_bio(self, incoming, outgoing, server_side=False, server_hostname=None, session=None):
        """An SSLObject over two ``ssl.MemoryBIO``s (for event loops)."""
        from ._bio import SSLObject
        return SSLObject._create(self, incoming, outgoing, server_side, server_hostname, session)

    # stdlib compatibility no-ops
    options = 0
    post_handshake_auth = False

    def get_ca_certs(self, binary_form=False):
        return []

    def __repr__(self) -> str:
        return "<ferrotls.Context roles=%s verify_mode=%s check_hostname=%s>" % (
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
