#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# A rolling update without a controller (mesh_lib.sh: three agents, a real
# nats-server): a Deployment of 3 replicas runs as version v1; applying its
# v2 template (a new template hash: a new generation) replaces the replicas
# one at a time as every agent computes the same sched_rollout() targets
# from the endpoints: with maxSurge 1 and maxUnavailable 0, between 3 and 4
# web replica processes exist at every sample (5 ms) until only v2 runs.
# ctest-labels: netns agent scheduler
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mesh_lib.sh"
SAMPLER_PID=""
trap 'mesh_dump_logs; [ -n "$SAMPLER_PID" ] && kill "$SAMPLER_PID" 2>/dev/null; mesh_down; cleanup' EXIT

# web VERSION: the Deployment with pod label version=VERSION.
web() {
	cat <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 3
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web, version: $1}}
    spec:
      containers:
        - {name: web, image: host, command: [sleep, "300"]}
YAML
}
web v1 >"$BM_TEST_DIR/v1.yaml"
web v2 >"$BM_TEST_DIR/v2.yaml"

# web_pods: the distinct web-* pod names whose processes run on any node.
web_pods() {
	local i
	for i in $(mesh_alive); do mesh_hostnames "$i"; done | awk '$2 ~ /^web-/ {print $2}' | sort -u
}

mesh_up 3
for i in 1 2 3; do mesh_agent_start "$i"; done
check "three agents see each other" mesh_wait 40 mesh_sees_all
[ "$BM_FAILS" = 0 ] || { finish; exit 1; }

check "apply v1" eval 'mesh_bm 1 apply -f "$BM_TEST_DIR/v1.yaml" >/dev/null'
check "v1: 3 replicas placed and running" mesh_wait 30 mesh_converged 3
v1=$(web_pods)
echo "v1 pods: $(echo $v1)"
check "3 v1 pods run" [ "$(echo "$v1" | grep -c .)" = 3 ]
v1_hash=$(echo "$v1" | sed -n 1p | awk -F- '{print $2}')

# Sample the web pods every 5 ms during the rollout: one pass over the
# nodes' replica cgroups, a pod named by its processes' HOSTNAME (the
# runtime sets it to the pod name), so a sample takes a millisecond rather
# than an nsenter per process (which under load missed short surges).
python3 - "$BM_TEST_DIR/samples" $(for i in 1 2 3; do mesh_cg "$i"; done) <<'PY' &
import os, sys, time
out = open(sys.argv[1], "a", buffering=1)
end = time.monotonic() + 120
while time.monotonic() < end:
    pods = set()
    for root in sys.argv[2:]:
        for d, _, files in os.walk(root):
            if "cgroup.procs" not in files:
                continue
            try:
                pids = open(os.path.join(d, "cgroup.procs")).read().split()
            except OSError:
                continue
            for p in pids:
                try:
                    env = open(f"/proc/{p}/environ", "rb").read().split(b"\0")
                except OSError:
                    continue
                pods.update(kv[9:].decode() for kv in env if kv.startswith(b"HOSTNAME=web-"))
    out.write("".join(p + " " for p in sorted(pods)) + "\n")
    time.sleep(0.005)
PY
SAMPLER_PID=$!
BM_PIDS+=("$SAMPLER_PID")
sampling() { [ -s "$BM_TEST_DIR/samples" ]; }
check "the sampler sees the v1 pods before v2 is applied" mesh_wait 10 sampling

check "apply v2" eval 'mesh_bm 2 apply -f "$BM_TEST_DIR/v2.yaml" >"$BM_TEST_DIR/apply2.out"'
check "apply v2 reports the deployment configured" \
	grep "deployment/shop/web configured" "$BM_TEST_DIR/apply2.out"
only_v2() {
	local p
	p=$(web_pods)
	[ "$(echo "$p" | grep -c .)" = 3 ] && ! echo "$p" | grep -- "-$v1_hash-" >/dev/null &&
		mesh_converged 3
}
check "the rollout ends with 3 v2 replicas and no v1" mesh_wait 40 only_v2
kill "$SAMPLER_PID" 2>/dev/null; wait "$SAMPLER_PID" 2>/dev/null || true; SAMPLER_PID=""
v2=$(web_pods)
echo "v2 pods: $(echo $v2)"
check "v2 pods have a new template hash" [ -z "$(echo "$v2" | grep -- "-$v1_hash-")" ]
counts=$(awk '{print NF}' "$BM_TEST_DIR/samples" | sort -n | uniq -c | tr '\n' ';')
echo "pods per sample (count x pods): $counts"
check "never more than replicas + maxSurge (4) web pods" \
	[ "$(awk '{print NF}' "$BM_TEST_DIR/samples" | sort -n | tail -1)" -le 4 ]
check "never fewer than replicas - maxUnavailable (3) web pods" \
	[ "$(awk '{print NF}' "$BM_TEST_DIR/samples" | sort -n | sed -n 1p)" -ge 3 ]
check "the surge was used (4 pods at some sample)" grep -qE '^([^ ]+ ){4}$' "$BM_TEST_DIR/samples"
finish
