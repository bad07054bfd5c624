#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Check `bpfmesh observe --json` output against an unfiltered capture.

flowcheck.py ALL.jsonl GOT.jsonl [--identity X] [--from X] [--to X]
    [--namespace NS] [--verdict V] [--port N] [--node N] [--min K]

Every line of both files must be a JSON object with the flow event schema;
GOT must hold exactly the events of ALL that pass the filter (same multiset,
computed here independently of bpfmesh), and at least --min of them.
"""
import argparse
import collections
import json
import sys

REQUIRED = {"node": str, "time": str, "verdict": str, "reason": str, "src_id": int,
            "dst_id": int, "src": str, "dst": str, "sport": int, "dport": int,
            "proto": str, "rule_id": int, "generation": int}


def load(path):
    events = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            ev = json.loads(line)
            for key, typ in REQUIRED.items():
                if not isinstance(ev.get(key), typ):
                    sys.exit(f"{path}:{n}: field {key} missing or not {typ.__name__}: {line}")
            events.append(ev)
    return events


def is_end(ev, end, want):
    return want in (ev.get(end + "_identity"), str(ev[end + "_id"]))


def passes(ev, a):
    if a.identity and not (is_end(ev, "src", a.identity) or is_end(ev, "dst", a.identity)):
        return False
    if getattr(a, "from") and not is_end(ev, "src", getattr(a, "from")):
        return False
    if a.to and not is_end(ev, "dst", a.to):
        return False
    if a.namespace and a.namespace not in (ev.get("src_namespace"), ev.get("dst_namespace")):
        return False
    if a.verdict and a.verdict not in (ev["verdict"], ev["reason"]):
        return False
    if a.port is not None and a.port not in (ev["sport"], ev["dport"]):
        return False
    return not a.node or ev["node"] == a.node


def key(ev):
    return json.dumps(ev, sort_keys=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("all")
    p.add_argument("got")
    for opt in ("identity", "from", "to", "namespace", "verdict", "node"):
        p.add_argument("--" + opt)
    p.add_argument("--port", type=int)
    p.add_argument("--min", type=int, default=1)
    a = p.parse_args()
    want = collections.Counter(key(e) for e in load(a.all) if passes(e, a))
    got = collections.Counter(key(e) for e in load(a.got))
    if got != want:
        extra = got - want
        missing = want - got
        sys.exit(f"filter mismatch: {sum(extra.values())} unexpected, "
                 f"{sum(missing.values())} missing; e.g. "
                 f"{next(iter(extra or missing))}")
    if sum(got.values()) < a.min:
        sys.exit(f"only {sum(got.values())} events, wanted at least {a.min}")
    print(f"{sum(got.values())} events match")


if __name__ == "__main__":
    main()
