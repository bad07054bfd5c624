#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The decentralized scheduler on three nodes (mesh_lib.sh: hub netns with the
# bus, one agent per node netns): `bpfmesh apply` of a Deployment, a
# StatefulSet and a NetworkPolicy on one node; every agent computes the same
# placement; replicas run as real processes through the runtime and their
# endpoints reach every node's ipcache; requests between replicas on
# different nodes pass or are dropped as the policy says (real packets);
# a failed node's replicas come back on the survivors; a StatefulSet ordinal
# never runs on two nodes at once (process lists, sampled throughout); a
# rejected apply changes nothing.
# ctest-labels: netns agent scheduler
source "$(dirname "$0")/lib.sh"
# The agent's default failure timeout (5 s), not mesh_lib's 3 s: "only the
# failed node's replicas move" holds only while no survivor is taken for
# dead, and a fresh-clone CI run (sanitized build, two cores) once saw an
# agent hear no heartbeat for 3.6 s from either peer while both ran.
MESH_DEAD_AFTER_MS=${MESH_DEAD_AFTER_MS:-5000}
source "$(dirname "$0")/mesh_lib.sh"
NETTOOL_PY="$(cd "$(dirname "$0")" && pwd)/nettool.py"
SAMPLER_PID=""
trap 'mesh_dump_logs; [ -n "$SAMPLER_PID" ] && kill "$SAMPLER_PID" 2>/dev/null; mesh_down; cleanup' EXIT

cat >"$BM_TEST_DIR/shop.yaml" <<YAML
apiVersion: v1
kind: ServiceAccount
metadata: {name: web, namespace: shop}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: db, namespace: shop}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: other, namespace: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      serviceAccountName: web
      containers:
        - name: web
          image: host
          command: [python3, $NETTOOL_PY, serve, 0.0.0.0, --tcp, "8080", --seconds, "300"]
          ports: [{containerPort: 8080}]
          resources: {requests: {cpu: 100m, memory: 32Mi}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: other, namespace: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: other}}
  template:
    metadata: {labels: {app: other}}
    spec:
      serviceAccountName: other
      containers:
        - name: other
          image: host
          command: [python3, $NETTOOL_PY, serve, 0.0.0.0, --tcp, "8080", --seconds, "300"]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: cache, namespace: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: cache}}
  template:
    metadata: {labels: {app: cache}}
    spec:
      nodeSelector: {disk: ssd}
      containers:
        - name: cache
          image: host
          command: [sleep, "300"]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: logger, namespace: shop}
spec:
  selector: {matchLabels: {app: logger}}
  template:
    metadata: {labels: {app: logger}}
    spec:
      containers:
        - name: logger
          image: host
          command: [sleep, "300"]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: shop}
spec:
  replicas: 2
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      serviceAccountName: db
      containers:
        - name: db
          image: host
          command: [python3, $NETTOOL_PY, serve, 0.0.0.0, --tcp, "5432", --seconds, "300"]
          ports: [{containerPort: 5432}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-from-web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  policyTypes: [Ingress]
  ingress:
    - from: [{podSelector: {matchLabels: {app: web}}}]
      ports: [{port: 5432}]
YAML
N_REPLICAS=10 # 3 web, 1 other, 1 cache, 3 logger (DaemonSet), 2 db

# wl I: node I's `get workloads -o json`.
wl() { mesh_bm "$1" get workloads -o json 2>/dev/null; }

alive_nodes() { mesh_alive; }
# placement: every alive node's placement merged (a node knows only the topics it serves)
placement() { mesh_placement_all; }
converged() { mesh_converged "$N_REPLICAS"; }

# addr_of POD: the replica's address from the endpoints bucket (node 1's view).
addr_of() {
	local i=$(alive_nodes | sed -n 1p)
	mesh_bm "$i" get endpoints -o json | POD=$1 python3 -c '
import json, os, sys
for e in json.load(sys.stdin)["endpoints"]:
    if e["name"] == os.environ["POD"]: print(e["addresses"][0]); break'
}

# pid_of POD: the replica's pid as its node reports it.
pid_of() {
	local i
	for i in $(alive_nodes); do
		wl "$i" | POD=$1 python3 -c '
import json, os, sys
for w in json.load(sys.stdin)["workloads"]:
    for r in w["running_here"]:
        if r["pod"] == os.environ["POD"]: print(r["pid"])'
	done | sed -n 1p
}

node_of() { placement "$(alive_nodes | sed -n 1p)" | awk -v p="$1" '$1 == p {print $2}'; }

# req FROM-POD TO-POD PORT: one TCP echo from inside FROM's network namespace.
req() {
	local pid addr
	pid=$(pid_of "$1")
	addr=$(addr_of "$2")
	[ -n "$pid" ] && [ -n "$addr" ] || return 2
	nsenter -t "$pid" -n python3 "$NETTOOL_PY" tcp "$addr" "$3" --timeout 1
}

# StatefulSet sampler: every 100 ms, the db-N hostnames of every node's
# replica processes; a pod seen on two nodes whose processes are both still
# alive after the sample is a double run.
sampler() {
	local i line pid host
	while :; do
		declare -A seen=()
		for i in $(seq "$MESH_N"); do
			while read -r pid host; do
				case "$host" in db-*) ;; *) continue ;; esac
				if [ -n "${seen[$host]:-}" ] && [ "${seen[$host]%%:*}" != "n$i" ]; then
					kill -0 "$pid" 2>/dev/null && kill -0 "${seen[$host]##*:}" 2>/dev/null &&
						echo "$(date +%T.%N) $host on ${seen[$host]%%:*} (pid ${seen[$host]##*:}: $(cat /proc/${seen[$host]##*:}/stat 2>/dev/null | cut -d' ' -f1-4)) and n$i (pid $pid)" >>"$BM_TEST_DIR/doubles"
				fi
				seen[$host]="n$i:$pid"
			done < <(mesh_hostnames "$i")
		done
		unset seen
		sleep 0.1
	done
}

mesh_up 3
mesh_agent_start 1
mesh_agent_start 2 --label disk=ssd
mesh_agent_start 3 --label disk=ssd --label zone=b
check "three agents in their node namespaces replay the bus and report ready" mesh_wait 40 mesh_all_ready
[ "$BM_FAILS" = 0 ] || { finish; exit 1; }
check "every agent's view has the three nodes (heartbeats with capacity)" mesh_wait 10 mesh_sees_all
check "heartbeats carry the node labels" eval 'mesh_bm 1 get nodes -o json | python3 -c "
import json, sys
n = {x[\"name\"]: x for x in json.load(sys.stdin)[\"nodes\"]}
sys.exit(not (n[\"n3\"][\"labels\"] == {\"disk\": \"ssd\", \"zone\": \"b\", \"kubernetes.io/hostname\": \"n3\"} and
             n[\"n1\"][\"labels\"] == {\"kubernetes.io/hostname\": \"n1\"}))"'
check "heartbeats carry the pod range and uplink address" \
	eval 'mesh_bm 2 get nodes -o wide | grep "198.18.0.11 *198.18.17.0/24" >/dev/null'
sampler &
SAMPLER_PID=$!
BM_PIDS+=("$SAMPLER_PID")

# A rejected apply changes nothing.
cat >"$BM_TEST_DIR/bad.yaml" <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: half, namespace: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: half}}
  template:
    metadata: {labels: {app: half}}
    spec: {containers: [{name: c, command: [sleep, "100"]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: broken, namespace: shop}
spec: {replicas: lots}
YAML
expect "apply of a file with one malformed object fails" 1 mesh_bm 1 apply -f "$BM_TEST_DIR/bad.yaml"
check "... and publishes nothing, not even its good object" \
	eval '[ "$(wl 2 | python3 -c "import json,sys; print(len(json.load(sys.stdin)[\"workloads\"]))")" = 0 ]'

t0=$(date +%s.%N)
check "apply -f on n1 publishes through its agent" eval 'mesh_bm 1 apply -f "$BM_TEST_DIR/shop.yaml" >"$BM_TEST_DIR/apply.out"'
check "apply reports each object" grep -q "statefulset/shop/db created" "$BM_TEST_DIR/apply.out"
check "all replicas placed alike on every node and running where placed" mesh_wait 40 converged
t1=$(date +%s.%N)
echo "apply to all $N_REPLICAS replicas running: $(echo "$t1 - $t0" | bc) s"
p1=$(placement 1)
echo "$p1"
check "the nodeSelector keeps cache off the unlabelled n1" \
	[ -n "$(echo "$p1" | awk '$1 ~ /^cache-/ && $2 != "n1"')" ]
knows() { mesh_placement "$1" | grep -q "^$2"; }
check "placement topics: n1 (no disk=ssd) never receives the cache request, n2 and n3 do" \
	eval '! knows 1 cache- && knows 2 cache- && knows 3 cache- && knows 1 web-'
check "the DaemonSet runs one logger on every node" \
	[ "$(echo "$p1" | awk '$1 ~ /^logger-/ {print $1 "=" $2}' | tr '\n' ' ')" = "logger-n1=n1 logger-n2=n2 logger-n3=n3 " ]
check "replicas spread over more than one node" [ "$(echo "$p1" | awk '{print $2}' | sort -u | wc -l)" -gt 1 ]

eps_everywhere() {
	local i
	for i in $(alive_nodes); do
		[ "$(mesh_bm "$i" agent status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["bus_endpoints"])')" = "$N_REPLICAS" ] || return 1
		mesh_bm "$i" policy show | grep "db-0" >/dev/null || return 1
	done
}
check "every replica's endpoint is in every node's enforced model" mesh_wait 10 eps_everywhere

# Real packets: web -> db across nodes allowed on 5432, other -> db denied.
db0_node=$(node_of db-0)
web_far=$(placement 1 | awk -v n="$db0_node" '!f && $1 ~ /^web-/ && $2 != n {print $1; f = 1}')
other_node=$(node_of other-*)
echo "db-0 on $db0_node; web replica elsewhere: ${web_far:-none}"
if [ -n "$web_far" ]; then
	check "web ($web_far, $(node_of "$web_far")) -> db-0 ($db0_node) tcp/5432 allowed" mesh_wait 5 req "$web_far" db-0 5432
fi
other=$(placement 1 | awk '$1 ~ /^other-/ {print $1}')
expect "other ($other) -> db-0 tcp/5432 denied by the NetworkPolicy" 1 req "$other" db-0 5432
web0=$(placement 1 | awk '!f && $1 ~ /^web-/ {print $1; f = 1}')
expect "other -> web tcp/8080 allowed (no policy selects web)" 0 req "$other" "$web0" 8080

# Node failure: the node running db-0 dies (agent, replicas, network).
victim=${db0_node#n}
before=$(placement "$(alive_nodes | grep -v "^$victim$" | sed -n 1p)")
t0=$(date +%s.%N)
echo "$(date +%T.%N) killing n$victim"
mesh_kill_node "$victim"
N_REPLICAS=9 # the failed node's logger goes with it
check "n$victim's replicas re-placed on the survivors and running" mesh_wait 30 converged
t1=$(date +%s.%N)
echo "node failure to re-placement complete: $(echo "$t1 - $t0" | bc) s (dead-after $MESH_DEAD_AFTER_MS ms)"
after=$(placement "$(alive_nodes | sed -n 1p)")
moved=$(diff <(echo "$before") <(echo "$after") | grep -c '^>' || true)
lost=$(echo "$before" | grep -v "^logger-" | grep -c " n$victim$" || true)
check "only the failed node's replicas moved ($moved moved, $lost were on n$victim)" [ "$moved" = "$lost" ]
if [ "$moved" != "$lost" ]; then
	echo "placement before and after the failure (<: before, >: after):"
	diff <(echo "$before") <(echo "$after") || true
	for i in $(alive_nodes); do echo "n$i's view:"; mesh_bm "$i" get nodes 2>&1 || true; done
	for i in $(alive_nodes); do
		echo "n$i's membership and placement log:"
		grep -E "peer|sched: placed|sched: start|sched: stop" "$BM_TEST_DIR/agent$i.log" | tail -n 25
	done
fi
endpoints_moved() {
	! mesh_bm "$(alive_nodes | sed -n 1p)" get endpoints -o json |
		grep "\"node\": \"n$victim\"" >/dev/null
}
check "their endpoints now name the survivors" mesh_wait 10 endpoints_moved
check "no logger for the failed node any more, one on each survivor" \
	[ "$(placement "$(alive_nodes | sed -n 1p)" | grep -c "^logger-")" = 2 ]
check "cache still on a node labelled disk=ssd" \
	[ -n "$(placement "$(alive_nodes | sed -n 1p)" | awk '$1 ~ /^cache-/ && $2 != "n1"')" ]
web_far=$(placement "$(alive_nodes | sed -n 1p)" | awk -v n="$(node_of db-0)" '!f && $1 ~ /^web-/ && $2 != n {print $1; f = 1}')
if [ -n "$web_far" ]; then
	check "after re-placement: web -> db-0 tcp/5432 allowed" mesh_wait 5 req "$web_far" db-0 5432
fi
kill "$SAMPLER_PID" 2>/dev/null; wait "$SAMPLER_PID" 2>/dev/null || true; SAMPLER_PID=""
check "a StatefulSet ordinal never ran on two nodes at once" [ ! -s "$BM_TEST_DIR/doubles" ]
[ -s "$BM_TEST_DIR/doubles" ] && cat "$BM_TEST_DIR/doubles"

survivor=$(alive_nodes | sed -n 1p)
# A new version whose request (1.1 CPU) puts it in another placement topic:
# its old topic's copy goes, every node that serves either holds it once.
python3 - "$BM_TEST_DIR/shop.yaml" >"$BM_TEST_DIR/other2.yaml" <<'PY'
import sys
doc = next(d for d in open(sys.argv[1]).read().split("\n---\n") if "kind: Deployment\nmetadata: {name: other, namespace: shop}" in d)
print(doc.rstrip("\n") + "\n          resources: {requests: {cpu: 1100m}}")
PY
old_other=$(wl "$survivor" | python3 -c 'import json,sys; print([w["template"] for w in json.load(sys.stdin)["workloads"] if w["name"] == "other" and w["kind"] == "deployment"][0])')
check "re-apply with 1.1 CPU (resource class c1): configured" \
	eval 'mesh_bm "$survivor" apply -f "$BM_TEST_DIR/other2.yaml" | grep -q "deployment/shop/other configured"'
one_other() {
	local i
	for i in $(alive_nodes); do
		[ "$(wl "$i" | OLD="$old_other" python3 -c '
import json, os, sys
ws = [w for w in json.load(sys.stdin)["workloads"] if w["name"] == "other" and w["kind"] == "deployment"]
print(len(ws) == 1 and ws[0]["template"] != os.environ["OLD"])')" = True ] || return 1
	done
}
check "the new version replaces the old replica" mesh_wait 30 converged
check "every node holds the new version once, not the old topic's copy" mesh_wait 10 one_other

# Delete: replicas stop everywhere, endpoints go.
check "delete statefulset/db" eval 'mesh_bm "$survivor" delete statefulset/db -n shop >/dev/null'
no_db() { ! mesh_bm "$1" get endpoints | grep "db-" >/dev/null; }
check "db endpoints withdrawn" mesh_wait 10 no_db "$survivor"
no_db_procs() { local i; for i in $(alive_nodes); do ! mesh_hostnames "$i" | grep " db-" >/dev/null || return 1; done; }
check "db processes stopped on every node" mesh_wait 10 no_db_procs

# delete -f: everything the file holds goes, the policy too.
check "delete -f of the whole file" \
	eval 'mesh_bm "$survivor" delete -f "$BM_TEST_DIR/shop.yaml" >"$BM_TEST_DIR/delete.out"'
cat "$BM_TEST_DIR/delete.out"
check "delete -f reports the deployments deleted, db already gone" \
	eval 'grep "deployment/shop/web deleted" "$BM_TEST_DIR/delete.out" >/dev/null &&
	      grep "statefulset/shop/db not found" "$BM_TEST_DIR/delete.out" >/dev/null'
nothing_left() {
	local i
	for i in $(alive_nodes); do
		[ -z "$(mesh_pids "$i")" ] || return 1
		[ "$(mesh_bm "$i" get endpoints -o json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["endpoints"]))')" = 0 ] || return 1
		! mesh_bm "$i" policy show | grep db-from-web >/dev/null || return 1
	done
}
check "no replica, endpoint or policy entry left on any node" mesh_wait 15 nothing_left
finish
