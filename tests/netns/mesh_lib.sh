# SPDX-License-Identifier: GPL-2.0-only
# The node topology of DESIGN-nodes.md as a sourceable library (after lib.sh),
# for the scheduler tests and the demo:
#
#   hub netns ($MESH_HUB): bridge br0 198.18.0.1/24, nats-server (JetStream) on
#     198.18.0.1:4222, data in $BM_TEST_DIR/nats
#   node netns n1..nN ($BM_TEST_ID-nI): uplink eth0 198.18.0.(10+I)/24 into the
#     bridge; its agent runs inside with pod range 198.18.(16+I).0/24, pins in
#     $PIN_DIR/nI (the test's bpffs), state in $STATE_DIR/nI, replicas' cgroups
#     under $MESH_CG/$BM_TEST_ID-nI ($MESH_CG: a cgroup2 mount of the test's
#     own; every cgroup2 mount shows the one host hierarchy, so the group
#     names carry the test's id to stay apart from parallel tests)
#
# Functions: mesh_up [N], mesh_agent_start I [AGENT-ARGS...], mesh_agent_kill I,
# mesh_kill_node I, mesh_bm I ARGS..., mesh_down; helpers mesh_wait SECONDS CMD...,
# mesh_pids I (replica processes of node I), mesh_alive, mesh_placement I,
# mesh_converged N, mesh_dump_logs.
# Environment: MESH_HEARTBEAT_MS (250), MESH_DEAD_AFTER_MS (3000), MESH_AGENT_GLOBAL
# (global options for the agents, e.g. "--log-format json -v"), MESH_KEEP_LOGS=DIR.
# Everything is registered for lib.sh's cleanup as well (mesh_down is idempotent).

command -v nats-server >/dev/null || [ -x /usr/sbin/nats-server ] || skip "needs nats-server"
MESH_NATS_SERVER=$(command -v nats-server || echo /usr/sbin/nats-server)
MESH_N=3
MESH_HUB="$BM_TEST_ID-hub"
MESH_CG="$BM_TEST_DIR/cg"

# mesh_cg I: node I's cgroup root (unique on the host, see above).
mesh_cg() { echo "$MESH_CG/$BM_TEST_ID-n$1"; }
MESH_BUS="nats://198.18.0.1:4222"
MESH_HEARTBEAT_MS=${MESH_HEARTBEAT_MS:-250}
MESH_DEAD_AFTER_MS=${MESH_DEAD_AFTER_MS:-3000}
MESH_NATS_PID=""
declare -A MESH_AGENT_PID
declare -A MESH_GONE

# mesh_node I: the name of node I's namespace.
mesh_node() { echo "$BM_TEST_ID-n$1"; }

# mesh_bm I ARGS...: bpfmesh with node I's directories, inside node I.
mesh_bm() {
	local i=$1; shift
	ip netns exec "$(mesh_node "$i")" "$BPFMESH" --pin-dir "$PIN_DIR/n$i" \
		--state-dir "$STATE_DIR/n$i" "$@"
}

# mesh_wait SECONDS CMD...: poll CMD every 100 ms until it succeeds (bounded).
mesh_wait() {
	local n=$(($1 * 10)) i; shift
	for i in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
	return 1
}

_mesh_nats_up() {
	ip netns exec "$MESH_HUB" python3 -c \
		"import socket; socket.create_connection(('198.18.0.1', 4222), 0.2)"
}

_mesh_hub() {
	local hub_ns
	netns_add hub_ns hub
	ip -n "$MESH_HUB" link add br0 type bridge
	ip -n "$MESH_HUB" addr add 198.18.0.1/24 dev br0
	ip -n "$MESH_HUB" link set br0 up
	mkdir -p "$BM_TEST_DIR/nats"
	ip netns exec "$MESH_HUB" "$MESH_NATS_SERVER" -js -a 198.18.0.1 -p 4222 \
		-sd "$BM_TEST_DIR/nats" >>"$BM_TEST_DIR/nats.log" 2>&1 &
	MESH_NATS_PID=$!
	BM_PIDS+=("$MESH_NATS_PID")
	mesh_wait 10 _mesh_nats_up || { echo "nats-server did not start" >&2; return 1; }
}

_mesh_node_net() {
	local i=$1 node_ns
	netns_add node_ns "n$i"
	ip link add "$BM_TEST_ID-u$i" netns "$MESH_HUB" type veth peer name eth0 netns "$node_ns"
	ip -n "$MESH_HUB" link set "$BM_TEST_ID-u$i" master br0 up
	ip -n "$node_ns" addr add "198.18.0.$((10 + i))/24" dev eth0
	ip -n "$node_ns" link set eth0 up
	mkdir -p "$PIN_DIR/n$i" "$STATE_DIR/n$i" "$(mesh_cg "$i")"
	chmod 700 "$STATE_DIR/n$i"
}

# mesh_up [N]: hub, bus and N (default 3) node namespaces; no agents yet.
mesh_up() {
	local i
	MESH_N=${1:-3}
	mkdir -p "$MESH_CG"
	mount -t cgroup2 none "$MESH_CG"
	_mesh_hub
	for i in $(seq "$MESH_N"); do _mesh_node_net "$i"; done
}

# mesh_agent_start I [ARGS...]: node I's agent inside node I (ip netns exec
# execs, so the pid is the agent's own, for kill -9).
mesh_agent_start() {
	local i=$1; shift
	# shellcheck disable=SC2086 # MESH_AGENT_GLOBAL: extra global options, e.g. -v
	ip netns exec "$(mesh_node "$i")" "$BPFMESH" --pin-dir "$PIN_DIR/n$i" \
		--state-dir "$STATE_DIR/n$i" ${MESH_AGENT_GLOBAL:-} agent --node "n$i" --bus "$MESH_BUS" \
		--pod-cidr "198.18.$((16 + i)).0/24" --uplink eth0 --cgroup-root "$(mesh_cg "$i")" \
		--heartbeat-ms "$MESH_HEARTBEAT_MS" --dead-after-ms "$MESH_DEAD_AFTER_MS" "$@" \
		>>"$BM_TEST_DIR/agent$i.log" 2>&1 &
	MESH_AGENT_PID[$i]=$!
	BM_PIDS+=("$!")
}

# mesh_ready I: node I's agent answers and is ready.
mesh_ready() {
	mesh_bm "$1" agent status --json 2>/dev/null |
		python3 -c 'import json,sys; s=json.load(sys.stdin); sys.exit(0 if s["ready"] else 1)'
}

# mesh_all_ready: every alive node's agent answers and is ready.
mesh_all_ready() {
	local i
	for i in $(mesh_alive); do mesh_ready "$i" || return 1; done
}

# mesh_sees_all: every alive node's view counts every alive node as alive.
mesh_sees_all() {
	local i n
	n=$(mesh_alive | grep -c .)
	for i in $(mesh_alive); do
		[ "$(mesh_bm "$i" get nodes -o json 2>/dev/null | python3 -c '
import json, sys
print(sum(n["alive"] for n in json.load(sys.stdin)["nodes"]))' 2>/dev/null)" = "$n" ] || return 1
	done
}

# mesh_agent_kill I: kill -9 node I's agent only (its replicas keep running).
mesh_agent_kill() {
	kill -9 "${MESH_AGENT_PID[$1]}" 2>/dev/null || true
	wait "${MESH_AGENT_PID[$1]}" 2>/dev/null || true
}

# _mesh_cg_kill DIR: kill every process below cgroup DIR and remove the groups.
_mesh_cg_kill() {
	local d
	[ -d "$1" ] || return 0
	[ -e "$1/cgroup.kill" ] && echo 1 >"$1/cgroup.kill" 2>/dev/null
	for _ in $(seq 50); do
		[ -z "$(find "$1" -name cgroup.procs -exec cat {} + 2>/dev/null)" ] && break
		sleep 0.05
	done
	find "$1" -mindepth 1 -depth -type d 2>/dev/null | while read -r d; do rmdir "$d" 2>/dev/null; done
}

# mesh_kill_node I: the machine fails: its agent and replicas die, its network goes.
mesh_kill_node() {
	local i=$1
	mesh_agent_kill "$i"
	_mesh_cg_kill "$(mesh_cg "$i")"
	ip netns del "$(mesh_node "$i")" 2>/dev/null || true
	MESH_GONE[$i]=1
}

# mesh_pids I: pids of node I's replica processes (from its cgroups).
mesh_pids() {
	find "$(mesh_cg "$1")" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -n
}

# mesh_hostnames I: "PID HOSTNAME" of node I's replica processes (a pod's
# hostname is its pod name).
mesh_hostnames() {
	local pid
	for pid in $(mesh_pids "$1"); do
		echo "$pid $(nsenter -t "$pid" -u hostname 2>/dev/null)"
	done
}

# mesh_alive: the numbers of the nodes mesh_kill_node has not failed.
mesh_alive() {
	local i
	for i in $(seq "$MESH_N"); do [ -z "${MESH_GONE[$i]:-}" ] && echo "$i"; done
	return 0
}

# mesh_placement I: "POD NODE" lines of node I's placement (`get workloads`), sorted.
mesh_placement() {
	mesh_bm "$1" get workloads -o json 2>/dev/null | python3 -c '
import json, sys
for w in json.load(sys.stdin)["workloads"]:
    for p in w["placement"]:
        print(p["pod"], p["node"] or "-")' | sort
}

# mesh_placement_all: "POD NODE" lines of every alive node's placement, merged
# (an agent only knows the placement topics its node serves), sorted.
mesh_placement_all() {
	local i
	for i in $(mesh_alive); do mesh_placement "$i"; done | sort -u
}

# mesh_converged N: the alive nodes' placements, merged, hold N replicas, all
# on alive nodes; every node that knows a replica places it alike; each runs
# (pid alive) exactly where it is placed; each StatefulSet claim is held by
# the placed node. (A node knows only the topics it serves: docs/scheduler.md.)
mesh_converged() {
	local i alive views=()
	alive=$(mesh_alive | sed 's/^/n/' | tr '\n' ' ')
	for i in $(mesh_alive); do
		mesh_bm "$i" get workloads -o json >"$BM_TEST_DIR/conv-n$i.json" 2>/dev/null || return 1
		views+=("$BM_TEST_DIR/conv-n$i.json")
	done
	ALIVE="$alive" N="$1" python3 -c '
import json, os, sys
alive, want = os.environ["ALIVE"].split(), int(os.environ["N"])
where = {}
for path in sys.argv[1:]:
    me = path.rsplit("conv-", 1)[1][:-5]
    for w in json.load(open(path))["workloads"]:
        here = {r["pod"] for r in w["running_here"]}
        for p in w["placement"]:
            assert p["node"] in alive, p
            assert where.setdefault(p["pod"], p["node"]) == p["node"], (p, where[p["pod"]])
            assert (p["node"] == me) == (p["pod"] in here), (me, p, here)
            assert p.get("holder", p["node"]) == p["node"], p
        for r in w["running_here"]:
            os.kill(r["pid"], 0)
assert len(where) == want, (len(where), want)' "${views[@]}" 2>/dev/null
}

# mesh_dump_logs: the tail of every agent's log; with MESH_KEEP_LOGS=DIR the
# whole logs are copied there too.
mesh_dump_logs() {
	local i
	if [ -n "${MESH_KEEP_LOGS:-}" ]; then
		mkdir -p "$MESH_KEEP_LOGS"
		cp "$BM_TEST_DIR"/agent*.log "$BM_TEST_DIR/nats.log" "$MESH_KEEP_LOGS/" 2>/dev/null
	fi
	for i in $(seq "$MESH_N"); do
		echo "--- agent n$i log (tail)"
		tail -n 30 "$BM_TEST_DIR/agent$i.log" 2>/dev/null
	done
}

# mesh_down: agents stop (SIGTERM), replicas are killed, namespaces, bus and
# cgroup mount go. Idempotent; lib.sh's cleanup does the rest.
mesh_down() {
	local i
	set +e
	for i in "${!MESH_AGENT_PID[@]}"; do kill "${MESH_AGENT_PID[$i]}" 2>/dev/null; done
	for i in "${!MESH_AGENT_PID[@]}"; do wait "${MESH_AGENT_PID[$i]}" 2>/dev/null; done
	for i in $(seq "$MESH_N"); do _mesh_cg_kill "$(mesh_cg "$i")"; rmdir "$(mesh_cg "$i")" 2>/dev/null; done
	[ -n "$MESH_NATS_PID" ] && kill "$MESH_NATS_PID" 2>/dev/null
	for i in $(seq "$MESH_N"); do ip netns del "$(mesh_node "$i")" 2>/dev/null; done
	ip netns del "$MESH_HUB" 2>/dev/null
	mountpoint -q "$MESH_CG" && umount "$MESH_CG"
	return 0
}
