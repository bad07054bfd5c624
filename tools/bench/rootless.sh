#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Rootless benchmark (bench_rootless.c), one run, as an unprivileged user:
# throughput and connection latency from one rootless workload to another
# through `bpfmesh rootless run` (policy evaluated, allowed), next to plain
# slirp4netns port forwarding (add_hostfwd on the server workload's API
# socket, client on the host loopback, no policy) to the same server
# workload. As root it makes a throwaway user (and, where /dev/net/tun is
# 0600, lends it a tun node in a private mount namespace) and removes both.
#   tools/bench/rootless.sh [BUILD_DIR] [ROUNDS] [SECONDS] [CONNECTS]
set -euo pipefail
BUILD=$(realpath "${1:-build}")
ROUNDS=${2:-3}
SECONDS_PER=${3:-5}
CONNECTS=${4:-2000}
BPFMESH="$BUILD/control/bpfmesh"
BENCH="$BUILD/tools/bench/bench_rootless"
[ -x "$BENCH" ] && [ -x "$BPFMESH" ] || { echo "no $BENCH or $BPFMESH: build first" >&2; exit 2; }
command -v slirp4netns >/dev/null || { echo "needs slirp4netns" >&2; exit 77; }

if [ "$(id -u)" = 0 ] && [ -z "${BM_BENCH_INNER:-}" ]; then
	export BM_BENCH_INNER=1
	exec unshare -m --propagation private bash "$0" "$@"
fi
DIR=$(mktemp -d /tmp/bpfmesh-bench-rootless.XXXXXX)
USER_NAME=
RUN_PID=
cleanup() {
	local pid i
	set +e
	pid=$(awk -F'\t' '$1 == "pid" {print $2}' "$DIR/state/rootless/status" 2>/dev/null)
	[ -n "$pid" ] && kill -TERM "$pid"
	[ -n "$RUN_PID" ] && wait "$RUN_PID"
	if [ -n "$USER_NAME" ]; then
		for pid in $(pgrep -u "$USER_NAME"); do kill -KILL "$pid"; done
		for i in $(seq 50); do pgrep -u "$USER_NAME" >/dev/null || break; sleep 0.1; done
		userdel "$USER_NAME"
	fi
	mountpoint -q /dev/net/tun && umount /dev/net/tun
	rm -rf "$DIR"
}
trap cleanup EXIT
chmod 755 "$DIR"
as_user() { "$@"; }
if [ "$(id -u)" = 0 ]; then
	USER_NAME="bmbench$$"
	useradd -M -d "$DIR" -s /usr/sbin/nologin "$USER_NAME"
	chown "$USER_NAME:" "$DIR"
	as_user() { runuser -u "$USER_NAME" -- "$@"; }
	if ! as_user test -r /dev/net/tun -a -w /dev/net/tun; then
		mknod "$DIR/tun" c 10 200
		chmod 666 "$DIR/tun"
		mount --bind "$DIR/tun" /dev/net/tun
	fi
fi

cat >"$DIR/policy.yaml" <<'YAML'
apiVersion: bpfmesh.io/v1
kind: Endpoint
metadata: {name: client, namespace: bench, labels: {app: client}}
spec:
  identity: spiffe://bench.bpfmesh/ns/bench/sa/client
  addresses: ["198.18.5.1"]
---
apiVersion: bpfmesh.io/v1
kind: Endpoint
metadata: {name: server, namespace: bench, labels: {app: server}}
spec:
  identity: spiffe://bench.bpfmesh/ns/bench/sa/server
  addresses: ["198.18.5.2"]
  ports: [{name: bench, port: 5001, protocol: TCP}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: server-from-client, namespace: bench}
spec:
  podSelector: {matchLabels: {app: server}}
  policyTypes: [Ingress]
  ingress:
    - from: [{podSelector: {matchLabels: {app: client}}}]
      ports: [{port: bench}]
YAML
chmod 644 "$DIR/policy.yaml"
SERVE_SECONDS=$((ROUNDS * (2 * SECONDS_PER + 20) + 30))
cd "$DIR"
as_user "$BPFMESH" --state-dir "$DIR/state" rootless run -f "$DIR/policy.yaml" \
	--workload "bench/server=$BENCH serve 198.18.5.2 5001 $SERVE_SECONDS & $BENCH serve 0.0.0.0 5002 $SERVE_SECONDS" \
	--workload bench/client >"$DIR/run.log" 2>&1 &
RUN_PID=$!
for i in $(seq 100); do [ -e "$DIR/state/rootless/status" ] && break; sleep 0.1; done
[ -e "$DIR/state/rootless/status" ] || { cat "$DIR/run.log" >&2; exit 1; }
sleep 0.5

# Plain slirp4netns port forwarding: host 127.0.0.1:HOST_PORT -> server workload :5002.
HOST_PORT=$((20000 + $$ % 20000))
API=$(awk -F'\t' '$1 == "workload" && $2 == "bench/server" {print $4}' "$DIR/state/rootless/status")
as_user python3 - "$API" "$HOST_PORT" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(json.dumps({"execute": "add_hostfwd", "arguments": {
    "proto": "tcp", "host_addr": "127.0.0.1", "host_port": int(sys.argv[2]),
    "guest_port": 5002}}).encode())
reply = json.loads(s.recv(4096))
if "error" in reply:
    sys.exit(f"add_hostfwd: {reply}")
PY

through_bpfmesh() { as_user "$BPFMESH" --state-dir "$DIR/state" rootless exec bench/client -- "$BENCH" "$@"; }
through_slirp() { as_user "$BENCH" "$1" 127.0.0.1 "$HOST_PORT" "$2"; }
echo "# rootless: $ROUNDS rounds, ${SECONDS_PER}s throughput, $CONNECTS connections each; kernel $(uname -r)"
echo "# $(nproc) CPUs; load average (1/5/15 min) before: $(cut -d' ' -f1-3 /proc/loadavg)"
# One second of quiet before each measurement: with few CPUs, what drains
# from the previous one (slirp4netns buffers, exiting sink processes) skews it.
for r in $(seq "$ROUNDS"); do
	sleep 1; echo "round $r bpfmesh $(through_bpfmesh tput 198.18.5.2 5001 "$SECONDS_PER")"
	sleep 1; echo "round $r slirp   $(through_slirp tput "$SECONDS_PER")"
	sleep 1; echo "round $r bpfmesh $(through_bpfmesh connect 198.18.5.2 5001 "$CONNECTS")"
	sleep 1; echo "round $r slirp   $(through_slirp connect "$CONNECTS")"
done | tee "$DIR/results"
echo "# load average (1/5/15 min) after: $(cut -d' ' -f1-3 /proc/loadavg)"
# Medians per path, and the median of the per-round ratios (each round's two
# paths ran back to back, so a ratio shares that round's machine load).
awk '
/tput_gbps/ { t[$3] = t[$3] " " $5; tr[$2, $3] = $5 }
/connect_us/ { p50[$3] = p50[$3] " " $6; p99[$3] = p99[$3] " " $8; cr[$2, $3] = $6 }
/^round/ { if ($2 > rounds) rounds = $2 }
function med(s,   a, n, i, j, x) {
	n = split(s, a, " ")
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { x = a[i]; a[i] = a[j]; a[j] = x }
	return a[int((n + 1) / 2)]
}
END {
	for (r = 1; r <= rounds; r++) {
		rt = rt " " tr[r, "bpfmesh"] / tr[r, "slirp"]
		rc = rc " " cr[r, "bpfmesh"] / cr[r, "slirp"]
	}
	printf "median throughput: bpfmesh %.2f Gbit/s, slirp4netns %.2f Gbit/s (bpfmesh/slirp %.2f)\n",
		med(t["bpfmesh"]), med(t["slirp"]), med(t["bpfmesh"]) / med(t["slirp"])
	printf "median connect+1-byte round trip: bpfmesh p50 %.1f us p99 %.1f us, slirp4netns p50 %.1f us p99 %.1f us\n",
		med(p50["bpfmesh"]), med(p99["bpfmesh"]), med(p50["slirp"]), med(p99["slirp"])
	printf "median per-round ratio bpfmesh/slirp: throughput %.2f (higher is better), connect p50 %.2f (lower is better)\n",
		med(rt), med(rc)
}' "$DIR/results"
