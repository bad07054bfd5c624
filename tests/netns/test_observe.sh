#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# `bpfmesh observe` over the bus on real events: three agents (agent_lib.sh
# layout) read their nodes' ring buffers and publish flow events on
# bpfmesh.v1.flow.NODE; real TCP packets through each node's veth + XDP
# produce allows and denies; one unfiltered observer captures everything
# and every filter (identity either end, --from/--to, namespace, verdict,
# reason, port, node) must select exactly the captured events it admits.
# Also: human output, --count, the rate limit's dropped count, and that
# observe without an agent still reads the local ring buffer.
# ctest-labels: netns agent demo
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/agent_lib.sh"
trap 'dump_logs; cleanup' EXIT
FLOWCHECK="python3 $(dirname "$0")/flowcheck.py"
INTRUDER_ID=spiffe://test.bpfmesh/ns/shop/sa/intruder
OUT="$BM_TEST_DIR/obs"
mkdir -p "$OUT"

nats_start
for i in 1 2 3; do node_net "$i"; done
# n3 publishes at most 2 events per second: its surplus is counted as dropped.
agent_start 1 --allow-sample 1
agent_start 2 --allow-sample 1
agent_start 3 --allow-sample 1 --flow-rate 2
check "three agents ready" wait_for 20 all_ready
rev=$(bmn 1 policy load "$(policy_file v1)" | grep -o 'revision [0-9]*' | awk '{print $2}')
check "every agent installs revision $rev" wait_for 10 all_at_revision "$rev"

# Observers: through the local agent's bus (no --bus) and with --bus. They
# must all cover the whole traffic below (which takes ~10 s under a sanitizer:
# denied connects wait for their timeout), or a filtered observer that ends
# earlier than the unfiltered one misses events the comparison expects.
OBS_PIDS=()
# bus_conns: established client connections to the bus (agents + observers).
bus_conns() { ss -Htn state established "( dport = :$NATS_PORT )" | wc -l; }
conns0=$(bus_conns)
observe() {
	local name=$1; shift
	bmn 1 observe --timeout 25 "$@" >"$OUT/$name" 2>"$OUT/$name.err" &
	BM_PIDS+=("$!")
	OBS_PIDS+=("$!")
}
observe all --json
observe deny --json --verdict deny
observe reason --json --verdict deny-ingress
observe intruder --json --identity "$INTRUDER_ID"
observe server --json --identity "$SERVER_ID"
observe from --json --from "$CLIENT_ID"
observe to --json --to "$SERVER_ID" --verdict allow
observe ns --json --namespace shop
observe nons --json --namespace nowhere
observe port --json --port 9090
observe node --json --bus "$NATS_URL" --node n2
observe human --verdict deny --node n1
bmn 2 observe --json --count 3 --timeout 9 >"$OUT/count" 2>"$OUT/count.err" &
count_pid=$!
BM_PIDS+=("$count_pid")
# Traffic only once all 13 observers have subscribed (observe says so on
# stderr after the server confirmed the subscription): a late one would
# miss events the others saw.
observers_on() { [ "$(bus_conns)" -ge $((conns0 + 13)) ]; }
check "all 13 observers connected to the bus" wait_for 20 observers_on
subscribed() {
	local f
	for f in "$OUT"/*.err; do grep -q "observe: following" "$f" || return 1; done
	grep -q . "$OUT/count.err"
}
check "all 13 observers subscribed" wait_for 20 subscribed

for i in 1 2 3; do
	expect "n$i: client -> server tcp/8080 allowed" 0 tcp "$i" 1 8080
	expect "n$i: intruder -> server tcp/8080 denied" 1 tcp "$i" 3 8080
	expect "n$i: client -> server tcp/9090 denied" 1 tcp "$i" 1 9090
done
# A burst of denies on n3 (over its 2 events/s) for the dropped count.
for j in 1 2 3 4 5; do tcp 3 3 7070 >/dev/null 2>&1 || true; done
wait "$count_pid" || true
check "--count 3 stops after three events" [ "$(wc -l <"$OUT/count")" = 3 ]
obs_rc=0
for p in "${OBS_PIDS[@]}"; do wait "$p" || obs_rc=1; done
check "every observer stops at --timeout with status 0" [ "$obs_rc" = 0 ]

fc() { local name=$1; shift; $FLOWCHECK "$OUT/all" "$OUT/$name" "$@"; }
has() { python3 - "$OUT/all" "$@" <<'PY'
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1])]
cond = sys.argv[2]
sys.exit(0 if any(eval(cond, {}, {"e": e}) for e in evs) else 1)
PY
}
for i in 1 2; do
	check "n$i: allow event client -> server tcp/8080 with both identities" has \
		"e['node']=='n$i' and e['verdict']=='allow' and e['src_identity']=='$CLIENT_ID' and e['dst_identity']=='$SERVER_ID' and e['dport']==8080 and e['src_namespace']=='shop'"
	check "n$i: deny event intruder -> server tcp/8080, reason deny-ingress" has \
		"e['node']=='n$i' and e['verdict']=='deny' and e['reason']=='deny-ingress' and e['src_identity']=='$INTRUDER_ID' and e['dport']==8080 and e['src']=='198.18.1$i.3' and e['dst']=='198.18.1$i.2' and e['proto']=='tcp'"
	check "n$i: deny event client -> server tcp/9090" has \
		"e['node']=='n$i' and e['verdict']=='deny' and e['src_identity']=='$CLIENT_ID' and e['dport']==9090"
done
check "n3 publishes within its rate" has "e['node']=='n3'"
if [ "$BM_FAILS" != 0 ]; then # what the unfiltered observer got, for the log
	echo "--- events per node and verdict in $OUT/all; its stderr:"
	python3 -c "
import json, collections
c = collections.Counter((e['node'], e['verdict'], e.get('dport')) for e in map(json.loads, open('$OUT/all')))
print(sorted(c.items()))"
	cat "$OUT/all.err"
fi
check "filter --verdict deny selects exactly the denies" fc deny --verdict deny --min 4
check "filter --verdict deny-ingress (a reason) selects exactly those" fc reason --verdict deny-ingress --min 4
check "filter --identity SPIFFE selects either end (intruder)" fc intruder --identity "$INTRUDER_ID" --min 2
check "filter --identity SPIFFE selects either end (server)" fc server --identity "$SERVER_ID" --min 6
check "filter --from selects the source end only" fc from --from "$CLIENT_ID" --min 4
check "filter --to with --verdict allow" fc to --to "$SERVER_ID" --verdict allow --min 2
check "filter --namespace shop" fc ns --namespace shop --min 6
check "filter --namespace nowhere selects nothing" fc nons --namespace nowhere --min 0
check "filter --namespace nowhere output is empty" [ ! -s "$OUT/nons" ]
check "filter --port 9090" fc port --port 9090 --min 2
check "filter --node n2 with --bus URL" fc node --node n2 --min 3
server_num=$(python3 -c "import json; print(next(json.loads(l)['dst_id'] for l in open('$OUT/all') if json.loads(l).get('dst_identity')=='$SERVER_ID'))")
# poke PID: denied packets on n1 every 0.3 s until observer PID has its
# events (it exits at --count) or 15 s pass; no guess of when it subscribed.
poke() {
	local i
	for i in $(seq 50); do
		kill -0 "$1" 2>/dev/null || break
		tcp 1 3 8080 >/dev/null 2>&1 || true
		sleep 0.3
	done
	wait "$1" || true
}
bmn 1 observe --json --count 2 --timeout 20 --identity "$server_num" >"$OUT/numeric" 2>/dev/null &
BM_PIDS+=("$!")
poke "${BM_PIDS[-1]}"
check "filter --identity NUMBER ($server_num) matches the numeric identity" \
	python3 -c "
import json,sys
evs=[json.loads(l) for l in open('$OUT/numeric')]
sys.exit(0 if evs and all($server_num in (e['src_id'], e['dst_id']) for e in evs) else 1)"
check "human line: time, node, verdict, reason, both identities and addresses" \
	grep -qE "^[0-9T:.-]+Z n1 deny +deny-ingress +$INTRUDER_ID \(198\.18\.11\.3:[0-9]+\) -> $SERVER_ID \(198\.18\.11\.2:8080\) tcp rule [0-9]+$" \
	"$OUT/human"
check "human output has only n1 denies" bash -c "! grep -v ' n1 deny ' '$OUT/human'"
check "n3's surplus is reported as dropped" grep -q "node n3 dropped [0-9]* events" "$OUT/all.err"

# Without an agent, observe reads the node's ring buffer itself.
kill "${AGENT_PID[1]}"
wait "${AGENT_PID[1]}" 2>/dev/null || true
# Denies only: allows (n1 samples every one) of stray frames such as IPv6
# router solicitations on the test's veths could otherwise be the one event.
bmn 1 observe --json --count 1 --verdict deny --timeout 20 >"$OUT/local" 2>"$OUT/local.err" &
BM_PIDS+=("$!")
poke "${BM_PIDS[-1]}"
check "observe without an agent reads the local ring buffer" \
	grep -q "\"verdict\":\"deny\".*\"src_identity\":\"$INTRUDER_ID\"" "$OUT/local"
[ "$BM_FAILS" = 0 ] || { echo "--- local observer got:"; cat "$OUT/local" "$OUT/local.err"; }
finish
