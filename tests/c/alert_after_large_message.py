#!/usr/bin/env python3
"""A refused oversized handshake message must not cost the client its alert.

    alert_after_large_message.py PORT MEGABYTES

Sends a handshake record whose message header announces 16 MiB (far over any limit), then keeps
sending MEGABYTES of handshake records as a client that has not read anything yet would, and only
then reads. The server refuses at the header; it must let us finish sending and still deliver its
decode_error alert, instead of closing at once (unread input turns a close into a reset, which can
destroy the alert). Prints what it read; exit 1 if the alert did not arrive.
"""
import socket
import sys

port, mib = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port), timeout=20)
first = bytes([22, 3, 1, 0x40, 0x00, 1, 0xFF, 0xFF, 0xFF]) + bytes(0x4000 - 4)
record = bytes([22, 3, 3, 0x40, 0x00]) + bytes(0x4000)
try:
    s.sendall(first)
    for _ in range(mib * 64):
        s.sendall(record)
    s.shutdown(socket.SHUT_WR)
except OSError as e:
    print(f"the server cut us off while we were sending: {e}")
    sys.exit(1)
got = b""
try:
    while True:
        data = s.recv(4096)
        if not data:
            break
        got += data
except OSError as e:
    print(f"reading after sending: {e} (having read {got.hex()})")
    sys.exit(1)
alert = bytes([21, 3, 3, 0, 2, 2, 50])  # fatal decode_error
print(f"read {got.hex()}")
sys.exit(0 if got.startswith(alert) else 1)
