# SPDX-License-Identifier: GPL-2.0-only
# Shared set-up for the netns tests: unique names, a private bpffs pin
# directory and state directory, and a trap that removes every namespace,
# link, pin, mount and process the test made, whether it passes or fails.
set -euo pipefail

BM_TEST_ID="bm$$"
BM_TEST_DIR="/run/bpfmesh-test-$$"
PIN_DIR="$BM_TEST_DIR/pins"
STATE_DIR="$BM_TEST_DIR/state"
BPFMESH="${BPFMESH:?set BPFMESH to the bpfmesh binary}"
NETTOOL="python3 $(dirname "${BASH_SOURCE[0]}")/nettool.py"
BM_NETNS=()
BM_PIDS=()
BM_FAILS=0
BM_PASSES=0

skip() {
	if [ "${CI:-}" = true ]; then
		echo "FAIL (skip not allowed under CI): $*" >&2
		exit 1
	fi
	echo "SKIP: $*" >&2
	exit 77
}

[ "$(id -u)" = 0 ] || skip "needs root"
command -v ip >/dev/null || skip "needs iproute2"
command -v python3 >/dev/null || skip "needs python3"

# Unmount everything mounted at or beneath the test directory, deepest first
# (bpffs pins, cgroup2 hierarchies a test made). Cannot fail.
unmount_below_test_dir() {
	local m
	findmnt -rn -o TARGET 2>/dev/null |
		awk -v d="$BM_TEST_DIR" 'index($0, d) == 1' | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null; done
	return 0
}

cleanup() {
	local pid ns
	set +e
	for pid in "${BM_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
	for pid in "${BM_PIDS[@]}"; do wait "$pid" 2>/dev/null; done
	for ns in "${BM_NETNS[@]}"; do ip netns del "$ns" 2>/dev/null; done
	unmount_below_test_dir
	rm -rf "$BM_TEST_DIR"
}
trap cleanup EXIT

# A directory of ours that already exists was left by a run that was killed
# (SIGKILL skips the trap) and had the same pid: clear its mounts and
# namespaces, so this run neither inherits its state nor fails to clean up.
if [ -e "$BM_TEST_DIR" ]; then
	echo "note: clearing $BM_TEST_DIR, left by a killed run with pid $$" >&2
	for ns in $(ip netns list 2>/dev/null | awk -v p="$BM_TEST_ID-" 'index($1, p) == 1 { print $1 }'); do
		ip netns del "$ns" 2>/dev/null || true
	done
	unmount_below_test_dir
	rm -rf "$BM_TEST_DIR"
fi

# Host-side bpffs for our pins, made before any `ip netns exec` (which gets
# its own mount namespace) so every namespace sees the same pins.
mkdir -p "$PIN_DIR" "$STATE_DIR"
chmod 700 "$BM_TEST_DIR" "$STATE_DIR"
mount -t bpf bpf "$PIN_DIR"

# netns_add VAR SUFFIX: create a namespace named $BM_TEST_ID-SUFFIX, register
# it for cleanup and store its name in VAR (no subshell: the registry must
# live in this shell).
netns_add() {
	local ns="$BM_TEST_ID-$2"
	BM_NETNS+=("$ns")
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	printf -v "$1" '%s' "$ns"
}

# bm NS ARGS...: run bpfmesh inside namespace NS with the test's directories.
bm() {
	local ns=$1; shift
	ip netns exec "$ns" "$BPFMESH" --pin-dir "$PIN_DIR" --state-dir "$STATE_DIR" "$@"
}

# in NS CMD...: run a command in a namespace.
in_ns() {
	local ns=$1; shift
	ip netns exec "$ns" "$@"
}

# bg NS CMD...: run a command in a namespace in the background, killed at exit.
bg() {
	local ns=$1; shift
	ip netns exec "$ns" "$@" &
	BM_PIDS+=($!)
}

# wait_file PATH: wait (bounded, 10 s) for a file to appear.
wait_file() {
	local i
	for i in $(seq 100); do [ -e "$1" ] && return 0; sleep 0.1; done
	echo "timed out waiting for $1" >&2
	return 1
}

# expect NAME EXPECTED(0|1) CMD...: run CMD, compare success with EXPECTED.
expect() {
	local name=$1 want=$2 got=0; shift 2
	"$@" >/dev/null 2>&1 || got=1
	if [ "$got" = "$want" ]; then
		echo "ok: $name"
		BM_PASSES=$((BM_PASSES + 1))
	else
		echo "FAIL: $name (wanted $([ "$want" = 0 ] && echo success || echo failure))"
		BM_FAILS=$((BM_FAILS + 1))
	fi
}

# check NAME CONDITION-COMMAND...: record a boolean assertion.
check() {
	local name=$1; shift
	if "$@"; then
		echo "ok: $name"
		BM_PASSES=$((BM_PASSES + 1))
	else
		echo "FAIL: $name"
		BM_FAILS=$((BM_FAILS + 1))
	fi
}

finish() {
	echo "$BM_PASSES passed, $BM_FAILS failed"
	[ "$BM_FAILS" = 0 ]
}
