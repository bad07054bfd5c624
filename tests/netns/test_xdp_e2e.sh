#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# End to end through the kernel: two namespaces joined by veth, bpfmesh
# attached to the server's interface, real TCP and UDP allowed and denied as
# the policy says (an allowed exchange gets 3 s, a denied one is judged by a
# 1 s timeout), counters and deny events observed, and the policy
# replaced under a live flow without breaking it.
# ctest-labels: netns dataplane
source "$(dirname "$0")/lib.sh"
DATA="$(dirname "$0")/data"

netns_add C client
netns_add S server
ip link add "$BM_TEST_ID-c" netns "$C" type veth peer name "$BM_TEST_ID-s" netns "$S"
VC="$BM_TEST_ID-c"
VS="$BM_TEST_ID-s"
in_ns "$C" ip addr add 198.18.1.1/24 dev "$VC"
in_ns "$C" ip addr add 198.18.1.3/24 dev "$VC"
in_ns "$C" ip addr add fd00:1::1/64 dev "$VC" nodad
in_ns "$S" ip addr add 198.18.1.2/24 dev "$VS"
in_ns "$S" ip addr add fd00:1::2/64 dev "$VS" nodad
in_ns "$C" ip link set "$VC" up
in_ns "$S" ip link set "$VS" up

bg "$S" $NETTOOL serve 198.18.1.2 --tcp 8080 --tcp 9090 --tcp 7070 --udp 5353 --seconds 120 \
	--ready "$BM_TEST_DIR/ready4"
bg "$S" $NETTOOL serve fd00:1::2 --tcp 8080 --tcp 9090 --seconds 120 --ready "$BM_TEST_DIR/ready6"
wait_file "$BM_TEST_DIR/ready4"
wait_file "$BM_TEST_DIR/ready6"

expect "before attach: tcp 9090 open" 0 in_ns "$C" $NETTOOL tcp 198.18.1.2 9090 --timeout 3
bm "$S" attach "$VS"
bm "$S" policy load "$DATA/e2e-policy.yaml"

expect "client -> server tcp/8080 (named port http) allowed" 0 in_ns "$C" $NETTOOL tcp 198.18.1.2 8080 --src 198.18.1.1 --timeout 3
expect "client -> server tcp/8080 over IPv6 allowed" 0 in_ns "$C" $NETTOOL tcp fd00:1::2 8080 --src fd00:1::1 --timeout 3
expect "client -> server udp/5353 allowed" 0 in_ns "$C" $NETTOOL udp 198.18.1.2 5353 --src 198.18.1.1 --timeout 3
expect "client -> server tcp/9090 denied" 1 in_ns "$C" $NETTOOL tcp 198.18.1.2 9090 --src 198.18.1.1
expect "client -> server tcp/9090 over IPv6 denied" 1 in_ns "$C" $NETTOOL tcp fd00:1::2 9090 --src fd00:1::1

# A deny event with the intruder's identity name, caught by observe.
bg "$S" "$BPFMESH" --pin-dir "$PIN_DIR" --state-dir "$STATE_DIR" observe --json --count 50 \
	--timeout 4 >"$BM_TEST_DIR/events"
sleep 0.5
expect "intruder -> server tcp/8080 denied" 1 in_ns "$C" $NETTOOL tcp 198.18.1.2 8080 --src 198.18.1.3
expect "intruder -> server udp/5353 denied" 1 in_ns "$C" $NETTOOL udp 198.18.1.2 5353 --src 198.18.1.3
wait "${BM_PIDS[-1]}" || true
check "observe reports the deny with the intruder's identity" \
	grep -q '"verdict": *"deny".*spiffe://test.bpfmesh/ns/shop/sa/intruder' "$BM_TEST_DIR/events"
check "observe names the reason" grep -q '"reason": *"deny-ingress"' "$BM_TEST_DIR/events"

deny_count() {
	bm "$S" status --json | python3 -c \
		'import json,sys; r=json.load(sys.stdin)["reasons"]; print(r.get("deny-ingress",{}).get("packets",0))'
}
check "deny-ingress counter counts the drops" [ "$(deny_count)" -gt 0 ]
pair_denies() {
	bm "$S" status --json | python3 -c '
import json, sys
pairs = json.load(sys.stdin)["pairs"]
print(sum(p["deny"] for p in pairs if p["src"].endswith("/sa/intruder") and p["dst"].endswith("/sa/server")))'
}
check "per-identity-pair counters count the intruder's denies" [ "$(pair_denies)" -gt 0 ]

expect "policy check (reference) says allow" 0 bm "$S" policy check --from 198.18.1.1 --to 198.18.1.2 --proto tcp --port 8080
expect "policy check (reference) says deny" 1 bm "$S" policy check --from 198.18.1.3 --to 198.18.1.2 --proto tcp --port 8080
expect "policy check --bpf says allow" 0 bm "$S" policy check --from 198.18.1.1 --to 198.18.1.2 --proto tcp --port 8080 --bpf
expect "policy check --bpf says deny" 1 bm "$S" policy check --from 198.18.1.1 --to 198.18.1.2 --proto tcp --port 9090 --bpf

# Replace the policy 20 times while one allowed connection keeps talking.
before=$(deny_count)
bg "$C" $NETTOOL stream 198.18.1.2 8080 --seconds 4 --interval 0.005 --max-stall 0.5
stream_pid=${BM_PIDS[-1]}
for i in $(seq 10); do
	bm "$S" policy load "$DATA/e2e-policy-v2.yaml" >/dev/null
	bm "$S" policy load "$DATA/e2e-policy.yaml" >/dev/null
done
stream_rc=0
wait "$stream_pid" || stream_rc=$?
check "live flow survives 20 policy swaps without a stall" [ "$stream_rc" = 0 ]
check "no allowed packet was denied during the swaps" [ "$(deny_count)" = "$before" ]

# authentication: required: denied without an auth entry, allowed with one,
# and an established flow is cut as soon as the entry is revoked.
CLIENT_ID=spiffe://test.bpfmesh/ns/shop/sa/client
SERVER_ID=spiffe://test.bpfmesh/ns/shop/sa/server
expect "unauthenticated client -> tcp/7070 denied" 1 in_ns "$C" $NETTOOL tcp 198.18.1.2 7070 --src 198.18.1.1
bm "$S" auth set "$CLIENT_ID" "$SERVER_ID" --ttl 60
bm "$S" auth set "$SERVER_ID" "$CLIENT_ID" --ttl 60
expect "authenticated client -> tcp/7070 allowed" 0 in_ns "$C" $NETTOOL tcp 198.18.1.2 7070 --src 198.18.1.1 --timeout 3
bg "$C" $NETTOOL stream 198.18.1.2 7070 --seconds 4 --interval 0.01 --max-stall 1
auth_stream=${BM_PIDS[-1]}
sleep 1
bm "$S" auth del "$CLIENT_ID" "$SERVER_ID"
auth_rc=0
wait "$auth_stream" || auth_rc=$?
check "revoking the pair cuts its established flow" [ "$auth_rc" != 0 ]
bm "$S" auth set "$CLIENT_ID" "$SERVER_ID" --ttl 1
sleep 1.2
expect "an expired auth entry no longer admits" 1 in_ns "$C" $NETTOOL tcp 198.18.1.2 7070 --src 198.18.1.1

# A broken file changes nothing.
printf 'kind: NetworkPolicy\napiVersion: networking.k8s.io/v1\nmetadata: {name: x}\nspec: {podSelector: [}\n' \
	>"$BM_TEST_DIR/broken.yaml"
expect "malformed policy is rejected" 1 bm "$S" policy load "$BM_TEST_DIR/broken.yaml"
expect "after the rejected load the old policy still allows" 0 in_ns "$C" $NETTOOL tcp 198.18.1.2 8080 --src 198.18.1.1 --timeout 3
expect "after the rejected load the old policy still denies" 1 in_ns "$C" $NETTOOL tcp 198.18.1.2 8080 --src 198.18.1.3

bm "$S" policy load "$DATA/e2e-deny-all.yaml"
expect "deny-all: client -> server tcp/8080 denied" 1 in_ns "$C" $NETTOOL tcp 198.18.1.2 8080 --src 198.18.1.1

bm "$S" detach "$VS"
expect "after detach: intruder -> tcp/9090 open" 0 in_ns "$C" $NETTOOL tcp 198.18.1.2 9090 --src 198.18.1.3 --timeout 3
finish
