#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Sidecar benchmark (bench_sidecar.c), everything on 127.0.0.1:
#  1. strong mode, one nats-server (R1): save/get/CAS p50/p99 through the
#     sidecar next to the raw libnats calls in the same run;
#  2. strong mode, a 3-server cluster (R3): the same;
#  3. eventual mode, three sidecars of one workload: write throughput into
#     one and the time until the last write is visible on all three.
# Every process and the temporary directory are removed on exit.
#   tools/bench/sidecar.sh [BUILD_DIR] [N]
set -euo pipefail
BUILD=${1:-build}
N=${2:-5000}
BENCH="$BUILD/tools/bench/bench_sidecar"
SIDECAR="$BUILD/sidecar/bpfmesh-sidecar"
[ -x "$BENCH" ] && [ -x "$SIDECAR" ] || { echo "build $BENCH and $SIDECAR first" >&2; exit 2; }
NATS_SERVER=$(command -v nats-server || echo /usr/sbin/nats-server)
DIR=$(mktemp -d /tmp/bm-bench-sidecar.XXXXXX)
PIDS=()
cleanup() {
	set +e
	for p in "${PIDS[@]}"; do kill "$p"; done
	for p in "${PIDS[@]}"; do wait "$p"; done 2>/dev/null
	rm -rf "$DIR"
}
trap cleanup EXIT
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_port() {
	local i
	for i in $(seq 300); do
		python3 -c "import socket; socket.create_connection(('127.0.0.1',$1),0.2)" 2>/dev/null &&
			return 0
		sleep 0.1
	done
	return 1
}
bg() { "$@" >>"$DIR/log" 2>&1 & PIDS+=($!); }

echo "== strong, 1 nats-server (R1), $N ops each"
NP=$(free_port); SP=$(free_port)
bg "$NATS_SERVER" -a 127.0.0.1 -p "$NP" -js -sd "$DIR/single"
wait_port "$NP"
bg "$SIDECAR" --nats "nats://127.0.0.1:$NP" --http-port "$SP" --app-id bench --consistency strong --replicas 1
wait_port "$SP"
"$BENCH" strong "nats://127.0.0.1:$NP" "$SP" bmstate_default_bench_shared_statestore 1 "$N"

echo "== strong, 3-server cluster (R3), $N ops each"
declare -a C R
for i in 0 1 2; do C[$i]=$(free_port); R[$i]=$(free_port); done
for i in 0 1 2; do
	routes=""
	for j in 0 1 2; do [ "$j" = "$i" ] || routes+="${routes:+,}nats://127.0.0.1:${R[$j]}"; done
	bg "$NATS_SERVER" -a 127.0.0.1 -p "${C[$i]}" -js -sd "$DIR/c$i" --name "c$i" \
		--cluster_name bmbench --cluster "nats://127.0.0.1:${R[$i]}" --routes "$routes"
done
for i in 0 1 2; do wait_port "${C[$i]}"; done
SP=$(free_port)
# The sidecar and the raw calls both connect to server 0 (the sidecar learns
# the others from it for failover), so neither pays a route hop the other
# does not.
bg "$SIDECAR" --nats "nats://127.0.0.1:${C[0]}" \
	--http-port "$SP" --app-id bench --consistency strong --replicas 3
wait_port "$SP"
"$BENCH" strong "nats://127.0.0.1:${C[0]}" "$SP" bmstate_default_bench_shared_statestore 3 "$N"

echo "== eventual, 3 sidecars on one nats-server, $((N * 4)) writes"
P=()
for i in 0 1 2; do
	P[$i]=$(free_port)
	bg "$SIDECAR" --nats "nats://127.0.0.1:$NP" --http-port "${P[$i]}" --app-id web \
		--consistency eventual --replica "r$i"
done
for i in 0 1 2; do wait_port "${P[$i]}"; done
"$BENCH" eventual "${P[0]},${P[1]},${P[2]}" "$((N * 4))"
