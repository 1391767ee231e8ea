"""SSLSocket: an ``ssl.SSLSocket`` (so a real ``socket.socket``) whose I/O goes through a
ferrotls connection.

Ciphertext moves with Python's own socket recv/send, so timeouts, non-blocking mode and
selectors behave as with the stdlib: a non-blocking socket raises SSLWantReadError /
SSLWantWriteError, a timeout raises TimeoutError. Every method of ``ssl.SSLSocket`` is
overridden; in place of its OpenSSL object (``_sslobj``) is a view answered by the ferrotls
connection, so no code path can reach OpenSSL.
"""

from __future__ import annotations

import errno
import socket
import ssl

from . import _cert, _errors, _session

_RECV_SIZE = 65536


class Inner:
    """What ``ssl`` keeps in ``._sslobj`` (an ``_ssl._SSLSocket``), answered by the ferrotls
    connection. Code that reaches into it (httpcore reads ``sock._sslobj.selected_alpn_protocol()``
    for ALPN) gets ferrotls's answers; anything else raises NotImplementedError, never OpenSSL."""

    __slots__ = ("_outer",)

    def __init__(self, outer):
        self._outer = outer

    def read(self, len=1024, buffer=None):
        return self._outer.read(len, buffer)

    def write(self, data):
        return self._outer.write(data)

    def do_handshake(self):
        return self._outer.do_handshake()

    def shutdown(self):
        return self._outer.unwrap()

    def getpeercert(self, binary_form=False):
        return self._outer.getpeercert(binary_form)

    def get_unverified_chain(self):
        return self._outer.get_unverified_chain()

    def cipher(self):
        return self._outer.cipher()

    def version(self):
        return self._outer.version()

    def group(self):
        return self._outer.group()

    def selected_alpn_protocol(self):
        return self._outer.selected_alpn_protocol()

    def compression(self):
        return None

    def shared_ciphers(self):
        return None

    def pending(self):
        return self._outer.pending()

    def get_channel_binding(self, cb_type="tls-unique"):
        return self._outer.get_channel_binding(cb_type)

    def verify_client_post_handshake(self):
        return self._outer.verify_client_post_handshake()

    @property
    def context(self):
        return self._outer.context

    @property
    def server_side(self):
        return self._outer.server_side

    @property
    def server_hostname(self):
        return self._outer.server_hostname

    @property
    def owner(self):
        return self._outer

    @property
    def session(self):
        return self._outer.session

    @session.setter
    def session(self, value):
        self._outer.session = value

    @property
    def session_reused(self):
        return self._outer.session_reused

    def __getattr__(self, name):
        raise NotImplementedError("ferrotls: %s is OpenSSL's (ssl's _sslobj), which ferrotls "
                                  "connections do not have" % name)

    def __repr__(self):
        return "<ferrotls inner view of %r>" % (self._outer,)


CHANNEL_BINDING_TYPES = ["tls-unique", "tls-exporter"]


def channel_binding(engine, cb_type: str):
    """``get_channel_binding``: "tls-exporter" (RFC 9266) from the exporter; "tls-unique" is
    not available (it is undefined for TLS 1.3, and ferrotls does not export Finished)."""
    if cb_type not in CHANNEL_BINDING_TYPES:
        raise ValueError("{0} channel binding type not implemented".format(cb_type))
    if engine is None or not engine.handshake_done:
        return None
    if cb_type == "tls-unique":
        raise NotImplementedError("ferrotls does not provide 'tls-unique' channel bindings; "
                                  "use get_channel_binding('tls-exporter') (RFC 9266)")
    return engine.export_keying_material(b"EXPORTER-Channel-Binding", 32, None)


class SSLSocket(ssl.SSLSocket):
    """A TLS socket. Create it with ``Context.wrap_socket``."""

    @property
    def _sslobj(self):
        """ssl's OpenSSL object: here a view answered by ferrotls while TLS is on, else None
        (as in ssl after unwrap/close)."""
        return Inner(self) if self._tls() is not None else None

    def __init__(self, *args, **kwargs):
        raise TypeError("%s does not have a public constructor; use Context.wrap_socket()"
                        % self.__class__.__name__)

    @classmethod
    def _create(cls, sock, server_side=False, do_handshake_on_connect=True,
                suppress_ragged_eofs=False, server_hostname=None, context=None, session=None):
        if context is None:
            raise TypeError("a ferrotls SSLSocket needs its ferrotls context")
        if sock.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE) != socket.SOCK_STREAM:
            raise NotImplementedError("only stream sockets are supported")
        if not isinstance(sock, socket.socket):
            raise TypeError("wrap_socket needs a socket.socket")
        if server_side and server_hostname:
            raise ValueError("server_hostname can only be specified in client mode")
        server_hostname = context._encode_hostname(server_hostname)
        kwargs = dict(family=sock.family, type=sock.type, proto=sock.proto, fileno=sock.fileno())
        self = cls.__new__(cls, **kwargs)
        # Build the connection before taking the fd over, so that a bad setting leaves the
        # caller's socket untouched.
        engine = context._new_engine(server_side, server_hostname, self, session)
        socket.socket.__init__(self, **kwargs)
        timeout = sock.gettimeout()
        sock.detach()
        self.settimeout(timeout)
        self._context = context
        self._engine = engine
        self._last_session = None
        self.server_side = server_side
        self.server_hostname = server_hostname if not server_side else None
        self.do_handshake_on_connect = do_handshake_on_connect
        self.suppress_ragged_eofs = suppress_ragged_eofs
        try:
            self.getpeername()
            connected = True
        except OSError as e:
            if e.errno != errno.ENOTCONN:
                raise
            connected = False
        self._connected = connected
        if connected and do_handshake_on_connect:
            try:
                self.do_handshake()
            except BaseException:
                self.close()
                raise
        return self

    # ---- transport for the engine ---------------------------------------------------------

    def recv_raw(self) -> bytes:
        try:
            return socket.socket.recv(self, _RECV_SIZE)
        except (BlockingIOError, InterruptedError):
            raise _errors.want_read() from None

    def send_raw(self, data: bytes) -> int:
        try:
            return socket.socket.send(self, data)
        except (BlockingIOError, InterruptedError):
            raise _errors.want_write() from None

    # ---- TLS ------------------------------------------------------------------------------

    @property
    def context(self):
        return self._context

    @context.setter
    def context(self, ctx):
        if ctx is not self._context:
            raise NotImplementedError("ferrotls cannot move a connection to another context")

    def _checkClosed(self, msg=None):
        pass  # as in ssl: the socket reports its own errors

    def _check_connected(self):
        if not self._connected:
            self.getpeername()

    def _tls(self):
        e = self._engine
        return e if e is not None and e.alive else None

    def _need_tls(self, what: str):
        e = self._tls()
        if e is None:
            if getattr(self, "_closed", False):
                raise OSError(errno.EBADF, "%s: the SSLSocket is closed" % what)
            raise ValueError("%s: the TLS session is over (socket unwrapped)" % what)
        if not self._connected:
            raise OSError(errno.ENOTCONN, "%s: the socket is not connected" % what)
        return e

    def do_handshake(self, block=False) -> None:
        """Run the TLS handshake (raises SSLWantReadError/SSLWantWriteError if non-blocking)."""
        self._need_tls("do_handshake").do_handshake()

    def _real_connect(self, address, connect_ex):
        if self.server_side:
            raise ValueError("can't connect in server-side mode")
        if self._connected:
            raise ValueError("attempt to connect already-connected SSLSocket!")
        if connect_ex:
            rc = socket.socket.connect_ex(self, address)
        else:
            rc = None
            socket.socket.connect(self, address)
        if not rc:
            self._connected = True
            if self.do_handshake_on_connect:
                self.do_handshake()
        return rc

    def connect(self, address) -> None:
        self._real_connect(address, False)

    def connect_ex(self, address) -> int:
        return self._real_connect(address, True)

    def accept(self):
        sock, addr = socket.socket.accept(self)
        sock = self._context.wrap_socket(sock, server_side=self.server_side,
                                         do_handshake_on_connect=self.do_handshake_on_connect,
                                         suppress_ragged_eofs=self.suppress_ragged_eofs)
        return sock, addr

    def read(self, len: int = 1024, buffer=None):
        """Plaintext: up to ``len`` bytes (or into ``buffer``, returning the count). Never
        bytes from both sides of the point where the peer authenticated again: see
        ``verify_client_post_handshake()`` and ``authenticated_at``."""
        e = self._need_tls("read")
        if buffer is not None and len <= 0:
            len = memoryview(buffer).nbytes
        try:
            data = e.read(len)
        except _errors.SSLEOFError:
            if not self.suppress_ragged_eofs:
                raise
            data = b""
        if buffer is not None:
            memoryview(buffer).cast("B")[:data.__len__()] = data
            return data.__len__()
        return data

    def write(self, data) -> int:
        """Encrypt and send plaintext; returns the number of bytes taken."""
        return self._need_tls("write").write(data)

    def recv(self, buflen: int = 1024, flags: int = 0) -> bytes:
        if flags:
            raise ValueError("non-zero flags not allowed in calls to recv() on %s" % self.__class__)
        if self._tls() is None:
            return socket.socket.recv(self, buflen, flags)
        return self.read(buflen)

    def recv_into(self, buffer, nbytes=None, flags: int = 0) -> int:
        if flags:
            raise ValueError("non-zero flags not allowed in calls to recv_into() on %s" % self.__class__)
        if not nbytes:
            nbytes = memoryview(buffer).nbytes
        if self._tls() is None:
            return socket.socket.recv_into(self, buffer, nbytes, flags)
        return self.read(nbytes, buffer)

    def send(self, data, flags: int = 0) -> int:
        if flags:
            raise ValueError("non-zero flags not allowed in calls to send() on %s" % self.__class__)
        if self._tls() is None:
            return socket.socket.send(self, data, flags)
        return self.write(data)

    def sendall(self, data, flags: int = 0) -> None:
        if flags:
            raise ValueError("non-zero flags not allowed in calls to sendall() on %s" % self.__class__)
        if self._tls() is None:
            return socket.socket.sendall(self, data, flags)
        view = memoryview(data).cast("B")
        sent = 0
        while sent < len(view):
            sent += self.send(view[sent:])

    def _no(self, name):
        raise ValueError("%s not allowed on instances of %s" % (name, self.__class__))

    def recvfrom(self, *a, **k):
        self._no("recvfrom")

    def recvfrom_into(self, *a, **k):
        self._no("recvfrom_into")

    def sendto(self, *a, **k):
        self._no("sendto")

    def sendmsg(self, *a, **k):
        raise NotImplementedError("sendmsg not allowed on instances of %s" % self.__class__)

    def recvmsg(self, *a, **k):
        raise NotImplementedError("recvmsg not allowed on instances of %s" % self.__class__)

    def recvmsg_into(self, *a, **k):
        raise NotImplementedError("recvmsg_into not allowed on instances of %s" % self.__class__)

    def sendfile(self, file, offset=0, count=None):
        """Send a file through TLS (never os.sendfile, which would send it in the clear)."""
        if self._tls() is None:
            return socket.socket.sendfile(self, file, offset, count)
        return self._sendfile_use_send(file, offset, count)

    def verify_client_post_handshake(self) -> None:
        """Server: ask the client for its certificate now, after the handshake ("Handshake
        Again"), as ``ssl``'s does in TLS 1.3 -- and in TLS 1.2 too, where the stdlib raises.

        TLS 1.3: post-handshake authentication (a CertificateRequest), with the stdlib's
        meaning. Needs ``context.post_handshake_auth = True`` on both sides.

        TLS 1.2: a secure renegotiation (RFC 5746): a HelloRequest, then a new handshake
        whose CertificateRequest asks for the certificate. ``ssl`` raises SSLError
        (WRONG_SSL_VERSION) for this call in TLS 1.2; ferrotls deliberately does more, so
        that one call asks in either version. The client must have shown RFC 5746 support
        in the handshake (OpenSSL, hence the stdlib, always does) and must take the request
        in: OpenSSL's client renegotiates inside SSL_read (a stdlib client in ``recv()``), a
        ferrotls client inside ``recv()`` / ``read()``. A client that declines
        (``OP_NO_RENEGOTIATION`` on its context: a no_renegotiation warning) has answered
        "no certificate". With ``context.post_handshake_auth = True`` on this server the
        TLS 1.2 handshake asks for no certificate, as in TLS 1.3; without it the handshake
        asks, and a renegotiation asks again (the client must present the same certificate
        unless ``context.allow_peer_certificate_change``). The client's own
        ``post_handshake_auth`` plays no part in TLS 1.2.

        Both: ``verify_mode`` CERT_OPTIONAL or CERT_REQUIRED on this server's context; the
        answer is checked with it.

        The request is sent at once (on a non-blocking socket that cannot take it, with the
        next call); the exchange completes as data flows: the client answers while it reads,
        and this socket checks the answer inside a later ``recv()`` / ``read()`` (in TLS
        1.2 the whole new handshake runs inside those calls, which send this server's part
        of it). A refused answer (no certificate where one is required -- in TLS 1.2 also a
        declined renegotiation --, an unknown issuer) raises there, as a handshake failure
        would; ``ferrotls_reason`` names it (e.g. "NO_CLIENT_CERTIFICATE").

        Where the client's new identity begins, ``recv()`` / ``read()`` never return bytes
        from both sides: they stop before it, record it and go on with the bytes after it
        (so code written for ``ssl`` sees only data). ``authenticated_at`` then holds the
        number of plaintext bytes received before that point (those came from the client
        before it authenticated: do not act on them as the authenticated client), and
        ``getpeercert()`` returns the new certificate from then on (None before, unless the
        handshake had one; after an answer without a certificate under CERT_OPTIONAL, the
        one before). A client that waits for the response sends nothing after its answer,
        so a blocking ``recv()`` would wait past the boundary for more data: to answer only
        once the client is authenticated, read with a non-blocking socket (or a short
        timeout) until ``authenticated_at`` changes.

        Misuse raises ``ferrotls.SSLError`` (an ``ssl.SSLError``) with the reason, as
        ``ssl`` raises ``SSLError``, and changes nothing: a client socket, a handshake not
        done yet, a context with CERT_NONE, a request still unanswered; in TLS 1.3 a client
        that did not offer post_handshake_auth or a context without it; in TLS 1.2 a client
        without RFC 5746 support, ``OP_NO_RENEGOTIATION`` in this server's
        ``context.options``, or more than 10 renegotiations a minute."""
        self._need_tls("verify_client_post_handshake").request_client_certificate()

    @property
    def authenticated_at(self):
        """Handshake Again (ferrotls extension): the number of plaintext bytes ``recv()`` /
        ``read()`` had returned when the peer last authenticated again (after
        ``verify_client_post_handshake()``, in TLS 1.3 or 1.2, or where a TLS 1.2
        renegotiation the client started completed, see
        ``SSLContext.allow_client_renegotiation``), or None while it has not. Only a server
        sees such points. Bytes before that position came from the peer as it was before;
        ``getpeercert()`` describes the peer after it. Stays readable after ``close()`` /
        ``unwrap()``."""
        e = getattr(self, "_engine", None)
        if e is not None:
            return e.authenticated_at
        return getattr(self, "_authenticated_at", None)

    @property
    def authentications(self) -> list:
        """Every ``authenticated_at`` position so far, in order (ferrotls extension)."""
        e = getattr(self, "_engine", None)
        if e is not None:
            return list(e.authentications)
        return list(getattr(self, "_authentications", []))

    def get_channel_binding(self, cb_type="tls-unique"):
        """"tls-exporter" (RFC 9266) bytes; "tls-unique" raises NotImplementedError."""
        return channel_binding(self._tls(), cb_type)

    def dup(self):
        raise NotImplementedError("Can't dup() %s instances" % self.__class__.__name__)

    def pending(self) -> int:
        """Decrypted bytes ready to read without touching the socket."""
        e = self._tls()
        return e.pending() if e else 0

    def unwrap(self):
        """Close the TLS session (close_notify both ways); returns this socket, now plain."""
        e = self._need_tls("unwrap")
        e.shutdown()
        self._engine_done()
        return self

    def shutdown(self, how) -> None:
        self._engine_done()
        socket.socket.shutdown(self, how)

    def _engine_done(self) -> None:
        e, self._engine = getattr(self, "_engine", None), None
        if e is not None:
            self._authenticated_at = e.authenticated_at
            self._authentications = list(e.authentications)
            try:  # keep the last session readable after close (never raises here)
                self._last_session = session_of(e, getattr(self, "_context", None)) or \
                    getattr(self, "_last_session", None)
            except Exception:  # noqa: BLE001
                pass
            e.free()

    def _real_close(self) -> None:
        e = getattr(self, "_engine", None)
        if e is not None and e.alive and getattr(self, "_connected", False):
            def send_once(data):
                socket.socket.send(self, data, socket.MSG_DONTWAIT)
            e.close_notify_quietly(send_once)
        self._engine_done()
        socket.socket._real_close(self)  # not ssl.SSLSocket's: it would reset _sslobj

    # ---- introspection --------------------------------------------------------------------

    def version(self):
        """'TLSv1.3' / 'TLSv1.2', or None before the handshake."""
        e = self._tls()
        return e.version() if e and e.handshake_done else None

    def cipher(self):
        """(name, protocol, secret bits), or None before the handshake."""
        e = self._tls()
        return e.cipher() if e else None

    def group(self):
        """The negotiated key-exchange group's name, as the stdlib's ``group()`` (new in
        recent Pythons, CPython gh-136306) spells it, i.e. OpenSSL's names: "X25519MLKEM768" (the
        default), "SecP256r1MLKEM768", "SecP384r1MLKEM1024", "MLKEM1024", "x25519",
        "secp256r1" or "secp384r1". None before the handshake and once the TLS session is over
        (closed / unwrapped)."""
        e = self._tls()
        return e.group() if e else None

    def shared_ciphers(self):
        return None

    def compression(self):
        return None

    def selected_alpn_protocol(self):
        e = self._tls()
        return e.alpn() if e else None

    def selected_npn_protocol(self):
        return None

    def getpeercert(self, binary_form: bool = False):
        """The peer's leaf certificate: DER with ``binary_form``, else the stdlib's dict
        ({} when it was not verified, None when the peer sent none). After the peer
        authenticated again (``verify_client_post_handshake()``), the new certificate from
        the point ``authenticated_at`` on (the one before, usually None, until the stream
        reaches it)."""
        e = self._need_tls("getpeercert")
        return peercert(e, binary_form)

    def get_peer_cert_chain(self) -> list:
        """Every certificate the peer sent, DER, leaf first (ferrotls extension)."""
        e = self._need_tls("get_peer_cert_chain")
        return e.peer_cert_chain()

    def get_unverified_chain(self) -> list:
        """As ``get_peer_cert_chain()``: DER certificates, leaf first."""
        return self.get_peer_cert_chain()

    def get_verified_chain(self):
        raise NotImplementedError("ferrotls does not export the chain it built; "
                                  "get_peer_cert_chain() gives what the peer sent")

    def export_keying_material(self, label: bytes, length: int, context: bytes | None = None) -> bytes:
        """RFC 5705 / RFC 8446 §7.5 exporter (ferrotls extension)."""
        return self._need_tls("export_keying_material").export_keying_material(label, length, context)

    @property
    def session(self):
        """The client's current ``ferrotls.Session``, or None while there is none.

        As with ``ssl``: a TLS 1.2 session exists after the handshake; a TLS 1.3 server sends
        its session tickets after the handshake, so the session appears only once a ticket
        has been read, i.e. after the first ``recv()`` that gets the server's data. Before the
        handshake it is the session set to be resumed. Unlike ``ssl``, the last session stays
        readable after ``close()`` / ``unwrap()``. Always None on the server side.

        Set it (a Session from this context) before the handshake, on a client socket, to
        resume it; on a server socket or once the handshake has started that raises
        ValueError, as in ``ssl``."""
        e = self._tls()
        if e is None:
            return self._last_session
        return session_of(e, self._context) or self._last_session

    @session.setter
    def session(self, value):
        e = self._tls()
        _session.check_settable(value, self._context, self.server_side,
                                e is None or e.started)
        e.set_session(value._blob)

    @property
    def session_reused(self) -> bool:
        """True when the handshake resumed a session (on either side)."""
        e = self._tls()
        return bool(e and e.session_reused())

    def __repr__(self) -> str:
        return "<ferrotls.SSLSocket fd=%s server_side=%s version=%s>" % (
            self.fileno(), self.server_side, self.version())


def session_of(engine, context):
    """The engine's newest session as a Session, else the one set before the handshake."""
    blob = engine.get_session()
    if blob is None and (not engine.handshake_done or engine.session_reused()):
        blob = engine.offered
    return _session.Session._new(blob, context) if blob is not None else None


def peercert(engine, binary_form: bool):
    if not engine.handshake_done:
        raise ValueError("handshake not done yet")
    der = engine.peer_cert_der(0)
    if binary_form:
        return der
    if der is None:
        return None
    if not engine.verified:
        return {}
    return _cert.decode(der)
