"""The cases of tests/libssl/python.sh, run by Debian's /usr/bin/python3 on one libssl.

    /usr/bin/python3 tests/libssl/python_cases.py CASE ARGS...

Each case uses only the standard library (ssl, socket, urllib, http.client, asyncio) the way a
program does, and prints lines that python.sh reads:

    MAPS <path>...        the libssl.so.3 files mapped into this process (/proc/self/maps), after
                          `import ssl` has loaded _ssl and with it libssl
    EVIDENCE <text>       what the case saw, for the "ok" line
    FAIL <text>           an assertion that did not hold (the case goes on where it can)
    COMPARE <key> <json>  a value that python.sh requires to be the same on Debian's libssl
    LISTENING <addr>      (asyncio_server) where the server accepts

The exit code is 0 when no FAIL line was printed, 1 otherwise, 2 on a wrong command line.
"""

import asyncio
import hashlib
import http.client
import json
import os
import random
import socket
import ssl
import sys
import urllib.request

CERTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples-c", "certs")
CA = os.path.join(CERTS, "ca.pem")
OTHER_CA = os.path.join(CERTS, "other-ca.pem")
SERVER_CERT = os.path.join(CERTS, "server.pem")
SERVER_KEY = os.path.join(CERTS, "server.key")
TIMEOUT = 10  # seconds, every socket operation

failures = 0


def out(kind, text):
    print(f"{kind} {text}", flush=True)


def evidence(text):
    out("EVIDENCE", text)


def fail(text):
    global failures
    failures += 1
    out("FAIL", text)


def need(cond, text):
    if not cond:
        fail(text)
    return cond


def need_eq(have, want, what):
    return need(have == want, f"{what} is {have!r}, want {want!r}")


def compare(key, value):
    out("COMPARE", f"{key} {json.dumps(value, sort_keys=True)}")


def print_maps():
    paths = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split()
            if len(fields) >= 6 and fields[5].endswith("/libssl.so.3"):
                paths.add(os.path.realpath(fields[5]))
    out("MAPS", " ".join(sorted(paths)))


def client_context(cafile=CA):
    return ssl.create_default_context(cafile=cafile)


def protocol(v):
    return {"2": "TLSv1.2", "3": "TLSv1.3"}[v]


def connect(port, ctx, hostname="localhost", **kwargs):
    raw = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    try:
        return ctx.wrap_socket(raw, server_hostname=hostname, **kwargs)
    except BaseException:
        raw.close()
        raise


def read_www_page(sock):
    """GET / from openssl s_server -www on an SSLSocket: the whole page (the server closes)."""
    sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
    page = b""
    while True:
        try:
            data = sock.recv(65536)
        except ssl.SSLZeroReturnError:
            break
        if not data:
            break
        page += data
    return page.decode("latin-1")


def check_www_page(page, version, what):
    need(page.startswith("HTTP/1.0 200 ok"), f"{what}: the page does not start with 'HTTP/1.0 200 ok': {page[:80]!r}")
    need(f"Protocol  : {version}\n" in page.replace("\r\n", "\n"),
         f"{what}: the page does not say 'Protocol  : {version}'")


def error_fields(e):
    """The fields of an ssl.SSLError that a program can look at."""
    fields = {"type": type(e).__name__, "library": e.library, "reason": e.reason}
    if isinstance(e, ssl.SSLCertVerificationError):
        fields["verify_code"] = e.verify_code
        fields["verify_message"] = e.verify_message
    return fields


# --- cases ---------------------------------------------------------------------------------------
def case_info():
    """What the interpreter loaded: _ssl's file, the version strings, the libssl mapped."""
    import _ssl

    evidence(f"_ssl {_ssl.__file__}")
    evidence(f"ssl.OPENSSL_VERSION {ssl.OPENSSL_VERSION!r}")
    compare("OPENSSL_VERSION_INFO", list(ssl.OPENSSL_VERSION_INFO))
    compare("HAS", [ssl.HAS_SNI, ssl.HAS_ALPN, ssl.HAS_ECDH, ssl.HAS_TLSv1_2, ssl.HAS_TLSv1_3])


def case_urlopen(port, v):
    """urllib.request.urlopen GET https://localhost:PORT/ with create_default_context(cafile=ca.pem)."""
    version = protocol(v)
    ctx = client_context()
    with urllib.request.urlopen(f"https://localhost:{port}/", context=ctx, timeout=TIMEOUT) as resp:
        sock = resp.fp.raw._sock
        have_version = sock.version()
        page = resp.read().decode("latin-1")
        need_eq(resp.status, 200, "urlopen status")
    need_eq(have_version, version, "the socket's version()")
    need(f"Protocol  : {version}\n" in page.replace("\r\n", "\n"), f"the page does not say 'Protocol  : {version}'")
    evidence(f"urlopen: status 200, {len(page)} bytes, version() {have_version}")


def case_httpclient(port, v):
    """http.client.HTTPSConnection('localhost', PORT, context=...) GET /."""
    version = protocol(v)
    conn = http.client.HTTPSConnection("localhost", port, context=client_context(), timeout=TIMEOUT)
    try:
        conn.request("GET", "/")
        resp = conn.getresponse()
        page = resp.read().decode("latin-1")
        have_version = conn.sock.version() if conn.sock else None
        need_eq(resp.status, 200, "getresponse() status")
        need(f"Protocol  : {version}\n" in page.replace("\r\n", "\n"), f"the page does not say 'Protocol  : {version}'")
        if have_version is not None:  # HTTP/1.0: http.client may have closed the socket already
            need_eq(have_version, version, "conn.sock.version()")
        evidence(f"HTTPSConnection: status {resp.status} {resp.reason!r}, {len(page)} bytes")
    finally:
        conn.close()


def case_verify_error(port, which):
    """A handshake that must fail with ssl.SSLCertVerificationError: badname (the right CA,
    server_hostname='wrong.example' on 127.0.0.1) or badca (other-ca.pem, 'localhost')."""
    cafile, hostname = {"badname": (CA, "wrong.example"), "badca": (OTHER_CA, "localhost")}[which]
    ctx = client_context(cafile)
    try:
        sock = connect(port, ctx, hostname)
    except ssl.SSLCertVerificationError as e:
        fields = error_fields(e)
        compare("error", fields)
        evidence(f"{fields['type']} verify_code={e.verify_code} verify_message={e.verify_message!r}")
        evidence(f"str: {str(e)[:120]}")
    except (ssl.SSLError, OSError) as e:
        fail(f"the handshake failed with {type(e).__name__}: {e} (fields {error_fields(e) if isinstance(e, ssl.SSLError) else '-'}), want SSLCertVerificationError")
    else:
        fail(f"the handshake succeeded ({sock.version()}), want SSLCertVerificationError")
        sock.close()


def case_details(port, v):
    """version(), cipher(), selected_alpn_protocol() (offering h2, http/1.1 to s_server -alpn h2),
    getpeercert() and getpeercert(binary_form=True), against s_server -www -alpn h2."""
    version = protocol(v)
    ctx = client_context()
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    with connect(port, ctx) as sock:
        need_eq(sock.version(), version, "version()")
        cipher = sock.cipher()
        alpn = sock.selected_alpn_protocol()
        need_eq(alpn, "h2", "selected_alpn_protocol()")
        cert = sock.getpeercert()
        der = sock.getpeercert(binary_form=True)
        subject = dict(x[0] for x in cert.get("subject", ()))
        need_eq(subject.get("commonName"), "localhost", "getpeercert() subject commonName")
        need_eq(cert.get("subjectAltName"), (("DNS", "localhost"), ("IP Address", "127.0.0.1")),
                "getpeercert() subjectAltName")
        with open(SERVER_CERT) as f:
            want_der = ssl.PEM_cert_to_DER_cert(f.read())
        need(der == want_der, f"getpeercert(binary_form=True) is not server.pem's DER ({len(der or b'')} bytes)")
        compare("version", sock.version())
        compare("cipher", list(cipher) if cipher else None)
        compare("alpn", alpn)
        compare("compression", sock.compression())
        compare("getpeercert", cert)
        compare("server_hostname", sock.server_hostname)
        page = read_www_page(sock)
        check_www_page(page, version, "GET /")
        evidence(f"{sock.version()} {cipher} alpn={alpn}")
        evidence(f"subject {cert.get('subject')} SAN {cert.get('subjectAltName')}")
    # Without ALPN offered: none selected.
    ctx = client_context()
    with connect(port, ctx) as sock:
        need_eq(sock.selected_alpn_protocol(), None, "selected_alpn_protocol() with no ALPN offered")


def case_cadata(port):
    """load_verify_locations(cadata=...) with the CA as PEM text and as DER bytes; other-ca.pem as
    cadata fails verification; cert_store_stats() and get_ca_certs() as Debian's libssl says."""
    with open(CA) as f:
        pem = f.read()
    der = ssl.PEM_cert_to_DER_cert(pem)
    for name, data in (("PEM str", pem), ("DER bytes", der)):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(cadata=data)
        compare(f"cert_store_stats {name}", ctx.cert_store_stats())
        compare(f"get_ca_certs {name}", ctx.get_ca_certs())
        need_eq(len(ctx.get_ca_certs(binary_form=True)), 1, f"get_ca_certs(binary_form=True) count ({name})")
        try:
            with connect(port, ctx) as sock:
                check_www_page(read_www_page(sock), sock.version(), f"cadata={name}")
                evidence(f"cadata={name}: {sock.version()} verified")
        except (ssl.SSLError, OSError) as e:
            fail(f"cadata={name}: {type(e).__name__}: {e}")
    with open(OTHER_CA) as f:
        other = f.read()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cadata=other)
    try:
        sock = connect(port, ctx)
    except ssl.SSLCertVerificationError as e:
        compare("other-ca error", error_fields(e))
        evidence(f"cadata=other-ca: verify_code={e.verify_code}")
    except (ssl.SSLError, OSError) as e:
        fail(f"cadata=other-ca: {type(e).__name__}: {e}, want SSLCertVerificationError")
    else:
        fail("cadata=other-ca: the handshake succeeded")
        sock.close()


def case_session(port, v):
    """Session reuse: the first connection's sock.session given as session= to the second, which
    reports session_reused (and s_server's page says 'Reused')."""
    version = protocol(v)
    ctx = client_context()
    with connect(port, ctx) as sock:
        need_eq(sock.session_reused, False, "session_reused on the first connection")
        page = read_www_page(sock)  # TLS 1.3: the tickets arrive after the handshake
        check_www_page(page, version, "first connection")
        sess = sock.session
    if not need(sess is not None, "sock.session is None after the first connection"):
        return
    compare("session", {"has_ticket": sess.has_ticket, "ticket_lifetime_hint": sess.ticket_lifetime_hint,
                        "timeout": sess.timeout, "id_len": len(sess.id)})
    evidence(f"session id {sess.id.hex()[:16]}… has_ticket={sess.has_ticket} lifetime_hint={sess.ticket_lifetime_hint}")
    with connect(port, ctx, session=sess) as sock:
        need_eq(sock.session_reused, True, "session_reused on the second connection")
        page = read_www_page(sock)
        check_www_page(page, version, "second connection")
        need(f"Reused, {version}, " in page, f"s_server's page does not say 'Reused, {version}, '")
        sess2 = sock.session
        need(sess2 is not None, "sock.session is None on the second connection")
        if sess2 is not None and version == "TLSv1.2":
            need_eq(sess2.id, sess.id, "the resumed session's id")
        evidence(f"second connection: session_reused={sock.session_reused}")
    compare("session_stats", ctx.session_stats())


# A line protocol both asyncio cases speak: the client sends lines, the server sends each one back
# reversed (what openssl s_server -rev does); 'CLOSE' ends it.
def rev_lines():
    rnd = random.Random(19)
    sizes = [1, 10, 100, 1000, 4000, 8000, 3, 7000]
    return [bytes(rnd.choice(b"abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(n)) for n in sizes]


async def rev_client(port, ctx, what):
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection("127.0.0.1", port, ssl=ctx, server_hostname="localhost"), TIMEOUT)
    sslobj = writer.get_extra_info("ssl_object")
    sent = received = 0
    for line in rev_lines():
        writer.write(line + b"\n")
        await writer.drain()
        sent += len(line) + 1
        back = await asyncio.wait_for(reader.readline(), TIMEOUT)
        received += len(back)
        if not need_eq(back, line[::-1] + b"\n", f"{what}: the reply to a {len(line)}-byte line"):
            break
    writer.write(b"CLOSE\n")
    await writer.drain()
    writer.close()
    try:
        await asyncio.wait_for(writer.wait_closed(), TIMEOUT)
    except (ssl.SSLError, ConnectionError):
        pass  # s_server -rev closes without waiting for ours
    return sslobj.version(), sslobj.cipher(), sent, received


def case_asyncio_client(port):
    """asyncio.open_connection(ssl=create_default_context(cafile=ca.pem)) to s_server -rev."""
    version, cipher, sent, received = asyncio.run(rev_client(port, client_context(), "asyncio client"))
    need_eq(received, sent, "bytes back")
    evidence(f"asyncio client: {version} {cipher[0]}, {sent} bytes sent, {received} reversed back")


def case_asyncio_server():
    """asyncio.start_server with SSLContext(PROTOCOL_TLS_SERVER) and server.pem/key: serves the
    reversing line protocol to one client, then reports and exits."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(SERVER_CERT, SERVER_KEY)

    async def main():
        done = asyncio.get_running_loop().create_future()
        stats = {}

        async def handle(reader, writer):
            sslobj = writer.get_extra_info("ssl_object")
            stats.update(version=sslobj.version(), cipher=sslobj.cipher()[0], lines=0, bytes=0)
            try:
                while True:
                    line = await asyncio.wait_for(reader.readline(), TIMEOUT)
                    if not line or line == b"CLOSE\n":
                        break
                    writer.write(line[:-1][::-1] + b"\n")
                    await writer.drain()
                    stats["lines"] += 1
                    stats["bytes"] += len(line)
                writer.close()
                await writer.wait_closed()
            except Exception as e:  # noqa: BLE001 - reported
                stats["error"] = f"{type(e).__name__}: {e}"
            if not done.done():
                done.set_result(None)

        server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ctx)
        out("LISTENING", f"127.0.0.1:{server.sockets[0].getsockname()[1]}")
        try:
            await asyncio.wait_for(done, 25)
        except asyncio.TimeoutError:
            fail("no client finished within 25 s")
        server.close()
        await server.wait_closed()
        return stats

    stats = asyncio.run(main())
    if "error" in stats:
        fail(f"the server's connection: {stats['error']}")
    need_eq(stats.get("lines"), len(rev_lines()), "lines served")
    evidence(f"asyncio server: {stats.get('version')} {stats.get('cipher')}, {stats.get('lines')} lines, {stats.get('bytes')} bytes reversed")


def case_rev_peer(port):
    """The peer of case_asyncio_server: the same asyncio client, run on Debian's libssl."""
    version, cipher, sent, received = asyncio.run(rev_client(port, client_context(), "peer client"))
    need_eq(received, sent, "bytes back")
    evidence(f"peer client: {version} {cipher[0]}, {sent} bytes sent, {received} back")


def case_memorybio(v):
    """SSLObject over MemoryBIO pairs: client (create_default_context(cafile=ca.pem), ALPN) and server
    (PROTOCOL_TLS_SERVER, server.pem/key) in this process; handshake, 64 KiB each way, unwrap."""
    version = protocol(v)
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(SERVER_CERT, SERVER_KEY)
    sctx.set_alpn_protocols(["h2", "http/1.1"])
    cctx = client_context()
    cctx.set_alpn_protocols(["http/1.1"])
    if version == "TLSv1.2":
        cctx.maximum_version = ssl.TLSVersion.TLSv1_2
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    client = cctx.wrap_bio(c_in, c_out, server_hostname="localhost")
    server = sctx.wrap_bio(s_in, s_out, server_side=True)
    need_eq((client.server_side, server.server_side), (False, True), "server_side")

    def move():
        moved = 0
        data = c_out.read()
        if data:
            s_in.write(data)
            moved += len(data)
        data = s_out.read()
        if data:
            c_in.write(data)
            moved += len(data)
        return moved

    def step(obj, fn):
        try:
            fn()
            return True
        except ssl.SSLWantReadError:
            return False

    c_done = s_done = False
    for _ in range(50):
        if not c_done:
            c_done = step(client, client.do_handshake)
        move()
        if not s_done:
            s_done = step(server, server.do_handshake)
        move()
        if c_done and s_done:
            break
    if not need(c_done and s_done, f"the handshake did not complete (client {c_done}, server {s_done})"):
        return
    need_eq(client.version(), version, "client.version()")
    need_eq(server.version(), version, "server.version()")
    need_eq(client.selected_alpn_protocol(), "http/1.1", "client.selected_alpn_protocol()")
    need_eq(server.selected_alpn_protocol(), "http/1.1", "server.selected_alpn_protocol()")
    need_eq(client.cipher(), server.cipher(), "client.cipher() and server.cipher()")
    need_eq(server.getpeercert(), None, "server.getpeercert() (no client certificate)")
    cert = client.getpeercert()
    need_eq(dict(x[0] for x in cert.get("subject", ())).get("commonName"), "localhost", "client.getpeercert() commonName")

    def transfer(src, dst, payload):
        src.write(payload)
        got = b""
        for _ in range(200):
            move()
            try:
                while True:
                    chunk = dst.read(65536)
                    if not chunk:
                        break
                    got += chunk
            except ssl.SSLWantReadError:
                pass
            if len(got) >= len(payload):
                break
        return got

    up = random.Random(1).randbytes(65536)
    down = random.Random(2).randbytes(65536)
    got = transfer(client, server, up)
    need(got == up, f"client to server: {len(got)} bytes, sha256 {hashlib.sha256(got).hexdigest()[:16]}, want 65536 bytes, {hashlib.sha256(up).hexdigest()[:16]}")
    got = transfer(server, client, down)
    need(got == down, f"server to client: {len(got)} bytes, want 65536 bytes")
    need_eq(client.pending(), 0, "client.pending()")

    # close_notify both ways: the client's unwrap sends it, the server's answers, the client's
    # second unwrap reads the answer.
    try:
        client.unwrap()
    except ssl.SSLWantReadError:
        pass
    except ssl.SSLError as e:
        fail(f"client.unwrap() (sending close_notify): {type(e).__name__}: {e}")
    move()
    try:
        server.unwrap()
        s_closed = True
    except ssl.SSLError as e:
        s_closed = False
        fail(f"server.unwrap(): {type(e).__name__}: {e}")
    move()
    try:
        client.unwrap()
        c_closed = True
    except ssl.SSLError as e:
        c_closed = False
        fail(f"client.unwrap() after the server's close_notify: {type(e).__name__}: {e}")
    compare("memorybio", {"version": client.version(), "cipher": list(client.cipher()),
                          "alpn": client.selected_alpn_protocol(), "unwrapped": [c_closed, s_closed]})
    evidence(f"MemoryBIO: {client.version()} {client.cipher()[0]}, 64 KiB each way, unwrap client {c_closed} server {s_closed}")


CASES = {
    "info": (case_info, 0),
    "urlopen": (case_urlopen, 2),
    "httpclient": (case_httpclient, 2),
    "verify_error": (case_verify_error, 2),
    "details": (case_details, 2),
    "cadata": (case_cadata, 1),
    "session": (case_session, 2),
    "asyncio_client": (case_asyncio_client, 1),
    "asyncio_server": (case_asyncio_server, 0),
    "rev_peer": (case_rev_peer, 1),
    "memorybio": (case_memorybio, 1),
}


def main(argv):
    if len(argv) < 2 or argv[1] not in CASES or len(argv) - 2 != CASES[argv[1]][1]:
        print(f"usage: {argv[0]} {{{'|'.join(CASES)}}} ARGS...", file=sys.stderr)
        return 2
    fn, _ = CASES[argv[1]]
    # a port is a number, a version is "2" or "3", a file is a path
    args = [int(a) if a.isdigit() and len(a) > 1 else a for a in argv[2:]]
    print_maps()
    try:
        fn(*args)
    except Exception as e:  # noqa: BLE001 - every failure is a FAIL line
        import traceback

        tb = traceback.extract_tb(e.__traceback__)[-1]
        fail(f"{type(e).__name__}: {e} (at line {tb.lineno}: {tb.line})")
    print_maps()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
