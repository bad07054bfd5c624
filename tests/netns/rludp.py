#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""A UDP flow that lasts, for the rootless tests.

  rludp.py ADDR PORT SECONDS [MAX_STALL]

One socket (one source port: one flow) sends a numbered datagram every 20 ms
to an echo server for SECONDS and checks the echoes. Exit 0 if echoes kept
coming (no gap longer than MAX_STALL seconds, default 1), 1 when they
stopped: the flow was cut. Prints the number of echoes.
"""
import socket
import sys
import time


def main():
    addr, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    max_stall = float(sys.argv[4]) if len(sys.argv) > 4 else 1.0
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.connect((addr, port))
    s.settimeout(0.02)
    n, sent, last = 0, 0, time.monotonic()
    deadline = last + seconds
    while time.monotonic() < deadline:
        s.send(b"%08d" % sent)
        sent += 1
        try:
            while True:
                s.recv(64)
                n += 1
                last = time.monotonic()
        except (socket.timeout, BlockingIOError, ConnectionRefusedError):
            pass
        if time.monotonic() - last > max_stall:
            print(f"echoes stopped after {n} of {sent}", file=sys.stderr)
            return 1
    print(f"{n} echoes of {sent}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
