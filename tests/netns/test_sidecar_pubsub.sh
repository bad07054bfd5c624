#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# ctest-labels: sidecar
# Dapr pub-sub through the sidecars on one JetStream nats-server
# (127.0.0.1): two replicas of a consumer workload whose app
# (sidecar_app.py) lists its subscriptions at GET /dapr/subscribe, and a
# producer sidecar.
#  1. every published event reaches exactly one consumer replica, as a
#     complete CloudEvent on the right route; a CloudEvent body is passed
#     through; unknown components and wrong methods get Dapr's errors;
#  2. durable: events published while no consumer replica runs are
#     delivered when one starts again;
#  3. at least once: RETRY and 5xx answers are delivered again until
#     SUCCESS, DROP and 404 are not, an event failing --pubsub-max-deliver
#     times goes to the dead-letter topic;
#  4. a consumer sidecar killed (SIGKILL) while the app handles an event
#     has the event redelivered after the ack wait once it is back.
source "$(dirname "$0")/sidecar_lib.sh"
APP="python3 $(dirname "$0")/sidecar_app.py"

NATS_PORT=$(free_port)
sc_bg nats "$NATS_SERVER" -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$SC_DIR/nats"
wait_port "$NATS_PORT"
URL="nats://127.0.0.1:$NATS_PORT"

declare -a APORT SPORT CPID
start_consumer() {
	sc_bg "consumer$1" "$BM_SIDECAR" --nats "$URL" --http-port "${SPORT[$1]}" \
		--app-id consumer --app-port "${APORT[$1]}" --replica "c$1" \
		--pubsub-ack-wait-ms 2000 --pubsub-retry-ms 200 --pubsub-max-deliver 4
	CPID[$1]=$SC_LAST_PID
	wait_port "${SPORT[$1]}"
}
for i in 0 1; do
	APORT[$i]=$(free_port); SPORT[$i]=$(free_port)
	sc_bg "app$i" $APP "${APORT[$i]}" "$SC_DIR/events$i.jsonl"
	wait_port "${APORT[$i]}"
	start_consumer "$i"
done
PPORT=$(free_port)
sc_bg producer "$BM_SIDECAR" --nats "$URL" --http-port "$PPORT" --app-id producer
wait_port "$PPORT"

# Shared by the checking steps: argv = producer port, consumer 0 port, dir.
PYLIB='
import glob, http.client, json, sys, time
pport, cport, d = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
fails = []
def check(name, cond, detail=""):
    print(("ok: " if cond else "FAIL: ") + name + ("" if cond else " " + str(detail)[:800]))
    cond or fails.append(name)
def req(port, method, path, body=b"", ctype="application/json"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request(method, path, body=body, headers={"Content-Type": ctype})
    r = c.getresponse(); b = r.read(); c.close()
    return r.status, b
def publish(topic, data):
    return req(pport, "POST", "/v1.0/publish/pubsub/" + topic, json.dumps(data).encode())[0]
def events(pattern="events*.jsonl"):
    out = []
    for f in sorted(glob.glob(d + "/" + pattern)):
        out += [dict(json.loads(l), file=f) for l in open(f)]
    return out
def wait_for(cond, secs=15):
    end = time.time() + secs
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.1)
    return cond()
def subscribed(port, n=4):
    def ok():
        try:
            st, b = req(port, "GET", "/v1.0/metadata")
            return st == 200 and len(json.loads(b)["subscriptions"]) == n
        except OSError:
            return False
    return wait_for(ok)
'

echo "--- 1: exactly one replica per event, CloudEvents"
run_check python3 - "$PPORT" "${SPORT[0]}" "$SC_DIR" <<PY
$PYLIB
check("both consumers list 4 subscriptions", subscribed(cport) and subscribed(int("${SPORT[1]}")))
n = 40
codes = [publish("orders", {"order": i}) for i in range(n)]
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
wait_for(lambda: len(events()) >= n + 1)
time.sleep(0.5)
ev = events()
orders = [e for e in ev if e["path"] == "/orders"]
got = sorted(e["event"]["data"]["order"] for e in orders)
check("each of %d events delivered exactly once" % n, got == list(range(n)), got)
check("both replicas got some (competing consumers)", len({e["file"] for e in orders}) == 2)
fields = ("id", "source", "type", "specversion", "datacontenttype", "time", "traceparent",
          "traceid", "tracestate", "topic", "pubsubname", "data")
check("CloudEvent envelope complete", all(
      all(f in e["event"] for f in fields) and e["event"]["specversion"] == "1.0" and
      e["event"]["topic"] == "orders" and e["event"]["pubsubname"] == "pubsub" and
      e["event"]["source"] == "producer" and e["event"]["time"].endswith("Z") and
      e["event"]["traceparent"].startswith("00-") and
      e["ctype"] == "application/cloudevents+json" for e in orders), orders[:1])
check("event ids unique", len({e["event"]["id"] for e in orders}) == n)
audit = [e for e in ev if e["path"] == "/audit"]
check("cloudevent passed through to routes.default", len(audit) == 1 and
      audit[0]["event"]["id"] == "ce-1" and audit[0]["event"]["data"] == {"a": 1}, audit)
sys.exit(1 if fails else 0)
PY

echo "--- 2: durable: published while no consumer runs, delivered after restart"
sc_stop "${CPID[0]}"; sc_stop "${CPID[1]}"
run_check python3 - "$PPORT" "${SPORT[0]}" "$SC_DIR" <<PY
$PYLIB
codes = [publish("orders", {"order": 100 + i}) for i in range(10)]
check("publish with no subscriber running: 204 (stored)", set(codes) == {204}, codes)
PY
start_consumer 0
run_check python3 - "$PPORT" "${SPORT[0]}" "$SC_DIR" <<PY
$PYLIB
late = lambda: sorted(e["event"]["data"]["order"] for e in events("events0.jsonl")
                      if e["path"] == "/orders" and e["event"]["data"]["order"] >= 100)
wait_for(lambda: len(late()) >= 10)
check("10 stored events delivered to the restarted replica", late() == list(range(100, 110)),
      late())
sys.exit(1 if fails else 0)
PY

echo "--- 3: RETRY / 5xx redelivered, DROP / 404 not, dead letter after 4 attempts"
run_check python3 - "$PPORT" "${SPORT[0]}" "$SC_DIR" <<PY
$PYLIB
check("consumer 0 subscribed again", subscribed(cport))
jobs = {"retry": {"answer": "RETRY", "times": 2}, "err": {"answer": "500", "times": 1},
        "drop": {"answer": "DROP"}, "gone": {"answer": "404"},
        "poison": {"answer": "RETRY"}}
for name, data in jobs.items():
    check("publish job " + name, publish("jobs", dict(data, job=name)) == 204)
def of(job, path="/jobs"):
    return [e for e in events("events0.jsonl")
            if e["path"] == path and e["event"]["data"].get("job") == job]
wait_for(lambda: len(of("retry")) >= 3 and len(of("err")) >= 2 and of("poison", "/dead"))
time.sleep(1.5)  # several retry periods: nothing settled may come again
r = of("retry")
check("RETRY twice: delivered 3 times, then settled",
      [e["answer"] for e in r] == ["RETRY", "RETRY", "SUCCESS"], [e["answer"] for e in r])
r = of("err")
check("500 once: delivered twice, then settled",
      [e["answer"] for e in r] == ["500", "SUCCESS"], [e["answer"] for e in r])
check("DROP: delivered once, not again", len(of("drop")) == 1, of("drop"))
check("404: delivered once, not again", len(of("gone")) == 1, of("gone"))
check("DROP is not dead-lettered", not of("drop", "/dead"))
check("poison: 4 attempts (--pubsub-max-deliver 4)", len(of("poison")) == 4, len(of("poison")))
dead = of("poison", "/dead")
check("poison: then once on the dead-letter topic",
      len(dead) == 1 and dead[0]["event"]["topic"] == "jobs-dead", dead)
sys.exit(1 if fails else 0)
PY

echo "--- 4: consumer killed mid-delivery: redelivered after restart"
run_check python3 - "$PPORT" "${SPORT[0]}" "$SC_DIR" <<PY
$PYLIB
check("publish slow job", publish("jobs", {"job": "slow", "sleep": 4}) == 204)
ok = wait_for(lambda: any(e["event"]["data"].get("job") == "slow"
                          for e in events("events0.jsonl")))
check("slow job reached the app", ok)
PY
kill -9 "${CPID[0]}"; wait "${CPID[0]}" 2>/dev/null || true
start_consumer 0
run_check python3 - "$PPORT" "${SPORT[0]}" "$SC_DIR" <<PY
$PYLIB
slow = lambda: [e for e in events("events0.jsonl") if e["event"]["data"].get("job") == "slow"]
wait_for(lambda: len(slow()) >= 2, 20)
s = slow()
check("unacknowledged event delivered again after the sidecar restart",
      len(s) == 2 and s[1]["n"] == 2 and s[0]["event"]["id"] == s[1]["event"]["id"],
      [(e["n"], e["answer"]) for e in s])
sys.exit(1 if fails else 0)
PY
sc_finish
