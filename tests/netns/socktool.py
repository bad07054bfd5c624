#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Socket traffic for the tests/netns/test_sock_*.sh tests.

Every operation is bounded in time and count. `connect` prints what one
connect() or sendto() came to (connected, sent, or the errno name); the
others exit 0 when every byte came back as sent, 1 otherwise, 2 on usage.
"""
import argparse
import errno
import os
import random
import select
import socket
import sys
import threading
import time


def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def outcome(e):
    if isinstance(e, socket.timeout):
        return "timeout"
    return errno.errorcode.get(e.errno, str(e))


def connect(args):
    """One TCP connect() or one UDP sendto(); print the outcome."""
    kind = socket.SOCK_DGRAM if args.udp else socket.SOCK_STREAM
    s = socket.socket(family_of(args.addr), kind)
    s.settimeout(args.timeout)
    try:
        if args.udp and args.connected:
            s.connect((args.addr, args.port))
            s.send(b"x")
            print("sent")
        elif args.udp:
            s.sendto(b"x", (args.addr, args.port))
            print("sent")
        else:
            s.connect((args.addr, args.port))
            print("connected")
    except OSError as e:
        print(outcome(e))
    finally:
        s.close()
    return 0


def echo_conn(c):
    try:
        while True:
            data = c.recv(1 << 16)
            if not data:
                break
            c.sendall(data)
        c.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    finally:
        c.close()


def serve(args):
    """Threaded TCP echo server; answers EOF with EOF (half-close)."""
    listeners = []
    for port in args.tcp:
        s = socket.socket(family_of(args.addr), socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((args.addr, port))
        s.listen(256)
        s.settimeout(0.2)
        listeners.append(s)
    if args.ready:
        open(args.ready, "w").close()
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select(listeners, [], [], 0.2)
        for s in ready:
            try:
                c, _ = s.accept()
            except (socket.timeout, BlockingIOError):
                continue
            c.settimeout(args.seconds)
            threading.Thread(target=echo_conn, args=(c,), daemon=True).start()
    return 0


def one_transfer(addr, port, nbytes, timeout, results, i):
    """Send nbytes while reading the echo, half-close, read to EOF, compare."""
    data = os.urandom(nbytes)
    got = bytearray()
    try:
        s = socket.create_connection((addr, port), timeout=timeout)
    except OSError as e:
        results[i] = f"connect: {outcome(e)}"
        return

    def reader():
        try:
            while True:
                chunk = s.recv(1 << 16)
                if not chunk:
                    break
                got.extend(chunk)
        except OSError as e:
            results[i] = f"recv: {outcome(e)}"

    t = threading.Thread(target=reader)
    t.start()
    try:
        view = memoryview(data)
        sizes = (1, 1000, 4096, 65536, 131079, 17)  # uneven writes
        off = k = 0
        while off < nbytes:
            n = sizes[k % len(sizes)]
            s.sendall(view[off:off + n])
            off += n
            k += 1
        s.shutdown(socket.SHUT_WR)
    except OSError as e:
        results[i] = f"send: {outcome(e)}"
    t.join(timeout)
    s.close()
    if results[i] is None:
        results[i] = "ok" if bytes(got) == data else f"mismatch ({len(got)} of {nbytes} bytes)"


def transfer(args):
    results = [None] * args.conns
    threads = [threading.Thread(target=one_transfer,
                                args=(args.addr, args.port, args.bytes, args.timeout, results, i))
               for i in range(args.conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(args.timeout * 2)
    bad = [r for r in results if r != "ok"]
    for r in bad[:5]:
        print(r, file=sys.stderr)
    return 1 if bad else 0


def rr(args):
    """--count request/response round trips of --size bytes on one connection."""
    s = socket.create_connection((args.addr, args.port), timeout=args.timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        for i in range(args.count):
            msg = i.to_bytes(4, "big") * (args.size // 4)
            s.sendall(msg)
            got = b""
            while len(got) < len(msg):
                chunk = s.recv(len(msg) - len(got))
                if not chunk:
                    return 1
                got += chunk
            if got != msg:
                return 1
    except OSError as e:
        print(f"rr: {outcome(e)}", file=sys.stderr)
        return 1
    finally:
        s.close()
    return 0


def hold(args):
    """Exchange once, tell --ready, wait for --go, exchange again; print the outcome."""
    s = socket.create_connection((args.addr, args.port), timeout=args.timeout)
    try:
        s.sendall(b"first")
        if s.recv(16) != b"first":
            print("bad-echo")
            return 1
    except OSError as e:
        print(f"first: {outcome(e)}")
        return 1
    open(args.ready, "w").close()
    deadline = time.monotonic() + args.timeout
    while not os.path.exists(args.go) and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        s.sendall(b"again")
        print("ok" if s.recv(16) == b"again" else "bad-echo")
    except OSError as e:
        print(outcome(e))
    finally:
        s.close()
    return 0


def recv_blocking(s, n, counters, at_end):
    """recv() on a blocking socket; a spurious EAGAIN is counted and retried."""
    for _ in range(100):
        try:
            return s.recv(n)
        except BlockingIOError:
            counters["eagain-at-eof" if at_end() else "eagain-mid-data"] += 1
            select.select([s], [], [], 1.0)
    raise TimeoutError("recv kept failing with EAGAIN")


def halfclose(args):
    """--count exchanges on blocking sockets: send, SHUT_WR, read the echo to EOF."""
    counters = {"eagain-at-eof": 0, "eagain-mid-data": 0, "wrong": 0}
    rng = random.Random(7)
    start = time.monotonic()
    for _ in range(args.count):
        data = os.urandom(rng.randint(1, args.max_bytes))
        s = socket.create_connection((args.addr, args.port), timeout=args.timeout)
        s.settimeout(None)  # real blocking reads, as most C programs do
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        got = bytearray()
        while True:
            chunk = recv_blocking(s, 1 << 16, counters, lambda: len(got) == len(data))
            if not chunk:
                break
            got.extend(chunk)
        s.close()
        counters["wrong"] += bytes(got) != data
    print(f"exchanges {args.count} wrong {counters['wrong']} spurious-eagain at-eof "
          f"{counters['eagain-at-eof']} mid-data {counters['eagain-mid-data']} "
          f"ms-per-exchange {(time.monotonic() - start) * 1000 / args.count:.1f}")
    return 1 if counters["wrong"] else 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("connect")
    c.add_argument("addr")
    c.add_argument("port", type=int)
    c.add_argument("--udp", action="store_true")
    c.add_argument("--connected", action="store_true", help="UDP: connect() then send()")
    c.add_argument("--timeout", type=float, default=2)
    s = sub.add_parser("serve")
    s.add_argument("addr")
    s.add_argument("--tcp", type=int, action="append", default=[])
    s.add_argument("--seconds", type=float, default=60)
    s.add_argument("--ready")
    t = sub.add_parser("transfer")
    t.add_argument("addr")
    t.add_argument("port", type=int)
    t.add_argument("--bytes", type=int, default=1 << 20)
    t.add_argument("--conns", type=int, default=1)
    t.add_argument("--timeout", type=float, default=30)
    r = sub.add_parser("rr")
    r.add_argument("addr")
    r.add_argument("port", type=int)
    r.add_argument("--count", type=int, default=1000)
    r.add_argument("--size", type=int, default=64)
    r.add_argument("--timeout", type=float, default=10)
    h = sub.add_parser("hold")
    h.add_argument("addr")
    h.add_argument("port", type=int)
    h.add_argument("--ready", required=True)
    h.add_argument("--go", required=True)
    h.add_argument("--timeout", type=float, default=20)
    hc = sub.add_parser("halfclose")
    hc.add_argument("addr")
    hc.add_argument("port", type=int)
    hc.add_argument("--count", type=int, default=500)
    hc.add_argument("--max-bytes", type=int, default=1 << 18)
    hc.add_argument("--timeout", type=float, default=10)
    args = p.parse_args()
    return {"connect": connect, "serve": serve, "transfer": transfer, "rr": rr,
            "hold": hold, "halfclose": halfclose}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
