#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# ctest-labels: sidecar
# Standalone strong-mode sidecar (its own nats-server on 127.0.0.1): the Dapr
# state API, bad requests that must get the right 4xx and change nothing,
# concurrent compare-and-set with exactly one winner per revision, and a
# recorded concurrent history checked for linearizability. Then a restart:
# acknowledged state survives (JetStream file storage in the state dir). Its
# nats-server is killed and comes back (supervised) with the data.
source "$(dirname "$0")/sidecar_lib.sh"

PORT=$(free_port)
sc_bg sidecar "$BM_SIDECAR" --standalone --state-dir "$SC_DIR" --http-port "$PORT" \
	--consistency strong --app-id shop
SIDECAR=$SC_LAST_PID
wait_port "$PORT"

run_check $SC_TOOL api "$PORT"
run_check $SC_TOOL cas "$PORT" 16 20
run_check $SC_TOOL lin "$PORT" 6 40
run_check $SC_TOOL txn "$PORT" 30
run_check $SC_TOOL fill "$PORT" dur 50 0 >"$SC_DIR/acked.json"

# Restart the sidecar (and with it its nats-server) on the same state dir.
sc_stop "$SIDECAR"
sc_bg sidecar "$BM_SIDECAR" --standalone --state-dir "$SC_DIR" --http-port "$PORT" \
	--consistency strong --app-id shop
wait_port "$PORT"
run_check $SC_TOOL expect "$PORT" dur "$SC_DIR/acked.json"

# The standalone sidecar supervises its nats-server: kill -9 it, the
# sidecar restarts it on the same port and data dir, and writes resume.
NATSD=$(pgrep -P "$SC_LAST_PID" nats-server)
kill -9 "$NATSD"
run_check $SC_TOOL writable "$PORT" 20
run_check $SC_TOOL expect "$PORT" dur "$SC_DIR/acked.json"
[ "$(pgrep -P "$SC_LAST_PID" nats-server)" != "$NATSD" ] && echo "ok: nats-server restarted" ||
	{ echo "FAIL: nats-server not restarted"; SC_FAILS=$((SC_FAILS + 1)); }
sc_finish
