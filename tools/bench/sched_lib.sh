# SPDX-License-Identifier: GPL-2.0-only
#
# Shared by the three-agent scheduler benchmarks (tools/bench/sched.sh,
# tools/bench/sched_sidecar.sh). Source it at the top level with
# SCHED_BENCH_COLUMNS set to the table's header and the script's arguments:
#   SCHED_BENCH_COLUMNS="round a_s b_s"; source "$(dirname "$0")/sched_lib.sh" "$@"
# Called as `SCRIPT [ROUNDS]` (default 3) it prints the header, runs
# `SCRIPT --one` once per round (one fresh mesh each: its own namespaces,
# nats-server and agents) prefixing each row with the round number, and
# exits. Called as `SCRIPT --one` it returns to the script with
# tests/netns/lib.sh and mesh_lib.sh sourced (agents log JSON with
# timestamps), MESH_KEEP_LOGS=DIR made per round (DIR/round-PID), and
# ROOT, BUILD, BPFMESH, now and since defined; the script sets its own trap.
# Environment: BM_BENCH_BUILD (build directory, default <repo>/build-sched).

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BM_BENCH_BUILD:-$ROOT/build-sched}
export BPFMESH=$BUILD/control/bpfmesh

if [ "${1:-}" != --one ]; then
	[ -x "$BPFMESH" ] || { echo "no $BPFMESH (set BM_BENCH_BUILD)" >&2; exit 1; }
	echo "$SCHED_BENCH_COLUMNS"
	for r in $(seq "${1:-3}"); do
		printf '%s ' "$r"
		bash "$0" --one
	done
	exit 0
fi

source "$ROOT/tests/netns/lib.sh"
MESH_AGENT_GLOBAL="--log-format json"
source "$ROOT/tests/netns/mesh_lib.sh"
[ -n "${MESH_KEEP_LOGS:-}" ] && MESH_KEEP_LOGS="$MESH_KEEP_LOGS/round-$$"

# now: the wall clock in seconds. since T: seconds from T to now, 2 decimals.
now() { date +%s.%N; }
since() { python3 -c "print('%.2f' % ($(now) - $1))"; }
