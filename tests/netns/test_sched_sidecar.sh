#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The agent starts one bpfmesh-sidecar per replica it runs (docs/agent.md,
# "Sidecars"; mesh_lib.sh: three agents, one nats-server in the hub). The
# containers (sidecar_pod.py) talk to their sidecar at
# 127.0.0.1:$DAPR_HTTP_PORT inside the replica; the test talks to them from
# inside each replica's network namespace:
#  - the containers get DAPR_HTTP_PORT=3500 and APP_PORT (the declared port);
#    GET /v1.0/healthz answers through every replica's sidecar;
#  - Deployment web (2 replicas, bpfmesh.io/consistency: eventual): a value
#    saved through one replica's sidecar is read through the other's;
#  - StatefulSet db (strong by its kind): a write, an ETag compare-and-set
#    that wins and one with the old ETag that gets 409;
#  - Deployment plain, annotated bpfmesh.io/sidecar: "false": no sidecar, no
#    DAPR_HTTP_PORT;
#  - the nodes are enrolled: every sidecar starts with its replica's
#    identity document (issued by the agent), and reloads it in place
#    (SIGHUP, same pid) when it is renewed;
#  - a sidecar killed with SIGKILL is restarted and serves again;
#  - after `bpfmesh delete` of web its sidecar processes are gone; an agent
#    killed with SIGKILL or stopped with SIGTERM leaves no sidecar behind.
# ctest-labels: netns agent sidecar
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mesh_lib.sh"
SIDECAR="$(dirname "$BPFMESH")/../sidecar/bpfmesh-sidecar"
[ -x "$SIDECAR" ] || skip "no bpfmesh-sidecar next to $BPFMESH"
POD_APP="$(cd "$(dirname "$0")" && pwd)/sidecar_pod.py"
OUT="$BM_TEST_DIR/out"

source "$(dirname "$0")/mesh_sidecar_lib.sh"
trap 'sidecar_dump; mesh_down; kill_sidecars; cleanup' EXIT

mkdir -p "$OUT"
cat >"$BM_TEST_DIR/apps.yaml" <<YAML
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  annotations: {bpfmesh.io/consistency: eventual}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web, version: v1}}
    spec:
      containers:
        - name: app
          image: host
          command: [python3, "$POD_APP", "$OUT"]
          ports: [{containerPort: 8080}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: shop}
spec:
  replicas: 1
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
        - name: app
          image: host
          command: [python3, "$POD_APP", "$OUT"]
          ports: [{containerPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: plain, namespace: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: plain}}
  template:
    metadata:
      labels: {app: plain}
      annotations: {bpfmesh.io/sidecar: "false"}
    spec:
      containers:
        - {name: app, image: host, command: [sh, -c, 'env >"$OUT/\$HOSTNAME.env"; exec sleep 300']}
YAML
# A bad annotation value is refused with the field's path; nothing applied.
sed 's/consistency: eventual/consistency: linearizable/' "$BM_TEST_DIR/apps.yaml" \
	>"$BM_TEST_DIR/bad.yaml"
rc=0
"$BPFMESH" apply --dry-run -f "$BM_TEST_DIR/bad.yaml" >"$BM_TEST_DIR/bad.out" 2>&1 || rc=$?
check "a bad bpfmesh.io/consistency is refused by apply --dry-run (exit 1)" [ "$rc" = 1 ]
check "... naming the annotation and the allowed values" \
	grep -q 'bpfmesh.io/consistency.*must be "eventual" or "strong"' "$BM_TEST_DIR/bad.out"

mesh_up 3
# Enroll the three nodes in one trust domain (n1 holds the root), so the
# agents issue each replica a workload document its sidecar starts with.
bmi() { local d=$1; shift; "$BPFMESH" --state-dir "$d" identity "$@" >>"$BM_TEST_DIR/identity.log" 2>&1; }
bmi "$STATE_DIR/n1" init --trust-domain test.bpfmesh
bmi "$STATE_DIR/n1" enroll --node n1
for i in 2 3; do
	bmi "$STATE_DIR/n$i" enroll --request "$BM_TEST_DIR/req$i" --node "n$i"
	bmi "$STATE_DIR/n1" enroll --sign "$BM_TEST_DIR/req$i" -o "$BM_TEST_DIR/cert$i"
	bmi "$STATE_DIR/n$i" enroll --install "$BM_TEST_DIR/cert$i" \
		--trust-bundle "$STATE_DIR/n1/identity/trust.bundle"
done
for i in 1 2 3; do mesh_agent_start "$i" --sidecar-bin "$SIDECAR" --trust-domain test.bpfmesh; done
check "three agents see each other" mesh_wait 40 mesh_sees_all
[ "$BM_FAILS" = 0 ] || { finish; exit 1; }
T0=$(date +%s.%N)
check "apply" eval 'mesh_bm 1 apply -f "$BM_TEST_DIR/apps.yaml" >/dev/null'
check "4 replicas placed and running" mesh_wait 40 mesh_converged 4

# pod_pid NAME-PREFIX: the pid of the (first) replica whose hostname starts so.
pod_pid() {
	local i
	for i in $(mesh_alive); do mesh_hostnames "$i"; done | awk -v p="$1" 'index($2, p) == 1 {print $1; exit}'
}
pod_names() {
	local i
	for i in $(mesh_alive); do mesh_hostnames "$i"; done | awk -v p="$1" 'index($2, p) == 1 {print $2}' | sort -u
}
# call POD METHOD PATH [BODY] [IF-MATCH]: through POD's app (inside its
# network namespace) to its sidecar; prints "STATUS ETAG BODY".
call() {
	local pid
	pid=$(pod_pid "$1") || return 1
	[ -n "$pid" ] || return 1
	nsenter -t "$pid" -n python3 - "$2" "$3" "${4:-}" "${5:-}" <<'PY'
import http.client, sys
method, path, body, etag = sys.argv[1:5]
c = http.client.HTTPConnection("127.0.0.1", 8080, timeout=5)
h = {"Content-Type": "application/json"} if body else {}
if etag:
    h["If-Match"] = etag
c.request(method, path, body=body or None, headers=h)
r = c.getresponse()
print(r.status, r.getheader("ETag") or "-", r.read().decode())
PY
}
healthy() { [ "$(call "$1" GET /sc/v1.0/healthz 2>/dev/null | cut -d' ' -f1)" = 204 ]; }
all_healthy() {
	local p
	for p in $(pod_names web-) $(pod_names db-); do healthy "$p" || return 1; done
}
WEB=($(pod_names web-))
DB=$(pod_names db-)
echo "web pods: ${WEB[*]}; db pod: $DB"
check "two web pods and one db pod run" [ "${#WEB[@]}" = 2 -a "$DB" = db-0 ]
check "GET /v1.0/healthz answers 204 inside every replica" mesh_wait 40 all_healthy
T1=$(date +%s.%N)
echo "apply to 4 replicas running and 3 sidecars healthy: $(python3 -c "print(round($T1 - $T0, 2))") s"

env_of() { call "$1" GET /env | cut -d' ' -f3-; }
check "the containers have DAPR_HTTP_PORT=3500 and APP_PORT=8080" eval \
	'[ "$(env_of "${WEB[0]}" | python3 -c "import json,sys; e=json.load(sys.stdin); print(e[\"DAPR_HTTP_PORT\"], e[\"APP_PORT\"])")" = "3500 8080" ]'
check "one sidecar per replica with a sidecar (3)" [ "$(sidecar_pids | wc -l)" = 3 ]
for p in "${WEB[@]}" "$DB"; do
	f=$(ls "$STATE_DIR"/n*/sidecars/shop_"$p".pid 2>/dev/null | head -1)
	scpid=$(cat "$f" 2>/dev/null || echo 0)
	ppid=$(pod_pid "$p")
	check "$p: its sidecar runs outside the replica's network namespace" eval \
		'[ "$(readlink /proc/$scpid/ns/net)" != "$(readlink /proc/$ppid/ns/net)" ]'
done

# Each sidecar holds its replica's identity document (checked at its start).
for p in "${WEB[@]}" "$DB"; do
	f=$(ls "$STATE_DIR"/n*/sidecars/shop_"$p".pid 2>/dev/null | head -1)
	scpid=$(cat "$f" 2>/dev/null || echo 0)
	node_dir=$(dirname "$(dirname "$f")")
	check "$p: its sidecar runs with --identity $node_dir/replicas/$p.id" eval \
		'tr "\0" " " </proc/$scpid/cmdline | grep -q -- "--identity $node_dir/replicas/$p.id --identity-dir $node_dir/identity"'
done

# Eventual: saved through one web replica, read through the other.
V="v-$$-$RANDOM"
check "save through ${WEB[0]}" eval \
	'[ "$(call "${WEB[0]}" POST /sc/v1.0/state/statestore "[{\"key\":\"greeting\",\"value\":\"$V\"}]" | cut -d" " -f1)" = 204 ]'
read_other() { [ "$(call "${WEB[1]}" GET /sc/v1.0/state/statestore/greeting | cut -d' ' -f3-)" = "\"$V\"" ]; }
check "read through ${WEB[1]} after convergence" mesh_wait 20 read_other

# Strong: a write and an ETag compare-and-set through db-0's sidecar.
check "db: save" eval \
	'[ "$(call db-0 POST /sc/v1.0/state/statestore "[{\"key\":\"n\",\"value\":1}]" | cut -d" " -f1)" = 204 ]'
E1=$(call db-0 GET /sc/v1.0/state/statestore/n | cut -d' ' -f2)
check "db: a strong ETag (a KV revision)" eval '[[ "$E1" =~ ^[0-9]+$ ]] && [ "$E1" -lt 1000 ]'
check "db: CAS with the current ETag wins" eval \
	'[ "$(call db-0 POST /sc/v1.0/state/statestore "[{\"key\":\"n\",\"value\":2,\"etag\":\"$E1\"}]" | cut -d" " -f1)" = 204 ]'
check "db: CAS with the old ETag gets 409" eval \
	'[ "$(call db-0 POST /sc/v1.0/state/statestore "[{\"key\":\"n\",\"value\":3,\"etag\":\"$E1\"}]" | cut -d" " -f1)" = 409 ]'
check "db: the value is the winner's" eval \
	'[ "$(call db-0 GET /sc/v1.0/state/statestore/n | cut -d" " -f3-)" = 2 ]'

# No sidecar where the workload says so.
PLAIN=$(pod_names plain-)
check "plain: no sidecar" eval '! ls "$STATE_DIR"/n*/sidecars/shop_"$PLAIN".pid 2>/dev/null'
check "plain: no DAPR_HTTP_PORT in its environment" eval \
	'[ -s "$OUT/$PLAIN.env" ] && ! grep -q DAPR_HTTP_PORT "$OUT/$PLAIN.env"'

# A sidecar killed with SIGKILL is restarted.
f=$(ls "$STATE_DIR"/n*/sidecars/shop_"${WEB[0]}".pid)
old=$(cat "$f")
kill -9 "$old"
restarted() {
	local new
	new=$(cat "$f" 2>/dev/null) || return 1
	[ -n "$new" ] && [ "$new" != "$old" ] && healthy "${WEB[0]}"
}
check "a SIGKILLed sidecar is restarted and serves again" mesh_wait 20 restarted
read_back() { [ "$(call "${WEB[0]}" GET /sc/v1.0/state/statestore/greeting | cut -d' ' -f3-)" = "\"$V\"" ]; }
check "... and the eventual state comes back to it" mesh_wait 20 read_back

# A renewed identity document (replaced by rename, as the agent does) is
# reloaded by the running sidecar (SIGHUP), which keeps serving.
f=$(ls "$STATE_DIR"/n*/sidecars/shop_db-0.pid)
doc="$(dirname "$(dirname "$f")")/replicas/db-0.id"
log="${f%.pid}.log"
old=$(cat "$f")
reloads_before=$(grep -c "identity reloaded" "$log" || true)
cp -p "$doc" "$doc.tmp" && mv "$doc.tmp" "$doc"
reloaded() {
	[ "$(grep -c "identity reloaded: spiffe://" "$log")" -gt "$reloads_before" ] && healthy db-0
}
check "a renewed identity document is reloaded by the running sidecar, which serves on" \
	mesh_wait 20 reloaded
check "... without a restart (same pid $old)" eval '[ "$(cat "$f")" = "$old" ] && kill -0 "$old"'
check "... with the value it had" eval \
	'[ "$(call db-0 GET /sc/v1.0/state/statestore/n | cut -d" " -f3-)" = 2 ]'
# So is a new trust bundle of the node (replaced by rename; the revocation
# list, crl.bin, is watched the same way).
bundle="$(dirname "$(dirname "$f")")/identity/trust.bundle"
reloads_before=$(grep -c "identity reloaded" "$log" || true)
cp -p "$bundle" "$bundle.tmp" && mv "$bundle.tmp" "$bundle"
check "a replaced trust bundle is reloaded by the same sidecar" mesh_wait 20 reloaded
check "... still pid $old" eval '[ "$(cat "$f")" = "$old" ] && kill -0 "$old"'

# Deleted workload: its sidecars are gone.
WEB_SC=$(cat "$STATE_DIR"/n*/sidecars/shop_web-*.pid)
check "delete web" eval 'mesh_bm 2 delete deployment/web -n shop >/dev/null'
gone() {
	local pid
	for pid in $WEB_SC; do kill -0 "$pid" 2>/dev/null && return 1; done
	! ls "$STATE_DIR"/n*/sidecars/shop_web-*.pid >/dev/null 2>&1
}
check "web's sidecars are gone after delete" mesh_wait 30 gone
check "db's sidecar still serves" healthy db-0

# An agent killed with SIGKILL leaves no sidecar behind (--exit-with-parent).
K=""
for i in 1 2 3; do
	if [ -n "$(cat "$STATE_DIR/n$i"/sidecars/*.pid 2>/dev/null)" ]; then K=$i; break; fi
done
KILLED=$(cat "$STATE_DIR/n$K"/sidecars/*.pid 2>/dev/null)
check "node $K runs a sidecar" [ -n "$KILLED" ]
mesh_agent_kill "$K"
dead() {
	local pid
	for pid in $KILLED; do kill -0 "$pid" 2>/dev/null && return 1; done
	return 0
}
check "its sidecars stop when the agent is killed with SIGKILL" mesh_wait 15 dead

LEFT=$(sidecar_pids)
mesh_down
check "no sidecar outlives its agent (SIGTERM)" eval \
	'[ -n "$LEFT$KILLED" ] && [ -z "$(for p in $LEFT; do kill -0 $p 2>/dev/null && echo $p; done)" ]'
check "no sanitizer report in the sidecars' logs" sanitizer_check
finish
