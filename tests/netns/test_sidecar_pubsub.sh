#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# ctest-labels: sidecar
# Dapr pub-sub through the sidecars on one nats-server (127.0.0.1): two
# replicas of a consumer workload whose app lists its subscriptions at
# GET /dapr/subscribe, and a producer sidecar. Every published message
# reaches exactly one consumer replica, as a CloudEvent on the right route
# with the data intact; a CloudEvent body is passed through; unknown
# pub-sub names and wrong methods get Dapr's errors.
source "$(dirname "$0")/sidecar_lib.sh"
APP="python3 $(dirname "$0")/sidecar_app.py"

NATS_PORT=$(free_port)
sc_bg nats "$NATS_SERVER" -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$SC_DIR/nats"
wait_port "$NATS_PORT"
URL="nats://127.0.0.1:$NATS_PORT"

declare -a APORT SPORT
for i in 0 1; do
	APORT[$i]=$(free_port); SPORT[$i]=$(free_port)
	sc_bg "app$i" $APP "${APORT[$i]}" "$SC_DIR/events$i.jsonl"
	wait_port "${APORT[$i]}"
	sc_bg "consumer$i" "$BM_SIDECAR" --nats "$URL" --http-port "${SPORT[$i]}" \
		--app-id consumer --app-port "${APORT[$i]}" --replica "c$i"
	wait_port "${SPORT[$i]}"
done
PPORT=$(free_port)
sc_bg producer "$BM_SIDECAR" --nats "$URL" --http-port "$PPORT" --app-id producer
wait_port "$PPORT"

run_check python3 - "$PPORT" "${SPORT[0]}" "$SC_DIR" <<'PY'
import glob, http.client, json, sys, time
pport, cport, d = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
fails = []
def check(name, cond, detail=""):
    print(("ok: " if cond else "FAIL: ") + name + ("" if cond else " " + str(detail)))
    cond or fails.append(name)
def req(port, method, path, body=b"", ctype="application/json"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request(method, path, body=body, headers={"Content-Type": ctype})
    r = c.getresponse(); b = r.read(); c.close()
    return r.status, b
def events():
    out = []
    for f in glob.glob(d + "/events*.jsonl"):
        out += [dict(json.loads(l), file=f) for l in open(f)]
    return out
# Wait (bounded) until both consumers have subscribed.
for _ in range(100):
    st, b = req(cport, "GET", "/v1.0/metadata")
    if st == 200 and len(json.loads(b)["subscriptions"]) == 2:
        break
    time.sleep(0.1)
check("consumer metadata lists 2 subscriptions", len(json.loads(b)["subscriptions"]) == 2, b)
time.sleep(0.5)
n = 40
codes = [req(pport, "POST", "/v1.0/publish/pubsub/orders", json.dumps({"order": i}).encode())[0]
         for i in range(n)]
check("publish 204", set(codes) == {204}, codes)
ce = {"specversion": "1.0", "id": "ce-1", "source": "x", "type": "t", "data": {"a": 1},
      "datacontenttype": "application/json"}
st, _ = req(pport, "POST", "/v1.0/publish/pubsub/audit", json.dumps(ce).encode(),
            "application/cloudevents+json")
check("publish cloudevent 204", st == 204)
st, b = req(pport, "POST", "/v1.0/publish/nope/orders", b"{}")
check("unknown pubsub 404 ERR_PUBSUB_NOT_FOUND",
      st == 404 and json.loads(b)["errorCode"] == "ERR_PUBSUB_NOT_FOUND", (st, b))
st, b = req(pport, "GET", "/v1.0/publish/pubsub/orders")
check("GET publish 405", st == 405, st)
for _ in range(100):
    ev = events()
    if len(ev) >= n + 1:
        break
    time.sleep(0.1)
time.sleep(0.3)
ev = events()
orders = [e for e in ev if e["path"] == "/orders"]
got = sorted(e["event"]["data"]["order"] for e in orders)
check("each of %d events delivered exactly once" % n, got == list(range(n)), got)
check("both replicas got some (queue group)", len({e["file"] for e in orders}) == 2)
check("CloudEvent envelope", all(e["event"]["specversion"] == "1.0" and e["event"]["topic"] ==
      "orders" and e["event"]["pubsubname"] == "pubsub" and e["event"]["source"] == "producer"
      and e["ctype"] == "application/cloudevents+json" for e in orders))
audit = [e for e in ev if e["path"] == "/audit"]
check("cloudevent passed through to routes.default", len(audit) == 1 and
      audit[0]["event"]["id"] == "ce-1" and audit[0]["event"]["data"] == {"a": 1}, audit)
sys.exit(1 if fails else 0)
PY
sc_finish
