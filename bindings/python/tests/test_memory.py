"""Memory under requests: 300 new connections with one context, requests loading certifi's
bundle into it before each one (what ``verify=True`` does). ferrotls's RSS must grow no more
than an order of magnitude over the stdlib's in the same run. Client and server run in their
own processes, so each RSS is the client's alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import trustme

from conftest import LIB, PKG_DIR, TIMEOUT

CONNECTIONS = 300
WARMUP = 30

SERVER = textwrap.dedent(r"""
    import http.server, ssl, sys, threading, time
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[1])
    stats = {"conns": 0, "resumed": 0}

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self):
            self.request.settimeout(10)
            self.request.do_handshake()
            stats["conns"] += 1
            stats["resumed"] += self.request.session_reused
            super().setup()

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"ok")
            self.close_connection = True

        def log_message(self, *a):
            pass

    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, *a):
            pass

    srv = Server(("127.0.0.1", 0), Handler)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    print(srv.server_address[1], flush=True)
    sys.stdin.readline()          # the test closes stdin when it is done (or the deadline ends us)
    print(stats["conns"], stats["resumed"], flush=True)
""")

CLIENT = textwrap.dedent(r"""
    import gc, json, os, ssl, sys, time
    import requests
    variant, port, ca, n, warmup = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    if variant == "ferrotls":
        import ferrotls
        ctx = ferrotls.create_default_context(cafile=ca)
    else:
        ctx = ssl.create_default_context(cafile=ca)

    class Adapter(requests.adapters.HTTPAdapter):
        def init_poolmanager(self, *a, **kw):
            kw["ssl_context"] = ctx
            return super().init_poolmanager(*a, **kw)

    page = os.sysconf("SC_PAGE_SIZE")
    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * page

    s = requests.Session()
    s.mount("https://", Adapter())
    url = "https://localhost:%d/" % port
    for _ in range(warmup):
        assert s.get(url, timeout=10).content == b"ok"
    gc.collect()
    r0, t0 = rss(), time.perf_counter()
    for _ in range(n):
        assert s.get(url, timeout=10).content == b"ok"
    dt = time.perf_counter() - t0
    gc.collect()
    print(json.dumps({"growth": rss() - r0, "rss": rss(), "ms": dt / n * 1e3}))
""")


def _measure(variant, ca_file, chain_file):
    env = dict(os.environ, FERROTLS_LIBRARY=str(LIB), PYTHONPATH=str(PKG_DIR))
    server = subprocess.Popen([sys.executable, "-c", SERVER, chain_file], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env=env)
    try:
        port = int(server.stdout.readline())
        r = subprocess.run([sys.executable, "-c", CLIENT, variant, str(port), ca_file,
                            str(CONNECTIONS), str(WARMUP)], capture_output=True, text=True,
                           env=env, timeout=TIMEOUT * 9)
        assert r.returncode == 0, r.stderr
        result = json.loads(r.stdout)
        server.stdin.close()
        conns, resumed = map(int, server.stdout.readline().split())
        result.update(conns=conns, resumed=resumed)
        return result
    finally:
        server.kill()
        server.wait(TIMEOUT)


def test_rss_flat_over_300_new_requests_connections(tmp_path, capsys):
    ca = trustme.CA()
    ca_file, chain_file = str(tmp_path / "ca.pem"), str(tmp_path / "server.pem")
    ca.cert_pem.write_to_path(ca_file)
    ca.issue_cert("localhost").private_key_and_cert_chain_pem.write_to_path(chain_file)
    stdlib = _measure("stdlib", ca_file, chain_file)
    ours = _measure("ferrotls", ca_file, chain_file)
    with capsys.disabled():
        for name, m in (("stdlib", stdlib), ("ferrotls", ours)):
            print("\n  RSS over %d new requests connections, %s: %+.0f KiB (%.1f KiB each), "
                  "%.2f ms/request, resumed %d of %d" % (
                      CONNECTIONS, name, m["growth"] / 1024, m["growth"] / 1024 / CONNECTIONS,
                      m["ms"], m["resumed"], m["conns"]), end="")
        print()
    assert stdlib["conns"] == ours["conns"] == CONNECTIONS + WARMUP
    # Before: +292 KiB per connection (87 MB in all). Now within 10x of the stdlib's growth
    # (with a 2 MiB floor: the stdlib's own growth is allocator noise, around 1 MB or less).
    bound = max(10 * stdlib["growth"], 2 * 1024 * 1024)
    assert ours["growth"] <= bound, (ours, stdlib)
    # The session cache survives requests's per-connection settings: ours resume.
    assert ours["resumed"] >= CONNECTIONS + WARMUP - 1, ours
