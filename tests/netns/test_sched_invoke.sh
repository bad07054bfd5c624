#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Service invocation between sidecars the agents launch (docs/agent.md,
# "Sidecars"; docs/sidecar.md, "Service invocation"), on two enrolled nodes
# (mesh_lib.sh) with a real nats-server; the apps are sidecar_pod.py:
#  - every replica's sidecar serves invocations on the replica's address,
#    port 50002, inside the replica's network namespace;
#  - a NetworkPolicy selecting back that admits only 8080 from front:
#    front -> back:8080 passes (real packets), while front's
#    POST /v1.0/invoke/back/method/m/hello gets a bounded 504
#    ERR_DIRECT_INVOKE naming the port, and back's app is never reached;
#  - the same policy admitting the named port dapr-invoke too (the agent
#    names 50002 so on the endpoints): the call reaches back's app, which
#    sees the caller's app id and verified identity, and front gets its answer;
#  - identity renewal (--workload-ttl 12s, renewed every 8 s): both sidecars
#    reload their documents in place (same pids, a new serial in
#    /v1.0/metadata), and a later handshake presents front's renewed document;
#  - a renewed document that does not check out: the reload fails, the
#    sidecar exits 1 and the agent starts another, which serves again.
# ctest-labels: netns agent scheduler sidecar
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mesh_lib.sh"
SIDECAR="$(dirname "$BPFMESH")/../sidecar/bpfmesh-sidecar"
[ -x "$SIDECAR" ] || skip "no bpfmesh-sidecar next to $BPFMESH"
POD_APP="$(cd "$(dirname "$0")" && pwd)/sidecar_pod.py"
OUT="$BM_TEST_DIR/out"

source "$(dirname "$0")/mesh_sidecar_lib.sh"
trap 'sidecar_dump; mesh_down; kill_sidecars; cleanup' EXIT

mkdir -p "$OUT"
# policy.yaml PORTS: back admits front on these TCP ports only.
policy() {
	cat <<YAML
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: back-from-front, namespace: shop}
spec:
  podSelector: {matchLabels: {app: back}}
  policyTypes: [Ingress]
  ingress:
    - from: [{podSelector: {matchLabels: {app: front}}}]
      ports: [$1]
YAML
}
{
	for app in front back; do
		cat <<YAML
apiVersion: v1
kind: ServiceAccount
metadata: {name: $app, namespace: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: $app, namespace: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: $app}}
  template:
    metadata: {labels: {app: $app}}
    spec:
      serviceAccountName: $app
      containers:
        - name: app
          image: host
          command: [python3, "$POD_APP", "$OUT"]
          ports: [{containerPort: 8080}]
---
YAML
	done
	policy '{port: 8080}'
} >"$BM_TEST_DIR/apps.yaml"
# The named port the agent puts on endpoints whose sidecar serves invocations.
policy '{port: 8080}, {port: dapr-invoke}' >"$BM_TEST_DIR/admit.yaml"

mesh_up 2
bmi() { local d=$1; shift; "$BPFMESH" --state-dir "$d" identity "$@" >>"$BM_TEST_DIR/identity.log" 2>&1; }
bmi "$STATE_DIR/n1" init --trust-domain test.bpfmesh
bmi "$STATE_DIR/n1" enroll --node n1
bmi "$STATE_DIR/n2" enroll --request "$BM_TEST_DIR/req2" --node n2
bmi "$STATE_DIR/n1" enroll --sign "$BM_TEST_DIR/req2" -o "$BM_TEST_DIR/cert2"
bmi "$STATE_DIR/n2" enroll --install "$BM_TEST_DIR/cert2" \
	--trust-bundle "$STATE_DIR/n1/identity/trust.bundle"
for i in 1 2; do
	mesh_agent_start "$i" --sidecar-bin "$SIDECAR" --trust-domain test.bpfmesh --workload-ttl 12s
done
# Ready, and each sees both nodes alive, so the first placement is the final one.
sees_two() {
	[ "$(mesh_bm "$1" get nodes -o json | python3 -c 'import json,sys; print(sum(n["alive"] for n in json.load(sys.stdin)["nodes"]))')" = 2 ]
}
both_ready() { mesh_ready 1 && mesh_ready 2 && sees_two 1 && sees_two 2; }
check "two agents ready, each seeing both nodes" mesh_wait 40 both_ready
[ "$BM_FAILS" = 0 ] || { finish; exit 1; }
check "apply front, back and a policy admitting only 8080 to back" \
	eval 'mesh_bm 1 apply -f "$BM_TEST_DIR/apps.yaml" >/dev/null'
check "2 replicas placed and running" mesh_wait 40 mesh_converged 2

# pod_pid PREFIX / pod_name PREFIX: the replica whose hostname starts so.
pod_line() { for i in $(mesh_alive); do mesh_hostnames "$i"; done | awk -v p="$1" 'index($2, p) == 1 {print; exit}'; }
pod_pid() { pod_line "$1" | cut -d' ' -f1; }
pod_name() { pod_line "$1" | cut -d' ' -f2; }
addr_of() {
	mesh_bm 1 get endpoints -o json | POD=$1 python3 -c '
import json, os, sys
for e in json.load(sys.stdin)["endpoints"]:
    if e["name"] == os.environ["POD"]: print(e["addresses"][0]); break'
}
# http POD METHOD PATH [BODY]: through POD's app to its sidecar; prints
# "STATUS SECONDS BODY" (SECONDS: how long the answer took).
http() {
	local pid
	pid=$(pod_pid "$1")
	[ -n "$pid" ] || return 1
	nsenter -t "$pid" -n python3 - "$2" "$3" "${4:-}" <<'PY'
import http.client, sys, time
method, path, body = sys.argv[1:4]
t = time.monotonic()
c = http.client.HTTPConnection("127.0.0.1", 8080, timeout=20)
c.request(method, path, body=body or None,
          headers={"Content-Type": "application/json"} if body else {})
r = c.getresponse()
out = r.read().decode()
print(r.status, round(time.monotonic() - t, 2), out)
PY
}
healthy() { [ "$(http "$1" GET /sc/v1.0/healthz 2>/dev/null | cut -d' ' -f1)" = 204 ]; }
FRONT=$(pod_name front-)
BACK=$(pod_name back-)
check "both sidecars answer (front $FRONT, back $BACK)" mesh_wait 40 eval 'healthy front- && healthy back-'
BACK_ADDR=$(addr_of "$BACK")
FRONT_ADDR=$(addr_of "$FRONT")
sc_pid_of() { cat "$STATE_DIR"/n*/sidecars/shop_"$1".pid 2>/dev/null | head -1; }
BACK_SC=$(sc_pid_of "$BACK")
FRONT_SC=$(sc_pid_of "$FRONT")
check "back's sidecar serves invocations on $BACK_ADDR:50002 (its command line)" eval \
	'tr "\0" " " </proc/$BACK_SC/cmdline | grep -q -- "--invoke-listen $BACK_ADDR:50002 --invoke-advertise $BACK_ADDR:50002"'
listens_in_pod() {
	nsenter -t "$(pod_pid back-)" -n ss -Hltn "sport = :50002" | grep -q "$BACK_ADDR:50002"
}
check "... with the listening socket in back's network namespace" listens_in_pod
check "... and not in the node's" eval \
	'! nsenter -t "$BACK_SC" -n ss -Hltn "sport = :50002" | grep -q 50002'

# The policy is in force everywhere before anything is judged.
policy_in_force() {
	local i
	for i in 1 2; do
		mesh_bm "$i" policy show 2>/dev/null | grep -q back-from-front || return 1
		mesh_bm "$i" policy show 2>/dev/null | grep -q "$BACK" || return 1
		mesh_bm "$i" policy show 2>/dev/null | grep -q "$FRONT" || return 1
	done
}
check "the policy and both endpoints are in both nodes' enforced model" mesh_wait 20 policy_in_force
tcp_to_back() {
	nsenter -t "$(pod_pid front-)" -n python3 -c \
		"import socket; socket.create_connection(('$BACK_ADDR', $1), 1).close()"
}
check "front -> back tcp/8080 passes (the policy admits it)" mesh_wait 10 tcp_to_back 8080
check "front -> back tcp/50002 is dropped (the policy does not admit it)" \
	mesh_wait 10 eval '! tcp_to_back 50002'

# Not admitted: a clear, bounded error; back's app never sees the call.
out=$(http front- POST /sc/v1.0/invoke/back/method/m/hello '{"n":1}')
echo "denied: $out"
status=${out%% *}
secs=$(echo "$out" | cut -d' ' -f2)
check "invocation without 50002 admitted: 504" [ "$status" = 504 ]
denied_shape() {
	echo "$out" | cut -d" " -f3- | python3 -c '
import json, sys
e = json.load(sys.stdin)
sys.exit(not (e["errorCode"] == "ERR_DIRECT_INVOKE" and "TCP port 50002" in e["message"]))'
}
check "... with Dapr's error shape naming the port" denied_shape
check "... within the sidecar's bound (took $secs s, under 8 s)" \
	python3 -c "import sys; sys.exit(not float('$secs') < 8)"
check "... and back's app was never reached" [ ! -e "$OUT/$BACK.calls" ]

# Admitted: the call goes through.
named_port() {
	mesh_bm 1 get endpoints -o json | POD=$BACK python3 -c '
import json, os, sys
for e in json.load(sys.stdin)["endpoints"]:
    if e["name"] == os.environ["POD"]:
        sys.exit(not {"port": 50002, "protocol": "TCP", "name": "dapr-invoke"} in e["ports"])
sys.exit(1)'
}
check "back's endpoint names port 50002 dapr-invoke" named_port
check "apply the policy admitting port dapr-invoke too" eval 'mesh_bm 2 apply -f "$BM_TEST_DIR/admit.yaml" >/dev/null'
invoked() {
	local o
	o=$(http front- POST /sc/v1.0/invoke/back/method/m/hello '{"n":2}') || return 1
	[ "${o%% *}" = 200 ] || return 1
	echo "$o" | cut -d' ' -f3- >"$BM_TEST_DIR/answer.json"
}
check "front invokes back once dapr-invoke is admitted" mesh_wait 20 invoked
cat "$BM_TEST_DIR/answer.json"; echo
answer_ok() {
	BACK="$BACK" python3 - "$BM_TEST_DIR/answer.json" <<'PY'
import json, os, sys
a = json.load(open(sys.argv[1]))
assert a["pod"] == os.environ["BACK"] and a["body"] == '{"n":2}' and a["caller"] == "front", a
assert a["peer"] == "spiffe://test.bpfmesh/ns/shop/sa/front", a
assert a["path"] == "/m/hello" and a["method"] == "POST", a
PY
}
check "... back's app answered: its pod, the body, the caller and its verified identity" answer_ok
check "... and recorded exactly the admitted call" eval '[ "$(wc -l <"$OUT/$BACK.calls")" = 1 ]'

# Latency of 50 sequential invocations front -> back (printed; the two are
# usually placed on different nodes), straight at front's sidecar (one
# authenticated connection, reused).
bench() {
	nsenter -t "$(pod_pid front-)" -n python3 - <<'PY'
import http.client, time
c = http.client.HTTPConnection("127.0.0.1", 3500, timeout=20)
ts = []
for i in range(50):
    t = time.monotonic()
    c.request("POST", "/v1.0/invoke/back/method/m/bench", body=b"{}",
              headers={"Content-Type": "application/json"})
    r = c.getresponse(); r.read()
    assert r.status == 200, r.status
    ts.append((time.monotonic() - t) * 1000)
ts.sort()
print("invocation latency over 50 calls: p50 %.2f ms, p90 %.2f ms, max %.2f ms" % (ts[25], ts[45], ts[-1]))
PY
}
check "50 sequential invocations all answer 200" bench

# Renewal: same sidecar processes, a new document in use.
serial_of() {
	http "$1" GET /sc/v1.0/metadata | cut -d' ' -f3- |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["extended"]["identitySerial"])'
}
S_BACK=$(serial_of back-)
S_FRONT=$(serial_of front-)
echo "serials before renewal: back $S_BACK, front $S_FRONT"
check "metadata shows each sidecar's identity serial" eval '[ ${#S_BACK} = 16 ] && [ ${#S_FRONT} = 16 ]'
renewed() {
	local b f
	b=$(serial_of back-) && f=$(serial_of front-) || return 1
	[ -n "$b" ] && [ "$b" != "$S_BACK" ] && [ -n "$f" ] && [ "$f" != "$S_FRONT" ]
}
check "both documents renewed and reloaded (new serials in /v1.0/metadata)" mesh_wait 20 renewed
check "... by the same sidecar processes (pids $FRONT_SC, $BACK_SC)" eval \
	'[ "$(sc_pid_of "$FRONT")" = "$FRONT_SC" ] && [ "$(sc_pid_of "$BACK")" = "$BACK_SC" ] &&
	 kill -0 "$FRONT_SC" && kill -0 "$BACK_SC"'
check "... which logged the reload" grep -q "identity reloaded: spiffe://test.bpfmesh/ns/shop/sa/back" \
	"$STATE_DIR"/n*/sidecars/shop_"$BACK".log
# A call whose handshake presented front's current document (the pooled
# connection from before the renewal ends with the old document's expiry).
fresh_handshake() {
	local o f
	o=$(http front- POST /sc/v1.0/invoke/back/method/m/again '{}') || return 1
	[ "${o%% *}" = 200 ] || return 1
	f=$(serial_of front-) || return 1
	echo "$o" | cut -d' ' -f3- | F="$f" python3 -c '
import json, os, sys
sys.exit(json.load(sys.stdin)["peer_serial"] != os.environ["F"])'
}
check "a later handshake presents front's renewed document" mesh_wait 20 fresh_handshake
check "the sidecars still have not restarted" eval \
	'[ "$(sc_pid_of "$FRONT")" = "$FRONT_SC" ] && [ "$(sc_pid_of "$BACK")" = "$BACK_SC" ]'
check "no sidecar restart in the agents' logs" eval \
	'! grep -q "restarting its sidecar\|sidecar pid .* exited\|killed by signal" "$BM_TEST_DIR"/agent*.log'

# A renewed document that does not check out (garbage, replaced by rename
# as the agent does): the reload fails, the sidecar exits and the agent
# starts a new one, which serves once the next renewal brings a good one.
# (the node front runs on now: its pid file; a replica that moved at the
# start leaves an old log on the other node)
FRONT_PIDF=$(ls "$STATE_DIR"/n*/sidecars/shop_"$FRONT".pid | head -1)
FRONT_LOG=${FRONT_PIDF%.pid}.log
FRONT_DOC=$(dirname "$(dirname "$FRONT_PIDF")")/replicas/$FRONT.id
head -c 200 /dev/urandom >"$FRONT_DOC.bad" && mv "$FRONT_DOC.bad" "$FRONT_DOC"
restarted() {
	local new
	new=$(sc_pid_of "$FRONT")
	[ -n "$new" ] && [ "$new" != "$FRONT_SC" ] && kill -0 "$new" && healthy front-
}
check "a bad renewed document: the reload fails and a new sidecar serves" mesh_wait 40 restarted
check "... the old one said why it exited" grep -q "identity reload failed" "$FRONT_LOG"
check "... the agent restarted it" grep -q "sidecar pid $FRONT_SC exited with 1" "$BM_TEST_DIR"/agent*.log
check "... and front invokes back again" mesh_wait 20 invoked

mesh_down
check "no sanitizer report in the sidecars' logs" sanitizer_check
finish
