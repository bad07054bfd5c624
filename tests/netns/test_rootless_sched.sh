#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Scheduling on a rootless agent, run by an unprivileged user this test
# creates: `bpfmesh apply -f` of plain Kubernetes YAML (two Deployments and a
# NetworkPolicy, a MeshPolicy) places both replicas on the only node, a rootless one (the
# rootless taint is tolerated when every node carries it); the agent runs
# them in user+net namespaces with slirp4netns and publishes their
# endpoints; real TCP between them is allowed where the policy allows and
# refused at once where it does not, with the reason in `bpfmesh observe`;
# where authentication is required the forwarder authenticates the replicas
# with the identity documents the agent issued them;
# `get workloads|endpoints` answer as on a rootful node; `bpfmesh delete`
# stops them and nothing is left behind (processes, namespaces, files).
# ctest-labels: rootless netns agent scheduler
if [ -z "${BM_RL_PRIVATE_MOUNTS:-}" ]; then
	export BM_RL_PRIVATE_MOUNTS=1
	exec unshare -m --propagation private bash "$0" "$@"
fi
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/rootless_lib.sh"
command -v nats-server >/dev/null || [ -x /usr/sbin/nats-server ] || skip "needs nats-server"
NT="$RL_DIR/nettool.py"
APP="$RL_DIR/app.yaml"
cp "$(dirname "$0")/nettool.py" "$RL_DIR/"
sed "s|@NETTOOL@|$NT|" "$(dirname "$0")/data/rootless-app.yaml" >"$APP"
chown "$RL_USER:" "$RL_DIR"/*

# endpoint FIELD PREFIX: FIELD ("name" or "address") of the endpoint whose
# pod name starts with PREFIX on node rl1; fails when there is none.
endpoint() {
	rl get endpoints -o json | F=$1 P=$2 python3 -c '
import json, os, sys
for e in json.load(sys.stdin)["endpoints"]:
    if e["name"].startswith(os.environ["P"]) and e.get("node") == "rl1":
        print(e["addresses"][0] if os.environ["F"] == "address" else e["namespace"] + "/" + e["name"])
        sys.exit(0)
sys.exit(1)'
}
n_endpoints() {
	rl get endpoints -o json | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["endpoints"]))'
}
# placed_here N: get workloads shows N replicas, all on rl1.
placed_here() {
	rl get workloads -o json | N=$1 python3 -c '
import json, os, sys
reps = [r for w in json.load(sys.stdin)["workloads"] for r in w["placement"]]
sys.exit(not (len(reps) == int(os.environ["N"]) and all(r.get("node") == "rl1" for r in reps)))'
}
# user_runs PATTERN: a process of the user whose command line matches.
user_runs() {
	pgrep -u "$RL_USER" -f "$1" >/dev/null
}

# An enrolled node: the agent issues its replicas their identity documents.
rl identity init --trust-domain test.bpfmesh >/dev/null
rl identity enroll >/dev/null
as_user "$BPFMESH" --state-dir "$RL_STATE" agent --node rl1 --rootless --heartbeat-ms 200 \
	--dead-after-ms 1000 --pod-cidr 198.18.44.0/24 --trust-domain test.bpfmesh --workload-ttl 9s \
	>"$RL_DIR/run.log" 2>&1 &
RL_RUN_PID=$!
agent_ready() {
	rl agent status | grep -q '(ready)'
}
check "the rootless agent comes up as the user" until_ok 20 agent_ready
t0=$(date +%s.%N)
expect "apply -f two Deployments, a NetworkPolicy and a MeshPolicy" 0 rl apply -f "$APP"
check "both replicas are placed on the rootless node (taint tolerated: every node is rootless)" \
	until_ok 10 placed_here 2
check "both replicas run and their endpoints are published" \
	until_ok 20 endpoint address client-
until_ok 20 endpoint address server- || true
echo "apply to both replicas running with endpoints published: $(echo "$(date +%s.%N) - $t0" | bc) s"
SERVER=$(endpoint address server-)
CLIENT_WL=$(endpoint name client-)
check "the server's address is from the pod range" grep -q '^198\.18\.44\.' <<<"$SERVER"
check "they run in the agent's user namespace tree, with slirp4netns" user_runs slirp4netns
server_up() {
	in_wl "$CLIENT_WL" python3 "$NT" tcp "$SERVER" 8080 --timeout 2
}
check "client -> server tcp/8080 allowed (NetworkPolicy)" until_ok 20 server_up
check "and again, through the forwarder" tcp_echo_ok "$CLIENT_WL" "$SERVER" 8080
refused_ms=$(in_wl "$CLIENT_WL" python3 "$NT" tcp "$SERVER" 9090 --timeout 5 --print-ms 2>/dev/null) &&
	refused_ms=ok
check "client -> server tcp/9090 refused" [ "$refused_ms" != ok ]
check "at once (< 1 s, here ${refused_ms} ms), not a timeout" [ "${refused_ms:-5000}" -lt 1000 ]
check "bpfmesh observe shows the deny and its reason" \
	events_have '"dport": *9090' '"reason": *"deny-ingress"' '"verdict": *"deny"'
check "bpfmesh observe names the replicas' identities" \
	events_have '"dport": *9090' 'spiffe://[^"]*/ns/rls/sa/client' 'spiffe://[^"]*/ns/rls/sa/server'
check "the allowed connection's event too" events_have '"dport": *8080' '"verdict": *"allow"'
check "the agent issued both replicas an identity document" \
	[ "$(ls "$RL_STATE/replicas" 2>/dev/null | grep -c '\.id$')" = 2 ]
check "client -> server tcp/7070 allowed once the forwarder authenticated them (MeshPolicy)" \
	until_ok 5 tcp_echo_ok "$CLIENT_WL" "$SERVER" 7070
check "bpfmesh observe shows allow-authenticated" \
	events_have '"dport": *7070' '"reason": *"allow-authenticated"'
# Documents live 9 s and are renewed at 6 s: past the first ones' expiry,
# only the renewed documents, handed to the forwarder, can authenticate
# (retried for 5 s: a handshake that failed is not retried for a second).
renewed() {
	grep -q "rls/server-.* authenticates with its renewed identity" "$RL_DIR/run.log" &&
		grep -q "rls/client-.* authenticates with its renewed identity" "$RL_DIR/run.log"
}
check "the forwarder takes the replicas' renewed documents" until_ok 15 renewed
sleep 4
check "past the first documents' expiry, client -> server tcp/7070 still authenticates" \
	until_ok 5 tcp_echo_ok "$CLIENT_WL" "$SERVER" 7070

t0=$(date +%s.%N)
expect "bpfmesh delete -f stops them" 0 rl delete -f "$APP"
no_endpoints() { [ "$(n_endpoints)" = 0 ]; }
check "their endpoints are withdrawn" until_ok 20 no_endpoints
replicas_gone() {
	! user_runs slirp4netns && ! user_runs "$NT serve" && ! user_runs 'sleep 300'
}
check "their processes end (server, client, slirp4netns, keepers)" until_ok 20 replicas_gone
echo "delete to endpoints withdrawn and processes gone: $(echo "$(date +%s.%N) - $t0" | bc) s"
no_replica_files() {
	! ls "$RL_STATE/rootless" | grep -q '^p[0-9]' && [ -z "$(ls "$RL_STATE/replicas" 2>/dev/null)" ]
}
check "their files are removed (API sockets, logs, identity documents)" no_replica_files
check "the agent stops and leaves no process behind" rl_stop
check "no file of a replica is left" no_replica_files
finish
