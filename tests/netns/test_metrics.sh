#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The agent's Prometheus endpoint (--metrics-addr): two agents on a real
# nats-server (agent_lib.sh layout), n1's /metrics scraped over a real TCP
# socket and every line parsed strictly (promcheck.py); values follow real
# traffic through n1's veth + XDP (verdict counters per identity pair with
# SPIFFE labels, reasons), the policy revision, peers, map fill, flow
# events published, handshakes (real ones on loopback, and a failed one)
# and scheduler counters; bad addresses and bad requests are refused. The bus
# going away and coming back is test_metrics_bus.sh.
# ctest-labels: netns agent demo
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/agent_lib.sh"
trap 'dump_logs; cleanup' EXIT
source "$(dirname "$0")/metrics_lib.sh"
INTRUDER_ID=spiffe://test.bpfmesh/ns/shop/sa/intruder

refused() {
	local out rc=0
	out=$(bmn 1 agent --node n1 --bus "$NATS_URL" --metrics-addr "$1" 2>&1) || rc=$?
	[ "$rc" = 2 ] && grep -q -- "$2" <<<"$out"
}
mkdir -p "$STATE_DIR/n1"
check "non-loopback --metrics-addr refused without --metrics-public" \
	refused 0.0.0.0:9464 "add --metrics-public"
check "--metrics-addr without a port refused" refused 127.0.0.1 "is not HOST:PORT"
check "--metrics-addr with a host name refused" refused example.org:80 "not an IPv4"

nats_start
for i in 1 2; do node_net "$i"; done
agent_start 1 --metrics-addr "127.0.0.1:$MPORT"
agent_start 2
ready12() { local i; for i in 1 2; do [ "$(st "$i" 's["ready"]')" = True ] || return 1; done; }
check "two agents ready" wait_for 20 ready12

check "scrape parses strictly (status, content type, HELP/TYPE, labels)" scrape
check "agent info names the node" [ "$(m 'v("bpfmesh_agent_info", node="n1")')" = 1.0 ]
check "bus connected" [ "$(m 'v("bpfmesh_bus_connected")')" = 1.0 ]
check "ready" [ "$(m 'v("bpfmesh_ready")')" = 1.0 ]
peer_up() { scrape && [ "$(m 'v("bpfmesh_peers_alive")')" = 1.0 ]; }
check "one peer alive" wait_for 5 peer_up
recent() { scrape && [ "$(m 'v("bpfmesh_bus_last_message_seconds") < 1')" = True ]; }
check "last bus message under a second ago (heartbeats; a fresh scrape within 5 s)" wait_for 5 recent
lag() { scrape && [ "$(m 'v("bpfmesh_bus_lag_seconds") is not None and 0 <= v("bpfmesh_bus_lag_seconds") < 1')" = True ]; }
check "bus lag: n1's own heartbeat came back through the bus in under a second" wait_for 5 lag
echo "bus lag (own heartbeat round trip): $(m 'v("bpfmesh_bus_lag_seconds")') s"

rev=$(bmn 1 policy load "$(policy_file v1)" | grep -o 'revision [0-9]*' | awk '{print $2}')
at_rev() { scrape && [ "$(m "v('bpfmesh_policy_revision') == $rev and v('bpfmesh_installs_total') >= 1 and v('bpfmesh_generation') >= 1")" = True ]; }
check "policy revision $rev, an install and a generation in the metrics" wait_for 10 at_rev
check "install latency is a positive number of seconds" [ "$(m '0 < v("bpfmesh_install_last_seconds") < 30')" = True ]
check "map fill: 9 host entries (3 endpoints x 3 addresses)" [ "$(m 'v("bpfmesh_map_entries", map="bm_host4_o")')" = 9.0 ]

pair() { echo "(v('bpfmesh_verdict_packets_total', src='$1', dst='$SERVER_ID', verdict='$2') or 0)"; }
scrape
deny0=$(m "$(pair "$INTRUDER_ID" deny)")
allow0=$(m "$(pair "$CLIENT_ID" allow)")
reason0=$(m 'v("bpfmesh_reason_packets_total", reason="deny-ingress") or 0')
flows0=$(m 'v("bpfmesh_flow_events_published_total")')
for j in 1 2 3; do
	expect "intruder -> server tcp/8080 denied ($j)" 1 tcp 1 3 8080
	expect "client -> server tcp/8080 allowed ($j)" 0 tcp 1 1 8080
done
sleep 0.5
check "scrape after traffic parses" scrape
check "deny counter intruder -> server grew by at least 3 (was $deny0)" \
	[ "$(m "$(pair "$INTRUDER_ID" deny) >= $deny0 + 3")" = True ]
check "allow counter client -> server grew by at least 3 (was $allow0)" \
	[ "$(m "$(pair "$CLIENT_ID" allow) >= $allow0 + 3")" = True ]
check "pair labels carry the numeric identities" \
	[ "$(m "any(k.startswith('bpfmesh_verdict_packets_total{') and '\"src_id\": \"' in k and '$INTRUDER_ID' in k for k in series)")" = True ]
check "bytes counter for the denied pair" [ "$(m "(v('bpfmesh_verdict_bytes_total', src='$INTRUDER_ID', dst='$SERVER_ID', verdict='deny') or 0) > 0")" = True ]
check "reason deny-ingress grew" [ "$(m "v('bpfmesh_reason_packets_total', reason='deny-ingress') >= $reason0 + 3")" = True ]
check "flow events published grew (was $flows0)" [ "$(m "v('bpfmesh_flow_events_published_total') > $flows0")" = True ]
check "scheduler counters exported" [ "$(m 'all(v("bpfmesh_sched_decisions_total", decision=d) is not None for d in ("start", "stop", "claim", "place"))')" = True ]

# Handshakes run by `bpfmesh auth serve|connect` on n1 are counted by n1's
# agent: one real handshake over loopback (both ends report: +2), and a
# connect to a TCP server that is no handshake peer (a failure: +1).
ID_DIR="$BM_TEST_DIR/ids"
mkdir -p "$ID_DIR"
bmn 1 identity init --trust-domain test.bpfmesh >/dev/null
bmn 1 identity enroll >/dev/null
for sa in client server; do
	bmn 1 identity issue --namespace shop --service-account $sa -o "$ID_DIR/$sa.id" >/dev/null
done
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
scrape
hs0=$(m 'v("bpfmesh_handshakes_total")')
hsf0=$(m 'v("bpfmesh_handshake_failures_total")')
HPORT=$(free_port)
bmn 1 auth serve --identity "$ID_DIR/server.id" 127.0.0.1 "$HPORT" --count 1 >/dev/null 2>&1 &
serve_pid=$!
BM_PIDS+=("$serve_pid")
hs_ok() { bmn 1 auth connect --identity "$ID_DIR/client.id" 127.0.0.1 "$HPORT"; }
check "auth connect to auth serve on loopback authenticates" wait_for 10 hs_ok
check "auth serve exits 0 after its one handshake" wait "$serve_pid"
hs_counted() { scrape && [ "$(m "v('bpfmesh_handshakes_total') == $hs0 + 2 and v('bpfmesh_handshake_failures_total') == $hsf0")" = True ]; }
check "handshakes counted: +2 (both ends), no failure (was $hs0)" wait_for 5 hs_counted
BPORT=$(free_port)
python3 -c "
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $BPORT)); s.listen(1); s.settimeout(20)
c, _ = s.accept(); c.sendall(b'not a handshake' * 8); c.close()
" &
BM_PIDS+=("$!")
listening() { ss -Htln "( sport = :$BPORT )" | grep -q .; }
wait_for 10 listening
bmn 1 auth connect --identity "$ID_DIR/client.id" 127.0.0.1 "$BPORT" >/dev/null 2>"$BM_TEST_DIR/hs_bad.err" || true
check "auth connect to a non-handshake server fails in the handshake" \
	grep -q "handshake failed" "$BM_TEST_DIR/hs_bad.err"
hs_failed() { scrape && [ "$(m "v('bpfmesh_handshake_failures_total') == $hsf0 + 1 and v('bpfmesh_handshakes_total') == $hs0 + 2")" = True ]; }
check "handshake failure counted: +1 (was $hsf0)" wait_for 5 hs_failed

# A membership change makes every agent's scheduler place again.
scrape
place0=$(m 'v("bpfmesh_sched_decisions_total", decision="place")')
check "the scheduler placed at least once (at start)" [ "$(m "$place0 >= 1")" = True ]
kill "${AGENT_PID[2]}"
wait "${AGENT_PID[2]}" 2>/dev/null || true
placed_again() { scrape && [ "$(m "v('bpfmesh_sched_decisions_total', decision='place') > $place0 and v('bpfmesh_peers_alive') == 0")" = True ]; }
check "n2 leaves: n1 places again (was $place0) and has no peer alive" wait_for 10 placed_again


http() {
	python3 - "$MPORT" "$1" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
s.sendall(sys.argv[2].encode())
print(s.recv(4096).decode().split("\r\n")[0])
PY
}
check "other paths get 404" [ "$(http $'GET /x HTTP/1.1\r\n\r\n')" = "HTTP/1.1 404 Not Found" ]
check "POST gets 405" [ "$(http $'POST /metrics HTTP/1.1\r\n\r\n')" = "HTTP/1.1 405 Method Not Allowed" ]
check "garbage gets 400" [ "$(http $'hello\r\n\r\n')" = "HTTP/1.1 400 Bad Request" ]
check "still serving after bad requests" scrape
finish
