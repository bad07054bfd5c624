#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Handshakes run by the agents (mesh_lib.sh: hub netns with the bus, one
# agent per node netns). A MeshPolicy with `authentication: required` admits
# a client Deployment (node n1) to a server DaemonSet (nodes n2 and n3). Before the
# nodes are enrolled, real TCP from the client replica to the server replica
# is dropped; once they are, the agents issue workload documents to their
# replicas (verifiable, the right SPIFFE ID), handshake over their auth ports
# with no manual `auth` command, and TCP passes; it keeps passing across
# many renewals of a 3 s --auth-ttl (and of the replicas' documents);
# a helper replica on the server's node is authenticated by that node's
# agent alone (both documents local); hostile and truncated handshakes
# against the auth port change nothing; a revocation on the bus cuts the
# client's pair on every node for good (and only that pair); a deleted
# replica's document is removed.
# ctest-labels: netns agent identity
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mesh_lib.sh"
NETTOOL_PY="$(cd "$(dirname "$0")" && pwd)/nettool.py"
TD=test.bpfmesh
CLIENT_URI=spiffe://$TD/ns/shop/sa/client
SERVER_URI=spiffe://$TD/ns/shop/sa/server
# The logs are shown (or kept, MESH_KEEP_LOGS=DIR) after the agents stopped,
# so that what they report on the way out (sanitizers) is in them.
trap 'mesh_down; { [ "$BM_FAILS" = 0 ] && [ -z "${MESH_KEEP_LOGS:-}" ]; } || mesh_dump_logs; cleanup' EXIT

cat >"$BM_TEST_DIR/app.yaml" <<YAML
apiVersion: v1
kind: ServiceAccount
metadata: {name: client, namespace: shop}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: server, namespace: shop}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: helper, namespace: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: helper, namespace: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: client, role: helper}}
  template:
    metadata: {labels: {app: client, role: helper}}
    spec:
      serviceAccountName: helper
      nodeSelector: {helper: "yes"}
      containers:
        - name: helper
          image: host
          command: [sleep, "300"]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: client, namespace: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: client}}
  template:
    metadata: {labels: {app: client}}
    spec:
      serviceAccountName: client
      nodeSelector: {role: client}
      containers:
        - name: client
          image: host
          command: [sleep, "300"]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: server, namespace: shop}
spec:
  selector: {matchLabels: {app: server}}
  template:
    metadata: {labels: {app: server}}
    spec:
      serviceAccountName: server
      nodeSelector: {role: server}
      containers:
        - name: server
          image: host
          command: [python3, $NETTOOL_PY, serve, 0.0.0.0, --tcp, "5432", --seconds, "300"]
          ports: [{containerPort: 5432}]
---
apiVersion: bpfmesh.io/v1
kind: MeshPolicy
metadata: {name: server-from-client, namespace: shop}
spec:
  podSelector: {matchLabels: {app: server}}
  authentication: required
  ingress:
    - from: [{podSelector: {matchLabels: {app: client}}}]
      ports: [{port: 5432}]
YAML

# running I POD-PREFIX: "POD PID" of node I's replica of that name.
running() {
	mesh_bm "$1" get workloads -o json 2>/dev/null | P="$2" python3 -c '
import json, os, sys
for w in json.load(sys.stdin)["workloads"]:
    for r in w["running_here"]:
        if r["pod"].startswith(os.environ["P"]): print(r["pod"], r["pid"])'
}
addr_of() {
	mesh_bm 1 get endpoints -o json | POD=$1 python3 -c '
import json, os, sys
for e in json.load(sys.stdin)["endpoints"]:
    if e["name"] == os.environ["POD"]: print(e["addresses"][0]); break'
}
# tcp [PID [ADDR]]: one connection from the client replica (or PID's) to
# n2's server replica (or ADDR) port 5432 (exit 0: it passed).
tcp() { nsenter -t "${1:-$CLIENT_PID}" -n python3 "$NETTOOL_PY" tcp "${2:-$SERVER_ADDR}" 5432 --timeout 1 >/dev/null 2>&1; }
tcp3() { tcp "$CLIENT_PID" "$SERVER3_ADDR"; }
no_tcp() { ! tcp "$@"; }
# metric I NAME: node I's value of an unlabelled metric (its agent's /metrics,
# on the loopback of the node's own namespace).
metric() {
	ip netns exec "$(mesh_node "$1")" python3 -c '
import sys, urllib.request
t = urllib.request.urlopen("http://127.0.0.1:9464/metrics", timeout=2).read().decode()
print(int(float([l.split()[1] for l in t.splitlines() if l.startswith(sys.argv[1] + " ")][0])))' "$2"
}
# live_auth I [ID]: node I's unexpired bm_auth entries (of numeric identity ID).
live_auth() {
	"$BPFMESH" --pin-dir "$PIN_DIR/n$1" auth list 2>/dev/null |
		awk -v id="${2:-}" '/expires in/ && (id == "" || $1 == id || $3 == id)' | grep -c . || true
}

mesh_up 3
for i in 1 2 3; do
	role=$([ "$i" = 1 ] && echo client || echo server)
	mesh_agent_start "$i" --trust-domain "$TD" --label role=$role --label helper=$([ "$i" = 2 ] && echo yes || echo no) \
		--auth-ttl 3s --workload-ttl 12s \
		--metrics-addr 127.0.0.1:9464
done
check "three agents are ready" mesh_wait 40 mesh_all_ready
check "every node sees the three nodes" mesh_wait 15 mesh_sees_all
mesh_bm 1 apply -f "$BM_TEST_DIR/app.yaml" >/dev/null
both_running() { [ -n "$(running 1 client-)" ] && [ -n "$(running 2 server-)" ] && [ -n "$(running 3 server-)" ] && [ -n "$(running 2 helper-)" ]; }
check "client runs on n1, a server on n2 and n3, the helper on n2" mesh_wait 40 both_running
read -r CLIENT_POD CLIENT_PID < <(running 1 client-)
read -r SERVER_POD SERVER_PID < <(running 2 server-)
read -r HELPER_POD HELPER_PID < <(running 2 helper-)
read -r SERVER3_POD SERVER3_PID < <(running 3 server-)
SERVER_ADDR=$(addr_of "$SERVER_POD")
SERVER3_ADDR=$(addr_of "$SERVER3_POD")
listening() { local p; for p in "$SERVER_PID" "$SERVER3_PID"; do nsenter -t "$p" -n ss -Hltn "sport = :5432" | grep -q . || return 1; done; }
installed() { mesh_bm 1 policy show | grep -q "$SERVER3_POD" && mesh_bm 2 policy show | grep -q "$CLIENT_POD" && mesh_bm 3 policy show | grep -q "$CLIENT_POD"; }
check "the server listens and both kernels know both endpoints" mesh_wait 20 eval 'listening && installed'
check "not enrolled: no documents, TCP client -> server is dropped (authentication required)" \
	eval '[ ! -e "$STATE_DIR/n1/replicas/$CLIENT_POD.id" ] && no_tcp && ! tcp3 && no_tcp "$HELPER_PID"'

# Enrollment: the trust domain on a root machine (its own state directory),
# each node requests, the root signs, the node installs.
ROOT_DIR=$BM_TEST_DIR/root
mkdir -p "$ROOT_DIR" && chmod 700 "$ROOT_DIR"
"$BPFMESH" --state-dir "$ROOT_DIR" identity init --trust-domain "$TD" >/dev/null
for i in 1 2 3; do
	"$BPFMESH" --state-dir "$STATE_DIR/n$i" identity enroll --request "$BM_TEST_DIR/n$i.req" --node "n$i" >/dev/null &&
		"$BPFMESH" --state-dir "$ROOT_DIR" identity enroll --sign "$BM_TEST_DIR/n$i.req" -o "$BM_TEST_DIR/n$i.doc" >/dev/null &&
		"$BPFMESH" --state-dir "$STATE_DIR/n$i" identity enroll --install "$BM_TEST_DIR/n$i.doc" \
			--trust-bundle "$ROOT_DIR/identity/trust.bundle" >/dev/null ||
		check "enroll n$i" false
done
T_ENROLL=$(date +%s.%N)
check "enrolled: TCP client -> both servers passes once the agents have handshaken (no auth command)" \
	mesh_wait 20 eval 'tcp && tcp3'
echo "   allowed $(echo "$(date +%s.%N) - $T_ENROLL" | bc) s after the enrollment was installed"

# The replicas' documents (step 1): as `identity issue -o` writes them.
CLIENT_DOC=$STATE_DIR/n1/replicas/$CLIENT_POD.id
check "the client's document verifies and names $CLIENT_URI" \
	eval '"$BPFMESH" --state-dir "$STATE_DIR/n1" identity verify "$CLIENT_DOC" | grep -q "valid: $CLIENT_URI "'
check "the server's document verifies on another node too and names $SERVER_URI" \
	eval '"$BPFMESH" --state-dir "$STATE_DIR/n3" identity verify "$STATE_DIR/n2/replicas/$SERVER_POD.id" | grep -q "valid: $SERVER_URI "'
check "document and key are 0600" \
	eval '[ "$(stat -c %a "$CLIENT_DOC") $(stat -c %a "$CLIENT_DOC.key")" = "600 600" ]'
CLIENT_ID=$("$BPFMESH" --state-dir "$STATE_DIR/n1" identity show "$CLIENT_DOC" | awk '/numeric id/ {print $3; exit}')
SERIAL1=$("$BPFMESH" --state-dir "$STATE_DIR/n1" identity show "$CLIENT_DOC" | grep -m1 -io 'serial[^,)]*')
check "the three nodes hold the client's pair (id $CLIENT_ID), valid for at most the 3 s --auth-ttl" \
	eval '[ "$(live_auth 1 "$CLIENT_ID")" = 2 ] && [ "$(live_auth 2 "$CLIENT_ID")" = 2 ] && [ "$(live_auth 3 "$CLIENT_ID")" = 2 ] &&
	      "$BPFMESH" --pin-dir "$PIN_DIR/n2" auth list | awk "/expires in/ {exit !(\$(NF-1) <= 3.05)}"'
check "n1 handshook with n2 and with n3 (one per node of the destination)" \
	eval 'grep -q "authenticated .*handshake with n2 " "$BM_TEST_DIR/agent1.log" && grep -q "authenticated .*handshake with n3 " "$BM_TEST_DIR/agent1.log"'
check "helper -> server on the same node passes: n2's agent checked both documents itself" \
	eval 'mesh_wait 10 tcp "$HELPER_PID" && grep -q "sa/helper -> .*sa/server authenticated for [1-9][0-9]* ms (both local)" "$BM_TEST_DIR/agent2.log"'

# Renewals: 15 s = 7 renewals of the pair (at 2/3 of 3 s) and one of the
# 12 s documents; every connection in between passes.
fails=0
for s in $(seq 30); do { tcp && tcp3 && tcp "$HELPER_PID"; } || fails=$((fails + 1)); sleep 0.5; done
check "TCP (client to both servers, helper) passes through 15 s of renewals of 3 s pairs (failed: $fails of 30)" [ "$fails" = 0 ]
SERIAL2=$("$BPFMESH" --state-dir "$STATE_DIR/n1" identity show "$CLIENT_DOC" | grep -m1 -io 'serial[^,)]*')
check "the client's document was renewed ($SERIAL1 -> $SERIAL2) and still verifies" \
	eval '[ "$SERIAL1" != "$SERIAL2" ] && "$BPFMESH" --state-dir "$STATE_DIR/n1" identity verify "$CLIENT_DOC" >/dev/null'
grep -h "authenticated" "$BM_TEST_DIR"/agent[12].log | sort -u -t: -k2,3 | sed 's/^/   /'
HS1=$(metric 1 bpfmesh_handshakes_total) HS2=$(metric 2 bpfmesh_handshakes_total)
check "both ends count the renewals' handshakes in /metrics (n1 $HS1, n2 $HS2; >= 6 each)" \
	eval '[ "$HS1" -ge 6 ] && [ "$HS2" -ge 6 ]'
FAIL2=$(metric 2 bpfmesh_handshake_failures_total)

# Hostile peers against n2's auth port: garbage, a truncated selection, an
# unknown identity, a valid selection then a truncated hello, a slow client.
HOSTILE_OUT=$(ip netns exec "$(mesh_node 3)" python3 - 198.18.0.12 4433 <<'PY'
import socket, struct, sys, time
addr = (sys.argv[1], int(sys.argv[2]))
def sel(uri):
    b = uri.encode()
    return struct.pack(">BBH", 1, 16, len(b)) + b
cases = [b"GET / HTTP/1.0\r\n\r\n", b"\x01\x10", b"\x01\x10\xff\xff" + b"x" * 64,
         sel("spiffe://test.bpfmesh/ns/shop/sa/nobody") + b"\x01\x01\x00\x42" + b"\0" * 66,
         sel("spiffe://test.bpfmesh/ns/shop/sa/server") + b"\x01\x01\x00\x42" + b"\0" * 10,
         sel("spiffe://test.bpfmesh/ns/shop/sa/server") + b"\x01\x01\x00\x42" + b"\0" * 66]
for c in cases:
    s = socket.create_connection(addr, 2)
    s.sendall(c)
    s.settimeout(3)
    try:
        while s.recv(4096):
            pass
    except OSError:
        pass
    s.close()
s = socket.create_connection(addr, 2)
time.sleep(2.5)  # silent client: the server gives up after its timeout
s.close()
print("sent", len(cases) + 1)
PY
)
check "the hostile connections were made ($HOSTILE_OUT)" [ "$HOSTILE_OUT" = "sent 7" ]
check "after them: n2 still holds exactly the two pairs, TCP still passes" \
	eval '[ "$(live_auth 2)" = 4 ] && tcp'
check "n2's agent counts the 7 failed handshakes and is still serving" \
	mesh_wait 5 eval '[ "$(metric 2 bpfmesh_handshake_failures_total)" -ge $((FAIL2 + 7)) ] && tcp'

# Revocation on the bus (from n3): every node cuts the pair, for good.
mesh_bm 3 agent revoke "$CLIENT_URI" >/dev/null
none_left() { local i; for i in 1 2 3; do [ "$(live_auth "$i" "$CLIENT_ID")" = 0 ] || return 1; done; }
check "revoked on the bus: no node holds a live pair of the client" mesh_wait 5 none_left
check "revoked: TCP client -> both servers is dropped" eval 'no_tcp && ! tcp3'
sleep 4
check "4 s later (renewals due): still no pair of the client anywhere and TCP still dropped" \
	eval 'none_left && no_tcp && ! tcp3'
check "the helper's pair is untouched: helper -> server still passes" tcp "$HELPER_PID"

# The replica goes: its document goes with it.
mesh_bm 1 delete deployment/client -n shop >/dev/null
check "the deleted client's document and key are removed" \
	mesh_wait 15 eval '[ ! -e "$CLIENT_DOC" ] && [ ! -e "$CLIENT_DOC.key" ]'
finish
