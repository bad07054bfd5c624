#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Traffic for the netns tests: bounded servers and clients on real sockets.

Every operation has a timeout and a bounded count; exit status 0 means the
exchange completed, 1 that it did not (timeout, refused, reset), 2 usage.
"""
import argparse
import select
import socket
import sys
import time


def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def serve(args):
    """Echo server on TCP and UDP ports of one address until --seconds pass."""
    fam = family_of(args.addr)
    socks = []
    for port in args.tcp:
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((args.addr, port))
        s.listen(128)
        socks.append(("tcp-listen", s))
    for port in args.udp:
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.bind((args.addr, port))
        socks.append(("udp", s))
    conns = []
    deadline = time.monotonic() + args.seconds
    if args.ready:
        open(args.ready, "w").close()
    while time.monotonic() < deadline:
        rlist = [s for _, s in socks] + conns
        ready, _, _ = select.select(rlist, [], [], 0.2)
        for s in ready:
            kind = next((k for k, x in socks if x is s), "conn")
            # A peer reset (a cut relay, a denied flow) ends that connection
            # or datagram only: the server must outlive it for later checks.
            if kind == "tcp-listen":
                try:
                    c, _ = s.accept()
                    conns.append(c)
                except OSError:
                    pass
            elif kind == "udp":
                try:
                    data, peer = s.recvfrom(65535)
                    s.sendto(data, peer)
                except OSError:
                    pass
            else:
                try:
                    data = s.recv(65536)
                    if data:
                        s.sendall(data)
                except OSError:
                    data = b""
                if not data:
                    conns.remove(s)
                    s.close()
    return 0


def tcp_echo(args):
    """Connect (optionally from --src), send one message, expect it back.
    With --print-ms, print how long that took (success or failure), measured
    here so that process start-up does not count."""
    fam = family_of(args.addr)
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(args.timeout)
    t0 = time.monotonic()
    try:
        if args.src:
            s.bind((args.src, 0))
        s.connect((args.addr, args.port))
        s.sendall(b"ping")
        return 0 if s.recv(16) == b"ping" else 1
    except OSError as e:
        print(f"tcp {args.addr}:{args.port}: {e}", file=sys.stderr)
        return 1
    finally:
        s.close()
        if args.print_ms:
            print(f"{(time.monotonic() - t0) * 1000:.0f}")


def udp_echo(args):
    fam = family_of(args.addr)
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(args.timeout)
    try:
        if args.src:
            s.bind((args.src, 0))
        s.sendto(b"ping", (args.addr, args.port))
        data, _ = s.recvfrom(16)
        return 0 if data == b"ping" else 1
    except OSError as e:
        print(f"udp {args.addr}:{args.port}: {e}", file=sys.stderr)
        return 1
    finally:
        s.close()


def stream(args):
    """One TCP connection exchanging a message every --interval for --seconds;
    fails if any echo takes longer than --max-stall seconds or the connection
    breaks. Prints the number of round trips."""
    fam = family_of(args.addr)
    s = socket.create_connection((args.addr, args.port), timeout=args.max_stall)
    s.settimeout(args.max_stall)
    n = 0
    worst = 0.0
    deadline = time.monotonic() + args.seconds
    try:
        while time.monotonic() < deadline:
            t0 = time.monotonic()
            msg = b"%08d" % n
            s.sendall(msg)
            got = b""
            while len(got) < len(msg):
                chunk = s.recv(len(msg) - len(got))
                if not chunk:
                    raise OSError("connection closed")
                got += chunk
            if got != msg:
                raise OSError("corrupted echo")
            worst = max(worst, time.monotonic() - t0)
            n += 1
            time.sleep(args.interval)
    except OSError as e:
        print(f"stream broke after {n} round trips: {e}", file=sys.stderr)
        print(f"broke_at_ns {time.time_ns()}")
        return 1
    finally:
        s.close()
    print(f"{n} round trips, worst {worst * 1000:.1f} ms")
    return 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("serve")
    sp.add_argument("addr")
    sp.add_argument("--tcp", type=int, action="append", default=[])
    sp.add_argument("--udp", type=int, action="append", default=[])
    sp.add_argument("--seconds", type=float, default=60)
    sp.add_argument("--ready")
    for name in ("tcp", "udp"):
        cp = sub.add_parser(name)
        cp.add_argument("addr")
        cp.add_argument("port", type=int)
        cp.add_argument("--src")
        cp.add_argument("--timeout", type=float, default=1.0)
        if name == "tcp":
            cp.add_argument("--print-ms", action="store_true")
    st = sub.add_parser("stream")
    st.add_argument("addr")
    st.add_argument("port", type=int)
    st.add_argument("--seconds", type=float, default=3)
    st.add_argument("--interval", type=float, default=0.01)
    st.add_argument("--max-stall", type=float, default=2.0)
    args = p.parse_args()
    return {"serve": serve, "tcp": tcp_echo, "udp": udp_echo, "stream": stream}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
