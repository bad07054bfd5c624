#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Bulk and half-close through a relay, for test_rootless.sh.

  rlsha.py serve ADDR PORT SECONDS   read until EOF, answer the SHA-256 hex, close
  rlsha.py send ADDR PORT MIB        send MIB MiB, shutdown(SHUT_WR), expect the digest

The answer can only arrive if the sender's EOF was forwarded while the other
direction stayed open. Exit 0 on a matching digest, 1 otherwise.
"""
import hashlib
import os
import select
import socket
import sys
import time


def serve(addr, port, seconds):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    ls = socket.socket(fam, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(16)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not select.select([ls], [], [], 0.2)[0]:
            continue
        c, _ = ls.accept()
        c.settimeout(10)
        h = hashlib.sha256()
        try:
            while True:
                data = c.recv(1 << 16)
                if not data:
                    break
                h.update(data)
            c.sendall(h.hexdigest().encode())
        except OSError:
            pass
        c.close()
    return 0


def send(addr, port, mib):
    s = socket.create_connection((addr, port), timeout=10)
    h = hashlib.sha256()
    block = os.urandom(1 << 20)
    for i in range(mib):
        chunk = bytes([i & 0xFF]) + block[1:]
        h.update(chunk)
        s.sendall(chunk)
    s.shutdown(socket.SHUT_WR)
    got = b""
    while True:
        data = s.recv(128)
        if not data:
            break
        got += data
    s.close()
    if got.decode() != h.hexdigest():
        print(f"digest mismatch: {got!r}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 5 or sys.argv[1] not in ("serve", "send"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    fn = serve if sys.argv[1] == "serve" else send
    sys.exit(fn(sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
