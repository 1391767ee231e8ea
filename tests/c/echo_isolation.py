#!/usr/bin/env python3
"""One connection's bytes must never reach another: a regression test for ferrotls-server --echo.

    echo_isolation.py PORT CAFILE [ROUNDS]

Each round, client A (Python's ssl) sends 208 marked bytes. tests/c/run.sh runs the server with
tests/c/fail_send.c preloaded, which makes the send() of their echo (one 230-byte TLS 1.3
record) fail with ECONNRESET: the connection fails while its echo is still pending, as when a
client resets the connection between sending and reading. Client B connects next and takes A's
slot; it sends nothing for a while and must receive nothing, then it sends one line and must get
exactly that line back. Exits 1, saying what B received, if any of A's bytes reached it.
"""
import socket
import ssl
import sys
import time

MARK = b"A-SECRET-0123456789abcdef\n"


def client_a(port, ctx):
    """Sends 208 bytes and waits for the server to drop the connection (run.sh makes the
    server's send of their echo fail; without that the echo comes back and A just leaves)."""
    a = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="localhost")
    a.sendall(MARK * 8)
    a.settimeout(2.0)
    try:
        while a.recv(65536):
            pass
    except (OSError, ssl.SSLError):
        pass
    a.close()


def client_b(port, ctx):
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    b = ctx.wrap_socket(raw, server_hostname="localhost")
    b.settimeout(1.0)
    got = b""
    try:
        while True:
            data = b.recv(65536)
            if not data:
                break
            got += data
    except (socket.timeout, ssl.SSLError):
        pass
    if got:
        return got
    b.settimeout(10)
    line = b"B says hello\n"
    b.sendall(line)
    echoed = b""
    while len(echoed) < len(line):
        data = b.recv(65536)
        if not data:
            break
        echoed += data
    b.close()
    return None if echoed == line else echoed


def main():
    port = int(sys.argv[1])
    ctx = ssl.create_default_context(cafile=sys.argv[2])
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    for i in range(rounds):
        client_a(port, ctx)
        wrong = client_b(port, ctx)
        if wrong is not None:
            whose = " (client A's data)" if MARK in wrong else ""
            print(f"round {i + 1}: client B received {len(wrong)} bytes it never sent{whose}: {wrong[:60]!r}")
            return 1
        print(f"round {i + 1}: client B got only its own echo")
    return 0


if __name__ == "__main__":
    sys.exit(main())
