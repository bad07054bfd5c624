#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""A stand-in Dapr application for the sidecar tests. GET /dapr/subscribe
lists four subscriptions (pubsub/orders -> /orders, pubsub/audit ->
routes.default /audit, pubsub/jobs -> /jobs with dead-letter topic
jobs-dead, pubsub/jobs-dead -> /dead). Every event POSTed to it is appended,
with its content type, the delivery number (per event id, in this process)
and the answer given, to a JSON-lines file, before the app answers.

How it answers /jobs is steered by the event's data (an object); every
other route answers {"status": "SUCCESS"}:
  "answer": "RETRY" | "DROP" | "500" | "404", "times": N
      give that answer to the first N deliveries of the event (default all),
      then {"status": "SUCCESS"};
  "sleep": S   sleep S seconds before answering the first delivery.
usage: sidecar_app.py PORT OUTFILE"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, OUT = int(sys.argv[1]), sys.argv[2]
SEEN = {}
LOCK = threading.Lock()


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
                              "routes": {"default": "/audit"}},
                             {"pubsubname": "pubsub", "topic": "jobs", "route": "/jobs",
                              "deadLetterTopic": "jobs-dead"},
                             {"pubsubname": "pubsub", "topic": "jobs-dead", "route": "/dead"}])
        else:
            self.reply(404, {})

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        event = json.loads(body)
        data = event.get("data") if isinstance(event.get("data"), dict) else {}
        with LOCK:
            n = SEEN[event.get("id")] = SEEN.get(event.get("id"), 0) + 1
        answer = "SUCCESS"
        if self.path == "/jobs" and "answer" in data and n <= data.get("times", 1 << 30):
            answer = data["answer"]
        with open(OUT, "a") as f:
            f.write(json.dumps({"path": self.path, "ctype": self.headers.get("Content-Type"),
                                "n": n, "answer": answer, "event": event}) + "\n")
        if n == 1 and data.get("sleep"):
            time.sleep(data["sleep"])
        if answer in ("500", "404"):
            self.reply(int(answer), {"error": "steered"})
        else:
            self.reply(200, {"status": answer})


ThreadingHTTPServer(("127.0.0.1", PORT), App).serve_forever()
