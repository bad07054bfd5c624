#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# ctest-labels: sidecar netns
# Strong reads cannot return stale data, on a 3-server NATS cluster (R3),
# each server in its own network namespace (a bridge in a fourth one joins
# them, 198.18.77.0/24) with a sidecar beside it that only talks to it:
#  - the server leading the bucket's stream is cut off (its link down). The
#    other two elect a new leader and accept a write of a new value. The
#    cut-off server still believes it leads for a while: reads through its
#    sidecar without the barrier (?consistency=eventual) may return the old
#    value (the test prints how often), default reads must never (a 503 is
#    right);
#  - the link comes back: every side reads the new value;
#  - the server then leading is killed with SIGKILL: the two left accept a
#    newer value and read it, never an older one.
source "$(dirname "$0")/sidecar_lib.sh"
[ "$(id -u)" = 0 ] || sc_skip "needs root (network namespaces)"
command -v ip >/dev/null || sc_skip "needs iproute2"

P="bm-scp-$$"
HUB="$P-hub"
ip netns add "$HUB"
SC_NETNS+=("$HUB")
ip -n "$HUB" link add br0 type bridge
ip -n "$HUB" link set br0 up
declare -a NPID SPID
for i in 0 1 2; do
	ip netns add "$P-$i"
	SC_NETNS+=("$P-$i")
	ip -n "$HUB" link add "v$i" type veth peer name eth0 netns "$P-$i"
	ip -n "$HUB" link set "v$i" master br0 up
	ip -n "$P-$i" addr add "198.18.77.$((i + 1))/24" dev eth0
	ip -n "$P-$i" link set eth0 up
	ip -n "$P-$i" link set lo up
done
ROUTES="nats://198.18.77.1:6222,nats://198.18.77.2:6222,nats://198.18.77.3:6222"
for i in 0 1 2; do
	sc_bg "nats$i" ip netns exec "$P-$i" "$NATS_SERVER" -a 0.0.0.0 -p 4222 -m 8222 -js \
		-sd "$SC_DIR/n$i" --name "n$i" --cluster_name bmpart \
		--cluster nats://0.0.0.0:6222 --routes "$ROUTES"
	NPID[$i]=$SC_LAST_PID
done
# tool I ARGS...: sidecartool inside namespace I (the sidecars listen on its 127.0.0.1).
tool() { local i=$1; shift; ip netns exec "$P-$i" $SC_TOOL "$@"; }
up() { ip netns exec "$P-$1" python3 -c \
	"import socket; socket.create_connection(('127.0.0.1',$2),0.5)" 2>/dev/null; }
wait_up() {
	local t
	for t in $(seq 150); do up "$1" "$2" && return 0; sleep 0.1; done
	echo "FAIL: nothing on port $2 in namespace $1"; return 1
}
for i in 0 1 2; do wait_up "$i" 4222; done
for i in 0 1 2; do
	sc_bg "sidecar$i" ip netns exec "$P-$i" "$BM_SIDECAR" --nats nats://127.0.0.1:4222 \
		--http-port 3500 --app-id ledger --kind StatefulSet --replicas 3 --replica "ledger-$i"
	SPID[$i]=$SC_LAST_PID
	wait_up "$i" 3500 || exit 1
done
STREAM=KV_bmstate_default_ledger_shared_statestore

tool 0 put 3500 k '"old"' 30 || exit 1
LEADER=$(tool 0 leader "$STREAM" 198.18.77.1:8222 198.18.77.2:8222 198.18.77.3:8222)
case "$LEADER" in
n[012]) L=${LEADER#n} ;;
*) echo "FAIL: no stream leader"; exit 1 ;;
esac
F=$(((L + 1) % 3))
for i in 0 1 2; do run_check tool "$i" waitvalue 3500 k '"old"' 10; done

# Cut the leader off; write the new value on the majority side.
ip -n "$P-$L" link set eth0 down
echo "cut off n$L (the stream leader)"
run_check tool "$F" put 3500 k '"new"' 60
run_check tool "$L" cutoff 3500 k '"old"' 8

# Heal: every side reads the new value.
ip -n "$P-$L" link set eth0 up
for i in 0 1 2; do run_check tool "$i" waitvalue 3500 k '"new"' 60; done

# Kill the server leading now; the two left write and read a newer value.
LEADER=$(tool "$F" leader "$STREAM" 198.18.77.1:8222 198.18.77.2:8222 198.18.77.3:8222)
K=${LEADER#n}
[ -n "$K" ] || K=$L
kill -9 "${NPID[$K]}"
echo "killed n$K"
A=$(((K + 1) % 3))
B=$(((K + 2) % 3))
run_check tool "$A" put 3500 k '"newer"' 60
run_check tool "$B" waitvalue 3500 k '"newer"' 60
run_check tool "$A" waitvalue 3500 k '"newer"' 10
sc_finish
