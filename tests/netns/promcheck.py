#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Scrape a Prometheus endpoint over a real socket and parse it strictly.

promcheck.py HOST PORT OUT.json

Speaks HTTP/1.1 by hand (no library), checks the status line, the
Content-Type of text format 0.0.4 and Content-Length, then parses every
line: '# HELP name text', '# TYPE name counter|gauge' (once per family,
before its samples, HELP and TYPE for every family), and samples
'name{label="value",...} number' with label values unescaped (\\\\, \\", \\n
only), names valid, every sample in the family its TYPE line opened, no
family split, no duplicate series. Writes {"name{sorted labels}": value}
to OUT.json; exits 1 with the offending line otherwise.
"""
import json
import math
import re
import socket
import sys

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")


def fail(msg, line=None):
    sys.exit(f"promcheck: {msg}" + (f": {line!r}" if line is not None else ""))


def scrape(host, port):
    s = socket.create_connection((host, port), 5)
    s.sendall(f"GET /metrics HTTP/1.1\r\nHost: {host}\r\nAccept: text/plain\r\n\r\n".encode())
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        fail("no end of headers")
    lines = head.decode("ascii").split("\r\n")
    if lines[0] != "HTTP/1.1 200 OK":
        fail("status", lines[0])
    hdr = {k.lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
    if hdr.get("content-type") != "text/plain; version=0.0.4; charset=utf-8":
        fail("content type", hdr.get("content-type"))
    if int(hdr.get("content-length", -1)) != len(body):
        fail(f"content-length {hdr.get('content-length')} but body has {len(body)} bytes")
    return body.decode("utf-8")


def parse_labels(text, line):
    labels, i = {}, 0
    while i < len(text):
        eq = text.index("=", i)
        name = text[i:eq]
        if not LABEL.match(name) or name in labels or text[eq + 1] != '"':
            fail("label name", line)
        i, val = eq + 2, ""
        while text[i] != '"':
            if text[i] == "\\":
                esc = text[i + 1]
                if esc not in '\\"n':
                    fail("bad escape", line)
                val += "\n" if esc == "n" else esc
                i += 2
            else:
                val += text[i]
                i += 1
        labels[name] = val
        i += 1
        if i < len(text):
            if text[i] != ",":
                fail("label separator", line)
            i += 1
    return labels


def parse_value(text, line):
    if text in ("NaN", "+Inf", "-Inf"):
        return float(text.replace("Inf", "inf").replace("NaN", "nan"))
    if not re.match(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?\Z", text):
        fail("value", line)
    return float(text)


def parse(body):
    series, helps, types, done, current = {}, set(), {}, set(), None
    if not body.endswith("\n"):
        fail("body does not end with a newline")
    for line in body[:-1].split("\n"):
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            parts = line.split(" ", 3)
            if len(parts) != 4 or not NAME.match(parts[2]):
                fail("comment", line)
            name = parts[2]
            if name in done:
                fail("family split or repeated", line)
            if current and current != name:
                done.add(current)
            current = name
            if parts[1] == "HELP":
                if name in helps or not parts[3]:
                    fail("HELP", line)
                helps.add(name)
            else:
                if name in types or parts[3] not in ("counter", "gauge"):
                    fail("TYPE", line)
                types[name] = parts[3]
            continue
        if not line or line.startswith("#"):
            fail("unexpected line", line)
        m = re.match(r"([^{ ]+)(\{(.*)\})? (\S+)\Z", line)
        if not m:
            fail("sample", line)
        name, labels = m.group(1), parse_labels(m.group(3) or "", line)
        if name != current or name not in types or name not in helps:
            fail("sample outside its family (or no HELP/TYPE)", line)
        value = parse_value(m.group(4), line)
        if types[name] == "counter" and (value < 0 or math.isnan(value)):
            fail("negative counter", line)
        key = name + json.dumps(labels, sort_keys=True)
        if key in series:
            fail("duplicate series", line)
        series[key] = value
    if set(types) != helps:
        fail("families without HELP or TYPE: %s" % (set(types) ^ helps))
    return series


def main():
    body = scrape(sys.argv[1], int(sys.argv[2]))
    series = parse(body)
    with open(sys.argv[3], "w") as f:
        json.dump(series, f, indent=1, sort_keys=True)
    print(f"{len(series)} series parsed")


if __name__ == "__main__":
    main()
