#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# tools/bench/run.sh: build (Release) and run every data-plane benchmark, then
# print one table comparing bpfmesh with the baselines measured in the same
# run. Needs root (BPF, network namespaces, bpffs, nftables).
#
#   tools/bench/run.sh            full run (about 2-4 minutes)
#   BM_BENCH_QUICK=1 tools/bench/run.sh    smaller sizes, shorter rounds
#
# Environment:
#   BM_BENCH_BUILD       build directory (default: <repo>/build-bench)
#   BM_BENCH_CFLAGS      extra C flags for this build (reset on every run), e.g.
#                        -Wno-error=format-truncation when a file outside tools/bench
#                        breaks the Release build
#   BM_BENCH_OUT         directory for the raw log (default: $BM_BENCH_BUILD/bench-results)
#   BM_BENCH_NO_BUILD=1  use the binaries already in the build directory
#
# Network rule: traffic only between the two namespaces this script creates,
# over one veth pair, with addresses in 198.18.0.0/15. Everything it creates
# (namespaces, veth, nft tables inside the namespace, the private bpffs with
# every pin, processes) is removed on exit, also on failure or Ctrl-C.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BM_BENCH_BUILD:-$ROOT/build-bench}
OUT=${BM_BENCH_OUT:-$BUILD/bench-results}
QUICK=${BM_BENCH_QUICK:-0}
TAG=bmb$$
NS_GEN=${TAG}g
NS_SINK=${TAG}s
IF_GEN=${TAG}a
IF_SINK=${TAG}b
PIN=/run/bpfmesh-bench-$$
STEP_TIMEOUT=150 # seconds, any single benchmark step
RUN_DEADLINE=$((SECONDS + 420)) # the whole run, build excluded, never longer than this

# shellcheck disable=SC2054 # commas inside --models arguments are meant
if [ "$QUICK" = 1 ]; then
	XDP_SIZES=1,10000,100000
	XDP_ARGS=(--repeat 200000 --rounds 3 --flows 2000)
	VETH_SIZES=(1 100000)
	NFT_SET_SIZES=(1 10000)
	NFT_INET_SIZES=(10000)
	NFT_LINEAR_SIZES=(1 1000)
	VETH_ARGS=(--rounds 3 --time-ms 150)
	INSTALL_ARGS=(--rounds 3 --models 100:30,10000 --cpus 2)
else
	XDP_SIZES=1,10000,100000,1000000
	XDP_ARGS=(--repeat 1000000 --rounds 7 --flows 8192)
	VETH_SIZES=(1 10000 100000 1000000)
	NFT_SET_SIZES=(1 10000 100000)
	NFT_INET_SIZES=(100000)
	NFT_LINEAR_SIZES=(1 1000 10000)
	VETH_ARGS=(--rounds 7 --time-ms 250)
	# Both CPUs, as the agent's compile and install threads use every CPU.
	INSTALL_ARGS=(--rounds 5 --models 100:30,300:100,10000,100000 --cpus 2)
fi

log() { printf '%s\n' "$*" >&2; }
die() { log "run.sh: $*"; exit 1; }

cleanup() {
	set +e
	ip netns del "$NS_GEN" 2>/dev/null
	ip netns del "$NS_SINK" 2>/dev/null # takes the veth pair and its nft table with it
	if mountpoint -q "$PIN" 2>/dev/null; then
		umount "$PIN"
	fi
	[ -d "$PIN" ] && rmdir "$PIN"
	rm -f "$OUT"/nft-*.nft
}
trap cleanup EXIT
trap 'exit 130' INT TERM

check_env() {
	[ "$(id -u)" = 0 ] || die "needs root (BPF, netns, bpffs)"
	command -v ip >/dev/null || die "needs iproute2"
	command -v nft >/dev/null || die "needs nftables: apt-get install -y nftables"
	command -v cmake >/dev/null || die "needs cmake"
}

build() {
	if [ "${BM_BENCH_NO_BUILD:-0}" = 1 ]; then
		return
	fi
	local blog="$BUILD/bench-build.log"
	mkdir -p "$BUILD"
	if ! cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release \
		-DCMAKE_C_FLAGS="${BM_BENCH_CFLAGS:-}" >"$blog" 2>&1 ||
		! cmake --build "$BUILD" -j2 --target bench_xdp bench_veth_pps bench_install \
			>>"$blog" 2>&1; then
		grep -E 'error|Error' "$blog" | head -20 >&2
		die "Release build failed (full log: $blog). If a file outside tools/bench" \
			"breaks it, retry with e.g." \
			"BM_BENCH_CFLAGS='-Wno-error=format-truncation'"
	fi
}

# Bounded: every step under timeout, and no new step after the run deadline.
step() {
	local left=$((RUN_DEADLINE - SECONDS))
	if [ "$left" -le 0 ]; then
		log "run.sh: time budget spent, skipping: $*"
		return 0
	fi
	[ "$left" -gt "$STEP_TIMEOUT" ] && left=$STEP_TIMEOUT
	if ! nice -n -10 timeout --kill-after=5 "$left" "$@"; then
		log "run.sh: step failed: $*"
		return 0
	fi
}

setup_net() {
	local ns
	mkdir -p "$PIN"
	mount -t bpf bpf "$PIN" -o mode=0700
	ip netns add "$NS_GEN"
	ip netns add "$NS_SINK"
	# IPv4 only: no link-local IPv6 chatter on the veth pair
	for ns in "$NS_GEN" "$NS_SINK"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1
	done
	ip link add "$IF_GEN" netns "$NS_GEN" type veth peer name "$IF_SINK" netns "$NS_SINK"
	ip -n "$NS_GEN" addr add 198.18.0.3/15 dev "$IF_GEN"
	ip -n "$NS_SINK" addr add 198.18.0.2/15 dev "$IF_SINK"
	ip -n "$NS_GEN" link set lo up
	ip -n "$NS_SINK" link set lo up
	ip -n "$NS_GEN" link set "$IF_GEN" up
	ip -n "$NS_SINK" link set "$IF_SINK" up
}

machine() {
	echo "== machine"
	echo "date:    $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "cpu:     $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
	echo "nproc:   $(nproc)"
	echo "kernel:  $(uname -r)"
	echo "commit:  $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')" \
		"($(git -C "$ROOT" status --porcelain 2>/dev/null | wc -l) paths uncommitted)"
	echo "bpf obj: $(sha256sum "$BUILD/bpf-obj/xdp_ingress.bpf.o" | cut -c1-16)" \
		"xdp_ingress.bpf.o ($(stat -c %s "$BUILD/bpf-obj/xdp_ingress.bpf.o") bytes)"
	echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min) at start"
}

bench_xdp() {
	echo "== ns per packet, BPF_PROG_TEST_RUN"
	step "$BUILD/tools/bench/bench_xdp" --pin-dir "$PIN" --sizes "$XDP_SIZES" "${XDP_ARGS[@]}"
}

veth() {
	step "$BUILD/tools/bench/bench_veth_pps" --gen-ns "$NS_GEN" --sink-ns "$NS_SINK" \
		--gen-if "$IF_GEN" --sink-if "$IF_SINK" "${VETH_ARGS[@]}" "$@"
}

# Load an nft script into the sink namespace; print the load time.
nft_load() {
	local kind=$1 n=$2 file="$OUT/nft-$1-$2.nft" t0 t1
	"$BUILD/tools/bench/bench_veth_pps" --emit-nft "$kind" --entries "$n" \
		--sink-if "$IF_SINK" >"$file"
	t0=$(date +%s%N)
	timeout 120 ip netns exec "$NS_SINK" nft -f "$file"
	t1=$(date +%s%N)
	echo "@nftload $kind $n $(((t1 - t0) / 1000000))"
}

nft_flush() {
	ip netns exec "$NS_SINK" nft delete table netdev bmbench 2>/dev/null || true
	ip netns exec "$NS_SINK" nft delete table inet bmbench 2>/dev/null || true
}

bench_veth() {
	local n
	echo "== packets per second, veth into a namespace"
	veth --filter drop --label xdp-drop --cases allow
	veth --filter pass --label nofilter --cases allow,deny
	for n in "${VETH_SIZES[@]}"; do
		veth --filter bpfmesh --pin-dir "$PIN" --entries "$n" \
			--label "bpfmesh-$n" --cases allow,nocache,deny
		veth --filter pass --label nofilter --cases allow
	done
	veth --filter bpfmesh-direct --pin-dir "$PIN" --entries 100000 --label bpfmesh-direct-100000 \
		--cases allow,deny
	# many established connections: source ports cycle over 60000 values
	veth --filter pass --flows 60000 --label nofilter-flows60k --cases allow
	veth --filter bpfmesh --pin-dir "$PIN" --entries 100000 --flows 60000 \
		--label bpfmesh-100000-flows60k --cases allow,nocache
	for n in "${NFT_SET_SIZES[@]}"; do
		nft_load sets "$n" && veth --filter pass --label "nft-set-$n" --cases allow,deny
		nft_flush
	done
	for n in "${NFT_INET_SIZES[@]}"; do
		nft_load sets-inet "$n" && veth --filter pass --label "nft-inet-$n" --cases allow,deny
		nft_flush
	done
	for n in "${NFT_LINEAR_SIZES[@]}"; do
		nft_load linear "$n" && veth --filter pass --label "nft-linear-$n" --cases allow,deny
		nft_flush
	done
	veth --filter drop --label xdp-drop --cases allow
}

bench_install() {
	echo "== compile and load"
	step "$BUILD/tools/bench/bench_install" --pin-dir "$PIN" "${INSTALL_ARGS[@]}"
}

main() {
	local raw
	check_env
	build
	mkdir -p "$OUT"
	raw="$OUT/raw-$(date -u +%Y%m%dT%H%M%SZ).log"
	setup_net
	export LIBXDP_BPFFS=$PIN # libxdp dispatcher pins go to our private bpffs
	{
		machine
		bench_xdp
		bench_veth
		bench_install
		echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min) at end"
	} 2>&1 | tee "$raw"
	echo
	"$ROOT/tools/bench/summary.awk" "$raw" | tee "$OUT/summary.txt"
	echo
	echo "raw log: $raw"
}

main "$@"
