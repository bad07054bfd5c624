#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The agent's bus metrics follow a real outage: n1's agent on a real
# nats-server (agent_lib.sh layout) with --metrics-addr; the server is
# stopped (bpfmesh_bus_connected 0, bpfmesh_bus_last_message_seconds ages
# past 1 s) and started again (connected 1, a reconnect counted, messages
# flowing again). Kept apart from test_metrics.sh because the restart also
# exercises the bus reconnect path (see tools/test.sh, issue 6).
# ctest-labels: netns agent demo
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/agent_lib.sh"
trap 'dump_logs; cleanup' EXIT
source "$(dirname "$0")/metrics_lib.sh"

nats_start
node_net 1
agent_start 1 --metrics-addr "127.0.0.1:$MPORT"
ready1() { [ "$(st 1 's["ready"]')" = True ]; }
check "agent ready" wait_for 20 ready1
up() { scrape && [ "$(m 'v("bpfmesh_bus_connected") == 1 and v("bpfmesh_bus_reconnects_total") == 0 and v("bpfmesh_bus_last_message_seconds") < 1')" = True ]; }
check "bus up: connected, no reconnect yet, messages flowing" wait_for 5 up

nats_stop
down() { scrape && [ "$(m 'v("bpfmesh_bus_connected") == 0 and v("bpfmesh_bus_last_message_seconds") > 1')" = True ]; }
check "bus down: connected 0, last message ages past 1 s" wait_for 10 down
nats_start
back() { scrape && [ "$(m 'v("bpfmesh_bus_connected") == 1 and v("bpfmesh_bus_reconnects_total") >= 1 and v("bpfmesh_bus_last_message_seconds") < 1')" = True ]; }
check "bus back: connected, one reconnect counted, messages flowing" wait_for 15 back
check "still serving after the outage" scrape
finish
