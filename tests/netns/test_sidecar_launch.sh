#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# ctest-labels: sidecar netns
# How the agent starts a replica's sidecar (docs/sidecar.md, "Launch"):
# `bpfmesh-sidecar --netns PATH --identity DOC --identity-dir DIR ...`.
#  - the sidecar (and the nats-server a standalone one starts) runs in the
#    replica's network namespace: its Dapr port answers there, not on the
#    host's loopback;
#  - it holds the replica's identity document, issued by the node
#    (`bpfmesh identity issue`), and refuses to start with a forged,
#    expired, revoked or other-namespace document, a key that is not the
#    document's, or no trust bundle; a bad --netns path fails too.
source "$(dirname "$0")/sidecar_lib.sh"
[ "$(id -u)" = 0 ] || sc_skip "needs root (network namespaces)"
command -v ip >/dev/null || sc_skip "needs iproute2"
BM="${BPFMESH:?set BPFMESH to the bpfmesh binary}"

ID="$SC_DIR/st/identity"
bmi() { "$BM" --state-dir "$SC_DIR/st" identity "$@" >>"$SC_DIR/identity.log" 2>&1; }
bmi init --trust-domain test.bpfmesh
bmi enroll --node n1
bmi issue --namespace shop --service-account web -o "$SC_DIR/web.doc"
bmi issue --namespace other --service-account web -o "$SC_DIR/other.doc"
bmi issue --namespace shop --service-account gone -o "$SC_DIR/revoked.doc"
bmi revoke "$SC_DIR/revoked.doc"
bmi issue --namespace shop --service-account brief --ttl 1s -o "$SC_DIR/expired.doc"
# Forged: one byte of the leaf certificate's subject changed (signature no longer matches).
python3 - "$SC_DIR/web.doc" "$SC_DIR/forged.doc" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
i = b.index(b"/sa/web") + 4
b[i] = ord("x")  # .../sa/xeb
open(sys.argv[2], "wb").write(b)
PY
cp "$SC_DIR/web.doc.key" "$SC_DIR/forged.doc.key"
sleep 2 # expired.doc's one second is over (the check below allows no skew)

NS="bm-sc-launch-$$"
ip netns add "$NS"
SC_NETNS+=("$NS")
ip -n "$NS" link set lo up

# expect_refusal NAME PATTERN ARGS...: the sidecar must exit 1 saying PATTERN.
expect_refusal() {
	local name=$1 pat=$2 rc=0; shift 2
	mkdir -p "$SC_DIR/$name"
	timeout 20 "$BM_SIDECAR" --netns "/run/netns/$NS" --standalone \
		--state-dir "$SC_DIR/$name" --namespace shop --identity-dir "$ID" \
		--identity-skew-s 0 "$@" >"$SC_DIR/refuse-$name.out" 2>&1 || rc=$?
	if [ "$rc" = 1 ] && grep -q "$pat" "$SC_DIR/refuse-$name.out"; then
		echo "ok: refused: $name ($pat)"
	else
		echo "FAIL: $name: exit $rc, wanted 1 and '$pat'"; cat "$SC_DIR/refuse-$name.out"
		SC_FAILS=$((SC_FAILS + 1))
	fi
}
expect_refusal forged "bad signature" --identity "$SC_DIR/forged.doc"
expect_refusal expired "expired" --identity "$SC_DIR/expired.doc"
expect_refusal revoked "revoked" --identity "$SC_DIR/revoked.doc"
expect_refusal other-ns "not a workload of namespace shop" --identity "$SC_DIR/other.doc"
expect_refusal wrong-key "does not belong" --identity "$SC_DIR/web.doc" \
	--identity-key "$SC_DIR/other.doc.key"
expect_refusal no-trust "trust bundle" --identity "$SC_DIR/web.doc" --identity-dir "$SC_DIR/none"
rc=0
"$BM_SIDECAR" --netns "/run/netns/missing-$$" --standalone --state-dir "$SC_DIR" \
	>"$SC_DIR/badns.out" 2>&1 || rc=$?
run_check test "$rc" = 1
run_check grep -q -- "--netns /run/netns/missing-$$" "$SC_DIR/badns.out"

# The real start: standalone (its own nats-server) inside the namespace.
PORT=$(free_port)
mkdir -p "$SC_DIR/web"
sc_bg web "$BM_SIDECAR" --netns "/run/netns/$NS" --standalone --state-dir "$SC_DIR/web" \
	--http-port "$PORT" --app-id web --namespace shop --identity "$SC_DIR/web.doc" \
	--identity-dir "$ID" -v
WEB=$SC_LAST_PID
in_ns_http() {
	ip netns exec "$NS" python3 - "$PORT" "$@" <<'PY'
import http.client, json, sys, time
port = int(sys.argv[1])
for _ in range(100):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        c.request(sys.argv[2], sys.argv[3], body=sys.argv[4] if len(sys.argv) > 4 else None)
        r = c.getresponse(); print(r.status, r.read().decode()); sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
PY
}
out=$(in_ns_http GET /v1.0/healthz) || true
run_check test "${out%% *}" = 204
out=$(in_ns_http POST /v1.0/state/statestore '[{"key":"k","value":"v"}]') || true
run_check test "${out%% *}" = 204
out=$(in_ns_http GET /v1.0/state/statestore/k) || true
run_check test "$out" = '200 "v"'
echo "in the namespace: $out"
if python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 0.5)" 2>/dev/null; then
	echo "FAIL: the sidecar's port answers on the host's loopback"
	SC_FAILS=$((SC_FAILS + 1))
else
	echo "ok: not on the host's loopback"
fi
pids=" $(ip netns pids "$NS" | tr '\n' ' ') "
run_check grep -q " $WEB " <<<"$pids"
nats=$(pgrep -P "$WEB" nats-server || true)
run_check test -n "$nats"
run_check grep -q " ${nats:-none} " <<<"$pids"
run_check grep -q "identity spiffe://test.bpfmesh/ns/shop/sa/web" "$SC_DIR/web.log"
sc_stop "$WEB"
sc_finish
