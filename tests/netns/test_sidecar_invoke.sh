#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# ctest-labels: sidecar
# Service invocation between workloads (docs/sidecar.md, "Service
# invocation"), everything on 127.0.0.1 with one nats-server for discovery:
# app a calls app b through its sidecar (POST /v1.0/invoke/b/method/...);
# the two sidecars run the identity handshake with the replicas' documents
# and seal the call under its keys. Checked: answers and statuses relayed,
# b's app told the caller's verified identity, nothing readable on the wire
# (a relay in between records it), a plaintext client at b's invocation
# port gets nothing; a caller of another namespace and one of another trust
# domain are refused (403) and b's app is never called. Calls reuse an
# authenticated connection; one that died with b's sidecar is replaced.
source "$(dirname "$0")/sidecar_lib.sh"
BM="${BPFMESH:?set BPFMESH to the bpfmesh binary}"

bmi() { local st=$1; shift; "$BM" --state-dir "$st" identity "$@" >>"$SC_DIR/identity.log" 2>&1; }
bmi "$SC_DIR/st" init --trust-domain test.bpfmesh
bmi "$SC_DIR/st" enroll --node n1
for w in a b; do bmi "$SC_DIR/st" issue --namespace shop --service-account "$w" -o "$SC_DIR/$w.doc"; done
bmi "$SC_DIR/st" issue --namespace other --service-account c -o "$SC_DIR/c.doc"
bmi "$SC_DIR/xst" init --trust-domain test.bpfmesh
bmi "$SC_DIR/xst" enroll --node n9
bmi "$SC_DIR/xst" issue --namespace shop --service-account a -o "$SC_DIR/x.doc"

NPORT=$(free_port)
sc_bg nats "$NATS_SERVER" -a 127.0.0.1 -p "$NPORT" -js -sd "$SC_DIR/js"
wait_port "$NPORT"
APP=$(free_port)
sc_bg app $SC_TOOL echoapp "$APP"
wait_port "$APP"
BINV=$(free_port)
RELAY=$(free_port)
sc_bg relay $SC_TOOL relay "$RELAY" "$BINV" "$SC_DIR/wire.bin"
wait_port "$RELAY"
: >"$SC_DIR/wire.bin"

# sidecar NAME NS DOC IDENTITY_DIR ARGS...: start one (in this shell, so
# that the cleanup knows it); its Dapr port in PORT, its pid in SC_LAST_PID.
sidecar() {
	local name=$1 ns=$2 doc=$3 dir=$4
	shift 4
	PORT=$(free_port)
	sc_bg "sidecar-$name" "$BM_SIDECAR" --nats "nats://127.0.0.1:$NPORT" --http-port "$PORT" \
		--app-id "$name" --namespace "$ns" --identity "$doc" --identity-dir "$dir" "$@"
	wait_port "$PORT" 15 || { echo "FAIL: sidecar $name did not start"; exit 1; }
}
start_b() {
	sidecar b shop "$SC_DIR/b.doc" "$SC_DIR/st/identity" --app-port "$APP" \
		--invoke-listen "127.0.0.1:$BINV" --invoke-advertise "127.0.0.1:$RELAY"
}
start_b
BPID=$SC_LAST_PID
sidecar a shop "$SC_DIR/a.doc" "$SC_DIR/st/identity"
A=$PORT
sidecar c other "$SC_DIR/c.doc" "$SC_DIR/st/identity"
C=$PORT
sidecar x shop "$SC_DIR/x.doc" "$SC_DIR/xst/identity"
X=$PORT

run_check $SC_TOOL invoke "$A" "$APP" "$BINV" "spiffe://test.bpfmesh/ns/shop/sa/a" \
	"$SC_DIR/wire.bin"
# b's sidecar restarts: a's pooled connection to it is dead; the next call
# notices before any answer and goes over a new connection (and handshake).
sc_stop "$BPID"
start_b
run_check $SC_TOOL invoke_ok "$A" "call after b's sidecar restarted"
run_check $SC_TOOL invoke_refused "$C" "$APP" "caller of namespace other"
run_check $SC_TOOL invoke_refused "$X" "$APP" "caller of another trust root"
# Without an identity there is nothing to authenticate with.
NOID=$(free_port)
sc_bg sidecar-noid "$BM_SIDECAR" --nats "nats://127.0.0.1:$NPORT" --http-port "$NOID" --app-id n
wait_port "$NOID" 15
code=$(python3 -c "import http.client as h; c=h.HTTPConnection('127.0.0.1',$NOID,timeout=10); c.request('GET','/v1.0/invoke/b/method/x'); print(c.getresponse().status)")
[ "$code" = 501 ] && echo "ok: no identity -> 501" ||
	{ echo "FAIL: no identity -> $code, wanted 501"; SC_FAILS=$((SC_FAILS + 1)); }
# Cost of a call (a handshake each), for docs/BENCHMARKS.md; not asserted.
$SC_TOOL invokebench "$A" "$APP" 300
sc_finish
