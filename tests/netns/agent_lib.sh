# SPDX-License-Identifier: GPL-2.0-only
# Set-up shared by the agent tests (sourced after lib.sh).
#
# Design: one nats-server with JetStream on 127.0.0.1 in the root namespace
# (loopback only), three agents in the root namespace too, one per "node",
# each with its own pin directory (PIN_DIR/nI on the test's bpffs) and state
# directory. Node I's data plane is attached inside its own pair of
# namespaces (client CI and server SI joined by a veth, 198.18.1I.0/24):
# pinned maps are shared across namespaces, so agent I drives the XDP
# program on SI's veth while all bus traffic stays on loopback and all test
# packets stay on veths the test created.
command -v nats-server >/dev/null || [ -x /usr/sbin/nats-server ] || skip "needs nats-server"
NATS_SERVER=$(command -v nats-server || echo /usr/sbin/nats-server)
NATS_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
NATS_URL="nats://127.0.0.1:$NATS_PORT"
NATS_PID=""
declare -A AGENT_PID
CLIENT_ID=spiffe://test.bpfmesh/ns/shop/sa/client
SERVER_ID=spiffe://test.bpfmesh/ns/shop/sa/server

nats_start() {
	"$NATS_SERVER" -js -a 127.0.0.1 -p "$NATS_PORT" -sd "$BM_TEST_DIR/nats" \
		>>"$BM_TEST_DIR/nats.log" 2>&1 &
	NATS_PID=$!
	BM_PIDS+=("$NATS_PID")
	local i
	for i in $(seq 100); do
		python3 -c "import socket; socket.create_connection(('127.0.0.1',$NATS_PORT),0.2)" \
			2>/dev/null && return 0
		sleep 0.1
	done
	echo "nats-server did not start" >&2
	return 1
}

nats_stop() {
	kill "$NATS_PID"
	wait "$NATS_PID" 2>/dev/null || true
}

# bmn I ARGS...: bpfmesh with node I's directories (root namespace).
bmn() {
	local i=$1; shift
	"$BPFMESH" --pin-dir "$PIN_DIR/n$i" --state-dir "$STATE_DIR/n$i" "$@"
}

# agent_start I [AGENT-OPTION...]: node I's agent, started directly (not in
# a subshell) so that its pid is the agent's own, for kill -9 and for cleanup.
agent_start() {
	local i=$1; shift
	"$BPFMESH" --pin-dir "$PIN_DIR/n$i" --state-dir "$STATE_DIR/n$i" agent --bus "$NATS_URL" \
		--node "n$i" --heartbeat-ms 200 --dead-after-ms 1000 "$@" \
		>>"$BM_TEST_DIR/agent$i.log" 2>&1 &
	AGENT_PID[$i]=$!
	BM_PIDS+=("$!")
}

# st I EXPR: evaluate a Python expression over node I's agent status (as s).
st() {
	timeout 10 "$BPFMESH" --pin-dir "$PIN_DIR/n$1" --state-dir "$STATE_DIR/n$1" agent status --json 2>/dev/null |
		python3 -c "import json,sys; s=json.load(sys.stdin); print($2)"
}

# wait_for SECONDS CMD...: poll CMD every 50 ms until it succeeds, for at
# most SECONDS of wall time (a slow CMD, e.g. under sanitizers and load, must
# not stretch the bound) and at most 20 * SECONDS tries.
wait_for() {
	local n=$(($1 * 20)) end=$((SECONDS + $1)) i; shift
	for i in $(seq "$n"); do
		"$@" >/dev/null 2>&1 && return 0
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.05
	done
	return 1
}

all_at_revision() {
	local i
	for i in 1 2 3; do [ "$(st "$i" 's["revision"]')" = "$1" ] || return 1; done
}

all_ready() {
	local i
	for i in 1 2 3; do [ "$(st "$i" 's["ready"] and s["bus"]["connected"]')" = True ] || return 1; done
}

# Node I: client namespace CI (198.18.1I.1 client, .3 intruder, .4 late) and
# server namespace SI (198.18.1I.2) running echo servers, XDP on SI's veth.
node_net() {
	local i=$1 c s
	netns_add c "c$i"
	netns_add s "s$i"
	ip link add "$BM_TEST_ID-c$i" netns "$c" type veth peer name "$BM_TEST_ID-s$i" netns "$s"
	in_ns "$c" ip addr add "198.18.1$i.1/24" dev "$BM_TEST_ID-c$i"
	in_ns "$c" ip addr add "198.18.1$i.3/24" dev "$BM_TEST_ID-c$i"
	in_ns "$c" ip addr add "198.18.1$i.4/24" dev "$BM_TEST_ID-c$i"
	in_ns "$s" ip addr add "198.18.1$i.2/24" dev "$BM_TEST_ID-s$i"
	in_ns "$c" ip link set "$BM_TEST_ID-c$i" up
	in_ns "$s" ip link set "$BM_TEST_ID-s$i" up
	bg "$s" $NETTOOL serve "198.18.1$i.2" --tcp 8080 --tcp 9090 --tcp 7070 --seconds 150 \
		--ready "$BM_TEST_DIR/ready$i"
	wait_file "$BM_TEST_DIR/ready$i"
	mkdir -p "$PIN_DIR/n$i" "$STATE_DIR/n$i"
	chmod 700 "$STATE_DIR/n$i"
	in_ns "$s" "$BPFMESH" --pin-dir "$PIN_DIR/n$i" --state-dir "$STATE_DIR/n$i" \
		attach "$BM_TEST_ID-s$i" --mode generic >/dev/null
}

# tcp I SRC_LAST_OCTET PORT: one echo from client namespace I.
tcp() {
	in_ns "$BM_TEST_ID-c$1" $NETTOOL tcp "198.18.1$1.2" "$3" --src "198.18.1$1.$2" --timeout 0.5
}

# on_all NAME WANT(0|1) SRC PORT: the same verdict on every node.
on_all() {
	local i
	for i in 1 2 3; do expect "n$i: $1" "$2" tcp "$i" "$3" "$4"; done
}

# on_all_allowed NAME SRC PORT: every node allows it, each within 5 s of
# retries (a slow VM under a parallel test can lose a 0.5 s connect; a deny
# would never turn into an allow by retrying).
on_all_allowed() {
	local i
	for i in 1 2 3; do check "n$i: $1" wait_for 5 tcp "$i" "$2" "$3"; done
}

# policy_file VERSION: v1 admits client on 8080 (and 7070 authenticated);
# v2 also admits it on 9090.
policy_file() {
	local f="$BM_TEST_DIR/policy-$1.yaml" extra=""
	[ "$1" = v2 ] && extra="        - port: 9090"
	cat >"$f" <<YAML
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: bpfmesh.io/v1
kind: Endpoint
metadata: {name: client, namespace: shop, labels: {app: client}}
spec:
  identity: $CLIENT_ID
  addresses: ["198.18.11.1", "198.18.12.1", "198.18.13.1"]
---
apiVersion: bpfmesh.io/v1
kind: Endpoint
metadata: {name: intruder, namespace: shop, labels: {app: intruder}}
spec:
  identity: spiffe://test.bpfmesh/ns/shop/sa/intruder
  addresses: ["198.18.11.3", "198.18.12.3", "198.18.13.3"]
---
apiVersion: bpfmesh.io/v1
kind: Endpoint
metadata: {name: server, namespace: shop, labels: {app: server}}
spec:
  identity: $SERVER_ID
  addresses: ["198.18.11.2", "198.18.12.2", "198.18.13.2"]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: server-allow-client, namespace: shop}
spec:
  podSelector: {matchLabels: {app: server}}
  policyTypes: [Ingress]
  ingress:
    - from: [{podSelector: {matchLabels: {app: client}}}]
      ports:
        - port: 8080
$extra
---
apiVersion: bpfmesh.io/v1
kind: MeshPolicy
metadata: {name: server-authenticated, namespace: shop}
spec:
  podSelector: {matchLabels: {app: server}}
  authentication: required
  ingress:
    - from: [{podSelector: {matchLabels: {app: client}}}]
      ports: [{port: 7070}]
YAML
	echo "$f"
}

dump_logs() {
	local i
	for i in 1 2 3; do
		echo "--- agent n$i log (tail)"
		tail -n 25 "$BM_TEST_DIR/agent$i.log" 2>/dev/null || true
		# A sanitizer report is longer than a tail: show its stack in full.
		if grep -q -E "Sanitizer|runtime error" "$BM_TEST_DIR/agent$i.log" 2>/dev/null; then
			grep -A 60 -m 1 -E "ERROR: .*Sanitizer|runtime error" "$BM_TEST_DIR/agent$i.log" || true
		fi
	done
}

# Bring up the bus, three nodes and three agents; wait until all are ready.
mesh_up() {
	local i
	nats_start
	for i in 1 2 3; do node_net "$i"; done
	for i in 1 2 3; do agent_start "$i"; done
	wait_for 20 all_ready
}
