#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""A stand-in Dapr application for the sidecar tests: answers
GET /dapr/subscribe with one subscription (pubsub/orders -> /orders) and
appends every event POSTed to it, with its content type, to a JSON-lines file.
usage: sidecar_app.py PORT OUTFILE"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, OUT = int(sys.argv[1]), sys.argv[2]


class App(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/dapr/subscribe":
            self.reply(200, [{"pubsubname": "pubsub", "topic": "orders", "route": "/orders"},
                             {"pubsubname": "pubsub", "topic": "audit",
                              "routes": {"default": "/audit"}}])
        else:
            self.reply(404, {})

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(OUT, "a") as f:
            f.write(json.dumps({"path": self.path, "ctype": self.headers.get("Content-Type"),
                                "event": json.loads(body)}) + "\n")
        self.reply(200, {"status": "SUCCESS"})


ThreadingHTTPServer(("127.0.0.1", PORT), App).serve_forever()
