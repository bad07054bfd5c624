#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# tools/bench/sched_sidecar.sh: apply to healthy sidecars on three agents
# (tests/netns/mesh_lib.sh topology, as tools/bench/sched.sh). Each round
# applies a Deployment of 6 (eventual) and a StatefulSet of 3 (strong)
# whose containers are tests/netns/sidecar_pod.py (an app on port 8080
# that forwards to its sidecar at 127.0.0.1:$DAPR_HTTP_PORT) on n1, and
# times:
#   run_s      `bpfmesh apply` until every agent agrees on the placement and
#              every replica runs where it is placed (polled, as sched.sh);
#   sidecar_s  `bpfmesh apply` until every replica's sidecar answers
#              GET /v1.0/healthz (204) on 127.0.0.1:3500 inside the replica's
#              network namespace (polled every 50 ms: each agent's running
#              replicas from `get workloads`, one nsenter per replica not yet
#              healthy);
#   app_s      then until the same answers through every replica's app
#              (python3 sidecar_pod.py on :8080: includes the app's start);
#   started_log_s  apply until the agents logged the last sidecar start
#              (--log-format json timestamps: free of polling overhead).
#
#   tools/bench/sched_sidecar.sh [ROUNDS]   (default 3; one fresh mesh per round)
#
# Environment: BM_BENCH_BUILD (build directory, default <repo>/build-sched).
# Network rule: only veths between the namespaces it creates, 198.18.0.0/15.
# Everything (namespaces, processes, cgroups, mounts) is removed on exit.
set -euo pipefail

SCHED_BENCH_COLUMNS="round run_s sidecar_s app_s started_log_s"
source "$(dirname "${BASH_SOURCE[0]}")/sched_lib.sh" "$@"
N=9
SIDECAR="$BUILD/sidecar/bpfmesh-sidecar"
POD_APP="$ROOT/tests/netns/sidecar_pod.py"
OUT="$BM_TEST_DIR/out"
source "$ROOT/tests/netns/mesh_sidecar_lib.sh"
trap 'mesh_dump_logs >/dev/null; mesh_down; kill_sidecars; cleanup' EXIT
mkdir -p "$OUT"

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
        - name: web
          image: host
          command: [python3, "$POD_APP", "$OUT"]
          ports: [{containerPort: 8080}]
          resources: {requests: {cpu: 50m}}
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
        - name: db
          image: host
          command: [python3, "$POD_APP", "$OUT"]
          ports: [{containerPort: 8080}]
          resources: {requests: {cpu: 50m}}
YAML

mesh_up 3
for i in 1 2 3; do mesh_agent_start "$i" --sidecar-bin "$SIDECAR"; done
views() {
	local i
	for i in 1 2 3; do
		[ "$(mesh_bm "$i" get nodes -o json | python3 -c 'import json,sys; print(sum(n["alive"] for n in json.load(sys.stdin)["nodes"]))')" = 3 ] || return 1
	done
}
mesh_wait 30 views || { echo "agents did not see each other" >&2; exit 1; }

declare -A OK=()
# all_healthy PORT PATH: every replica answers 204 on 127.0.0.1:PORT/PATH.
all_healthy() {
	local i pid name
	local -A seen=()
	for i in 1 2 3; do
		while read -r pid name; do
			[ -n "$pid" ] && [ -n "$name" ] || continue
			seen[$name]=1
			[ -n "${OK[$1/$name]:-}" ] && continue
			nsenter -t "$pid" -n python3 -c '
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=2)
c.request("GET", sys.argv[2])
sys.exit(c.getresponse().status != 204)' "$1" "$2" 2>/dev/null && OK[$1/$name]=1
		done < <(mesh_bm "$i" get workloads -o json 2>/dev/null | python3 -c '
import json, sys
for w in json.load(sys.stdin)["workloads"]:
    for r in w["running_here"]:
        print(r["pid"], r["pod"])')
	done
	[ "${#seen[@]}" = "$N" ] || return 1
	for name in "${!seen[@]}"; do [ -n "${OK[$1/$name]:-}" ] || return 1; done
}

t0=$(now)
mesh_bm 1 apply -f "$BM_TEST_DIR/bench.yaml" >/dev/null
mesh_wait 60 mesh_converged "$N" || { echo "apply did not converge" >&2; exit 1; }
run_s=$(since "$t0")
for _ in $(seq 1200); do all_healthy 3500 /v1.0/healthz && break; sleep 0.05; done
all_healthy 3500 /v1.0/healthz || { echo "sidecars not healthy" >&2; exit 1; }
sidecar_s=$(since "$t0")
for _ in $(seq 1200); do all_healthy 8080 /sc/v1.0/healthz && break; sleep 0.05; done
all_healthy 8080 /sc/v1.0/healthz || { echo "apps not healthy" >&2; exit 1; }
app_s=$(since "$t0")
logs=$(T0="$t0" python3 - "$BM_TEST_DIR"/agent*.log <<'PY'
import json, os, sys
t0 = float(os.environ["T0"])
starts = []
for path in sys.argv[1:]:
    for line in open(path, errors="replace"):
        try:
            j = json.loads(line)
        except ValueError:
            continue
        if j["msg"].startswith("sidecar: started for "):
            starts.append(j["ts"])
print("%.2f" % (max(starts) - t0) if starts else "-")
PY
)
echo "$run_s $sidecar_s $app_s $logs"
