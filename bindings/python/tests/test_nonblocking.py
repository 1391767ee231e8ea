"""Non-blocking sockets under selectors, and wrap_bio driven by hand: 1 MiB each way, checksummed."""

from __future__ import annotations

import hashlib
import os
import selectors
import socket
import ssl
import time

import ferrotls
from conftest import TIMEOUT, ServerThread, _pump, client_ctx, echo_handler, server_ctx, \
    stdlib_client_ctx, stdlib_server_ctx

MIB = 1 << 20


def test_nonblocking_selectors_1mib(client_version):
    version, name = client_version
    payload = os.urandom(MIB)
    with ServerThread(stdlib_server_ctx(version), echo_handler) as srv:
        raw = socket.create_connection(("127.0.0.1", srv.port), timeout=TIMEOUT)
        raw.setblocking(False)
        s = client_ctx(version).wrap_socket(raw, server_hostname="localhost",
                                           do_handshake_on_connect=False)
        sel = selectors.DefaultSelector()
        sel.register(s, selectors.EVENT_READ)
        deadline = time.monotonic() + TIMEOUT

        def wait(events):
            assert time.monotonic() < deadline, "timed out"
            sel.modify(s, events)
            sel.select(1.0)

        while True:
            try:
                s.do_handshake()
                break
            except ssl.SSLWantReadError:
                wait(selectors.EVENT_READ)
            except ssl.SSLWantWriteError:
                wait(selectors.EVENT_WRITE)
        assert s.version() == name
        sent, got = 0, bytearray()
        while len(got) < len(payload):
            assert time.monotonic() < deadline, "timed out"
            progressed = False
            if sent < len(payload):
                try:
                    sent += s.send(payload[sent:sent + 65536])
                    progressed = True
                except ferrotls.SSLWantWriteError:
                    pass
            try:
                chunk = s.recv(65536)
                assert chunk, "server closed early"
                got += chunk
                progressed = True
            except ferrotls.SSLWantReadError:
                pass
            if not progressed:
                wait(selectors.EVENT_READ | (selectors.EVENT_WRITE if sent < len(payload) else 0))
        assert hashlib.sha256(got).hexdigest() == hashlib.sha256(payload).hexdigest()
        sel.close()
        s.setblocking(True)
        s.settimeout(TIMEOUT)
        s.unwrap()
        s.close()
    assert not srv.errors, srv.errors


def _transfer(a, a_in, a_out, b, b_in, b_out, payload):
    """a writes payload, b reads it, moving ciphertext between the BIOs by hand."""
    a.write(payload)
    got = bytearray()
    for _ in range(10000):
        data = a_out.read()
        if data:
            b_in.write(data)
        try:
            while True:
                chunk = b.read(65536)
                if not chunk:
                    break
                got += chunk
        except ssl.SSLWantReadError:
            pass
        reply = b_out.read()
        if reply:
            a_in.write(reply)
        if len(got) >= len(payload) and not a_out.pending:
            break
    return bytes(got)


def test_wrap_bio_1mib_against_stdlib(client_version):
    version, name = client_version
    bios = [ssl.MemoryBIO() for _ in range(4)]
    c = client_ctx(version).wrap_bio(bios[0], bios[1], server_hostname="localhost")
    s = stdlib_server_ctx(version).wrap_bio(bios[2], bios[3], server_side=True)
    assert isinstance(c, ferrotls.SSLObject)
    _pump(c, bios[0], bios[1], s, bios[2], bios[3])
    assert c.version() == name and s.version() == name
    payload = os.urandom(MIB)
    assert _transfer(c, bios[0], bios[1], s, bios[2], bios[3], payload) == payload
    back = os.urandom(MIB)
    assert _transfer(s, bios[2], bios[3], c, bios[0], bios[1], back) == back
    assert c.getpeercert()["subjectAltName"] == (("DNS", "localhost"), ("IP Address", "127.0.0.1"))


def test_wrap_bio_ferrotls_both_sides(both_version):
    version, name = both_version
    bios = [ssl.MemoryBIO() for _ in range(4)]
    c = client_ctx(version).wrap_bio(bios[0], bios[1], server_hostname="localhost")
    s = server_ctx(version).wrap_bio(bios[2], bios[3], server_side=True)
    _pump(c, bios[0], bios[1], s, bios[2], bios[3])
    payload = os.urandom(MIB)
    got = _transfer(c, bios[0], bios[1], s, bios[2], bios[3], payload)
    assert hashlib.sha256(got).digest() == hashlib.sha256(payload).digest()
    # close_notify: the reader sees b"" (clean close), not an error.
    try:
        c.unwrap()
    except ssl.SSLWantReadError:
        pass
    bios[2].write(bios[1].read())
    assert s.read(10) == b""
    s.close()


def test_wrap_bio_stdlib_client_ferrotls_server(server_version):
    version, name = server_version
    bios = [ssl.MemoryBIO() for _ in range(4)]
    s = server_ctx(version).wrap_bio(bios[0], bios[1], server_side=True)
    c = stdlib_client_ctx(version).wrap_bio(bios[2], bios[3], server_hostname="localhost")
    _pump(s, bios[0], bios[1], c, bios[2], bios[3])
    assert c.version() == name
    payload = os.urandom(MIB // 4)
    assert _transfer(c, bios[2], bios[3], s, bios[0], bios[1], payload) == payload


def test_want_write_then_retry_with_same_data():
    """A full socket raises SSLWantWriteError; retrying with the same data completes the send."""
    import threading
    go = threading.Event()
    payload = os.urandom(4 * MIB)

    def handler(s):
        go.wait(TIMEOUT)
        got = bytearray()
        while len(got) < len(payload):
            d = s.recv(65536)
            if not d:
                break
            got += d
        digest = hashlib.sha256(got).digest()
        s.sendall(digest)
        return digest

    with ServerThread(stdlib_server_ctx(), handler) as srv:
        with client_ctx().wrap_socket(socket.create_connection(("127.0.0.1", srv.port), timeout=TIMEOUT),
                                      server_hostname="localhost") as s:
            s.setblocking(False)
            sent, blocked = 0, 0
            sel = selectors.DefaultSelector()
            sel.register(s, selectors.EVENT_WRITE)
            deadline = time.monotonic() + TIMEOUT
            while sent < len(payload):
                assert time.monotonic() < deadline, "timed out"
                try:
                    sent += s.send(payload[sent:sent + 65536])
                except ferrotls.SSLWantWriteError:
                    blocked += 1
                    go.set()
                    sel.select(1.0)
            sel.close()
            s.settimeout(TIMEOUT)
            # Read the server's answer (and its session tickets): closing a socket with unread
            # input makes TCP reset the connection, which could drop data still in flight.
            answer = bytearray()
            while len(answer) < 32:
                d = s.recv(32 - len(answer))
                assert d
                answer += d
            assert bytes(answer) == hashlib.sha256(payload).digest()
    assert blocked > 0, "the socket never filled up"
    assert srv.results == [hashlib.sha256(payload).digest()], srv.errors


def test_keylog_file(tmp_path):
    log = tmp_path / "keys.log"
    ctx = client_ctx()
    ctx.keylog_filename = str(log)
    assert ctx.keylog_filename == str(log)
    bios = [ssl.MemoryBIO() for _ in range(4)]
    c = ctx.wrap_bio(bios[0], bios[1], server_hostname="localhost")
    s = stdlib_server_ctx().wrap_bio(bios[2], bios[3], server_side=True)
    _pump(c, bios[0], bios[1], s, bios[2], bios[3])
    c.close()
    text = log.read_text()
    assert "CLIENT_HANDSHAKE_TRAFFIC_SECRET" in text and "CLIENT_TRAFFIC_SECRET_0" in text
