# SPDX-License-Identifier: GPL-2.0-only
# Shared set-up for the socket tests (test_sock_*.sh), sourced after lib.sh:
# a private cgroup2 mount with the test's cgroups, one network namespace
# whose loopback carries the workload addresses, and a trap that kills every
# process in those cgroups and removes them before lib.sh's own clean-up.
SOCKTOOL="python3 $(dirname "${BASH_SOURCE[0]}")/socktool.py"
CG_ROOT="$BM_TEST_DIR/cg"
BM_CGROUPS=()

grep -qw cgroup2 /proc/filesystems || skip "needs cgroup v2"

sock_cleanup() {
	local cg pid i
	set +e
	for pid in "${BM_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
	for ((i = ${#BM_CGROUPS[@]} - 1; i >= 0; i--)); do
		cg=${BM_CGROUPS[$i]}
		[ -d "$cg" ] || continue
		[ -e "$cg/cgroup.kill" ] && echo 1 >"$cg/cgroup.kill"
		for pid in $(cat "$cg/cgroup.procs" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
	done
	for pid in "${BM_PIDS[@]}"; do wait "$pid" 2>/dev/null; done
	for ((i = ${#BM_CGROUPS[@]} - 1; i >= 0; i--)); do
		for _ in $(seq 50); do rmdir "${BM_CGROUPS[$i]}" 2>/dev/null && break; sleep 0.1; done
	done
	mountpoint -q "$CG_ROOT" && umount "$CG_ROOT"
	cleanup
}
trap sock_cleanup EXIT

mkdir -p "$CG_ROOT"
mount -t cgroup2 none "$CG_ROOT" || skip "cannot mount cgroup2"

# cg_add VAR NAME: create cgroup $CG_ROOT/$BM_TEST_ID-NAME (or a nested path
# NAME under an earlier one: PARENT_VAR_VALUE/NAME), register it for clean-up.
cg_add() {
	local path
	case "$2" in
	/*) path=$2 ;;
	*) path="$CG_ROOT/$BM_TEST_ID-$2" ;;
	esac
	mkdir "$path"
	BM_CGROUPS+=("$path")
	printf -v "$1" '%s' "$path"
}

# in_cg CG NS CMD...: run CMD inside namespace NS as a member of cgroup CG.
in_cg() {
	local cg=$1 ns=$2; shift 2
	ip netns exec "$ns" sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$cg" "$@"
}

# bg_cg CG NS CMD...: in_cg in the background, killed at exit.
bg_cg() {
	in_cg "$@" &
	BM_PIDS+=($!)
}

# tcp_out_segs NS: TCP segments sent so far in NS (from /proc/net/snmp).
tcp_out_segs() {
	ip netns exec "$1" awk '/^Tcp:/ { if (h) print $12; h = 1 }' /proc/net/snmp
}

# same_outcome NAME WANT_DENY(0|1) GOT: a connect outcome agrees with a verdict
# when it is EPERM exactly for denies.
agree() {
	local name=$1 want_deny=$2 got=$3 is_deny=0
	[ "$got" = EPERM ] && is_deny=1
	if [ "$is_deny" = "$want_deny" ]; then
		echo "ok: $name ($got)"
		BM_PASSES=$((BM_PASSES + 1))
	else
		echo "FAIL: $name: reference says $([ "$want_deny" = 1 ] && echo deny || echo allow), connect gave $got"
		BM_FAILS=$((BM_FAILS + 1))
	fi
}
