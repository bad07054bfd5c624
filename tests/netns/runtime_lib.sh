# SPDX-License-Identifier: GPL-2.0-only
# Set-up for the runtime tests (source after lib.sh): a node network
# namespace, a private cgroup2 mount with a cgroup root for the replicas, a
# root filesystem directory, and a cleanup that kills every replica process
# (cgroup.kill) and removes the groups before lib.sh's cleanup runs.

RT_NETTOOL="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/nettool.py"
RT_CGMOUNT="$BM_TEST_DIR/cgroup2"
CG="$RT_CGMOUNT/$BM_TEST_ID-rt"
ROOTFS="$BM_TEST_DIR/rootfs"

rt_cleanup() {
	local g i
	set +e
	for g in "$CG"/bm-*; do
		[ -d "$g" ] || continue
		echo 1 >"$g/cgroup.kill" 2>/dev/null
	done
	for g in "$CG"/bm-*; do
		[ -d "$g" ] || continue
		for i in $(seq 50); do rmdir "$g" 2>/dev/null && break; sleep 0.1; done
	done
	rmdir "$CG" 2>/dev/null
	mountpoint -q "$RT_CGMOUNT" && umount "$RT_CGMOUNT"
	cleanup
}
trap rt_cleanup EXIT

# rt_setup SUFFIX CIDR: the node namespace ($NODE) and pod range ($POD_CIDR).
rt_setup() {
	netns_add NODE "$1"
	POD_CIDR=$2
	mkdir -p "$RT_CGMOUNT" "$ROOTFS"
	mount -t cgroup2 none "$RT_CGMOUNT" || skip "cannot mount cgroup2"
	mkdir "$CG"
	[ -e "$CG/cgroup.kill" ] || skip "needs cgroup.kill (Linux 5.14)"
}

# rt VERB ARGS...: bpfmesh runtime in the node namespace with the test's dirs.
rt() {
	local verb=$1; shift
	bm "$NODE" runtime "$verb" --pod-cidr "$POD_CIDR" --cgroup-root "$CG" \
		--rootfs-dir "$ROOTFS" --stop-timeout-ms 2000 "$@"
}

rt_json() {
	rt "$1" --json
}

# rt_field KEY FIELD [CONTAINER]: a field of `runtime list --json`, or with
# CONTAINER the pid of that container from the replica's record.
rt_field() {
	if [ $# -eq 3 ]; then
		python3 - "$STATE_DIR/runtime" "$1" "$3" <<'EOF'
import glob, json, sys
for f in glob.glob(sys.argv[1] + "/*.json"):
    r = json.load(open(f))
    if r["key"] == sys.argv[2]:
        print(r["containers"][int(sys.argv[3])]["pid"])
EOF
		return
	fi
	rt_json list | python3 -c '
import json, sys
for r in json.load(sys.stdin):
    if r["key"] == sys.argv[1]:
        print(r[sys.argv[2]])' "$1" "$2"
}

# rt_count running|all: how many replicas the runtime lists.
rt_count() {
	rt_json list | python3 -c '
import json, sys
v = json.load(sys.stdin)
print(len([r for r in v if r["running"] or sys.argv[1] == "all"]))' "$1"
}

# wait_grep FILE TEXT: wait (bounded, 10 s) until FILE contains TEXT.
wait_grep() {
	local i
	for i in $(seq 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
	echo "timed out waiting for '$2' in $1" >&2
	return 1
}

# is_alive PID: the process exists and is not a zombie (exited, unreaped).
is_alive() {
	[ -r "/proc/$1/stat" ] && ! grep -q '^[0-9]* (.*) [ZX] ' "/proc/$1/stat"
}
