#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# ctest-labels: sidecar
# Strong mode on a 3-server NATS cluster (JetStream R3, all on 127.0.0.1):
# a writer records every acknowledged write while the server leading the
# bucket's stream is killed with SIGKILL; afterwards every acknowledged write
# must still be readable through the sidecar, compare-and-set must still
# have exactly one winner per revision, and a concurrent history recorded
# across the kill (timeouts count as "may or may not have happened") must
# be linearizable.
source "$(dirname "$0")/sidecar_lib.sh"

declare -a CPORT CLPORT MPORT NPID
routes() {
	local i out=""
	for i in 0 1 2; do [ "$i" = "$1" ] || out+="${out:+,}nats://127.0.0.1:${CLPORT[$i]}"; done
	echo "$out"
}
# start_cluster: three servers on fresh ports; fails when any of them does
# not come up (free_port only finds a port that is free *now*: a parallel
# test can take it before nats-server binds it).
start_cluster() {
	local i
	for i in 0 1 2; do CPORT[$i]=$(free_port); CLPORT[$i]=$(free_port); MPORT[$i]=$(free_port); done
	for i in 0 1 2; do
		sc_bg "nats$i" "$NATS_SERVER" -a 127.0.0.1 -p "${CPORT[$i]}" -m "${MPORT[$i]}" -js \
			-sd "$SC_DIR/n$i" --name "n$i" --cluster_name bmtest \
			--cluster "nats://127.0.0.1:${CLPORT[$i]}" --routes "$(routes "$i")"
		NPID[$i]=$SC_LAST_PID
	done
	for i in 0 1 2; do wait_port "${CPORT[$i]}" || return 1; done
	sleep 0.5
	for i in 0 1 2; do kill -0 "${NPID[$i]}" 2>/dev/null || return 1; done
}
for attempt in 1 2 3; do
	start_cluster && break
	echo "cluster start attempt $attempt failed (port taken?): retrying on new ports"
	for i in 0 1 2; do kill "${NPID[$i]}" 2>/dev/null; wait "${NPID[$i]}" 2>/dev/null; done
	rm -rf "$SC_DIR"/n[012]
	[ "$attempt" = 3 ] && { echo "FAIL: no 3-server cluster after 3 attempts"; exit 1; }
done
URLS="nats://127.0.0.1:${CPORT[0]},nats://127.0.0.1:${CPORT[1]},nats://127.0.0.1:${CPORT[2]}"

PORT=$(free_port)
sc_bg sidecar "$BM_SIDECAR" --nats "$URLS" --http-port "$PORT" --app-id ledger \
	--kind StatefulSet --replicas 3
wait_port "$PORT" 15
STREAM=KV_bmstate_default_ledger_shared_statestore

run_check $SC_TOOL fill "$PORT" pre 100 0 >"$SC_DIR/pre.json"
run_check $SC_TOOL cas "$PORT" 8 10
run_check $SC_TOOL lin "$PORT" 4 40
run_check $SC_TOOL txn "$PORT" 10
LEADER=$($SC_TOOL leader "$STREAM" "${MPORT[@]}")
case "$LEADER" in
n[012]) echo "ok: stream leader is $LEADER" ;;
*) echo "FAIL: no stream leader found"; SC_FAILS=$((SC_FAILS + 1)); LEADER=n0 ;;
esac

# Writes and a recorded history run while the leader is killed.
$SC_TOOL fill "$PORT" during 400 0 8 >"$SC_DIR/during.json" &
FILL=$!
$SC_TOOL lin "$PORT" 4 40 >"$SC_DIR/lin.out" 2>&1 &
LIN=$!
sleep 0.5
kill -9 "${NPID[${LEADER#n}]}"
echo "killed $LEADER"
wait "$FILL" || SC_FAILS=$((SC_FAILS + 1))
wait "$LIN" || SC_FAILS=$((SC_FAILS + 1))
cat "$SC_DIR/lin.out"

# A new leader is elected; writes are refused (not acknowledged) until then.
run_check $SC_TOOL writable "$PORT" 30
run_check $SC_TOOL fill "$PORT" post 50 0 >"$SC_DIR/post.json"
for p in pre during post; do
	run_check $SC_TOOL expect "$PORT" "$p" "$SC_DIR/$p.json"
done
run_check $SC_TOOL cas "$PORT" 8 10
sc_finish
