#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# tools/bench/sched.sh: the decentralized scheduler on three agents
# (tests/netns/mesh_lib.sh: a hub namespace with nats-server, three node
# namespaces each running an agent with a pod range, a cgroup root and XDP).
# Each round applies a Deployment (6 replicas) and a StatefulSet (3
# replicas) on n1 and times:
#   apply   `bpfmesh apply` until every agent computes the same placement and
#           every replica runs where it is placed (real processes);
#   detect  kill -9 of the node running the most replicas (agent, replicas,
#           network: mesh_kill_node) until a survivor's view drops it
#           (heartbeat timeout, --dead-after-ms);
#   replace from that detection until the survivors again agree and run all 9.
# Times come from polling the agents (`get workloads`, `get nodes`) every
# 50 ms; each poll costs ~0.1-0.3 s on a loaded machine, which bounds the
# resolution. The agents log with timestamps (--log-format json), so the
# same intervals are also read from their logs: apply_log (apply until the
# last replica started), replace_log (the first survivor's "peer failed"
# until the last replica started after it).
#
#   tools/bench/sched.sh [ROUNDS]        (default 3; one fresh mesh per round)
#
# Environment: BM_BENCH_BUILD (build directory, default <repo>/build-sched),
# MESH_HEARTBEAT_MS (250), MESH_DEAD_AFTER_MS (3000), MESH_KEEP_LOGS=DIR (each round's
# agent logs kept in DIR/round-PID).
# Network rule: only veths between the namespaces it creates, 198.18.0.0/15.
# Everything (namespaces, processes, cgroups, mounts) is removed on exit.
set -euo pipefail

SCHED_BENCH_COLUMNS="round apply_s detect_s replace_s moved lost apply_log_s replace_log_s"
source "$(dirname "${BASH_SOURCE[0]}")/sched_lib.sh" "$@"
N=9
trap 'mesh_dump_logs >/dev/null; mesh_down; cleanup' EXIT

cat >"$BM_TEST_DIR/bench.yaml" <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: bench}
spec:
  replicas: 6
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - {name: web, image: host, command: [sleep, "600"], resources: {requests: {cpu: 50m}}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: bench}
spec:
  replicas: 3
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
        - {name: db, image: host, command: [sleep, "600"], resources: {requests: {cpu: 50m}}}
YAML

mesh_up 3
for i in 1 2 3; do mesh_agent_start "$i"; done
views() {
	local i
	for i in 1 2 3; do
		[ "$(mesh_bm "$i" get nodes -o json | python3 -c 'import json,sys; print(sum(n["alive"] for n in json.load(sys.stdin)["nodes"]))')" = 3 ] || return 1
	done
}
mesh_wait 30 views || { echo "agents did not see each other" >&2; exit 1; }

t0=$(now)
mesh_bm 1 apply -f "$BM_TEST_DIR/bench.yaml" >/dev/null
mesh_wait 60 mesh_converged "$N" || { echo "apply did not converge" >&2; exit 1; }
apply_s=$(since "$t0")

before=$(mesh_placement 1)
victim=$(echo "$before" | awk '{print $2}' | sort | uniq -c | sort -rn | awk 'NR == 1 {print substr($2, 2)}')
survivor=$(mesh_alive | grep -vx "$victim" | sed -n 1p)
gone() {
	mesh_bm "$survivor" get nodes -o json | V="n$victim" python3 -c '
import json, os, sys
sys.exit(any(n["name"] == os.environ["V"] and n["alive"] for n in json.load(sys.stdin)["nodes"]))'
}
t1=$(now)
mesh_kill_node "$victim"
mesh_wait 60 gone || { echo "failure not detected" >&2; exit 1; }
detect_s=$(since "$t1")
t2=$(now)
mesh_wait 60 mesh_converged "$N" || { echo "re-placement did not converge" >&2; exit 1; }
replace_s=$(since "$t2")
after=$(mesh_placement "$survivor")
moved=$(diff <(echo "$before") <(echo "$after") | grep -c '^>' || true)
lost=$(echo "$before" | grep -c " n$victim$" || true)
logs=$(T0="$t0" T1="$t1" V="n$victim" python3 - "$BM_TEST_DIR"/agent*.log <<'EOF'
import json, os, sys
t0, t1, victim = float(os.environ["T0"]), float(os.environ["T1"]), os.environ["V"]
starts, failed = [], []
for path in sys.argv[1:]:
    for line in open(path, errors="replace"):
        try:
            j = json.loads(line)
        except ValueError:
            continue
        if j["msg"].startswith("sched: started "):
            starts.append(j["ts"])
        elif j["msg"].startswith("peer %s failed" % victim):
            failed.append(j["ts"])
before = [t for t in starts if t0 <= t < t1]
det = min(failed) if failed else None
after = [t for t in starts if det is not None and t >= det]
print("%.2f %s" % (max(before) - t0 if before else -1,
                   "%.2f" % (max(after) - det) if after else "-"))
EOF
)
echo "$apply_s $detect_s $replace_s $moved $lost $logs"
