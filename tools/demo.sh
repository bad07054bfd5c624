#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The main job: the whole bpfmesh story on the embedded default
# (examples/shop, plain Kubernetes YAML) on one machine:
#   a bus (nats-server with JetStream) in a hub network namespace, three
#   nodes as network namespaces each running its agent; `bpfmesh apply` on
#   node 1; every agent computes the same placement with no coordinator and
#   runs its replicas; real HTTP requests between replicas on different nodes
#   are allowed or dropped by XDP by identity; the nodes enroll and their
#   agents give every replica a signed identity and mutually authenticate
#   backend and db, the MeshPolicy admits them, a revocation on the bus cuts
#   them on every node; a node dies and its replicas come back on the
#   survivors; everything is removed at the end, also on failure.
# Usage: tools/demo.sh [MANIFEST-DIR-OR-FILE]
# Env: BPFMESH=PATH uses that binary instead of building (the ctest does);
#      BM_SKIP_DEPS=1 skips the apt-get step.
# Exit status: 0 when every expected outcome was seen, 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
MANIFESTS=${1:-$ROOT/examples/shop}
TRUST_DOMAIN=demo.bpfmesh
T0=$(date +%s.%N)

step() { printf '\n\033[1m==> [%5.1fs] %s\033[0m\n' "$(echo "$(date +%s.%N) - $T0" | bc)" "$*"; }

[ "$(id -u)" = 0 ] || { echo "demo: run as root (it creates namespaces and loads BPF); try: sudo $0" >&2; exit 2; }
if [ -z "${BPFMESH:-}" ]; then
	step "installing Debian packages and building"
	[ "${BM_SKIP_DEPS:-0}" = 1 ] || tools/deps.sh
	cmake -S . -B build-demo -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build-demo -j"$(nproc)" --target bpfmesh >/dev/null
	BPFMESH=$ROOT/build-demo/control/bpfmesh
	T0=$(date +%s.%N)
fi
export BPFMESH

# The node topology shared with the scheduler tests: lib.sh gives a private
# bpffs, state directory and a cleanup trap; mesh_lib.sh the hub, the bus
# and the node namespaces (see its header).
source "$ROOT/tests/netns/lib.sh"
source "$ROOT/tests/netns/mesh_lib.sh"
OBSERVE_PID=""
# On failure: the agents' and the replicas' own logs, then the teardown.
dump_logs() {
	local f
	mesh_dump_logs
	for f in "$STATE_DIR"/n*/runtime/*.log; do
		[ -e "$f" ] || continue
		echo "--- replica log $f (tail)"
		tail -n 15 "$f"
	done
}
trap '[ -n "$OBSERVE_PID" ] && kill "$OBSERVE_PID" 2>/dev/null; [ "$FAILS" = 0 ] || dump_logs; mesh_down; cleanup' EXIT
set +e
FAILS=0
ID_DIR=$BM_TEST_DIR/identity

ok() { printf '  \033[32mok\033[0m   %s\n' "$*"; }
bad() { printf '  \033[31mFAIL\033[0m %s\n' "$*"; FAILS=$((FAILS + 1)); }
alive_nodes() { local i; for i in $(seq "$MESH_N"); do [ -z "${MESH_GONE[$i]:-}" ] && echo "$i"; done; }
first_alive() { alive_nodes | head -1; }

# pods: "POD NODE PID ADDRESS IDENTITY" for every running replica, from the
# agents' own reports (each node lists what it runs) and the endpoints bucket.
pods() {
	local i eps
	eps=$(mesh_bm "$(first_alive)" get endpoints -o json 2>/dev/null) || return 1
	for i in $(alive_nodes); do
		mesh_bm "$i" get workloads -o json 2>/dev/null | EPS=$eps NODE="n$i" python3 -c '
import json, os, sys
eps = {e["name"]: e for e in json.loads(os.environ["EPS"])["endpoints"]}
for w in json.load(sys.stdin)["workloads"]:
    for r in w["running_here"]:
        e = eps.get(r["pod"])
        if e and e.get("addresses") and e.get("node") == os.environ["NODE"]:
            print(r["pod"], os.environ["NODE"], r["pid"], e["addresses"][0], e.get("identity", "-"))'
	done | sort
}
# PODS caches pods(); refresh it after anything that moves replicas.
PODS=""
refresh() { PODS=$(pods); }
pod_field() { echo "$PODS" | awk -v p="$1" -v f="$2" '$1 ~ "^"p {print $f; exit}'; }

# http FROM-POD TO-POD PORT WANT(allow|deny): one HTTP GET from inside FROM's
# network namespace to TO's address; any HTTP answer counts as allowed.
http() {
	local from=$1 to=$2 port=$3 want=$4 pid addr got=deny line
	pid=$(pod_field "$from" 3) addr=$(pod_field "$to" 4)
	if [ -z "$pid" ] || [ -z "$addr" ]; then
		bad "$from -> $to: replica not found"
		return
	fi
	nsenter -t "$pid" -n python3 -c "
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen('http://$addr:$port/', timeout=1.5)
except urllib.error.HTTPError:
    pass
except Exception:
    sys.exit(1)" 2>/dev/null && got=allow
	line=$(printf '%-24s (%s) -> %-22s (%s) :%-5s %-5s' "$(pod_field "$from" 1)" \
		"$(pod_field "$from" 2)" "$(pod_field "$to" 1)" "$(pod_field "$to" 2)" "$port" "$got")
	if [ "$got" = "$want" ]; then ok "$line"; else bad "$line (expected $want)"; fi
}

# ---------------------------------------------------------------------------
step "a bus and three nodes: nats-server in a hub namespace, one agent per node namespace"
mesh_up 3
for i in 1 2 3; do mesh_agent_start "$i" --trust-domain "$TRUST_DOMAIN" --auth-ttl 6s; done
all_ready() { local i; for i in 1 2 3; do mesh_ready "$i" || return 1; done; }
three_alive() {
	[ "$(mesh_bm 1 get nodes -o json | python3 -c 'import json,sys; print(sum(n["alive"] for n in json.load(sys.stdin)["nodes"]))')" = 3 ]
}
if mesh_wait 30 all_ready && mesh_wait 15 three_alive; then
	mesh_bm 1 get nodes -o wide | sed 's/^/  /'
else
	bad "the three agents did not come up"; exit 1
fi

step "bpfmesh apply -f $(basename "$MANIFESTS") on node 1 (plain Kubernetes YAML; no scheduler anywhere)"
mesh_bm 1 apply -f "$MANIFESTS" | sed 's/^/  /'
all_running() {
	local n
	refresh
	[ "$(echo "$PODS" | grep -c .)" -ge 5 ] && echo "$PODS" | grep -q '^db-0 '
}
if mesh_wait 60 all_running; then
	ok "every replica placed by rendezvous hashing and running (5 replicas on $(echo "$PODS" | awk '{print $2}' | sort -u | wc -l) nodes)"
else
	bad "replicas did not all start"; echo "$PODS" | sed 's/^/  /'; exit 1
fi
echo "$PODS" | awk '{printf "  %-28s %-3s pid %-7s %-14s %s\n", $1, $2, $3, $4, $5}'

mesh_bm 1 observe --json --namespace shop --timeout 100 >"$BM_TEST_DIR/flows.json" \
	2>"$BM_TEST_DIR/flows.err" &
OBSERVE_PID=$!
BM_PIDS+=("$OBSERVE_PID")
observer_on() { grep -q "observe: following" "$BM_TEST_DIR/flows.err"; }
mesh_wait 20 observer_on || bad "observe did not confirm its subscription to the bus"

step "requests between replicas (NetworkPolicy: backend admits frontend on 8080; MeshPolicy: db admits an authenticated backend)"
# Ready = every node's kernel has every replica's endpoint and every
# replica's server listens (python needs a moment to start).
all_installed() {
	local i p
	for i in $(alive_nodes); do
		for p in $(echo "$PODS" | awk '{print $1}'); do
			mesh_bm "$i" policy show | grep -q "$p" || return 1
		done
	done
}
listening() {
	local pid port
	while read -r pid port; do
		nsenter -t "$pid" -n ss -Hltn "sport = :$port" | grep -q . || return 1
	done < <(echo "$PODS" | awk '{print $3, ($1 ~ /^db-/ ? 5432 : 8080)}')
}
mesh_wait 15 all_installed || bad "not every node's kernel has every endpoint"
mesh_wait 15 listening || bad "not every replica listens"
http frontend backend-v1 8080 allow
http frontend backend-v2 8080 allow
http db-0 backend-v1 8080 deny
http frontend db-0 5432 deny
http backend-v1 db-0 5432 deny

step "mutual authentication: the nodes enroll; their agents issue each replica a signed identity and run the X25519 + Ed25519 handshakes themselves"
# The trust domain lives on a "root machine" (its own state directory); each
# node requests, the root signs, the node installs. The running agents find
# their enrollment within 2 s, issue every replica a workload document
# (STATE_DIR/replicas/POD.id), and the backend's node handshakes with the db's
# node on its auth port: no manual step. Each writes the pair into its own
# kernel's bm_auth for --auth-ttl (6 s here), renewed at 2/3.
bmi() { "$BPFMESH" --state-dir "$ID_DIR" "$@"; }
mkdir -p "$ID_DIR" && chmod 700 "$ID_DIR"
bmi identity init --trust-domain "$TRUST_DOMAIN" >/dev/null
for i in $(alive_nodes); do
	if mesh_bm "$i" identity enroll --request "$BM_TEST_DIR/n$i.req" --node "n$i" >/dev/null &&
		bmi identity enroll --sign "$BM_TEST_DIR/n$i.req" -o "$BM_TEST_DIR/n$i.doc" >/dev/null &&
		mesh_bm "$i" identity enroll --install "$BM_TEST_DIR/n$i.doc" \
			--trust-bundle "$ID_DIR/identity/trust.bundle" | sed 's/^/  /'; then :; else
		bad "enrolling n$i failed"
	fi
done
DB_NODE=$(pod_field db-0 2)
t_enroll=$(date +%s.%N)
# quiet_http FROM TO PORT: like http, silent; exit 0 when answered.
quiet_http() {
	nsenter -t "$(pod_field "$1" 3)" -n python3 -c "
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen('http://$(pod_field "$2" 4):$3/', timeout=1)
except urllib.error.HTTPError:
    pass
except Exception:
    sys.exit(1)" 2>/dev/null
}
if mesh_wait 30 eval 'quiet_http backend-v1 db-0 5432 && quiet_http backend-v2 db-0 5432'; then
	ok "the agents authenticated backend -> db $(echo "$(date +%s.%N) - $t_enroll" | bc | cut -c1-4) s after the enrollment"
else
	bad "the agents did not authenticate backend -> db"
fi
"$BPFMESH" --state-dir "$STATE_DIR/$DB_NODE" identity verify "$STATE_DIR/$DB_NODE/replicas/db-0.id" | sed "s|^$STATE_DIR/||; s/^/  /"
grep -h "auth: .*authenticated" "$BM_TEST_DIR"/agent*.log | sort -u | sed 's/^bpfmesh: /  /'
http backend-v1 db-0 5432 allow
http backend-v2 db-0 5432 allow
http frontend db-0 5432 deny

step "revoking the backend identity on the bus (from node 2): every node cuts the pair at once, and no renewal brings it back"
BACKEND_URI=spiffe://$TRUST_DOMAIN/ns/shop/sa/backend
# The numeric identity the kernels key bm_auth by, from a backend document.
BN=$(pod_field backend-v1 2)
BACKEND_ID=$("$BPFMESH" --state-dir "$STATE_DIR/$BN" identity show \
	"$STATE_DIR/$BN/replicas/$(pod_field backend-v1 1).id" | awk '/numeric id/ {print $3; exit}')
live_backend_pairs() {
	local i
	for i in $(alive_nodes); do
		"$BPFMESH" --pin-dir "$PIN_DIR/n$i" auth list 2>/dev/null |
			awk -v id="$BACKEND_ID" '($1 == id || $3 == id) && /expires in/'
	done | grep -c . || true
}
echo "  before: $(live_backend_pairs) live bm_auth entries of $BACKEND_URI (id $BACKEND_ID) on the nodes"
mesh_bm 2 agent revoke "$BACKEND_URI" | sed 's/^/  revoked on the bus, /'
if [ -n "$BACKEND_ID" ] && mesh_wait 5 eval '[ "$(live_backend_pairs)" = 0 ]'; then
	ok "no node holds an authenticated pair for $BACKEND_URI"
else
	bad "auth entries left after the revocation"
fi
http backend-v1 db-0 5432 deny
http backend-v2 db-0 5432 deny
sleep 4.5
if [ "$(live_backend_pairs)" = 0 ] && ! quiet_http backend-v1 db-0 5432; then
	ok "4.5 s later (renewals were due): the agents did not re-authenticate the revoked identity"
else
	bad "a pair of the revoked identity came back"
fi

step "what the kernels reported (bpfmesh observe: flow events of every node over the bus)"
sleep 1
kill "$OBSERVE_PID" 2>/dev/null; wait "$OBSERVE_PID" 2>/dev/null; OBSERVE_PID=""
if python3 - "$BM_TEST_DIR/flows.json" <<'PY' | sed 's/^/  /'; then
import collections, json, sys
seen = collections.Counter()
for line in open(sys.argv[1]):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if e.get("proto") != "tcp" or e.get("dport") not in (8080, 5432):
        continue
    seen[(e.get("node", "-"), e.get("verdict", "?"), e.get("reason", "?"),
          e.get("src_identity", "?"), e.get("dst_identity", "?"), e.get("dport"))] += 1
for (node, verdict, reason, src, dst, port), n in sorted(seen.items()):
    short = lambda u: u.replace("spiffe://", "")
    print(f"{n:4} {node:3} {verdict:6} {reason:20} {short(src)} -> {short(dst)} :{port}")
want = [("deny-ingress", "sa/frontend", "sa/db"), ("deny-auth-missing", "sa/backend", "sa/db")]
missing = [w for w in want if not any(k[2] == w[0] and k[3].endswith(w[1]) and k[4].endswith(w[2]) for k in seen)]
for w in missing:
    print(f"missing: a {w[0]} event {w[1]} -> {w[2]}")
sys.exit(1 if missing or not any(k[0] != "-" for k in seen) else 0)
PY
	ok "deny events with both identities and the deciding node reached observe over the bus"
else
	bad "observe did not show the expected events"
fi

step "a node dies (agent, replicas and network gone): its replicas come back on the survivors"
# The victim: the node running most Deployment replicas but not db-0 (a
# StatefulSet ordinal moves only once its claim's lease has expired, see
# docs/scheduler.md; Deployments move as soon as the failure is detected).
VICTIM=$(echo "$PODS" | awk -v d="$(pod_field db-0 2)" '$2 != d {n[$2]++} END {for (k in n) print n[k], k}' |
	sort -rn | awk 'NR == 1 {print substr($2, 2)}')
[ -n "$VICTIM" ] || VICTIM=3
BEFORE=$(echo "$PODS" | awk -v v="n$VICTIM" '$2 == v {print $1}' | tr '\n' ' ')
echo "  killing node n$VICTIM, which runs: ${BEFORE:-nothing}"
t_kill=$(date +%s.%N)
mesh_kill_node "$VICTIM"
replaced() {
	local p
	refresh
	for p in $BEFORE db-0; do echo "$PODS" | awk -v p="$p" '$1 == p' | grep -q . || return 1; done
	[ "$(echo "$PODS" | grep -c .)" -ge 5 ] && ! echo "$PODS" | awk '{print $2}' | grep -qx "n$VICTIM"
}
if mesh_wait 30 replaced; then
	ok "re-placed in $(echo "$(date +%s.%N) - $t_kill" | bc | cut -c1-4) s (failure detected after ${MESH_DEAD_AFTER_MS} ms without heartbeats)"
else
	bad "replicas of n$VICTIM did not come back"
fi
echo "$PODS" | awk '{printf "  %-28s %-3s %s\n", $1, $2, $4}'
mesh_wait 15 all_installed || bad "not every node's kernel has the moved endpoints"
mesh_wait 15 listening || bad "not every moved replica listens"
http frontend backend-v1 8080 allow
http frontend backend-v2 8080 allow
http frontend db-0 5432 deny

step "tearing down: agents, replicas, namespaces, bus, pins"
if [ "$FAILS" = 0 ]; then
	echo "demo finished in $(echo "$(date +%s.%N) - $T0" | bc | cut -d. -f1) s: every expected outcome was seen"
	exit 0
fi
echo "demo finished with $FAILS unexpected outcomes" >&2
exit 1
