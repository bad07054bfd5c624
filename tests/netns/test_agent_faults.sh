#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Agent faults (layout in agent_lib.sh): kill -9 of an agent in the middle
# of policy swaps leaves its kernel on a whole policy and an established
# allowed flow alive, and the restarted agent catches up; a stopped
# nats-server leaves every node enforcing its last state, an agent started
# while the bus is down waits for it, and all converge once it is back.
# ctest-labels: netns agent
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/agent_lib.sh"
trap 'dump_logs; cleanup' EXIT

check "bus and three agents up" mesh_up
V1=$(policy_file v1)
V2=$(policy_file v2)
rev=$(bmn 1 agent publish "$V1" | awk '{print $NF}')
check "v1 on every node" wait_for 10 all_at_revision "$rev"

# kill -9 during swaps, with a live allowed flow on n2.
bg "$BM_TEST_ID-c2" $NETTOOL stream 198.18.12.2 8080 --seconds 8 --interval 0.01 --max-stall 1
stream=${BM_PIDS[-1]}
for k in $(seq 10); do
	bmn 1 agent publish "$V2" >/dev/null
	[ "$k" = 5 ] && kill -9 "${AGENT_PID[2]}"
	bmn 1 agent publish "$V1" >/dev/null
done
last=$(st 1 's["latest_revision"]')
gen=$("$BPFMESH" --pin-dir "$PIN_DIR/n2" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["generation"])')
check "n2's kernel keeps a whole generation after kill -9 (generation $gen)" [ "$gen" -ge 1 ]
for k in $(seq 5); do
	expect "n2 without agent, probe $k: client tcp/8080 allowed" 0 tcp 2 1 8080
	expect "n2 without agent, probe $k: intruder denied" 1 tcp 2 3 8080
done
agent_start 2
n2_caught_up() { [ "$(st 2 's["revision"]')" = "$last" ] && [ "$(st 2 's["ready"]')" = True ]; }
check "restarted n2 replays and catches up to revision $last" wait_for 10 n2_caught_up
check "every node at revision $last" wait_for 10 all_at_revision "$last"
rc=0
wait "$stream" || rc=$?
check "established allowed flow on n2 survived swaps, kill -9 and restart" [ "$rc" = 0 ]
on_all "v1 in force: client tcp/9090 denied" 1 1 9090

# The bus goes away: every node keeps enforcing, publishing fails cleanly.
nats_stop
disconnected() { local i; for i in 1 2 3; do [ "$(st "$i" 's["bus"]["connected"]')" = False ] || return 1; done; }
check "all agents notice the bus is down" wait_for 10 disconnected
on_all "bus down: client tcp/8080 still allowed" 0 1 8080
on_all "bus down: intruder still denied" 1 3 8080
expect "bus down: publish fails with an error" 1 bmn 2 agent publish "$V2"
kill "${AGENT_PID[1]}"
wait "${AGENT_PID[1]}" || true
agent_start 1
up_not_ready() { [ "$(st 1 's["ready"]')" = False ]; }
check "an agent started with the bus down runs, not ready" wait_for 5 up_not_ready
expect "n1 restarted without bus: client tcp/8080 allowed" 0 tcp 1 1 8080
expect "n1 restarted without bus: intruder denied" 1 tcp 1 3 8080

nats_start
# Sanitizer builds run the agents several times slower: generous bound.
check "all agents reconnect, replay and are ready" wait_for 60 all_ready
check "n1 is back at revision $last" all_at_revision "$last"
rev=$(bmn 3 agent publish "$V2" | awk '{print $NF}')
check "a revision after the outage reaches every node ($rev)" wait_for 10 all_at_revision "$rev"
on_all_allowed "v2 after the outage: client tcp/9090 allowed" 1 9090
check "reconnects were logged" grep -q "bus: connected" "$BM_TEST_DIR/agent2.log"
check "no peer declared failed because of the bus outage" \
	bash -c "! grep -q 'failed: no heartbeat' '$BM_TEST_DIR/agent2.log'"
finish
