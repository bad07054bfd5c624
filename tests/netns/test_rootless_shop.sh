#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The same manifests on a rootless node: examples/shop (unchanged, plain
# Kubernetes YAML: a Deployment frontend, backend in two versions, a
# StatefulSet db, NetworkPolicies and a MeshPolicy; every server is
# `python3 -m http.server` on the wildcard address) applied to one rootless
# agent run by an unprivileged user this test creates. Every replica runs;
# HTTP frontend -> backend is allowed; frontend -> db is refused with its
# reason; backend -> db is allowed once the forwarder authenticated the two
# with the documents the agent issued; `delete -f` leaves nothing behind.
# ctest-labels: rootless netns agent scheduler
if [ -z "${BM_RL_PRIVATE_MOUNTS:-}" ]; then
	export BM_RL_PRIVATE_MOUNTS=1
	exec unshare -m --propagation private bash "$0" "$@"
fi
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/rootless_lib.sh"
command -v nats-server >/dev/null || [ -x /usr/sbin/nats-server ] || skip "needs nats-server"
SHOP="$RL_DIR/shop"
cp -r "$BM_SOURCE_DIR/examples/shop" "$SHOP"
chown -R "$RL_USER:" "$SHOP"

# pod PREFIX: NS/NAME of the first endpoint whose name starts with PREFIX; addr PREFIX: its address.
pod() {
	rl get endpoints -o json | P=$1 F=${2:-name} python3 -c '
import json, os, sys
for e in json.load(sys.stdin)["endpoints"]:
    if e["name"].startswith(os.environ["P"]):
        print(e["addresses"][0] if os.environ["F"] == "address" else e["namespace"] + "/" + e["name"])
        sys.exit(0)
sys.exit(1)'
}
n_endpoints() {
	rl get endpoints -o json | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["endpoints"]))'
}
all_running() { [ "$(n_endpoints)" = 5 ]; }
# http FROM_PREFIX TO_PREFIX PORT: an HTTP GET from a replica to another, within 3 s.
http() {
	in_wl "$(pod "$1")" python3 -c 'import sys, urllib.request
urllib.request.urlopen("http://%s:%s/" % (sys.argv[1], sys.argv[2]), timeout=3).read()' \
		"$(pod "$2" address)" "$3"
}

rl identity init --trust-domain example.org >/dev/null
rl identity enroll >/dev/null
as_user "$BPFMESH" --state-dir "$RL_STATE" agent --node laptop --rootless --heartbeat-ms 200 \
	--dead-after-ms 1000 --pod-cidr 198.18.45.0/24 --trust-domain example.org \
	>"$RL_DIR/run.log" 2>&1 &
RL_RUN_PID=$!
agent_ready() { rl agent status | grep -q '(ready)'; }
check "the rootless agent comes up as the user" until_ok 20 agent_ready
expect "apply -f examples/shop, unchanged" 0 rl apply -f "$SHOP/00-namespace.yaml" \
	-f "$SHOP/10-workloads.yaml" -f "$SHOP/20-policy.yaml"
check "all five replicas run on the rootless node, endpoints published" until_ok 30 all_running
backend_up() { http frontend- backend-v1- 8080; }
check "HTTP frontend -> backend-v1 allowed (wildcard servers in every replica)" \
	until_ok 20 backend_up
check "HTTP frontend -> backend-v2 allowed" until_ok 5 http frontend- backend-v2- 8080
expect "HTTP frontend -> db refused" 1 http frontend- db- 5432
check "observe shows the deny with its reason" \
	events_have '"dport": *5432' '"verdict": *"deny"' 'ns/shop/sa/frontend'
check "HTTP backend -> db allowed once authenticated (MeshPolicy)" \
	until_ok 10 http backend-v1- db- 5432
check "observe shows allow-authenticated" events_have '"dport": *5432' '"reason": *"allow-authenticated"'
expect "delete -f examples/shop" 0 rl delete -f "$SHOP/00-namespace.yaml" \
	-f "$SHOP/10-workloads.yaml" -f "$SHOP/20-policy.yaml"
no_endpoints() { [ "$(n_endpoints)" = 0 ]; }
check "every endpoint withdrawn" until_ok 20 no_endpoints
replicas_gone() { ! pgrep -u "$RL_USER" -f 'slirp4netns|http.server' >/dev/null; }
check "every replica process ends" until_ok 20 replicas_gone
check "the agent stops and leaves no process behind" rl_stop
check "no file of a replica is left" \
	[ -z "$(ls "$RL_STATE/rootless" | grep '^p[0-9]')" -a -z "$(ls "$RL_STATE/replicas" 2>/dev/null)" ]
finish
