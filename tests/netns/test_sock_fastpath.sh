#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The same-node fast path: sockops records established connections with
# their identities and puts both ends in the sockhash; sk_msg moves their
# data socket to socket. Data arrives intact in both directions (large
# transfers, uneven writes, half-close, many concurrent connections,
# request/response, IPv4 and IPv6) without TCP segments on the wire; a new
# policy generation and a revoked or expired authentication also stop
# connections that are already redirected; without --fastpath the stack stays.
# ctest-labels: netns sockets
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sock_lib.sh"
DATA="$(dirname "$0")/data"
ID=spiffe://test.bpfmesh/ns/shop/sa

netns_add N node
for a in 198.18.5.1 198.18.5.2 198.18.5.3; do in_ns "$N" ip addr add "$a/32" dev lo; done
for a in fd00:5::1 fd00:5::2; do in_ns "$N" ip addr add "$a/128" dev lo nodad; done
bm "$N" policy load "$DATA/sock-policy.yaml" >/dev/null
cg_add WEB web
cg_add API api
cg_add SLOW web-slow
bm "$N" attach --cgroup "$WEB" --identity "$ID/web" --fastpath >/dev/null
bm "$N" attach --cgroup "$API" --identity "$ID/api" --fastpath >/dev/null
bm "$N" attach --cgroup "$SLOW" --identity "$ID/web" >/dev/null

bg_cg "$API" "$N" $SOCKTOOL serve 198.18.5.2 --tcp 8080 --tcp 7070 --seconds 120 \
	--ready "$BM_TEST_DIR/ready4"
bg_cg "$API" "$N" $SOCKTOOL serve fd00:5::2 --tcp 8080 --seconds 120 --ready "$BM_TEST_DIR/ready6"
wait_file "$BM_TEST_DIR/ready4"
wait_file "$BM_TEST_DIR/ready6"

segs=$(tcp_out_segs "$N")
expect "16 MiB echoed with half-close over the fast path" 0 \
	in_cg "$WEB" "$N" $SOCKTOOL transfer 198.18.5.2 8080 --bytes $((16 << 20))
used=$(($(tcp_out_segs "$N") - segs))
check "the 16 MiB crossed no TCP stack ($used segments)" [ "$used" -lt 50 ]
expect "IPv6: 8 MiB echoed over the fast path" 0 \
	in_cg "$WEB" "$N" $SOCKTOOL transfer fd00:5::2 8080 --bytes $((8 << 20))
segs=$(tcp_out_segs "$N")
expect "64 concurrent connections x 1 MiB" 0 \
	in_cg "$WEB" "$N" $SOCKTOOL transfer 198.18.5.2 8080 --bytes $((1 << 20)) --conns 64
used=$(($(tcp_out_segs "$N") - segs))
check "concurrent connections redirected too ($used segments for 64 MiB)" [ "$used" -lt 2000 ]
expect "5000 request/response round trips" 0 \
	in_cg "$WEB" "$N" $SOCKTOOL rr 198.18.5.2 8080 --count 5000
expect "empty transfer: connect, half-close, EOF" 0 \
	in_cg "$WEB" "$N" $SOCKTOOL transfer 198.18.5.2 8080 --bytes 0

# Blocking reads with half-close: every byte arrives. A blocking read of a
# sockhash socket can fail with EAGAIN after a wake-up that brought no data
# (kernel tcp_bpf_recvmsg; why the fast path is opt-in, docs/sockets.md):
# socktool counts and retries it; the stack path is the control.
for hc in "$WEB fast-small 1000 16384" "$WEB fast-large 100 262144" "$SLOW stack-small 1000 16384"; do
	read -r cg name count max <<<"$hc"
	in_cg "$cg" "$N" $SOCKTOOL halfclose 198.18.5.2 8080 --count "$count" --max-bytes "$max" \
		>"$BM_TEST_DIR/halfclose-$name" || true
	echo "  $name: $(cat "$BM_TEST_DIR/halfclose-$name")"
	check "$name: $count half-close exchanges of up to $max bytes, blocking reads, no byte lost" \
		grep -q "exchanges $count wrong 0 " "$BM_TEST_DIR/halfclose-$name"
done

segs=$(tcp_out_segs "$N")
expect "without --fastpath: 4 MiB echoed through the stack" 0 \
	in_cg "$SLOW" "$N" $SOCKTOOL transfer 198.18.5.2 8080 --bytes $((4 << 20))
used=$(($(tcp_out_segs "$N") - segs))
check "without --fastpath really used TCP ($used segments)" [ "$used" -gt 50 ]

# hold NAME CG ADDR PORT: a connection that has exchanged once and waits for
# $BM_TEST_DIR/NAME.go before it tries again; prints to NAME.out.
hold() {
	bg_cg "$2" "$N" $SOCKTOOL hold "$3" "$4" --ready "$BM_TEST_DIR/$1.ready" \
		--go "$BM_TEST_DIR/$1.go" >"$BM_TEST_DIR/$1.out"
	HOLD_PID=${BM_PIDS[-1]}
	wait_file "$BM_TEST_DIR/$1.ready"
}
release() {
	touch "$BM_TEST_DIR/$1.go"
	wait "$HOLD_PID" || true
}
outcome() {
	cat "$BM_TEST_DIR/$1.out"
}

# Established connections are recorded with both identities, both ends.
hold rec "$WEB" 198.18.5.2 8080
conns=$(bpftool -j map dump pinned "$PIN_DIR/bm_sock_conns")
n_rec=$(python3 -c '
import json, sys
conns = json.loads(sys.argv[1])
vals = [c.get("formatted", {}).get("value") for c in conns]
ok = [v for v in vals if v and v["dport"] == 8080 and v["src_id"] >= 256 and v["dst_id"] >= 256
      and v["src_id"] != v["dst_id"] and v["verdict"] == 1]
print(len(ok))' "$conns")
check "sockops recorded both ends with identities ($n_rec records)" [ "$n_rec" = 2 ]
release rec
check "a live connection passes before any change" [ "$(outcome rec)" = ok ]

# A new generation that no longer allows web -> api:http stops the
# redirected connection at its next send; reloading the old one lets new
# connections through again.
hold gen "$WEB" 198.18.5.2 8080
sed 's/^        - port: http$/        - port: 9999/' "$DATA/sock-policy.yaml" >"$BM_TEST_DIR/v2.yaml"
bm "$N" policy load "$BM_TEST_DIR/v2.yaml" >/dev/null
release gen
check "policy change stops a redirected connection (send refused)" [ "$(outcome gen)" = EACCES ]
bm "$N" policy load "$DATA/sock-policy.yaml" >/dev/null
hold gen2 "$WEB" 198.18.5.2 8080
bm "$N" policy load "$DATA/sock-policy.yaml" >/dev/null
release gen2
check "a generation that still allows keeps it going" [ "$(outcome gen2)" = ok ]

# Authentication: 7070 needs it. Allowed with an entry; revoking the entry or
# letting it expire stops the redirected connection.
agree "unauthenticated web -> api tcp/7070" 1 "$(in_cg "$WEB" "$N" $SOCKTOOL connect 198.18.5.2 7070)"
bm "$N" auth set "$ID/web" "$ID/api" --ttl 60 >/dev/null
hold auth "$WEB" 198.18.5.2 7070
bm "$N" auth del "$ID/web" "$ID/api" >/dev/null
release auth
check "revoking the pair stops its redirected connection" [ "$(outcome auth)" = EACCES ]
bm "$N" auth set "$ID/web" "$ID/api" --ttl 2 >/dev/null
hold expiry "$WEB" 198.18.5.2 7070
sleep 2.2
release expiry
check "an expired auth entry stops its redirected connection" [ "$(outcome expiry)" = EACCES ]
finish
