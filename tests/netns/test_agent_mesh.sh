#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Three agents on one NATS bus (see agent_lib.sh for the layout): a policy
# published on one node is enforced by every node's kernel (real packets),
# an endpoint event reaches every ipcache, a revocation cuts an
# authenticated flow on every node, membership sees joins and failures,
# and malformed or wrong-version messages on every topic change nothing.
# ctest-labels: netns agent
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/agent_lib.sh"
trap 'dump_logs; cleanup' EXIT

check "three agents replay the empty bus and report ready" mesh_up
peers_alive() { [ "$(st "$1" 'sum(p["alive"] for p in s["peers"])')" = 2 ]; }
check "every agent sees the two others alive" wait_for 5 eval 'peers_alive 1 && peers_alive 2 && peers_alive 3'
check "heartbeats carry capacity" [ "$(st 1 's["peers"][0]["capacity"]["cpus"] > 0')" = True ]
expect "before any policy: intruder reaches n2 tcp/8080" 0 tcp 2 3 8080

V1=$(policy_file v1)
V2=$(policy_file v2)
rev=$(bmn 1 policy load "$V1" | grep -o 'revision [0-9]*' | awk '{print $2}')
check "policy load on n1 publishes through its agent (revision $rev)" [ -n "$rev" ]
check "every agent installs revision $rev" wait_for 10 all_at_revision "$rev"
on_all "client -> server tcp/8080 allowed" 0 1 8080
on_all "intruder -> server tcp/8080 denied" 1 3 8080
on_all "client -> server tcp/9090 denied under v1" 1 1 9090
check "n3 records the bus policy for policy show" eval 'bmn 3 policy show | grep -q server-allow-client'
check "agent socket is mode 0660" [ "$(stat -c %a "$STATE_DIR/n1/agent.sock")" = 660 ]

rev=$(bmn 2 agent publish "$V2" | awk '{print $NF}')
check "v2 from n2 reaches every node (revision $rev)" wait_for 10 all_at_revision "$rev"
on_all "client -> server tcp/9090 allowed under v2" 0 1 9090

# Endpoint event: a new client workload at 198.18.1I.4 on every node.
on_all "unknown 198.18.1I.4 denied before its endpoint event" 1 4 8080
bmn 3 agent endpoint put shop/late --identity spiffe://test.bpfmesh/ns/shop/sa/late \
	--address 198.18.11.4 --address 198.18.12.4 --address 198.18.13.4 --label app=client >/dev/null
late_in_ipcache() {
	local i
	for i in 1 2 3; do [ "$(st "$i" 's["bus_endpoints"]')" = 1 ] || return 1; done
	for i in 1 2 3; do [ "$(st "$i" 's["maps"]["bm_host4_o"]')" = 12 ] || return 1; done
}
check "endpoint event installed in every ipcache" wait_for 10 late_in_ipcache
on_all "late client -> server tcp/8080 allowed after its endpoint event" 0 4 8080
bmn 3 agent endpoint del shop/late >/dev/null
gone() { local i; for i in 1 2 3; do [ "$(st "$i" 's["bus_endpoints"]')" = 0 ] || return 1; done; }
check "endpoint removal reaches every node" wait_for 10 gone
on_all "late client denied again after removal" 1 4 8080

# Revocation: authenticated flows on tcp/7070 on all three nodes, cut at once.
for i in 1 2 3; do
	bmn "$i" auth set "$CLIENT_ID" "$SERVER_ID" --ttl 60
	bmn "$i" auth set "$SERVER_ID" "$CLIENT_ID" --ttl 60
done
on_all "authenticated client -> tcp/7070 allowed" 0 1 7070
declare -a streams
for i in 1 2 3; do
	bg "$BM_TEST_ID-c$i" $NETTOOL stream "198.18.1$i.2" 7070 --seconds 6 --interval 0.01 --max-stall 1
	streams[$i]=${BM_PIDS[-1]}
done
sleep 1
bmn 2 agent revoke "$CLIENT_ID" >/dev/null
for i in 1 2 3; do
	rc=0
	wait "${streams[$i]}" || rc=$?
	check "n$i: revocation published on n2 cuts the authenticated flow" [ "$rc" != 0 ]
	check "n$i: no auth entry of the revoked identity is left" \
		bash -c "! bmn_out=\$('$BPFMESH' --pin-dir '$PIN_DIR/n$i' auth list) || [ -z \"\$bmn_out\" ]"
done
on_all "revoked client -> tcp/7070 denied" 1 1 7070
on_all "plain policy unaffected by the revocation: tcp/8080 allowed" 0 1 8080

# Malformed and wrong-version messages on every topic: rejected, logged, nothing applied.
rejected_total() { local i t=0; for i in 1 2 3; do t=$((t + $(st "$i" 's["rejected"]'))); done; echo "$t"; }
before=$(rejected_total)
raw() { printf '%s' "$3" | bmn 1 agent raw "$1" "$2" >/dev/null; }
raw bpfmesh-policy current '{"schema":2,"sources":[{"name":"x","data":"kind: Bogus"}]}'
raw bpfmesh-policy current '{"schema":1,"sources":[{"name":"x.yaml","data":"kind: NetworkPolicy\nspec: {podSelector: ["}]}'
raw bpfmesh-policy current 'not json at all'
raw bpfmesh-endpoints shop.bad '{"schema":9,"namespace":"shop","name":"bad"}'
raw bpfmesh-endpoints shop.bad2 '{"schema":1,"namespace":"shop","name":"bad2","identity":"x","addresses":["not-an-address"]}'
raw bpfmesh-revoked id.1 '{"schema":1}'
raw bpfmesh-revoked id.2 '{broken'
raw - bpfmesh.v1.node.ghost.heartbeat '{"schema":7,"node":"ghost"}'
raw - bpfmesh.v1.node.ghost.heartbeat 'garbage'
expect_rejects=$((before + 3 * 9))
check "all 9 bad messages rejected on all 3 nodes" wait_for 5 eval '[ "$(rejected_total)" -ge '"$expect_rejects"' ]'
check "wrong-version heartbeats add no peer" [ "$(st 1 'len(s["peers"])')" = 2 ]
check "every node still at the last good revision $rev" all_at_revision "$rev"
check "the wrong version is named in the log" grep -q "schema version 2 unsupported" "$BM_TEST_DIR/agent3.log"
on_all "after bad messages: client tcp/9090 still allowed" 0 1 9090
on_all "after bad messages: intruder still denied" 1 3 8080
rev=$(bmn 3 agent publish "$V1" | awk '{print $NF}')
check "a good revision after the bad ones applies everywhere ($rev)" wait_for 10 all_at_revision "$rev"
on_all "v1 again: tcp/9090 denied" 1 1 9090

# A policy larger than one message (this nats-server keeps NATS's default
# 1 MiB max_payload): published as a blob in parts, enforced everywhere.
python3 "$(dirname "$0")/../../tools/bench/agent_scale_policy.py" 4000 >"$BM_TEST_DIR/big.json"
check "the big policy is over 1 MiB" [ "$(stat -c %s "$BM_TEST_DIR/big.json")" -gt 1048576 ]
big_rev=$(bmn 2 agent publish "$BM_TEST_DIR/big.json" | awk '{print $NF}')
check "a 4000-endpoint policy as a blob applies everywhere ($big_rev)" wait_for 60 all_at_revision "$big_rev"
# Forged descriptors: a blob that is not there, and one whose hash is wrong.
zeros=0000000000000000000000000000000000000000000000000000000000000000
before=$(rejected_total)
raw bpfmesh-policy current '{"schema":1,"node":"x","blob":{"id":"0123456789abcdef","parts":1,"len":5,"blake2b":"'$zeros'"}}'
check "a descriptor of missing parts is rejected on all 3 nodes" \
	wait_for 10 eval '[ "$(rejected_total)" -ge '"$((before + 3))"' ]'
raw bpfmesh-blobs 0123456789abcdef.0 hello
raw bpfmesh-policy current '{"schema":1,"node":"x","blob":{"id":"0123456789abcdef","parts":1,"len":5,"blake2b":"'$zeros'"}}'
check "a blob whose hash does not match is rejected on all 3 nodes" \
	wait_for 10 eval '[ "$(rejected_total)" -ge '"$((before + 6))"' ]'
check "the mismatch is named in the log" grep -q "BLAKE2b hash does not match" "$BM_TEST_DIR/agent1.log"
check "every node still enforces the big policy ($big_rev)" all_at_revision "$big_rev"

# Membership: a failed agent is detected within --dead-after-ms.
kill -9 "${AGENT_PID[3]}"
dead() { [ "$(st 1 '[p["alive"] for p in s["peers"] if p["node"]=="n3"][0]')" = False ]; }
check "n1 detects n3's failure" wait_for 5 dead
check "failure logged as one line" grep -q "peer n3 failed" "$BM_TEST_DIR/agent1.log"
agent_start 3
alive() { [ "$(st 1 '[p["alive"] for p in s["peers"] if p["node"]=="n3"][0]')" = True ]; }
check "n3 rejoins" wait_for 10 alive
check "rejoin logged" grep -q "peer n3 joined" "$BM_TEST_DIR/agent1.log"
# The forged descriptors are newer than the big policy: a restarted agent replays the last
# revision, rejects it, and keeps what its kernel enforces.
n3_at_big() { [ "$(st 3 's["revision"]')" = "$big_rev" ]; }
check "restarted n3 replays the bus and keeps enforcing the big policy" wait_for 30 n3_at_big
finish
