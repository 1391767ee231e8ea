#!/usr/bin/env python3
"""Threaded TLS echo server with ferrotls: python3 echo_server.py --cert CERT --key KEY --port N

Prints "listening on HOST:PORT" to stderr (use --port 0 for a free port)."""

import argparse
import socket
import sys
import threading

import ferrotls


def serve(ctx, raw, addr):
    try:
        with ctx.wrap_socket(raw, server_side=True) as s:
            while True:
                data = s.recv(65536)
                if not data:
                    break
                s.sendall(data)
    except (ferrotls.SSLError, OSError) as e:
        print("echo_server: %s:%d: %s" % (addr[0], addr[1], e), file=sys.stderr)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8443)
    ap.add_argument("--max-conns", type=int, default=0, help="exit after N connections")
    args = ap.parse_args()

    ctx = ferrotls.Context(ferrotls.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    with socket.create_server((args.host, args.port)) as ls:
        host, port = ls.getsockname()[:2]
        print("echo_server: listening on %s:%d" % (host, port), file=sys.stderr, flush=True)
        threads = []
        n = 0
        while not args.max_conns or n < args.max_conns:
            raw, addr = ls.accept()
            t = threading.Thread(target=serve, args=(ctx, raw, addr), daemon=True)
            t.start()
            threads.append(t)
            n += 1
        for t in threads:
            t.join()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
