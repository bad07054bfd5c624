#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# tools/bench/agent.sh: propagation through the agent mesh on one machine.
# Starts one nats-server with JetStream on 127.0.0.1, three agents (nodes
# n1..n3, each with its own pin and state directory on a private bpffs),
# then runs bench_agent: 100 policy revisions published on n1 and timed
# until every node's kernel runs the new generation, and 100 revocations
# timed until every node's bm_auth lost the identity. Finally reports the
# agents' resident memory and CPU time.
#
#   tools/bench/agent.sh [COUNT [SCALE]]
#
# With SCALE (e.g. 30000), afterwards publish one generated policy of SCALE
# endpoints and about SCALE rules (agent_scale_policy.py) and report the time
# until every node enforces it and each agent's memory and CPU time.
#
# Environment: BM_BENCH_BUILD (build directory, default <repo>/build-agent;
# must hold control/bpfmesh and tools/bench/bench_agent); BM_BENCH_KEEP_LOGS
# (a directory the agents' and nats-server's logs are copied to on exit).
#
# Network rule: only loopback (NATS on 127.0.0.1); no packets are sent.
# Everything it creates (processes, the bpffs mount, directories) is removed
# on exit, also on failure.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BM_BENCH_BUILD:-$ROOT/build-agent}
BPFMESH=$BUILD/control/bpfmesh
BENCH=$BUILD/tools/bench/bench_agent
COUNT=${1:-100}
SCALE=${2:-0}
DIR=/run/bpfmesh-bench-agent-$$
NATS=$(command -v nats-server || echo /usr/sbin/nats-server)
PIDS=()

cleanup() {
	local p
	set +e
	[ -n "${BM_BENCH_KEEP_LOGS:-}" ] && mkdir -p "$BM_BENCH_KEEP_LOGS" &&
		cp "$DIR"/*.log "$BM_BENCH_KEEP_LOGS/" 2>/dev/null
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	mountpoint -q "$DIR/pins" && umount "$DIR/pins"
	rm -rf "$DIR"
}
trap cleanup EXIT

[ "$(id -u)" = 0 ] || { echo "agent.sh: needs root" >&2; exit 1; }
mkdir -p "$DIR/pins" "$DIR/nats"
chmod 700 "$DIR"
mount -t bpf bpf "$DIR/pins"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf "max_payload: 67108864\n" >"$DIR/nats.conf"
"$NATS" -c "$DIR/nats.conf" -js -a 127.0.0.1 -p "$PORT" -sd "$DIR/nats" >"$DIR/nats.log" 2>&1 &
PIDS+=($!)
for i in 1 2 3; do
	mkdir -p "$DIR/pins/n$i" "$DIR/state/n$i"
	chmod 700 "$DIR/state/n$i"
done
sleep 0.5
for i in 1 2 3; do
	"$BPFMESH" --pin-dir "$DIR/pins/n$i" --state-dir "$DIR/state/n$i" agent \
		--bus "nats://127.0.0.1:$PORT" --node "n$i" ${BM_AGENT_VERBOSE:-} >"$DIR/agent$i.log" 2>&1 &
	PIDS+=($!)
done
for k in $(seq 100); do
	ok=0
	for i in 1 2 3; do
		"$BPFMESH" --state-dir "$DIR/state/n$i" agent status --json 2>/dev/null |
			grep -q '"ready": true' && ok=$((ok + 1))
	done
	[ "$ok" = 3 ] && break
	sleep 0.1
done
[ "$ok" = 3 ] || { echo "agent.sh: agents not ready" >&2; tail "$DIR"/agent*.log; exit 1; }

# Two small policies that differ (so every revision is a real change).
for v in a b; do
	port=8080; [ "$v" = b ] && port=9090
	cat >"$DIR/policy-$v.yaml" <<YAML
apiVersion: bpfmesh.io/v1
kind: Endpoint
metadata: {name: client, namespace: shop, labels: {app: client}}
spec: {identity: "spiffe://bench.bpfmesh/ns/shop/sa/client", addresses: ["198.18.0.1"]}
---
apiVersion: bpfmesh.io/v1
kind: Endpoint
metadata: {name: server, namespace: shop, labels: {app: server}}
spec: {identity: "spiffe://bench.bpfmesh/ns/shop/sa/server", addresses: ["198.18.0.2"]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow, namespace: shop}
spec:
  podSelector: {matchLabels: {app: server}}
  ingress: [{from: [{podSelector: {matchLabels: {app: client}}}], ports: [{port: $port}]}]
YAML
done

echo "## agent propagation: 3 agents, one nats-server on 127.0.0.1, $(uname -r), $(nproc) CPUs"
"$BENCH" --socks "$DIR/state/n1/agent.sock,$DIR/state/n2/agent.sock,$DIR/state/n3/agent.sock" \
	--pins "$DIR/pins/n1,$DIR/pins/n2,$DIR/pins/n3" \
	--policy "$DIR/policy-a.yaml" --policy "$DIR/policy-b.yaml" --count "$COUNT" \
	--revoke spiffe://bench.bpfmesh/ns/shop/sa/client
grep -h "installed policy revision" "$DIR"/agent*.log |
	sed -n 's/.*, \([0-9.]*\) ms$/\1/p' | sort -n |
	awk '{v[NR]=$1} END {if (NR) printf "agent install step (build+compile+dp_install+store): n=%d p50=%s ms p99=%s ms\n", NR, v[int(NR/2)+1], v[(int(NR*0.99)>0)?int(NR*0.99):1]}'
cpu_ticks() { awk '{print $14 + $15}' "/proc/${PIDS[$1]}/stat"; }
if [ "$SCALE" -gt 0 ]; then
	python3 "$ROOT/tools/bench/agent_scale_policy.py" "$SCALE" >"$DIR/scale.json"
	for i in 1 2 3; do cpu0[$i]=$(cpu_ticks "$i"); done
	t0=$(date +%s.%N)
	rev=$("$BPFMESH" --state-dir "$DIR/state/n1" agent publish "$DIR/scale.json" | awk '{print $NF}')
	t1=$(date +%s.%N)
	for k in $(seq 1200); do
		ok=0
		for i in 1 2 3; do
			"$BPFMESH" --state-dir "$DIR/state/n$i" agent status --json |
				grep -q "\"revision\": $rev," && ok=$((ok + 1))
		done
		[ "$ok" = 3 ] && break
		sleep 0.1
	done
	t2=$(date +%s.%N)
	echo "## scale: $SCALE endpoints, ~$SCALE rules, $(stat -c %s "$DIR/scale.json") bytes of JSON, revision $rev"
	awk -v a="$t0" -v b="$t1" -v c="$t2" -v ok="$ok" 'BEGIN {
		printf "publish (validate + KV put) %.2f s; enforced on %d/3 nodes after %.2f s\n", b - a, ok, c - a }'
	for i in 1 2 3; do
		echo "agent n$i: cpu for this revision $(( $(cpu_ticks "$i") - cpu0[$i] )) ticks ($(getconf CLK_TCK)/s)"
	done
fi
for i in 1 2 3; do
	pid=${PIDS[$i]}
	printf 'agent n%d: rss %s kB (peak %s kB), cpu %s ticks (utime+stime)\n' "$i" \
		"$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")" \
		"$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")" \
		"$(awk '{print $14 + $15}' "/proc/$pid/stat")"
done
