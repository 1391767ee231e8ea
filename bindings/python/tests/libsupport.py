"""Helpers for the tests that put a ferrotls.SSLContext under real HTTP / async libraries:
certificates made with trustme, an HTTPS server (``http.server``) in a thread, and one client
function per library that makes several requests with one client object, as people do."""

from __future__ import annotations

import asyncio
import http.client
import http.server
import ssl
import sys
import threading
import urllib.parse
import urllib.request

import aiohttp
import httpx
import requests
import trustme
import urllib3

import ferrotls
from conftest import TIMEOUT


class PKI:
    """A trusted CA with a leaf for localhost; a leaf of it for another name only; and an
    unknown CA with a leaf for localhost."""

    def __init__(self, tmp):
        self.ca = trustme.CA()
        self.leaf = self.ca.issue_cert("localhost", "127.0.0.1")
        self.wrong_name = self.ca.issue_cert("other.example")
        self.other_ca = trustme.CA()
        self.unknown_ca = self.other_ca.issue_cert("localhost", "127.0.0.1")
        self.ca_file = str(tmp / "ca.pem")
        self.ca.cert_pem.write_to_path(self.ca_file)


def ours_client(pki, keylog=None) -> ferrotls.SSLContext:
    ctx = ferrotls.SSLContext(ferrotls.PROTOCOL_TLS_CLIENT)
    pki.ca.configure_trust(ctx)
    if keylog:
        ctx.keylog_filename = str(keylog)
    return ctx


def stdlib_client(pki, keylog=None) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    pki.ca.configure_trust(ctx)
    if keylog:
        ctx.keylog_filename = str(keylog)
    return ctx


def ours_server(cert, keylog=None) -> ferrotls.SSLContext:
    ctx = ferrotls.SSLContext(ferrotls.PROTOCOL_TLS_SERVER)
    cert.configure_cert(ctx)
    if keylog:
        ctx.keylog_filename = str(keylog)
    return ctx


def stdlib_server(cert, keylog=None) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(ctx)
    if keylog:
        ctx.keylog_filename = str(keylog)
    return ctx


def keylog_secrets(path) -> dict:
    """{(label, client_random): secret} from an NSS key log file."""
    out = {}
    try:
        text = open(path).read()
    except FileNotFoundError:
        return out
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and not line.startswith("#"):
            out[(parts[0], parts[1].lower())] = parts[2].lower()
    return out


def client_randoms(secrets: dict) -> set:
    return {cr for (_, cr) in secrets}


class HTTPSServer:
    """``http.server.ThreadingHTTPServer`` on 127.0.0.1 whose listening socket is wrapped with
    ``ctx`` (ssl or ferrotls) the documented way. Each connection is recorded in ``conns``:
    session_reused, version, cipher and the type of the TLS socket. Every response closes
    the connection, so each request of a client is a new TLS connection."""

    def __init__(self, ctx):
        self.conns: list = []
        self.errors: list = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                self.request.settimeout(TIMEOUT)
                self.request.do_handshake()
                outer.conns.append(dict(reused=self.request.session_reused,
                                        version=self.request.version(),
                                        cipher=self.request.cipher()[0],
                                        type=type(self.request)))
                super().setup()

            def do_GET(self):
                body = b"hello " + self.path.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True

            def log_message(self, *args):
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                outer.errors.append(sys.exc_info()[1])

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True,
                                            do_handshake_on_connect=False)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    def url(self, path="/", host="localhost"):
        return "https://%s:%d%s" % (host, self.port, path)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(TIMEOUT)


# ---- one function per client library: fetch every URL with one client object -------------

def _split(url):
    u = urllib.parse.urlsplit(url)
    return u.hostname, u.port, u.path or "/"


def fetch_http_client(ctx, urls):
    out = []
    for url in urls:
        host, port, path = _split(url)
        c = http.client.HTTPSConnection(host, port, context=ctx, timeout=TIMEOUT)
        try:
            c.request("GET", path)
            out.append(c.getresponse().read())
        finally:
            c.close()
    return out


def fetch_urllib(ctx, urls):
    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=ctx))
    out = []
    for url in urls:
        with opener.open(url, timeout=TIMEOUT) as r:
            out.append(r.read())
    return out


def fetch_urllib3(ctx, urls):
    with urllib3.PoolManager(ssl_context=ctx, retries=False, timeout=TIMEOUT) as pm:
        return [pm.request("GET", url).data for url in urls]


class ContextAdapter(requests.adapters.HTTPAdapter):
    """The usual way to give requests an SSLContext."""

    def __init__(self, ctx, **kwargs):
        self._ctx = ctx
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["ssl_context"] = self._ctx
        return super().init_poolmanager(*args, **kwargs)


def fetch_requests(ctx, urls):
    with requests.Session() as s:
        s.mount("https://", ContextAdapter(ctx))
        return [s.get(url, timeout=TIMEOUT).content for url in urls]


def fetch_httpx(ctx, urls):
    with httpx.Client(verify=ctx, timeout=TIMEOUT) as c:
        return [c.get(url).content for url in urls]


def fetch_httpx_async(ctx, urls):
    async def main():
        async with httpx.AsyncClient(verify=ctx, timeout=TIMEOUT) as c:
            return [(await c.get(url)).content for url in urls]
    return asyncio.run(main())


def fetch_aiohttp(ctx, urls):
    async def main():
        timeout = aiohttp.ClientTimeout(total=TIMEOUT)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx),
                                         timeout=timeout) as s:
            out = []
            for url in urls:
                async with s.get(url) as r:
                    out.append(await r.read())
            return out
    return asyncio.run(main())


async def _http_over_streams(reader, writer, host, path):
    writer.write(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (path, host)).encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    body = await reader.readexactly(length)
    writer.close()
    try:
        await writer.wait_closed()
    except (ConnectionError, ssl.SSLError):
        pass
    return body


def fetch_asyncio(ctx, urls):
    async def main():
        out = []
        for url in urls:
            host, port, path = _split(url)
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port, ssl=ctx), TIMEOUT)
            out.append(await asyncio.wait_for(_http_over_streams(reader, writer, host, path), TIMEOUT))
        return out
    return asyncio.run(main())


def fetch_asyncio_start_tls(ctx, urls):
    """A plain connection upgraded with StreamWriter.start_tls (loop.start_tls underneath)."""
    async def main():
        out = []
        for url in urls:
            host, port, path = _split(url)
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), TIMEOUT)
            await asyncio.wait_for(writer.start_tls(ctx, server_hostname=host), TIMEOUT)
            out.append(await asyncio.wait_for(_http_over_streams(reader, writer, host, path), TIMEOUT))
        return out
    return asyncio.run(main())


CLIENTS = {
    "http.client": fetch_http_client,
    "urllib.request": fetch_urllib,
    "urllib3": fetch_urllib3,
    "requests": fetch_requests,
    "httpx": fetch_httpx,
    "httpx.AsyncClient": fetch_httpx_async,
    "aiohttp": fetch_aiohttp,
    "asyncio": fetch_asyncio,
    "asyncio.start_tls": fetch_asyncio_start_tls,
}


def ssl_cause(exc):
    """The ssl.SSLError a library's exception carries (through __cause__, __context__, args,
    ``reason`` (urllib, urllib3), ``certificate_error`` / ``os_error`` (aiohttp)), or None."""
    seen, todo = set(), [exc]
    while todo:
        e = todo.pop(0)
        if e is None or id(e) in seen or not isinstance(e, BaseException):
            continue
        seen.add(id(e))
        if isinstance(e, ssl.SSLError) and type(e).__module__ in ("ssl", "ferrotls._errors"):
            return e  # not a library's own subclass (aiohttp's errors are ssl.SSLError too)
        todo += [e.__cause__, e.__context__, getattr(e, "reason", None),
                 getattr(e, "certificate_error", None), getattr(e, "os_error", None)]
        todo += [a for a in e.args if isinstance(a, BaseException)]
    return None
