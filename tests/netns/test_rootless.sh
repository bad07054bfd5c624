#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The rootless path, run by an unprivileged user this test creates: workloads
# in user+network namespaces with slirp4netns, traffic between them through
# the userland forwarder. Allowed connections work (64 MiB arrive intact and
# a half-close is forwarded while the reply still flows), denied ones are reset at
# once with a reason `bpfmesh observe` shows (live and --all), the same policy file as
# test_xdp_e2e.sh gives the same verdicts as `policy check` (reference) and
# `policy check --bpf` (the XDP program) on a shared table of cases, and an
# authenticated flow is cut when its identity is revoked.
# ctest-labels: rootless netns
if [ -z "${BM_RL_PRIVATE_MOUNTS:-}" ]; then
	# A private mount namespace: the bpffs and a tun node die with the test.
	export BM_RL_PRIVATE_MOUNTS=1
	exec unshare -m --propagation private bash "$0" "$@"
fi
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/rootless_lib.sh"
DATA="$(dirname "$0")/data"
NT="$RL_DIR/nettool.py"
cp "$(dirname "$0")/nettool.py" "$(dirname "$0")/rlsha.py" "$DATA/e2e-policy.yaml" "$RL_DIR/"
chown "$RL_USER:" "$RL_DIR"/*

status_says_rootless() {
	rl rootless status | grep -q '^mode: rootless (rootless: not root and kernel.unprivileged_bpf_disabled='
}
# events_have PATTERN...: every PATTERN on one line of the forwarder's events
# as `bpfmesh observe --all` prints them.
# observer_open: the `bpfmesh observe` started below has the event file open.
observer_open() {
	local pid
	pid=$(pgrep -u "$RL_USER" -f -- 'observe --json --count 1 --timeout 20') &&
		ls -l "/proc/$pid/fd" 2>/dev/null | grep -q 'rootless/events$'
}
same3() {
	[ -n "$1" ] && [ "$1" = "$2" ] && [ "$2" = "$3" ]
}
# not_grep ARGS... FILE: FILE has no line grep ARGS would print (or is absent).
not_grep() {
	! grep -q "$@" 2>/dev/null
}
check "probe: the user cannot load BPF and is told why" status_says_rootless

as_user "$BPFMESH" --state-dir "$RL_STATE" identity init --trust-domain test.bpfmesh >/dev/null
as_user "$BPFMESH" --state-dir "$RL_STATE" identity enroll >/dev/null
for sa in client server; do
	rl identity issue --namespace shop --service-account $sa -o "$RL_DIR/$sa.id" >/dev/null
done

# Run 1: no identity documents, so the table compares policy alone.
SERVE="python3 $NT serve 198.18.1.2 --tcp 8080 --tcp 9090 --tcp 7070 --udp 5353 --udp 5354 --seconds 120"
SERVE6="python3 $RL_DIR/rlsha.py serve fd00:1::2 8080 120"
rl_start -f "$RL_DIR/e2e-policy.yaml" --port 9090 --port 7070 --udp-port 5353 --udp-port 5354 \
	--workload "shop/server=$SERVE & $SERVE6" --workload shop/client --workload shop/intruder
check "rootless status names the mode and the reason" status_says_rootless
for i in $(seq 50); do in_wl shop/client python3 "$NT" tcp 198.18.1.2 8080 && break; sleep 0.1; done

check "client -> server tcp/8080 allowed" tcp_echo_ok shop/client 198.18.1.2 8080
expect "client -> server tcp/8080 over IPv6 allowed" 0 \
	in_wl shop/client python3 "$RL_DIR/rlsha.py" send fd00:1::2 8080 1
expect "64 MiB through the relay intact, EOF forwarded with the reply direction open" 0 \
	in_wl shop/client python3 "$RL_DIR/rlsha.py" send fd00:1::2 8080 64
# `bpfmesh observe` (not only `rootless observe`) follows the forwarder's
# events live: started first, it must print the deny that comes after it.
rl observe --json --count 1 --timeout 20 >"$RL_DIR/live.json" 2>&1 &
observer=$!
for i in $(seq 100); do observer_open && break; sleep 0.1; done
check "bpfmesh observe follows the rootless forwarder's events" observer_open
refused_ms=$(in_wl shop/client python3 "$NT" tcp 198.18.1.2 9090 --timeout 5 --print-ms 2>/dev/null) &&
	refused_ms=ok
check "client -> server tcp/9090 refused" [ "$refused_ms" != ok ]
check "the refusal is immediate (< 1 s, here ${refused_ms} ms), not a timeout" \
	[ "${refused_ms:-5000}" -lt 1000 ]
observer_rc=0
wait "$observer" || observer_rc=$?
check "bpfmesh observe printed the deny live, with its reason" \
	grep -q -e '"reason": *"deny-ingress".*"dport": *9090.*"source": *"user"' "$RL_DIR/live.json"
check "bpfmesh observe exited 0 after its one event" [ "$observer_rc" = 0 ]
check "observe --all shows the deny and its reason" events_have '"dport": *9090' '"reason": *"deny-ingress"'
# only_denies_to_9090: observe's filters select in rootless mode too.
only_denies_to_9090() {
	rl observe --all --json --timeout 1 --verdict deny --port 9090 --namespace shop |
		python3 -c 'import json, sys
evs = [json.loads(l) for l in sys.stdin]
sys.exit(not evs or any(e["verdict"] != "deny" or 9090 not in (e["sport"], e["dport"]) for e in evs))'
}
check "observe --verdict deny --port 9090 --namespace shop selects just those" only_denies_to_9090
expect "observe refuses an unknown option" 1 rl observe --all --bogus 1
expect "intruder -> server tcp/8080 refused" 1 in_wl shop/intruder python3 "$NT" tcp 198.18.1.2 8080 --timeout 5
check "the intruder's deny names its identity" events_have '"verdict": *"deny"' \
	'"src_identity": *"spiffe://test.bpfmesh/ns/shop/sa/intruder"'

# The shared table: forwarder verdicts = reference evaluator = XDP program.
"$BPFMESH" --pin-dir "$PIN_DIR" --state-dir "$STATE_DIR" policy load "$DATA/e2e-policy.yaml" >/dev/null
# The XDP program's verdict; its errors (and any sanitizer report) go to
# xdp.err, which must stay free of sanitizer reports.
xdp_check() {
	"$BPFMESH" --pin-dir "$PIN_DIR" --state-dir "$STATE_DIR" policy check --bpf "$@" \
		2>>"$RL_DIR/xdp.err" | awk '{print $1, $2}' || true
}
CASES="client 198.18.1.1 198.18.1.2 tcp 8080
client 198.18.1.1 198.18.1.2 tcp 9090
client fd00:1::1 fd00:1::2 tcp 8080
client fd00:1::1 fd00:1::2 tcp 9090
intruder 198.18.1.3 198.18.1.2 tcp 8080
intruder 198.18.1.3 198.18.1.2 tcp 9090
intruder 198.18.1.3 198.18.1.2 tcp 7070
server 198.18.1.2 198.18.1.1 tcp 8080
server 198.18.1.2 198.18.1.3 tcp 9090
client 198.18.1.1 198.18.1.3 tcp 7070
client 198.18.1.1 198.18.1.2 udp 5353
client 198.18.1.1 198.18.1.2 udp 5354
intruder 198.18.1.3 198.18.1.2 udp 5353
server 198.18.1.2 198.18.1.1 udp 5354"
while read -r wl from to proto port; do
	n0=$(rl_event_count)
	in_wl "shop/$wl" python3 "$NT" "$proto" "$to" "$port" --timeout 1 >/dev/null 2>&1 || true
	got="no new event"
	[ "$(rl_event_count)" = $((n0 + 1)) ] && got=$(last_verdict)
	ref=$(rl policy check --from "$from" --to "$to" --proto "$proto" --port "$port" |
		awk '{print $1, $2}' || true)
	xdp=$(xdp_check --from "$from" --to "$to" --proto "$proto" --port "$port")
	check "table $from -> $to $proto/$port: forwarder '$got' = reference '$ref' = xdp '$xdp'" \
		same3 "$got" "$ref" "$xdp"
done <<<"$CASES"
check "policy check --bpf ran without a sanitizer report" \
	not_grep -e Sanitizer -e 'runtime error:' "$RL_DIR/xdp.err"
check "rootless run stops and leaves no process behind" rl_stop

# Run 2: with identity documents, the forwarder authenticates on behalf of both.
rl_start -f "$RL_DIR/e2e-policy.yaml" --port 9090 --port 7070 --ttl 60 \
	--workload "shop/server=$SERVE" --workload shop/client --workload shop/intruder \
	--identity "shop/client=$RL_DIR/client.id" --identity "shop/server=$RL_DIR/server.id"
for i in $(seq 50); do in_wl shop/client python3 "$NT" tcp 198.18.1.2 8080 && break; sleep 0.1; done
check "authenticated client -> server tcp/7070 allowed" tcp_echo_ok shop/client 198.18.1.2 7070
check "observe shows allow-authenticated" events_have '"reason": *"allow-authenticated"'
expect "intruder (no identity) -> tcp/7070 refused" 1 in_wl shop/intruder python3 "$NT" tcp 198.18.1.2 7070 --timeout 5
in_wl shop/client python3 "$NT" stream 198.18.1.2 7070 --seconds 5 --interval 0.01 --max-stall 1 \
	>"$RL_DIR/cut.out" 2>&1 &
stream=$!
sleep 1
rl identity revoke "$RL_DIR/client.id" >/dev/null
t0=$(date +%s%N)
stream_rc=0
wait "$stream" || stream_rc=$?
check "revoking the client's identity cuts its authenticated flow" [ "$stream_rc" != 0 ]
check "the cut comes within 1 s of the revocation" cut_within 1000 "$t0" "$RL_DIR/cut.out"
expect "a revoked identity no longer authenticates" 1 in_wl shop/client python3 "$NT" tcp 198.18.1.2 7070 --timeout 5
check "observe shows the cut flow's deny" events_have '"dport": *7070' '"reason": *"deny-auth-missing"'
check "rootless run stops and leaves no process behind" rl_stop
finish
