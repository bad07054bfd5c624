#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Client side of the sidecar tests: real HTTP requests against
bpfmesh-sidecar's Dapr API, concurrent histories, and a small
linearizability checker. Each subcommand prints "ok: ..." / "FAIL: ..." lines
and exits 1 when anything failed."""
import http.client
import json
import random
import sys
import threading
import time

FAILS = []


def check(name, cond, detail=""):
    if cond:
        print("ok: " + name)
    else:
        print("FAIL: %s %s" % (name, detail))
        FAILS.append(name)


def req(port, method, path, body=None, headers=None, raw=None, timeout=10):
    """One request on a fresh connection: (status, headers dict, body bytes)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    c.request(method, path, body=data, headers=headers or {})
    r = c.getresponse()
    out = (r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    c.close()
    return out


def save(port, items, store="statestore"):
    return req(port, "POST", "/v1.0/state/%s" % store, items)[0]


def get(port, key, store="statestore", strong=False):
    """(value or None, etag or None)."""
    q = "?consistency=strong" if strong else ""
    st, h, b = req(port, "GET", "/v1.0/state/%s/%s%s" % (store, key, q))
    if st == 204:
        return None, None
    if st != 200:
        raise RuntimeError("get %s: %d %s" % (key, st, b))
    return json.loads(b), h.get("etag")


def raw_exchange(port, data, timeout=5):
    """Send raw bytes, return the status line's code (0 if none)."""
    import socket
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    resp = b""
    try:
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may answer and stop reading before all is sent
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            resp += chunk
    except OSError:
        pass
    finally:
        s.close()
    line = resp.split(b"\r\n", 1)[0].split(b" ")
    return int(line[1]) if len(line) > 1 and line[1].isdigit() else 0


def snapshot(port, keys):
    return {k: get(port, k) for k in keys}


def cmd_api(port):
    """The API surface and the 4xx cases, each of which must change nothing."""
    port = int(port)
    check("healthz 204", req(port, "GET", "/v1.0/healthz")[0] == 204)
    st, _, b = req(port, "GET", "/v1.0/metadata")
    md = json.loads(b) if st == 200 else {}
    check("metadata lists statestore", st == 200 and any(
        c["name"] == "statestore" for c in md.get("components", [])), b)
    check("save 204", save(port, [{"key": "k1", "value": {"n": 1}},
                                  {"key": "k 2/ü", "value": "two"}]) == 204)
    v, etag = get(port, "k1")
    check("get value", v == {"n": 1}, v)
    check("get etag", etag is not None and etag.isdigit(), etag)
    check("key with space, slash, utf-8", get(port, "k%202%2F%C3%BC")[0] == "two")
    check("missing key 204", get(port, "nope") == (None, None))
    st, _, b = req(port, "POST", "/v1.0/state/statestore/bulk", {"keys": ["k1", "nope"]})
    bulk = json.loads(b) if st == 200 else []
    check("bulk", st == 200 and bulk[0].get("data") == {"n": 1} and "data" not in bulk[1], b)
    st, _, b = req(port, "POST", "/v1.0/state/statestore/transaction", {"operations": [
        {"operation": "upsert", "request": {"key": "t1", "value": 1}},
        {"operation": "delete", "request": {"key": "k 2/ü"}}]})
    check("transaction 204", st == 204, b)
    check("transaction applied", get(port, "t1")[0] == 1 and get(port, "k%202%2F%C3%BC")[0] is None)

    keys = ["k1", "t1", "fresh", "big", "k%202%2F%C3%BC"]
    before = snapshot(port, keys)
    big = b"[" + b'{"key":"big","value":"' + b"x" * (5 << 20) + b'"}]'
    bad = [
        ("bad JSON", 400, "POST", "/v1.0/state/statestore", b'[{"key": "k1", "value": ', None),
        ("not an array", 400, "POST", "/v1.0/state/statestore", b'{"key":"k1"}', None),
        ("item without key", 400, "POST", "/v1.0/state/statestore",
         b'[{"key":"fresh","value":1},{"value":2}]', None),
        ("empty key", 400, "POST", "/v1.0/state/statestore", b'[{"key":"","value":1}]', None),
        ("bad etag text", 400, "POST", "/v1.0/state/statestore",
         b'[{"key":"fresh","value":1},{"key":"k1","value":9,"etag":"abc"}]', None),
        ("bad etag zero", 400, "POST", "/v1.0/state/statestore",
         b'[{"key":"k1","value":9,"etag":"0"}]', None),
        ("stale etag 409", 409, "POST", "/v1.0/state/statestore",
         b'[{"key":"k1","value":9,"etag":"999999"}]', None),
        ("bad concurrency", 400, "POST", "/v1.0/state/statestore",
         b'[{"key":"k1","value":9,"options":{"concurrency":"sometimes"}}]', None),
        ("first-write on existing 409", 409, "POST", "/v1.0/state/statestore",
         b'[{"key":"k1","value":9,"options":{"concurrency":"first-write"}}]', None),
        ("unknown store", 400, "POST", "/v1.0/state/nostore", b'[{"key":"k1","value":9}]', None),
        ("wrong method PUT", 405, "PUT", "/v1.0/state/statestore", b'[]', None),
        ("wrong method PATCH key", 405, "PATCH", "/v1.0/state/statestore/k1", b'1', None),
        ("delete bad etag", 400, "DELETE", "/v1.0/state/statestore/k1", None, {"If-Match": "x"}),
        ("delete stale etag", 409, "DELETE", "/v1.0/state/statestore/k1", None,
         {"If-Match": "999999"}),
        ("transaction bad op", 400, "POST", "/v1.0/state/statestore/transaction",
         b'{"operations":[{"operation":"upsert","request":{"key":"fresh","value":1}},'
         b'{"operation":"drop","request":{"key":"k1"}}]}', None),
        ("bulk bad keys", 400, "POST", "/v1.0/state/statestore/bulk", b'{"keys":[1]}', None),
        ("unknown route", 404, "GET", "/v1.0/nothing", None, None),
        ("value over 900 KiB -> 413", 413, "POST", "/v1.0/state/statestore",
         b'[{"key":"fresh","value":1},{"key":"big","value":"' + b"y" * (1 << 20) + b'"}]', None),
    ]
    for name, want, method, path, raw, headers in bad:
        st, _, b = req(port, method, path, raw=raw, headers=headers)
        ok = st == want
        if ok and want != 404:
            e = json.loads(b)
            ok = set(e) == {"errorCode", "message"} and e["errorCode"].startswith("ERR_")
        check("%s -> %d" % (name, want), ok, "%d %s" % (st, b[:200]))
    check("oversized body -> 413", raw_exchange(port, b"POST /v1.0/state/statestore HTTP/1.1\r\n"
          b"Host: x\r\nContent-Length: %d\r\n\r\n" % len(big) + big[:1 << 20]) == 413)
    check("oversized head -> 431", raw_exchange(
        port, b"GET /v1.0/healthz HTTP/1.1\r\nX: " + b"a" * 20000 + b"\r\n\r\n") == 431)
    check("garbage request line -> 400", raw_exchange(port, b"HELLO\r\n\r\n") == 400)
    check("HTTP/2.0 -> 505", raw_exchange(port, b"GET / HTTP/2.0\r\n\r\n") == 505)
    check("chunked upload -> 501", raw_exchange(
        port, b"POST /v1.0/state/statestore HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        == 501)
    check("bad content-length -> 400", raw_exchange(
        port, b"POST /v1.0/state/statestore HTTP/1.1\r\nContent-Length: -1\r\n\r\n") == 400)
    check("4xx changed nothing", snapshot(port, keys) == before, (before, snapshot(port, keys)))

    # Expect: 100-continue (curl sends it for bodies over 1 KiB).
    import socket
    sk = socket.create_connection(("127.0.0.1", port), timeout=5)
    body = json.dumps([{"key": "cont", "value": "z" * 2000}]).encode()
    sk.sendall(b"POST /v1.0/state/statestore HTTP/1.1\r\nContent-Length: %d\r\n"
               b"Expect: 100-continue\r\n\r\n" % len(body))
    interim = sk.recv(100)
    sk.sendall(body)
    final = sk.recv(1000)
    sk.close()
    check("Expect: 100-continue", interim.startswith(b"HTTP/1.1 100") and b" 204 " in final,
          (interim, final))

    # Keep-alive: several requests on one connection.
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    codes = []
    for _ in range(3):
        c.request("GET", "/v1.0/healthz")
        r = c.getresponse()
        r.read()
        codes.append(r.status)
    c.close()
    check("keep-alive", codes == [204, 204, 204], codes)
    v, etag = get(port, "k1")
    check("CAS with current etag",
          save(port, [{"key": "k1", "value": 2, "etag": etag}]) == 204 and get(port, "k1")[0] == 2)
    st = req(port, "DELETE", "/v1.0/state/statestore/k1", headers={"If-Match": get(port, "k1")[1]})[0]
    check("delete with If-Match", st == 204 and get(port, "k1")[0] is None)


def cmd_cas(port, clients, rounds):
    """Many clients CAS the same revision at once: exactly one wins per revision."""
    port, clients, rounds = int(port), int(clients), int(rounds)
    save(port, [{"key": "cas", "value": 0}])
    bad = []
    for rnd in range(rounds):
        _, etag = get(port, "cas")
        results = [None] * clients
        barrier = threading.Barrier(clients)

        def worker(i):
            barrier.wait()
            results[i] = save(port, [{"key": "cas", "value": [rnd, i], "etag": etag}])
        ts = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        winners = [i for i, r in enumerate(results) if r == 204]
        others = [r for r in results if r != 204]
        v, _ = get(port, "cas")
        if len(winners) != 1 or set(others) - {409} or v != [rnd, winners[0]]:
            bad.append((rnd, results, v))
    check("%d rounds x %d clients: one CAS winner per revision" % (rounds, clients), not bad,
          bad[:3])


def now():
    return time.monotonic()


def run_history(port, keys, clients, ops_per_client, seed):
    """Concurrent reads, writes and CAS; returns per-key lists of operations."""
    hist = {k: [] for k in keys}
    lock = threading.Lock()

    def client(cid):
        rnd = random.Random(seed * 1000 + cid)
        for n in range(ops_per_client):
            key = rnd.choice(keys)
            kind = rnd.choice(["read", "write", "cas"])
            val = "c%d-%d" % (cid, n)
            t0 = now()
            try:
                if kind == "read":
                    v, e = get(port, key, strong=True)
                    res = ("ok", v, e)
                elif kind == "write":
                    st, h, b = req(port, "POST", "/v1.0/state/statestore",
                                   [{"key": key, "value": val}])
                    if st == 503 and b"not connected" in b:
                        continue  # no server took it: it did not happen
                    res = ("ok",) if st == 204 else ("info",)
                else:
                    seen, e = get(port, key)
                    t0 = now()
                    if e is None:
                        continue
                    st, h, b = req(port, "POST", "/v1.0/state/statestore",
                                   [{"key": key, "value": val, "etag": e}])
                    if st == 503 and b"not connected" in b:
                        continue
                    res = ("ok",) if st == 204 else ("fail",) if st == 409 else ("info",)
                    kind = ("cas", seen)
            except Exception:
                if kind == "read":
                    continue  # a read that failed tells nothing
                res = ("info",)
            t1 = now()
            with lock:
                hist[key].append({"kind": kind, "val": val, "res": res, "t0": t0,
                                  "t1": t1 if res[0] != "info" else float("inf")})
    ts = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return hist


def linearizable(ops, init):
    """Wing & Gong search with memoization over one register. State is the
    value alone: the sidecar's ETags are revisions the model cannot predict, but
    every write stores a unique value, so "the revision the CAS's read saw is
    still current" is "the register still holds the value that read saw". An
    op whose outcome is unknown ("info") may take effect or not."""
    n = len(ops)
    seen = set()
    sys.setrecursionlimit(10000)
    full = (1 << n) - 1

    def step(o, state):
        """List of possible next states (empty: o cannot happen now)."""
        k, res = o["kind"], o["res"]
        if k == "read":
            return [state] if res[1] == state else []
        if k == "write":
            return [o["val"]] if res[0] == "ok" else [o["val"], state]
        exp = k[1]
        if res[0] == "ok":
            return [o["val"]] if exp == state else []
        if res[0] == "fail":
            return [state] if exp != state else []
        return [o["val"], state] if exp == state else [state]

    def dfs(done, state):
        if done == full:
            return True
        if (done, state) in seen:
            return False
        seen.add((done, state))
        pending = [i for i in range(n) if not done >> i & 1]
        horizon = min(ops[i]["t1"] for i in pending)
        for i in pending:
            if ops[i]["t0"] > horizon:
                continue
            for nxt in step(ops[i], state):
                if dfs(done | 1 << i, nxt):
                    return True
        # Ops with unknown outcome may never take effect.
        if all(ops[i]["res"][0] == "info" for i in pending):
            return True
        return False
    return dfs(0, init)


def cmd_linearizable(port, clients, ops_per_client):
    port = int(port)
    keys = ["lin-a", "lin-b", "lin-c"]
    # The checker starts from "init": it must really be there (a server may
    # be dying right now, so retry until the write is acknowledged).
    for k in keys:
        t0, st = now(), 0
        while st != 204 and now() - t0 < 30:
            try:
                st = save(port, [{"key": k, "value": "init"}])
            except Exception:
                st = 0
            if st != 204:
                time.sleep(0.2)
        if st != 204:
            check("initial write of %s acknowledged" % k, False)
            return
    hist = run_history(port, keys, int(clients), int(ops_per_client), 7)
    total = sum(len(v) for v in hist.values())
    for k in keys:
        ops = sorted(hist[k], key=lambda o: o["t0"])
        ok = linearizable(ops, "init")
        check("history on %s (%d ops) is linearizable" % (k, len(ops)), ok)
        if not ok:
            for o in ops:
                print("  %-12s %-8s %-24s %.3f %.3f" % (o["kind"] if isinstance(o["kind"], str)
                      else "cas(%s)" % o["kind"][1], o["val"], o["res"], o["t0"], o["t1"]))
    # The checker must be able to say no: a read of a value nobody wrote.
    fake = [{"kind": "write", "val": "x", "res": ("ok",), "t0": 0, "t1": 1},
            {"kind": "read", "val": "", "res": ("ok", "y", "1"), "t0": 2, "t1": 3}]
    stale = [{"kind": "write", "val": "x", "res": ("ok",), "t0": 0, "t1": 1},
             {"kind": "write", "val": "z", "res": ("ok",), "t0": 2, "t1": 3},
             {"kind": "read", "val": "", "res": ("ok", "x", "1"), "t0": 4, "t1": 5}]
    check("checker rejects impossible and stale reads",
          not linearizable(fake, "init") and not linearizable(stale, "init"))
    print("recorded %d operations" % total)


def cmd_fill(port, prefix, count, first, min_s="0"):
    """Sequential writes prefix-N = N (N from first), at least count of them and
    for at least min_s seconds (so that writes span a failure however slowly
    this starts); prints the acknowledged Ns."""
    port, count, first, min_s = int(port), int(count), int(first), float(min_s)
    acked, t0, errs = [], now(), {}
    i = first - 1
    while i + 1 < first + count or (now() - t0 < min_s and i < first + 50 * count):
        i += 1
        if errs and now() - t0 < min_s:
            time.sleep(0.005)  # do not spin through an outage
        try:
            st, _, b = req(port, "POST", "/v1.0/state/statestore",
                           [{"key": "%s-%d" % (prefix, i), "value": i}])
            if st == 204:
                acked.append(i)
            else:
                errs.setdefault("%d %s" % (st, b[:80]), "%.2f s" % (now() - t0))
        except Exception as e:
            errs.setdefault(repr(e), "%.2f s" % (now() - t0))
    for e, t in errs.items():
        print("fill %s: first failure of this kind at %s: %s" % (prefix, t, e), file=sys.stderr)
    print("fill %s: %d of %d acknowledged in %.2f s" % (prefix, len(acked), i + 1 - first,
          now() - t0), file=sys.stderr)
    print(json.dumps(acked))


def cmd_expect(port, prefix, acked_file):
    port = int(port)
    acked = []
    for line in open(acked_file):
        acked += json.loads(line)
    missing = []
    for i in acked:
        try:
            if get(port, "%s-%d" % (prefix, i), strong=True)[0] != i:
                missing.append(i)
        except Exception:
            missing.append(i)
    check("all %d acknowledged %s-* writes readable" % (len(acked), prefix),
          not missing and acked, missing[:10])


def cmd_concurrent(ports, prefix, count):
    """Each sidecar writes count keys, plus all write the same hot keys at once."""
    ports = [int(p) for p in ports.split(",")]

    def writer(p, idx):
        for i in range(int(count)):
            save(p, [{"key": "%s-%d-%d" % (prefix, idx, i), "value": i},
                     {"key": "%s-hot-%d" % (prefix, i % 5), "value": "%d-%d" % (idx, i)}])
    ts = [threading.Thread(target=writer, args=(p, n)) for n, p in enumerate(ports)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print("ok: concurrent writes done")


def state_of(port, keys):
    st, _, b = req(port, "POST", "/v1.0/state/statestore/bulk", {"keys": keys})
    return [(o["key"], o.get("data"), o.get("etag")) for o in json.loads(b)]


def cmd_converge(ports, prefix, count, nodes, timeout):
    """Poll until every sidecar returns the same values and ETags for all keys."""
    ports = [int(p) for p in ports.split(",")]
    keys = ["%s-%d-%d" % (prefix, n, i) for n in range(int(nodes)) for i in range(int(count))]
    keys += ["%s-hot-%d" % (prefix, i) for i in range(5)]
    t0 = now()
    while True:
        states = [state_of(p, keys) for p in ports]
        same = all(s == states[0] for s in states)
        complete = all(d is not None for _, d, _ in states[0])
        if same and complete:
            break
        if now() - t0 > float(timeout):
            break
    check("%d sidecars converge on %d keys (%.2f s)" % (len(ports), len(keys), now() - t0),
          same and complete)


def cmd_writable(port, timeout):
    """Wait (bounded) until a write is acknowledged."""
    t0 = now()
    while now() - t0 < float(timeout):
        try:
            if save(int(port), [{"key": "probe", "value": 1}]) == 204:
                print("ok: writable again after %.1f s" % (now() - t0))
                return
        except Exception:
            pass
        time.sleep(0.2)
    check("writable within %s s" % timeout, False)


def cmd_strongwrite(ports, count):
    """Saves with consistency strong on replica 1 are readable at once on all."""
    ports = [int(p) for p in ports.split(",")]
    stale = []
    for i in range(int(count)):
        st = save(ports[0], [{"key": "sw-%d" % i, "value": i,
                              "options": {"consistency": "strong"}}])
        if st != 204:
            stale.append(("status", i, st))
            continue
        for p in ports[1:]:
            v = get(p, "sw-%d" % i)[0]
            if v != i:
                stale.append((p, i, v))
    check("%d strong saves visible on every replica at once" % int(count), not stale, stale[:5])


def txn(port, ops):
    """POST a transaction of (kind, key, value, etag or None, options or None) tuples."""
    out = []
    for kind, key, value, etag, opts in ops:
        r = {"key": key}
        if kind == "upsert":
            r["value"] = value
        if etag is not None:
            r["etag"] = etag
        if opts:
            r["options"] = opts
        out.append({"operation": kind, "request": r})
    st, _, b = req(port, "POST", "/v1.0/state/statestore/transaction", {"operations": out})
    return st, b


def cmd_txn(port, rounds, read_port=None):
    """Transactions are atomic: a failed condition anywhere changes nothing;
    concurrent readers (on read_port, another replica of an eventual store,
    if given) never see part of one; concurrent transfers between accounts
    with ETag checks conserve the total."""
    port, rounds = int(port), int(rounds)
    read_port = int(read_port) if read_port else port
    keys = ["tx-a", "tx-b", "tx-c", "tx-d"]
    save(port, [{"key": k, "value": 1} for k in keys])
    snap = snapshot(port, keys)
    ea, eb = snap["tx-a"][1], snap["tx-b"][1]
    save(port, [{"key": "tx-b", "value": 1}])  # eb is stale now
    before = snapshot(port, keys)
    cases = [
        ("etag mismatch in the middle", [("upsert", "tx-a", 2, ea, None),
                                         ("upsert", "tx-b", 2, eb, None),
                                         ("delete", "tx-c", None, None, None)]),
        ("first-write on an existing key in the middle", [
            ("upsert", "tx-a", 3, None, None),
            ("upsert", "tx-d", 3, None, {"concurrency": "first-write"}),
            ("upsert", "tx-new", 3, None, None)]),
        ("delete with a stale etag last", [("upsert", "tx-a", 4, None, None),
                                           ("delete", "tx-c", None, eb, None)]),
    ]
    for name, ops in cases:
        st, b = txn(port, ops)
        ok = st == 409 and json.loads(b).get("errorCode") == "ERR_STATE_TRANSACTION"
        check("transaction with %s -> 409" % name, ok, "%d %s" % (st, b[:200]))
        now_ = snapshot(port, keys + ["tx-new"])
        check("... and changed nothing", now_ == dict(before, **{"tx-new": (None, None)}),
              (before, now_))
    eb = before["tx-b"][1]
    st, b = txn(port, [("upsert", "tx-a", 5, ea, None), ("upsert", "tx-b", 5, eb, None),
                       ("delete", "tx-c", None, before["tx-c"][1], None),
                       ("upsert", "tx-d", 0, None, None), ("upsert", "tx-d", 5, None, None)])
    after = snapshot(port, keys)
    check("transaction with current etags -> 204, all applied (last write per key wins)",
          st == 204 and [after[k][0] for k in keys] == [5, 5, None, 5] and
          after["tx-a"][1] != ea, (st, b, after))

    # Concurrent: a writer commits tx-0..tx-4 := i in one transaction per round;
    # readers read them in order, so the values must never decrease (a reader
    # seeing round i on tx-1 and round i-1 on tx-2 saw half a transaction).
    row = ["row-%d" % i for i in range(5)]
    save(port, [{"key": k, "value": 0} for k in row])
    stop = threading.Event()
    torn, reads, fails = [], [0], []

    def reader():
        while not stop.is_set():
            vals = [get(read_port, k)[0] for k in row]
            reads[0] += 1
            if vals != sorted(vals):
                torn.append(vals)
    rs = [threading.Thread(target=reader) for _ in range(3)]
    for t in rs:
        t.start()
    i, t0 = 0, now()
    while (i < rounds or reads[0] < 100) and i < 20 * rounds and now() - t0 < 30:
        i += 1
        st, b = txn(port, [("upsert", k, i, None, None) for k in row])
        if st != 204:
            fails.append((i, st, b))
    stop.set()
    for t in rs:
        t.join()
    check("%d transactions over 5 keys, %d concurrent 5-key reads: none saw a partial one"
          % (i, reads[0]), not torn and not fails and reads[0] > 0, (torn[:3], fails[:3]))

    # Transfers: 6 clients move amounts between 3 accounts with ETag checks.
    accts = ["acct-0", "acct-1", "acct-2"]
    save(port, [{"key": k, "value": 100} for k in accts])
    results = []

    def transfer(cid):
        rnd = random.Random(cid)
        for _ in range(rounds):
            a, b2 = rnd.sample(accts, 2)
            (va, ea2), (vb, eb2) = get(port, a), get(port, b2)
            amt = rnd.randint(1, 10)
            st, _ = txn(port, [("upsert", a, va - amt, ea2, None),
                               ("upsert", b2, vb + amt, eb2, None)])
            results.append(st)
    ts = [threading.Thread(target=transfer, args=(i,)) for i in range(6)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    total = sum(get(port, k)[0] for k in accts)
    ok = results.count(204)
    check("%d concurrent transfers (%d committed, %d refused 409): total still 300"
          % (len(results), ok, results.count(409)),
          total == 300 and ok > 0 and set(results) <= {204, 409}, (total, set(results)))


def read_mode(port, key, mode, timeout=15):
    """One GET with ?consistency=mode: ("ok", value) / ("absent",) / ("err", status)."""
    try:
        st, _, b = req(port, "GET", "/v1.0/state/statestore/%s?consistency=%s" % (key, mode),
                       timeout=timeout)
    except Exception as e:
        return ("err", repr(e)[:60])
    if st == 200:
        return ("ok", json.loads(b))
    return ("absent",) if st == 204 else ("err", st)


def cmd_put(port, key, value, timeout):
    """Save key=value (JSON), retrying (bounded) until it is acknowledged."""
    port, t0, value = int(port), now(), json.loads(value)
    while now() - t0 < float(timeout):
        try:
            if save(port, [{"key": key, "value": value}]) == 204:
                print("ok: %s=%s acknowledged after %.1f s" % (key, value, now() - t0))
                return
        except Exception:
            pass
        time.sleep(0.2)
    check("%s=%s acknowledged within %s s" % (key, value, timeout), False)


def cmd_cutoff(port, key, old, seconds):
    """On the side of a partition holding the old stream leader: for a while,
    a leader read (?consistency=eventual) may still return old, but a default
    (barrier) read must never return it: a 503 is right, old is stale."""
    port, t0, old = int(port), now(), json.loads(old)
    stale_leader, barrier = 0, []
    while now() - t0 < float(seconds):
        r = read_mode(port, key, "eventual", 6)
        stale_leader += r == ("ok", old)
        barrier.append(read_mode(port, key, "strong"))
    print("leader reads that returned the stale value (the window a barrier closes): %d"
          % stale_leader)
    stale = [r for r in barrier if r == ("ok", old)]
    check("%d linearizable reads on the cut-off side: none stale (%s)"
          % (len(barrier), sorted(set(str(r) for r in barrier))), barrier and not stale)


def cmd_waitvalue(port, key, value, timeout):
    """Poll default reads until key has value (JSON; bounded)."""
    port, t0, value = int(port), now(), json.loads(value)
    while now() - t0 < float(timeout):
        r = read_mode(port, key, "strong", 6)
        if r == ("ok", value):
            print("ok: %s=%s read on port %d after %.1f s" % (key, value, port, now() - t0))
            return
        time.sleep(0.2)
    check("%s=%s readable on port %d within %s s" % (key, value, port, timeout), False)


def cmd_echoapp(port):
    """An app that answers every request with what it got (and 418 on /teapot);
    GET /count tells how many requests it served."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    served = [0]

    class Echo(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def answer(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path == "/count":
                out, st = {"count": served[0]}, 200
            else:
                served[0] += 1
                out = {"method": self.command, "path": self.path, "body": body.decode(),
                       "caller": self.headers.get("dapr-caller-app-id"),
                       "peer": self.headers.get("X-Bpfmesh-Peer"),
                       "ctype": self.headers.get("Content-Type")}
                st = 418 if self.path == "/teapot" else 200
            data = json.dumps(out).encode()
            self.send_response(st)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        do_GET = do_POST = do_PUT = do_DELETE = answer
    ThreadingHTTPServer(("127.0.0.1", int(port)), Echo).serve_forever()


def cmd_relay(port, target, logfile):
    """A TCP relay 127.0.0.1:port -> 127.0.0.1:target that appends every byte
    it carries to logfile (what an observer of the wire sees)."""
    import socket
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", int(port)))
    ls.listen(16)
    lock = threading.Lock()

    def pump(a, b):
        try:
            while True:
                d = a.recv(65536)
                if not d:
                    break
                with lock, open(logfile, "ab") as f:
                    f.write(d)
                b.sendall(d)
        except OSError:
            pass
        for x in (a, b):
            try:
                x.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
    while True:
        c, _ = ls.accept()
        try:
            t = socket.create_connection(("127.0.0.1", int(target)))
        except OSError:
            c.close()  # nothing there yet (a readiness probe)
            continue
        threading.Thread(target=pump, args=(c, t), daemon=True).start()
        threading.Thread(target=pump, args=(t, c), daemon=True).start()


def app_count(app_port):
    return json.loads(req(int(app_port), "GET", "/count")[2])["count"]


def cmd_invoke(a_port, app_port, invoke_port, peer, wirelog):
    """Calls from sidecar A to app b through B's sidecar: answers relayed, the
    caller's verified identity handed to the app, nothing readable on the wire;
    a plaintext client at B's invocation port gets nothing from the app."""
    a_port = int(a_port)
    marker = "secret-marker-%d" % random.randrange(1 << 30)
    st, h, b = req(a_port, "POST", "/v1.0/invoke/b/method/echo/x?q=1", {"m": marker})
    got = json.loads(b) if st == 200 else {}
    check("POST via invoke -> 200, relayed", st == 200 and got.get("method") == "POST" and
          got.get("path") == "/echo/x?q=1" and json.loads(got.get("body", "{}")) == {"m": marker},
          (st, b[:300]))
    check("app sees caller a and its verified identity %s" % peer,
          got.get("caller") == "a" and got.get("peer") == peer, got)
    st, _, b = req(a_port, "GET", "/v1.0/invoke/b.shop/method/hello")
    check("GET via invoke, app-id.namespace form -> 200", st == 200 and
          json.loads(b).get("method") == "GET", (st, b[:200]))
    st, _, b = req(a_port, "PUT", "/v1.0/invoke/b/method/teapot", raw=b"x",
                   headers={"Content-Type": "text/plain"})
    check("app's status relayed (418)", st == 418 and json.loads(b).get("ctype") == "text/plain",
          (st, b[:200]))
    st, _, b = req(a_port, "POST", "/v1.0/invoke/nobody/method/x", {})
    check("unknown app -> 404 ERR_DIRECT_INVOKE",
          st == 404 and json.loads(b)["errorCode"] == "ERR_DIRECT_INVOKE", (st, b[:200]))
    wire = open(wirelog, "rb").read()
    check("%d bytes on the wire, no plaintext (marker, path, header)" % len(wire),
          len(wire) > 0 and marker.encode() not in wire and b"/echo/x" not in wire and
          b"caller" not in wire, len(wire))
    before = app_count(app_port)
    code = raw_exchange(int(invoke_port), b"POST /echo HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}")
    check("plaintext HTTP at the invocation port: no answer, app not called",
          code == 0 and app_count(app_port) == before, (code, app_count(app_port), before))


def cmd_invokebench(a_port, app_port, n):
    """Latency of n sequential calls through both sidecars (handshake per call)
    next to the same request sent to the app directly; prints p50/p99."""
    def run(port, path):
        c = http.client.HTTPConnection("127.0.0.1", int(port), timeout=10)
        lat = []
        for _ in range(int(n)):
            t0 = now()
            c.request("POST", path, body=b'{"x":1}', headers={"Content-Type": "application/json"})
            r = c.getresponse()
            r.read()
            lat.append((now() - t0) * 1e6)
        c.close()
        lat.sort()
        return lat[len(lat) // 2], lat[len(lat) * 99 // 100]
    inv, direct = run(a_port, "/v1.0/invoke/b/method/bench"), run(app_port, "/bench")
    print("invoke through both sidecars: p50 %.0f us p99 %.0f us; app directly: p50 %.0f us "
          "p99 %.0f us (n=%s)" % (inv[0], inv[1], direct[0], direct[1], n))


def cmd_invoke_ok(port, why):
    st, _, b = req(int(port), "POST", "/v1.0/invoke/b/method/again", {"x": 2})
    check("%s -> 200" % why, st == 200 and json.loads(b).get("path") == "/again", (st, b[:200]))


def cmd_invoke_refused(port, app_port, why):
    """A call the serving side must refuse: 403, the app never called."""
    before = app_count(app_port)
    st, _, b = req(int(port), "POST", "/v1.0/invoke/b.shop/method/echo", {"x": 1})
    check("%s -> 403, app not called" % why,
          st == 403 and app_count(app_port) == before, (st, b[:200]))


def cmd_absent(port, key):
    check("%s absent on port %s" % (key, port), get(int(port), key) == (None, None))


def cmd_leader(stream, *monitor_ports):
    """Print the server name leading stream (from each server's /jsz)."""
    import urllib.request
    for p in monitor_ports:
        try:
            url = "http://%s/jsz?accounts=true&streams=true" % (p if ":" in p else
                                                                  "127.0.0.1:" + p)
            j = json.load(urllib.request.urlopen(url, timeout=2))
        except Exception:
            continue
        for acc in j.get("account_details", []):
            for s in acc.get("stream_detail", []):
                if s.get("name") == stream and s.get("cluster", {}).get("leader"):
                    print(s["cluster"]["leader"])
                    return
    print("")


def main():
    cmds = {"invoke_ok": cmd_invoke_ok, "invokebench": cmd_invokebench, "echoapp": cmd_echoapp, "relay": cmd_relay, "invoke": cmd_invoke,
            "invoke_refused": cmd_invoke_refused, "put": cmd_put, "cutoff": cmd_cutoff, "waitvalue": cmd_waitvalue, "txn": cmd_txn, "absent": cmd_absent, "strongwrite": cmd_strongwrite, "writable": cmd_writable, "leader": cmd_leader, "api": cmd_api, "cas": cmd_cas, "lin": cmd_linearizable, "fill": cmd_fill,
            "expect": cmd_expect, "concurrent": cmd_concurrent, "converge": cmd_converge}
    cmds[sys.argv[1]](*sys.argv[2:])
    sys.exit(1 if FAILS else 0)


if __name__ == "__main__":
    main()
