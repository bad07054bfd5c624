#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# ctest-labels: sidecar
# Three eventual-mode sidecars of one workload on one nats-server (all on
# 127.0.0.1): concurrent writes, including to the same keys, converge to the
# same values and ETags everywhere (HLC last-writer-wins); a replica that is
# stopped misses writes, and after it restarts (empty) anti-entropy brings it
# up to date. Saves with options.consistency=strong are visible on every
# replica as soon as they are acknowledged. A replica of another version has
# its own keyspace. Transactions are atomic on each replica. A standalone
# eventual sidecar keeps its state across a restart.
source "$(dirname "$0")/sidecar_lib.sh"

NATS_PORT=$(free_port)
sc_bg nats "$NATS_SERVER" -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$SC_DIR/nats"
wait_port "$NATS_PORT"
URL="nats://127.0.0.1:$NATS_PORT"
declare -a PORT PID

start() {
	sc_bg "sidecar$1" "$BM_SIDECAR" --nats "$URL" --http-port "${PORT[$1]}" --app-id web \
		--version v1 --replica "r$1" --sync-ms 300 "${@:2}"
	PID[$1]=$SC_LAST_PID
	wait_port "${PORT[$1]}"
}

for i in 0 1 2; do PORT[$i]=$(free_port); start "$i"; done
ALL="${PORT[0]},${PORT[1]},${PORT[2]}"

run_check $SC_TOOL concurrent "$ALL" a 100
run_check $SC_TOOL converge "$ALL" a 100 3 10

# A request may ask for strong consistency: acknowledged once every live
# replica has merged it, so reads anywhere see it at once.
run_check $SC_TOOL strongwrite "$ALL" 50

# Transactions: all or nothing on the replica that takes them, and merged
# at once by the others (readers on replica 1 never see half of one).
run_check $SC_TOOL txn "${PORT[0]}" 30 "${PORT[1]}"

# Replica 2 goes away, the others keep writing, replica 2 comes back empty.
sc_stop "${PID[2]}"
run_check $SC_TOOL concurrent "${PORT[0]},${PORT[1]}" b 50
start 2
run_check $SC_TOOL converge "$ALL" b 50 2 10
run_check $SC_TOOL converge "$ALL" a 100 3 10

# Another version of the workload: its own keyspace unless shared.
PORT[3]=$(free_port)
start 3 --version v2
run_check $SC_TOOL absent "${PORT[3]}" a-0-0

# A standalone eventual sidecar (its own nats-server, no peers) keeps its
# state across a restart: snapshot in the state directory.
SPORT=$(free_port)
mkdir "$SC_DIR/alone"
sc_bg alone "$BM_SIDECAR" --standalone --state-dir "$SC_DIR/alone" --http-port "$SPORT"
wait_port "$SPORT"
run_check $SC_TOOL fill "$SPORT" keep 20 0 >"$SC_DIR/keep.json"
sc_stop "$SC_LAST_PID"
sc_bg alone "$BM_SIDECAR" --standalone --state-dir "$SC_DIR/alone" --http-port "$SPORT"
wait_port "$SPORT"
run_check $SC_TOOL expect "$SPORT" keep "$SC_DIR/keep.json"
sc_finish
