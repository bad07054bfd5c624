#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The agent in rootless mode, run by an unprivileged user this test creates:
# it detects that it cannot load BPF and says why, starts its own
# nats-server as that user, starts the workloads when the policy published
# on the bus names them, and feeds every accepted revision into the
# forwarder: a policy published on the bus changes the verdicts of new
# connections (established ones it still allows keep flowing), UDP is
# allowed and denied as the reference evaluator says, and a revocation on
# the bus cuts an authenticated flow at once; the agent's /metrics counts the
# forwarder's handshake.
# ctest-labels: rootless netns agent
if [ -z "${BM_RL_PRIVATE_MOUNTS:-}" ]; then
	export BM_RL_PRIVATE_MOUNTS=1
	exec unshare -m --propagation private bash "$0" "$@"
fi
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/rootless_lib.sh"
source "$(dirname "$0")/metrics_lib.sh"
command -v nats-server >/dev/null || [ -x /usr/sbin/nats-server ] || skip "needs nats-server"
DATA="$(dirname "$0")/data"
NT="$RL_DIR/nettool.py"
UDP="$RL_DIR/rludp.py"
cp "$(dirname "$0")/nettool.py" "$(dirname "$0")/rludp.py" "$DATA/e2e-policy.yaml" "$RL_DIR/"
# B: the server admits the client on http and TCP 9090 (UDP 5353 no longer).
sed 's/protocol: UDP/protocol: TCP/; s/port: 5353/port: 9090/' "$DATA/e2e-policy.yaml" >"$RL_DIR/b.yaml"
chown "$RL_USER:" "$RL_DIR"/*

ref_verdict() {
	rl policy check "$@" | awk '{print $1, $2}'
}

as_user "$BPFMESH" --state-dir "$RL_STATE" identity init --trust-domain test.bpfmesh >/dev/null
as_user "$BPFMESH" --state-dir "$RL_STATE" identity enroll >/dev/null
for sa in client server; do
	rl identity issue --namespace shop --service-account $sa -o "$RL_DIR/$sa.id" >/dev/null
done

SERVE="python3 $NT serve 198.18.1.2 --tcp 8080 --tcp 9090 --tcp 7070 --udp 5353 --udp 5354 --seconds 120"
# No --rootless: the agent finds out by itself.
as_user "$BPFMESH" --state-dir "$RL_STATE" agent --node rl1 --heartbeat-ms 200 \
	--dead-after-ms 1000 --port 9090 --port 7070 --udp-port 5353 --udp-port 5354 --ttl 60 \
	--workload "shop/server=$SERVE" --workload shop/client --workload shop/intruder \
	--identity "shop/client=$RL_DIR/client.id" --identity "shop/server=$RL_DIR/server.id" \
	--metrics-addr "127.0.0.1:$MPORT" >"$RL_DIR/run.log" 2>&1 &
RL_RUN_PID=$!
agent_ready() {
	rl agent status | grep -q '(ready)'
}
check "the agent comes up as the user, with its own nats-server" until_ok 20 agent_ready
check "it logs that it runs rootless and why" \
	grep -q 'mode rootless (rootless: not root and kernel.unprivileged_bpf_disabled=' "$RL_DIR/run.log"
check "its nats-server runs as the user" pgrep -u "$RL_USER" -x nats-server
# says_rootless CMD...: `bpfmesh CMD` succeeds and prints the mode with its reason.
says_rootless() {
	rl "$@" >"$RL_DIR/status.out" 2>/dev/null &&
		grep -q '^mode: *rootless (rootless: not root and kernel' "$RL_DIR/status.out"
}
check "agent status says mode rootless and why" says_rootless agent status
# has_rootless_taint: the node's advertised capacity keeps placed replicas off it.
has_rootless_taint() {
	rl get nodes -o json | python3 -c 'import json, sys
nodes = {n["name"]: n for n in json.load(sys.stdin)["nodes"]}
sys.exit("bpfmesh.io/rootless=true:NoSchedule" not in nodes["rl1"].get("taints", []))'
}
check "it advertises the rootless NoSchedule taint (no placed replicas)" \
	until_ok 10 has_rootless_taint
check "bpfmesh status says mode rootless and why" says_rootless status

expect "policy A published on the bus" 0 rl policy load "$RL_DIR/e2e-policy.yaml"
check "the workloads start once the bus policy names them" \
	until_ok 20 in_wl shop/client python3 "$NT" tcp 198.18.1.2 8080
expect "client -> server tcp/9090 refused" 1 in_wl shop/client python3 "$NT" tcp 198.18.1.2 9090 --timeout 2
check "observe shows the deny and its reason" events_have '"dport": *9090' '"reason": *"deny-ingress"'
# The agent publishes the forwarder's events on the bus like the ring
# buffer's: `observe --bus` sees them. The observer subscribes on its own
# time, so denied connections are repeated (bounded) until it has one.
bus_url=$(rl agent status --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["bus"]["urls"])')
rl observe --bus "$bus_url" --json --count 1 --timeout 20 --port 9090 --verdict deny \
	>"$RL_DIR/bus.json" 2>"$RL_DIR/bus.err" &
bus_observer=$!
for i in $(seq 40); do
	kill -0 "$bus_observer" 2>/dev/null || break
	in_wl shop/client python3 "$NT" tcp 198.18.1.2 9090 --timeout 2 >/dev/null 2>&1 || true
	sleep 0.25
done
wait "$bus_observer" || true
check "observe --bus shows the forwarder's deny, published by the agent as node rl1" grep -q \
	'"node": *"rl1".*"verdict": *"deny".*"reason": *"deny-ingress".*"source": *"user"' \
	"$RL_DIR/bus.json"
expect "client -> server udp/5353 allowed" 0 in_wl shop/client python3 "$NT" udp 198.18.1.2 5353
check "its verdict is the reference evaluator's" [ "$(last_verdict)" = \
	"$(ref_verdict --from 198.18.1.1 --to 198.18.1.2 --proto udp --port 5353)" ]
expect "client -> server udp/5354 denied" 1 \
	in_wl shop/client python3 "$NT" udp 198.18.1.2 5354 --timeout 0.5
check "its verdict is the reference evaluator's" [ "$(last_verdict)" = \
	"$(ref_verdict --from 198.18.1.1 --to 198.18.1.2 --proto udp --port 5354)" ]

# A new revision on the bus: new connections follow it, allowed ones stay.
in_wl shop/client python3 "$NT" stream 198.18.1.2 8080 --seconds 4 --interval 0.01 --max-stall 1 \
	>"$RL_DIR/stream.out" 2>&1 &
stream=$!
sleep 0.5
expect "policy B published on the bus" 0 rl policy load "$RL_DIR/b.yaml"
check "new: client -> server tcp/9090 allowed (B in force)" \
	until_ok 5 in_wl shop/client python3 "$NT" tcp 198.18.1.2 9090
expect "new: client -> server udp/5353 denied under B" 1 \
	in_wl shop/client python3 "$NT" udp 198.18.1.2 5353 --timeout 0.5
stream_rc=0
wait "$stream" || stream_rc=$?
check "the TCP stream B still allows flowed through the swap" [ "$stream_rc" = 0 ]

# A revocation on the bus cuts the authenticated flow.
check "authenticated client -> server tcp/7070 allowed" \
	tcp_echo_ok shop/client 198.18.1.2 7070
check "observe shows allow-authenticated" events_have '"reason": *"allow-authenticated"'
hs_counted() { scrape && [ "$(m 'v("bpfmesh_handshakes_total") >= 1')" = True ]; }
check "the agent's metrics count the forwarder's handshake" until_ok 5 hs_counted
in_wl shop/client python3 "$NT" stream 198.18.1.2 7070 --seconds 6 --interval 0.01 --max-stall 1 \
	>"$RL_DIR/cut.out" 2>&1 &
stream=$!
sleep 1
expect "the client's identity revoked on the bus" 0 \
	rl agent revoke spiffe://test.bpfmesh/ns/shop/sa/client
t0=$(date +%s%N)
stream_rc=0
wait "$stream" || stream_rc=$?
check "the revocation cut the authenticated flow" [ "$stream_rc" != 0 ]
check "within 1 s, by a reset (not a stall)" cut_within 1000 "$t0" "$RL_DIR/cut.out"
check "observe shows the cut flow's deny" events_have '"dport": *7070' '"reason": *"deny-auth-missing"'
expect "a revoked identity is not authenticated again" 1 \
	in_wl shop/client python3 "$NT" tcp 198.18.1.2 7070 --timeout 2
check "the agent stops and leaves no process behind (workloads, slirp4netns, nats-server)" rl_stop
finish
