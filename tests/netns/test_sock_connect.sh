#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Socket-level enforcement at connect() and sendmsg(): real sockets in real
# cgroup v2 groups, workloads reached over loopback in a private namespace.
# Every verdict of a table of TCP and UDP cases (IPv4, IPv6, IPv4-mapped,
# egress rules, ipBlock with except, named ports, authentication) agrees
# with the reference evaluator (`bpfmesh policy check`); a deny is EPERM at
# once and reaches `bpfmesh observe` with both identities; the whole-node
# mode (programs on a parent cgroup or on the root of a cgroup2 mount inside a
# cgroup namespace, identities on the children) and detach.
# ctest-labels: netns sockets
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sock_lib.sh"
DATA="$(dirname "$0")/data"
ID=spiffe://test.bpfmesh/ns/shop/sa

netns_add N node
for a in 198.18.5.1 198.18.5.2 198.18.5.3 198.18.9.5 198.18.9.200 198.18.7.7; do
	in_ns "$N" ip addr add "$a/32" dev lo
done
for a in fd00:5::1 fd00:5::2 fd00:5::3; do
	in_ns "$N" ip addr add "$a/128" dev lo nodad
done
bm "$N" policy load "$DATA/sock-policy.yaml" >/dev/null
cg_add WEB web
cg_add API api
cg_add DB db
bm "$N" attach --cgroup "$WEB" --identity "$ID/web" >/dev/null
bm "$N" attach --cgroup "$API" --identity "$ID/api" >/dev/null
bm "$N" attach --cgroup "$DB" --identity "$ID/db" >/dev/null
check "links pinned under the pin dir" [ "$(ls "$PIN_DIR/sock" | wc -l)" = 3 ]
expect "attaching twice is harmless" 0 bm "$N" attach --cgroup "$WEB" --identity "$ID/web"

# case: CGROUP FROM-ADDR TO-ADDR PROTO PORT [connect-to address]
cases=(
	"$WEB 198.18.5.1 198.18.5.2 tcp 8080"
	"$WEB 198.18.5.1 198.18.5.2 tcp 9090"
	"$WEB 198.18.5.1 198.18.5.2 tcp 7070"
	"$WEB 198.18.5.1 198.18.5.3 tcp 5432"
	"$WEB 198.18.5.1 198.18.9.5 udp 5353"
	"$WEB 198.18.5.1 198.18.9.200 udp 5353"
	"$WEB 198.18.5.1 198.18.9.5 tcp 5353"
	"$WEB 198.18.5.1 198.18.9.5 udp 53"
	"$WEB 198.18.5.1 198.18.7.7 tcp 80"
	"$API 198.18.5.2 198.18.5.3 tcp 5432"
	"$API 198.18.5.2 198.18.5.3 tcp 5433"
	"$API 198.18.5.2 198.18.5.3 udp 5432"
	"$API 198.18.5.2 198.18.5.1 tcp 22"
	"$API 198.18.5.2 198.18.7.7 udp 9"
	"$DB 198.18.5.3 198.18.5.2 tcp 8080"
	"$DB 198.18.5.3 198.18.5.1 tcp 8080"
	"$DB 198.18.5.3 198.18.7.7 tcp 443"
	"$WEB fd00:5::1 fd00:5::2 tcp 8080"
	"$WEB fd00:5::1 fd00:5::2 tcp 8081"
	"$WEB fd00:5::1 fd00:5::3 tcp 5432"
	"$API fd00:5::2 fd00:5::3 tcp 5432"
	"$DB fd00:5::3 fd00:5::2 udp 8080"
	"$WEB 198.18.5.1 198.18.5.3 tcp 5432 ::ffff:198.18.5.3"
	"$API 198.18.5.2 198.18.5.3 tcp 5432 ::ffff:198.18.5.3"
)
for c in "${cases[@]}"; do
	read -r cg from to proto port target <<<"$c"
	ref=0
	bm "$N" policy check --from "$from" --to "$to" --proto "$proto" --port "$port" >/dev/null ||
		ref=$?
	flag=""
	[ "$proto" = udp ] && flag=--udp
	got=$(in_cg "$cg" "$N" $SOCKTOOL connect "${target:-$to}" "$port" $flag)
	agree "$(basename "$cg") -> ${target:-$to} $proto/$port" "$ref" "$got"
	if [ "$proto" = udp ]; then
		got=$(in_cg "$cg" "$N" $SOCKTOOL connect "${target:-$to}" "$port" --udp --connected)
		agree "$(basename "$cg") -> ${target:-$to} $proto/$port (connected UDP)" "$ref" "$got"
	fi
done

# A deny fails at once, not after a timeout.
start=$(date +%s%N)
got=$(in_cg "$WEB" "$N" $SOCKTOOL connect 198.18.5.3 5432 --timeout 5)
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
check "denied connect() is EPERM at once (${elapsed_ms} ms, timeout 5 s)" [ "$got" = EPERM -a "$elapsed_ms" -lt 3000 ]

# The deny reaches observe with both identities and source "sock" semantics.
bg "$N" "$BPFMESH" --pin-dir "$PIN_DIR" --state-dir "$STATE_DIR" observe --json --count 20 \
	--timeout 4 >"$BM_TEST_DIR/events"
sleep 0.5
in_cg "$WEB" "$N" $SOCKTOOL connect 198.18.5.3 5432 >/dev/null
in_cg "$WEB" "$N" $SOCKTOOL connect 198.18.9.200 5353 --udp >/dev/null
wait "${BM_PIDS[-1]}" || true
check "observe: connect deny with both identities" grep -q \
	"\"verdict\": *\"deny\".*\"src_identity\": *\"$ID/web\".*\"dst_identity\": *\"$ID/db\".*\"dport\": *5432" \
	"$BM_TEST_DIR/events"
check "observe: UDP sendmsg deny" grep -q '"verdict": *"deny".*"dport": *5353.*"proto": *"udp"' \
	"$BM_TEST_DIR/events"
deny_egress() {
	bm "$N" status --json | python3 -c \
		'import json,sys; r=json.load(sys.stdin)["reasons"]; print(r.get("deny-egress",{}).get("packets",0))'
}
check "deny-egress counter counts denied connects" [ "$(deny_egress)" -gt 0 ]

# Whole-node mode: programs once on a parent; identities on the children;
# a process in no identified cgroup is the node itself (judged as WORLD).
cg_add NODE node
cg_add WEB2 "$NODE/web"
cg_add ANON "$NODE/anon"
bm "$N" attach --cgroup "$NODE" >/dev/null
bm "$N" attach --cgroup "$WEB2" --identity "$ID/web" --identity-only >/dev/null
check "subtree: one set of links" [ "$(ls "$PIN_DIR/sock" | wc -l)" = 4 ]
agree "subtree: identified child web -> db tcp/5432" 1 "$(in_cg "$WEB2" "$N" $SOCKTOOL connect 198.18.5.3 5432)"
agree "subtree: identified child web -> api tcp/8080" 0 "$(in_cg "$WEB2" "$N" $SOCKTOOL connect 198.18.5.2 8080)"
for c in "198.18.5.3 5432" "198.18.5.2 8080" "198.18.5.1 22" "198.18.7.7 80"; do
	read -r to port <<<"$c"
	ref=0
	bm "$N" policy check --from 198.18.200.1 --to "$to" --proto tcp --port "$port" >/dev/null || ref=$?
	agree "subtree: unidentified process -> $to tcp/$port" "$ref" \
		"$(in_cg "$ANON" "$N" $SOCKTOOL connect "$to" "$port")"
done

# The root of a cgroup2 mount: inside a cgroup namespace rooted at ROOTED,
# the mount's root is ROOTED itself; attaching there covers everything below.
cg_add ROOTED rooted
cg_add ROOTED_WEB "$ROOTED/web"
mkdir -p "$BM_TEST_DIR/cgns"
sh -c 'echo $$ >"$1/cgroup.procs" && exec unshare -C -m sh -c \
	"mount -t cgroup2 none \"\$0\" && exec \"\$@\"" "$2" "$3" --pin-dir "$4" --state-dir "$5" \
	attach --cgroup "$2"' sh "$ROOTED" "$BM_TEST_DIR/cgns" "$BPFMESH" "$PIN_DIR" "$STATE_DIR" >/dev/null
check "mount-root attach pinned under the cgroup's own id" [ -e "$PIN_DIR/sock/$(stat -c %i "$ROOTED")/connect4" ]
bm "$N" attach --cgroup "$ROOTED_WEB" --identity "$ID/web" --identity-only >/dev/null
agree "mount root: web below it -> db tcp/5432" 1 "$(in_cg "$ROOTED_WEB" "$N" $SOCKTOOL connect 198.18.5.3 5432)"
agree "mount root: web below it -> api tcp/8080" 0 "$(in_cg "$ROOTED_WEB" "$N" $SOCKTOOL connect 198.18.5.2 8080)"
expect "mount root: detach from outside the namespace" 0 bm "$N" detach --cgroup "$ROOTED"

# Detach: the cgroup is free again, the others still enforced.
bm "$N" detach --cgroup "$DB" >/dev/null
agree "after detach: db -> api tcp/8080 no longer judged" 0 "$(in_cg "$DB" "$N" $SOCKTOOL connect 198.18.5.2 8080)"
agree "after detach: web -> db still denied" 1 "$(in_cg "$WEB" "$N" $SOCKTOOL connect 198.18.5.3 5432)"
expect "detaching twice fails" 1 bm "$N" detach --cgroup "$DB"
check "detach removed the link pins" [ ! -e "$PIN_DIR/sock/$(stat -c %i "$DB")" ]
finish
