"""A ferrotls.SSLContext under the libraries people use with ``ssl``: http.client, urllib.request,
urllib3, requests, httpx (sync and async), aiohttp (client and server), asyncio streams and
start_tls (both sides), http.server, trustme. Each test shows that the bytes went through
ferrotls: the peer (OpenSSL, through ``ssl``) logs the same TLS secrets as our key log, and
negotiates the one suite our cipher list allows (``ssl.SSLContext.set_ciphers`` cannot restrict
TLS 1.3 suites, so an OpenSSL client could not have done that)."""

from __future__ import annotations

import asyncio
import ssl

import aiohttp
import aiohttp.web
import httpx
import pytest
import requests
import trustme
import urllib3
import urllib.error

import ferrotls
from conftest import TIMEOUT
from libsupport import (
    CLIENTS, PKI, HTTPSServer, client_randoms, keylog_secrets, ours_client, ours_server,
    ssl_cause, stdlib_client, stdlib_server,
)

CHACHA = "TLS_CHACHA20_POLY1305_SHA256"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return PKI(tmp_path_factory.mktemp("pki"))


def assert_same_secrets(ours: dict, peer: dict, connections: int):
    """For ``connections`` connections, our key log (written by ferrotls) and the peer's hold
    the same secrets: ferrotls did those handshakes (no OpenSSL object of ours had them)."""
    assert ours, "our key log is empty"
    common = client_randoms(ours) & client_randoms(peer)
    assert len(common) == connections, (sorted(client_randoms(ours)), sorted(client_randoms(peer)))
    mine = {k: v for k, v in ours.items() if k[1] in common}
    theirs = {k: v for k, v in peer.items() if k[1] in common}
    assert mine == theirs


# ---- our client under each library ---------------------------------------------------------

@pytest.mark.parametrize("lib", sorted(CLIENTS))
def test_client_library(lib, pki, tmp_path):
    """Three new connections with one ferrotls context: the bytes are ferrotls's, and the
    second and third resume (the library's per-connection settings do not rebuild the
    configuration, which holds the session cache). With the stdlib's context, the same
    library resumes none (ssl resumes only with session=)."""
    server_log, our_log = tmp_path / "server.keys", tmp_path / "ours.keys"
    ctx = ours_client(pki, our_log)
    ctx.set_ciphers(CHACHA)
    fetch = CLIENTS[lib]
    with HTTPSServer(stdlib_server(pki.leaf, server_log)) as srv:
        urls = [srv.url("/%d" % i) for i in range(3)]
        assert fetch(ctx, urls) == [b"hello /0", b"hello /1", b"hello /2"]
        ours_conns = list(srv.conns)
        assert fetch(stdlib_client(pki), urls[:2]) == [b"hello /0", b"hello /1"]
        stdlib_conns = srv.conns[len(ours_conns):]
    assert not srv.errors, srv.errors
    assert [c["reused"] for c in ours_conns] == [False, True, True], ours_conns
    assert [c["reused"] for c in stdlib_conns] == [False, False], stdlib_conns
    assert {c["cipher"] for c in ours_conns} == {CHACHA}
    assert_same_secrets(keylog_secrets(our_log), keylog_secrets(server_log), 3)
    assert ctx._builds == 1, "a library setting rebuilt the configuration"


@pytest.mark.parametrize("lib", sorted(CLIENTS))
@pytest.mark.parametrize("case", ["wrong_name", "unknown_ca"])
def test_client_library_errors_match_stdlib(lib, case, pki):
    """The library raises with our context what it raises with the stdlib's: the same
    exception type, carrying an ssl.SSLCertVerificationError with OpenSSL's verify_code
    (62 hostname mismatch, 20 unknown issuer) and reason."""
    cert = pki.wrong_name if case == "wrong_name" else pki.unknown_ca
    fetch = CLIENTS[lib]
    caught = {}
    with HTTPSServer(stdlib_server(cert)) as srv:
        for name, ctx in (("stdlib", stdlib_client(pki)), ("ours", ours_client(pki))):
            with pytest.raises(Exception) as ei:
                fetch(ctx, [srv.url()])
            caught[name] = ei.value
    theirs, ours = caught["stdlib"], caught["ours"]
    assert isinstance(ours, type(theirs)), (ours, theirs)  # ours may be a ferrotls subclass
    t, o = ssl_cause(theirs), ssl_cause(ours)
    assert isinstance(t, ssl.SSLCertVerificationError), theirs
    assert isinstance(o, ferrotls.SSLCertVerificationError), ours
    assert (o.verify_code, o.reason, o.library) == (t.verify_code, t.reason, t.library)
    assert o.verify_code == (62 if case == "wrong_name" else 20)
    assert o.verify_message == t.verify_message
    usual = {"http.client": ssl.SSLCertVerificationError, "urllib.request": urllib.error.URLError,
             "urllib3": urllib3.exceptions.SSLError, "requests": requests.exceptions.SSLError,
             "httpx": httpx.ConnectError, "httpx.AsyncClient": httpx.ConnectError,
             "aiohttp": aiohttp.ClientConnectorCertificateError,
             "asyncio": ssl.SSLCertVerificationError,
             "asyncio.start_tls": ssl.SSLCertVerificationError}[lib]
    assert isinstance(ours, usual), ours


# ---- our server under each library ---------------------------------------------------------

def test_http_server_with_our_context(pki, tmp_path):
    """http.server with a ferrotls server context (listening socket wrapped the documented
    way); http.client with ssl and with ferrotls as the clients."""
    server_log, client_log = tmp_path / "server.keys", tmp_path / "client.keys"
    with HTTPSServer(ours_server(pki.leaf, server_log)) as srv:
        urls = [srv.url("/%d" % i) for i in range(2)]
        assert CLIENTS["http.client"](stdlib_client(pki, client_log), urls) == [b"hello /0", b"hello /1"]
        ours = ours_client(pki)
        assert CLIENTS["http.client"](ours, urls) == [b"hello /0", b"hello /1"]
    assert not srv.errors, srv.errors
    assert all(c["type"] is ferrotls.SSLSocket for c in srv.conns)
    assert [c["reused"] for c in srv.conns] == [False, False, False, True]
    assert_same_secrets(keylog_secrets(server_log), keylog_secrets(client_log), 2)


async def _aiohttp_server(ctx, seen):
    async def hello(request):
        so = request.transport.get_extra_info("ssl_object")
        seen.append((type(so), so.session_reused, so.version()))
        return aiohttp.web.Response(body=b"hello " + request.path.encode(),
                                    headers={"Connection": "close"})
    app = aiohttp.web.Application()
    app.router.add_get("/{tail:.*}", hello)
    runner = aiohttp.web.AppRunner(app)
    await runner.setup()
    site = aiohttp.web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    return runner, port


@pytest.mark.parametrize("client", ["ssl", "ferrotls"])
def test_aiohttp_server(client, pki, tmp_path):
    """An aiohttp web server on a ferrotls context; aiohttp clients with ssl and ferrotls."""
    server_log, client_log = tmp_path / "server.keys", tmp_path / "client.keys"
    cctx = stdlib_client(pki, client_log) if client == "ssl" else ours_client(pki, client_log)
    seen: list = []

    async def main():
        runner, port = await _aiohttp_server(ours_server(pki.leaf, server_log), seen)
        try:
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=cctx)) as s:
                out = []
                for i in range(3):
                    async with s.get("https://localhost:%d/%d" % (port, i)) as r:
                        assert r.status == 200
                        out.append(await r.read())
                return out
        finally:
            await runner.cleanup()

    assert asyncio.run(asyncio.wait_for(main(), TIMEOUT * 2)) == [b"hello /0", b"hello /1", b"hello /2"]
    assert all(t is ferrotls.SSLObject for t, _, _ in seen)
    expect = [False, True, True] if client == "ferrotls" else [False, False, False]
    assert [r for _, r, _ in seen] == expect
    assert_same_secrets(keylog_secrets(server_log), keylog_secrets(client_log), 3)


@pytest.mark.parametrize("client", ["ssl", "ferrotls"])
@pytest.mark.parametrize("upgrade", [False, True], ids=["ssl=", "start_tls"])
def test_asyncio_server(client, upgrade, pki, tmp_path):
    """asyncio.start_server(ssl=ferrotls context), or a plain server that upgrades with
    StreamWriter.start_tls (server side), against an asyncio client (ssl= or start_tls)."""
    server_log, client_log = tmp_path / "server.keys", tmp_path / "client.keys"
    sctx = ours_server(pki.leaf, server_log)
    cctx = stdlib_client(pki, client_log) if client == "ssl" else ours_client(pki, client_log)
    seen: list = []

    async def handle(reader, writer):
        try:
            if upgrade:
                assert await reader.readline() == b"STARTTLS\r\n"
                writer.write(b"GO\r\n")
                await writer.drain()
                await writer.start_tls(sctx)
            line = await reader.readline()
            so = writer.get_extra_info("ssl_object")
            seen.append((type(so), so.session_reused, so.server_side))
            writer.write(b"echo " + line)
            await writer.drain()
        finally:
            writer.close()

    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=None if upgrade else sctx)
        port = server.sockets[0].getsockname()[1]
        out = []
        try:
            for i in range(3):
                if upgrade:
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    writer.write(b"STARTTLS\r\n")
                    assert await reader.readline() == b"GO\r\n"
                    await writer.start_tls(cctx, server_hostname="localhost")
                else:
                    reader, writer = await asyncio.open_connection(
                        "127.0.0.1", port, ssl=cctx, server_hostname="localhost")
                writer.write(b"line %d\n" % i)
                out.append(await reader.readline())
                writer.close()
                try:
                    await writer.wait_closed()
                except (ConnectionError, ssl.SSLError):
                    pass
        finally:
            server.close()
            await server.wait_closed()
        return out

    assert asyncio.run(asyncio.wait_for(main(), TIMEOUT * 2)) == [b"echo line %d\n" % i for i in range(3)]
    assert [(t, s) for t, _, s in seen] == [(ferrotls.SSLObject, True)] * 3
    expect = [False, True, True] if client == "ferrotls" else [False, False, False]
    assert [r for _, r, _ in seen] == expect
    assert_same_secrets(keylog_secrets(server_log), keylog_secrets(client_log), 3)


def test_asyncio_loop_start_tls_both_sides_ferrotls(pki):
    """loop.start_tls() with ferrotls contexts on both ends of a plain connection."""
    sctx, cctx = ours_server(pki.leaf), ours_client(pki)

    async def main():
        loop = asyncio.get_running_loop()
        got = loop.create_future()

        class Server(asyncio.Protocol):
            def connection_made(self, transport):
                self.transport = transport

            def data_received(self, data):
                if data == b"STARTTLS":
                    self.transport.write(b"GO")
                    loop.create_task(self.upgrade())

            async def upgrade(self):
                proto = Echo()
                tls = await loop.start_tls(self.transport, proto, sctx, server_side=True)
                proto.attach(tls)

        class Echo(asyncio.Protocol):
            """start_tls calls no connection_made: data may come before the transport."""
            transport, early = None, b""

            def attach(self, transport):
                self.transport = transport
                if self.early:
                    transport.write(self.early.upper())

            def data_received(self, data):
                if self.transport is None:
                    self.early += data
                else:
                    self.transport.write(data.upper())

        class Client(asyncio.Protocol):
            def __init__(self):
                self.go = loop.create_future()

            def connection_made(self, transport):
                self.transport = transport

            def data_received(self, data):
                if not self.go.done():
                    self.go.set_result(data)
                else:
                    got.set_result(data)

        server = await loop.create_server(Server, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        transport, client = await loop.create_connection(Client, "127.0.0.1", port)
        transport.write(b"STARTTLS")
        assert await client.go == b"GO"
        tls = await loop.start_tls(transport, client, cctx, server_hostname="localhost")
        so = tls.get_extra_info("ssl_object")
        assert isinstance(so, ferrotls.SSLObject) and isinstance(so, ssl.SSLObject)
        assert tls.get_extra_info("peercert")["subjectAltName"][0] == ("DNS", "localhost")
        tls.write(b"hello")
        assert await asyncio.wait_for(got, TIMEOUT) == b"HELLO"
        tls.close()
        server.close()
        await server.wait_closed()

    asyncio.run(asyncio.wait_for(main(), TIMEOUT * 2))


def test_aiohttp_refuses_look_alikes_but_takes_ours(pki):
    """aiohttp takes only ssl.SSLContext (anything else is a TypeError or falls back to its own
    OpenSSL context); ours is one, and it is the one aiohttp uses."""
    async def main():
        with pytest.raises(TypeError, match="SSLContext"):
            aiohttp.TCPConnector(ssl=object())
        connector = aiohttp.TCPConnector(ssl=ours_client(pki))
        await connector.close()
        return connector
    connector = asyncio.run(main())
    assert isinstance(connector._ssl, ferrotls.SSLContext)


# ---- trustme ---------------------------------------------------------------------------------

def test_trustme_both_roles_with_intermediate(tmp_path):
    """trustme's configure_cert() / configure_trust() take our contexts (isinstance check),
    here with an intermediate CA in the served chain; ssl and ferrotls on the other end."""
    root = trustme.CA()
    child = root.create_child_ca()
    leaf = child.issue_cert("localhost")
    sctx = ferrotls.SSLContext(ferrotls.PROTOCOL_TLS_SERVER)
    leaf.configure_cert(sctx)
    cctx = ferrotls.SSLContext(ferrotls.PROTOCOL_TLS_CLIENT)
    root.configure_trust(cctx)
    assert cctx.cert_store_stats()["x509_ca"] == 1
    stdlib_c = ssl.create_default_context()
    root.configure_trust(stdlib_c)
    stdlib_s = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    leaf.configure_cert(stdlib_s)
    for server, client in ((sctx, stdlib_c), (stdlib_s, cctx), (sctx, cctx)):
        with HTTPSServer(server) as srv:
            assert CLIENTS["http.client"](client, [srv.url("/x")]) == [b"hello /x"]
        assert not srv.errors, srv.errors
