#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Socket benchmark (bench_sock.c): same-node TCP request/response latency and
# bulk throughput in plain, enforce and fastpath mode, and connect() cost
# with a 100k-entry policy next to no hook, in one run. Makes its own network
# namespace (loopback only, 198.18.0.2 and 198.18.0.3), bpffs pin directory
# and cgroup2 mount, and removes them all on exit.
#   tools/bench/sock.sh [BUILD_DIR] [bench_sock options...]
set -euo pipefail
BUILD=${1:-build}
[ $# -gt 0 ] && shift
BENCH="$BUILD/tools/bench/bench_sock"
[ -x "$BENCH" ] || { echo "no $BENCH: build first" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "needs root" >&2; exit 77; }

DIR="/run/bpfmesh-bench-sock-$$"
NS="bmbench$$"
cleanup() {
	set +e
	for cg in "$DIR/cg/bench-client" "$DIR/cg/bench-server"; do
		[ -d "$cg" ] && for pid in $(cat "$cg/cgroup.procs"); do kill -9 "$pid"; done
		[ -d "$cg" ] && rmdir "$cg"
	done
	mountpoint -q "$DIR/cg" && umount "$DIR/cg"
	mountpoint -q "$DIR/pins" && umount "$DIR/pins"
	ip netns del "$NS" 2>/dev/null
	rm -rf "$DIR"
}
trap cleanup EXIT
mkdir -p "$DIR/pins" "$DIR/cg"
mount -t bpf bpf "$DIR/pins"
mount -t cgroup2 none "$DIR/cg"
ip netns add "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" addr add 198.18.0.2/32 dev lo
ip -n "$NS" addr add 198.18.0.3/32 dev lo
ip netns exec "$NS" "$BENCH" --pin-dir "$DIR/pins" --cgroup-root "$DIR/cg" "$@"
