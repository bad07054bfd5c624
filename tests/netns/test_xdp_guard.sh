#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Anti-spoofing through the kernel: a workload namespace W joined by veth to
# a node namespace H, bm_xdp_ingress on H's end with a guard for W's real
# addresses (`bpfmesh guard set`). Real TCP and UDP from W's real address
# pass, the same from a second address W holds (a spoofed source as far as
# the node knows) is dropped, over IPv4 and IPv6, with no policy loaded and
# with one; counted as deny-spoofed and reported by observe; removing the
# guard admits the other source again.
# ctest-labels: netns dataplane
source "$(dirname "$0")/lib.sh"
DATA="$(dirname "$0")/data"

netns_add W workload
netns_add H node
VW="$BM_TEST_ID-w"
VH="$BM_TEST_ID-h"
ip link add "$VW" netns "$W" type veth peer name "$VH" netns "$H"
in_ns "$W" ip addr add 198.18.2.2/24 dev "$VW"
in_ns "$W" ip addr add 198.18.2.3/24 dev "$VW"
in_ns "$W" ip addr add fd00:2::2/64 dev "$VW" nodad
in_ns "$W" ip addr add fd00:2::3/64 dev "$VW" nodad
in_ns "$H" ip addr add 198.18.2.1/24 dev "$VH"
in_ns "$H" ip addr add fd00:2::1/64 dev "$VH" nodad
in_ns "$W" ip link set "$VW" up
in_ns "$H" ip link set "$VH" up

bg "$H" $NETTOOL serve 198.18.2.1 --tcp 8080 --udp 5353 --seconds 90 --ready "$BM_TEST_DIR/ready4"
bg "$H" $NETTOOL serve fd00:2::1 --tcp 8080 --seconds 90 --ready "$BM_TEST_DIR/ready6"
wait_file "$BM_TEST_DIR/ready4"
wait_file "$BM_TEST_DIR/ready6"

bm "$H" attach "$VH"
expect "attached, no guard: tcp from the second address passes" 0 in_ns "$W" $NETTOOL tcp 198.18.2.1 8080 --src 198.18.2.3 --timeout 3

bm "$H" guard set "$VH" 198.18.2.2 fd00:2::2
check "guard show lists the real addresses" \
	bash -c "ip netns exec '$H' '$BPFMESH' --pin-dir '$PIN_DIR' guard show '$VH' | grep -q '198.18.2.2 fd00:2::2'"
expect "bad guard address is refused" 1 bm "$H" guard set "$VH" 198.18.2.999
check "refused set leaves the guard in place" \
	bash -c "ip netns exec '$H' '$BPFMESH' --pin-dir '$PIN_DIR' guard show '$VH' | grep -q '198.18.2.2'"

spoof_count() {
	bm "$H" status --json | python3 -c \
		'import json,sys; r=json.load(sys.stdin)["reasons"]; print(r.get("deny-spoofed",{}).get("packets",0))'
}

bg "$H" "$BPFMESH" --pin-dir "$PIN_DIR" --state-dir "$STATE_DIR" observe --json --count 50 \
	--timeout 5 >"$BM_TEST_DIR/events"
observe_pid=${BM_PIDS[-1]}
sleep 0.5
# No policy loaded: the guard works on its own.
expect "no policy: tcp from the real address passes" 0 in_ns "$W" $NETTOOL tcp 198.18.2.1 8080 --src 198.18.2.2 --timeout 3
expect "no policy: udp from the real address passes" 0 in_ns "$W" $NETTOOL udp 198.18.2.1 5353 --src 198.18.2.2 --timeout 3
expect "no policy: tcp from a spoofed address dropped" 1 in_ns "$W" $NETTOOL tcp 198.18.2.1 8080 --src 198.18.2.3
expect "no policy: udp from a spoofed address dropped" 1 in_ns "$W" $NETTOOL udp 198.18.2.1 5353 --src 198.18.2.3
expect "no policy: tcp over IPv6 from the real address passes" 0 in_ns "$W" $NETTOOL tcp fd00:2::1 8080 --src fd00:2::2 --timeout 3
expect "no policy: tcp over IPv6 from a spoofed address dropped" 1 in_ns "$W" $NETTOOL tcp fd00:2::1 8080 --src fd00:2::3
wait "$observe_pid" || true
check "deny-spoofed counter counts the drops" [ "$(spoof_count)" -gt 0 ]
check "observe reports the spoofed source" \
	grep -q '"reason": *"deny-spoofed".*198.18.2.3\|198.18.2.3.*"reason": *"deny-spoofed"' "$BM_TEST_DIR/events"
check "observe reports nothing spoofed from the real address" \
	bash -c "! grep '\"deny-spoofed\"' '$BM_TEST_DIR/events' | grep -q '198.18.2.2\\b'"

# With a policy: the guard still decides first.
# W's second address is another workload the policy admits: the spoof
# impersonates it.
cat >"$BM_TEST_DIR/policy.yaml" <<YAML
apiVersion: bpfmesh.io/v1
kind: Endpoint
metadata: {name: node, namespace: infra, labels: {app: node}}
spec:
  identity: spiffe://test.bpfmesh/ns/infra/sa/node
  addresses: ["198.18.2.1", "fd00:2::1"]
---
apiVersion: bpfmesh.io/v1
kind: Endpoint
metadata: {name: work, namespace: infra, labels: {app: work}}
spec:
  identity: spiffe://test.bpfmesh/ns/infra/sa/work
  addresses: ["198.18.2.2", "fd00:2::2"]
---
apiVersion: bpfmesh.io/v1
kind: Endpoint
metadata: {name: other, namespace: infra, labels: {app: work}}
spec:
  identity: spiffe://test.bpfmesh/ns/infra/sa/other
  addresses: ["198.18.2.3", "fd00:2::3"]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: node-from-work, namespace: infra}
spec:
  podSelector: {matchLabels: {app: node}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {app: work}}}]
YAML
bm "$H" policy load "$BM_TEST_DIR/policy.yaml"
expect "the policy admits the impersonated workload" 0 bm "$H" policy check --from 198.18.2.3 --to 198.18.2.1 --proto tcp --port 8080
expect "the policy denies an unknown source" 1 bm "$H" policy check --from 198.18.2.9 --to 198.18.2.1 --proto tcp --port 8080
before=$(spoof_count)
expect "policy: tcp from the real address allowed" 0 in_ns "$W" $NETTOOL tcp 198.18.2.1 8080 --src 198.18.2.2 --timeout 3
expect "policy: tcp from the spoofed address dropped though the policy allows it" 1 in_ns "$W" $NETTOOL tcp 198.18.2.1 8080 --src 198.18.2.3
check "the drop was counted as spoofed" [ "$(spoof_count)" -gt "$before" ]

# A live flow from the real address survives a guard replacement that keeps it.
bg "$W" $NETTOOL stream 198.18.2.1 8080 --seconds 3 --interval 0.01 --max-stall 0.5
stream_pid=${BM_PIDS[-1]}
for i in $(seq 10); do
	bm "$H" guard set "$VH" 198.18.2.2 fd00:2::2 198.18.2.$((100 + i)) >/dev/null
done
stream_rc=0
wait "$stream_pid" || stream_rc=$?
check "flow from the real address survives 10 guard replacements" [ "$stream_rc" = 0 ]

bm "$H" guard del "$VH"
expect "guard removed: tcp from the second address passes again" 0 in_ns "$W" $NETTOOL tcp 198.18.2.1 8080 --src 198.18.2.3 --timeout 3
expect "guard del of a missing guard is an error" 1 bm "$H" guard del "$VH"
bm "$H" detach "$VH"
finish
