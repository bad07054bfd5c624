#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The rootless forwarder, run by an unprivileged user this test creates:
# UDP between workloads (allowed flows echo, denied ones are dropped with an
# event, verdicts equal the reference evaluator's) and policy reload with
# `rootless policy load`: new connections follow the new policy at once,
# established ones it still allows keep flowing, those it no longer allows
# (a TCP stream, a UDP flow) are cut with their reason; a policy that does
# not load, or drops a running workload's Endpoint, changes nothing.
# ctest-labels: rootless netns
if [ -z "${BM_RL_PRIVATE_MOUNTS:-}" ]; then
	export BM_RL_PRIVATE_MOUNTS=1
	exec unshare -m --propagation private bash "$0" "$@"
fi
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/rootless_lib.sh"
DATA="$(dirname "$0")/data"
NT="$RL_DIR/nettool.py"
UDP="$RL_DIR/rludp.py"
cp "$(dirname "$0")/nettool.py" "$(dirname "$0")/rludp.py" "$DATA/e2e-policy.yaml" "$RL_DIR/"
# B: the server admits the client on http and TCP 9090 (UDP 5353 no longer).
sed 's/protocol: UDP/protocol: TCP/; s/port: 5353/port: 9090/' "$DATA/e2e-policy.yaml" >"$RL_DIR/b.yaml"
# C: on TCP 9090 and 9091 only (http no longer).
sed 's/- port: http/- port: 9091/' "$RL_DIR/b.yaml" >"$RL_DIR/c.yaml"
# Broken: a selector that does not parse; and one without the intruder's Endpoint.
sed 's/matchLabels: {app: client}/matchLabels: [oops/' "$DATA/e2e-policy.yaml" >"$RL_DIR/bad.yaml"
awk 'BEGIN{RS="---\n"; ORS="---\n"} !/name: intruder/' "$DATA/e2e-policy.yaml" >"$RL_DIR/nointruder.yaml"
chown "$RL_USER:" "$RL_DIR"/*

events_have() {
	local events
	events=$(rl rootless observe --all --json --timeout 1)
	while [ $# -gt 0 ]; do
		events=$(grep -e "$1" <<<"$events") || return 1
		shift
	done
}
events_count() {
	rl rootless observe --all --json --timeout 1 | grep -c -e "$1" || true
}
ref_verdict() {
	rl policy check "$@" | awk '{print $1, $2}'
}

SERVE="python3 $NT serve 198.18.1.2 --tcp 8080 --tcp 9090 --tcp 9091 --udp 5353 --udp 5354 --seconds 120"
rl_start -f "$RL_DIR/e2e-policy.yaml" --port 9090 --port 9091 --udp-port 5353 --udp-port 5354 \
	--udp-idle 2 --workload "shop/server=$SERVE" --workload shop/client --workload shop/intruder
for i in $(seq 50); do in_wl shop/client python3 "$NT" tcp 198.18.1.2 8080 && break; sleep 0.1; done

# UDP.
expect "client -> server udp/5353 allowed: the echo comes back" 0 \
	in_wl shop/client python3 "$NT" udp 198.18.1.2 5353
check "its verdict is the reference evaluator's" [ "$(last_verdict)" = \
	"$(ref_verdict --from 198.18.1.1 --to 198.18.1.2 --proto udp --port 5353)" ]
expect "client -> server udp/5354 denied: no echo" 1 \
	in_wl shop/client python3 "$NT" udp 198.18.1.2 5354 --timeout 0.5
check "its verdict is the reference evaluator's" [ "$(last_verdict)" = \
	"$(ref_verdict --from 198.18.1.1 --to 198.18.1.2 --proto udp --port 5354)" ]
check "observe shows the UDP deny and its reason" events_have '"proto": *"udp"' \
	'"dport": *5354' '"reason": *"deny-ingress"'
expect "intruder -> server udp/5353 denied" 1 \
	in_wl shop/intruder python3 "$NT" udp 198.18.1.2 5353 --timeout 0.5
check "its verdict is the reference evaluator's" [ "$(last_verdict)" = \
	"$(ref_verdict --from 198.18.1.3 --to 198.18.1.2 --proto udp --port 5353)" ]
n0=$(events_count '"dport": *5354')
in_wl shop/client python3 "$UDP" 198.18.1.2 5354 0.5 >/dev/null 2>&1 || true
check "a denied flow writes one event, not one per datagram" \
	[ "$(events_count '"dport": *5354')" = $((n0 + 1)) ]
expect "a UDP flow of 3 s keeps echoing (idle timeout 2 s not reached while it sends)" 0 \
	in_wl shop/client python3 "$UDP" 198.18.1.2 5353 3

# Reload: established connections across the swap.
expect "before the reload, client -> server tcp/9090 is refused" 1 \
	in_wl shop/client python3 "$NT" tcp 198.18.1.2 9090 --timeout 2
in_wl shop/client python3 "$NT" stream 198.18.1.2 8080 --seconds 15 --interval 0.01 --max-stall 1 \
	>"$RL_DIR/stream.out" 2>&1 &
stream=$!
in_wl shop/client python3 "$UDP" 198.18.1.2 5353 6 >"$RL_DIR/udp.out" 2>&1 &
uflow=$!
sleep 1
expect "policy B loads into the running forwarder" 0 rl rootless policy load "$RL_DIR/b.yaml"
check "new: client -> server tcp/9090 allowed at once" \
	tcp_echo_ok shop/client 198.18.1.2 9090
expect "new: client -> server udp/5353 denied at once" 1 \
	in_wl shop/client python3 "$NT" udp 198.18.1.2 5353 --timeout 0.5
uflow_rc=0
wait "$uflow" || uflow_rc=$?
check "the established UDP flow B no longer allows was cut" [ "$uflow_rc" != 0 ]
check "observe shows the cut flow's reason" events_have '"proto": *"udp"' '"dport": *5353' \
	'"reason": *"deny-ingress"'
check "the TCP stream B still allows kept flowing through the reload" kill -0 "$stream"
expect "a policy that does not parse is refused" 1 rl rootless policy load "$RL_DIR/bad.yaml"
expect "a policy without a running workload's Endpoint is refused" 1 \
	rl rootless policy load "$RL_DIR/nointruder.yaml"
check "after both refusals B is still in force (tcp/9090 allowed)" \
	tcp_echo_ok shop/client 198.18.1.2 9090
expect "policy C loads" 0 rl rootless policy load "$RL_DIR/c.yaml"
t0=$(date +%s%N)
stream_rc=0
wait "$stream" || stream_rc=$?
check "the TCP stream C no longer allows was cut" [ "$stream_rc" != 0 ]
check "the cut came within 1 s of the reload, by a reset (not a stall)" \
	cut_within 1000 "$t0" "$RL_DIR/stream.out"
check "observe shows the cut stream's reason" events_have '"dport": *8080' \
	'"verdict": *"deny"' '"reason": *"deny-ingress"'
expect "new: client -> server tcp/8080 refused" 1 \
	in_wl shop/client python3 "$NT" tcp 198.18.1.2 8080 --timeout 2
check "new port of C intercepted: client -> server tcp/9091 allowed" \
	tcp_echo_ok shop/client 198.18.1.2 9091
check "policy check answers with C" [ "$(ref_verdict --from 198.18.1.1 --to 198.18.1.2 \
	--proto tcp --port 8080)" = "deny deny-ingress" ]
check "rootless run stops and leaves no process behind" rl_stop
finish
