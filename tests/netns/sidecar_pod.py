#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""A replica's container for test_sched_sidecar.sh: an app that talks to its
sidecar at 127.0.0.1:$DAPR_HTTP_PORT, as a Dapr app does.

  sidecar_pod.py OUTDIR     serve on 0.0.0.0:$APP_PORT
    GET /env                 {"DAPR_HTTP_PORT", "APP_PORT", "HOSTNAME"}
    GET /dapr/subscribe      [] (the sidecar asks; no subscriptions)
    ANY /sc/REST             forwarded to the sidecar's /REST (body, If-Match);
                             answers the sidecar's status, ETag and body
                             (502 when the sidecar does not answer)
    ANY /m/NAME              a method other apps invoke through their sidecars:
                             answers {"pod", "method", "path", "body", "caller",
                             "peer", "peer_serial"} (the dapr-caller-app-id,
                             X-Bpfmesh-Peer and X-Bpfmesh-Peer-Serial headers)
                             and appends that line to OUTDIR/HOSTNAME.calls
It also writes OUTDIR/HOSTNAME.env once at start. Runs at most 10 minutes.
"""
import http.client
import http.server
import json
import os
import sys
import threading


def sidecar(method, path, body, headers):
    # Longer than the sidecar's own bounds (invocation: 3 s connect, 10 s call).
    c = http.client.HTTPConnection("127.0.0.1", int(os.environ["DAPR_HTTP_PORT"]),
                                   timeout=15)
    try:
        c.request(method, path, body=body, headers=headers)
        r = c.getresponse()
        return r.status, r.getheader("ETag"), r.read()
    finally:
        c.close()


class App(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body=b"", etag=None):
        self.send_response(status)
        if etag:
            self.send_header("ETag", etag)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        if self.path == "/env":
            env = {k: os.environ.get(k) for k in ("DAPR_HTTP_PORT", "APP_PORT", "HOSTNAME")}
            return self.answer(200, json.dumps(env).encode())
        if self.path == "/dapr/subscribe":
            return self.answer(200, b"[]")
        if self.path.startswith("/m/"):
            return self.method_called(body)
        if not self.path.startswith("/sc/"):
            return self.answer(404)
        headers = {"Content-Type": "application/json"} if body else {}
        if self.headers.get("If-Match"):
            headers["If-Match"] = self.headers["If-Match"]
        try:
            status, etag, out = sidecar(self.command, self.path[3:], body, headers)
        except OSError as e:
            return self.answer(502, str(e).encode())
        self.answer(status, out, etag)

    def method_called(self, body):
        call = {"pod": os.environ.get("HOSTNAME"), "method": self.command, "path": self.path,
                "body": (body or b"").decode(errors="replace"),
                "caller": self.headers.get("dapr-caller-app-id"),
                "peer": self.headers.get("X-Bpfmesh-Peer"),
                "peer_serial": self.headers.get("X-Bpfmesh-Peer-Serial")}
        line = json.dumps(call)
        with open(os.path.join(OUT, (call["pod"] or "pod") + ".calls"), "a") as f:
            f.write(line + "\n")
        self.answer(200, line.encode())

    do_GET = do_POST = do_DELETE = do_PUT = handle_any


OUT = "."


def main():
    global OUT
    out = OUT = sys.argv[1]
    with open(os.path.join(out, os.environ.get("HOSTNAME", "pod") + ".env"), "w") as f:
        json.dump(dict(os.environ), f)
    srv = http.server.ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("APP_PORT", "8080"))),
                                          App)
    threading.Timer(600, srv.shutdown).start()
    srv.serve_forever()


if __name__ == "__main__":
    main()
