#!/usr/bin/env python3
"""HTTPS GET with ferrotls: python3 https_get.py [--cafile CA] https://localhost:PORT/"""

import argparse
import socket
import sys
from urllib.parse import urlsplit

import ferrotls


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("url")
    ap.add_argument("--cafile", help="trust anchors (PEM); default: the system's")
    ap.add_argument("--timeout", type=float, default=10.0)
    args = ap.parse_args()

    u = urlsplit(args.url)
    if u.scheme != "https" or not u.hostname:
        ap.error("need an https:// URL")
    port = u.port or 443
    path = (u.path or "/") + ("?" + u.query if u.query else "")

    ctx = ferrotls.create_default_context(cafile=args.cafile)
    ctx.set_alpn_protocols(["http/1.1"])
    try:
        with socket.create_connection((u.hostname, port), timeout=args.timeout) as raw:
            with ctx.wrap_socket(raw, server_hostname=u.hostname) as s:
                print("* %s, %s" % (s.version(), s.cipher()[0]), file=sys.stderr)
                s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n"
                           "User-Agent: ferrotls-python\r\n\r\n" % (path, u.netloc)).encode())
                while True:
                    data = s.recv(65536)
                    if not data:
                        break
                    sys.stdout.buffer.write(data)
    except ferrotls.SSLCertVerificationError as e:
        print("https_get: certificate rejected: %s" % e.verify_message, file=sys.stderr)
        return 1
    except (ferrotls.SSLError, OSError) as e:
        print("https_get: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
