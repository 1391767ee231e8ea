"""Idle TLS connections to nginx, for bench/nginx/run.sh's memory measurement.

    /usr/bin/python3 idle_conns.py PORT N WARM

Runs on Debian's python3 (its ssl module is on Debian's OpenSSL, whatever libssl nginx runs on).
First WARM warm-up connections, one after another, each a full TLS 1.3 handshake, one request for
/64b ("Connection: close") and its response, so that what a worker allocates once is allocated
before the measurement; then prints "warm" and waits for a line on stdin. Then opens N connections,
one after another (blocking sockets), each a complete TLS 1.3 handshake and nothing more (no
request: nginx holds them as idle connections waiting for a request), prints "held N" and waits
for a line on stdin; then closes them all, prints "closed" and exits. A failure prints
"error: ..." and exits 1. The certificate is not verified (a load generator, not a test).
"""
import socket
import ssl
import sys


def main():
    port, n, warm = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    try:
        for _ in range(warm):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                with ctx.wrap_socket(s, server_hostname="localhost") as t:
                    t.sendall(b"GET /64b HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                    data = b""
                    while True:
                        d = t.recv(65536)
                        if not d:
                            break
                        data += d
                    if not data.startswith(b"HTTP/1.1 200 "):
                        raise RuntimeError("warm-up response: %r" % data[:80])
        print("warm", flush=True)
        sys.stdin.readline()
        held = []
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            t = ctx.wrap_socket(s, server_hostname="localhost")
            if t.version() != "TLSv1.3":
                raise RuntimeError("negotiated %s" % t.version())
            held.append(t)
        print("held %d" % len(held), flush=True)
        sys.stdin.readline()
        for t in held:
            t.close()
        print("closed", flush=True)
    except Exception as e:  # noqa: BLE001 - reported to the script, which shows it
        print("error: %s: %s" % (type(e).__name__, e), flush=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
