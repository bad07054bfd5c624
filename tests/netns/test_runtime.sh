#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The workload runtime on a private node: a node network namespace, a
# cgroup2 mount and a bpffs of the test's own. Two replicas (a real echo
# server and a real client) get addresses from the pod range, their own
# pid/net/uts namespaces, hostnames, cgroups with limits, XDP on their
# host-side veths; the client reaches the server through the node; the
# replicas outlive each `bpfmesh runtime` call (adoption); an exited replica
# is reaped; stop removes everything; an image resolves to a root
# filesystem directory; peer routes are synced.
# ctest-labels: netns runtime scheduler
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/runtime_lib.sh"

rt_setup n1 198.18.17.0/24

cat >"$BM_TEST_DIR/pods.yaml" <<EOF
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config, namespace: shop}
data: {SERVER: 198.18.17.2, GREETING: hello-from-configmap}
---
apiVersion: v1
kind: Pod
metadata: {name: server, namespace: shop}
spec:
  containers:
  - name: echo
    image: python
    command: [python3, $RT_NETTOOL, serve, 0.0.0.0, --tcp, "8080", --udp, "5353", --seconds, "120"]
    resources: {limits: {cpu: 250m, memory: 64Mi}}
  - name: side
    image: python
    command: [python3, -c]
    args: ["import os,socket,time; print('side:', os.getpid(), socket.gethostname(), os.environ['GREETING'], flush=True); time.sleep(120)"]
    env:
    - name: GREETING
      valueFrom: {configMapKeyRef: {name: web-config, key: GREETING}}
    resources: {limits: {cpu: 250m, memory: 32Mi}}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: shop}
spec:
  containers:
  - name: client
    image: python
    envFrom: [{configMapRef: {name: web-config}}]
    command: [python3, -c]
    args:
    - |
      import os, socket, sys, time
      for i in range(100):
          try:
              s = socket.create_connection((os.environ["SERVER"], 8080), timeout=1)
              s.sendall(b"ping")
              if s.recv(4) == b"ping":
                  print("client: ok after", i, "tries", flush=True)
                  break
          except OSError as e:
              print("client:", e, flush=True)
          time.sleep(0.1)
      time.sleep(120)
EOF

rt start -f "$BM_TEST_DIR/pods.yaml" --object pod/server --pod-name server-0 >/dev/null
rt start -f "$BM_TEST_DIR/pods.yaml" --object client --key shop/client/x/0 >/dev/null
rt_json list >"$BM_TEST_DIR/list.json"
S_ADDR=$(rt_field shop/server/0 address)
C_ADDR=$(rt_field shop/client/x/0 address)
S_PID=$(rt_field shop/server/0 pid)
C_PID=$(rt_field shop/client/x/0 pid)
S_IF=$(rt_field shop/server/0 host_ifname)
C_IF=$(rt_field shop/client/x/0 host_ifname)
S_ID=${S_IF#bm}

check "two replicas running" [ "$(rt_count running)" = 2 ]
check "addresses from the pod range, network and gateway skipped" \
	[ "$S_ADDR" = 198.18.17.2 -a "$C_ADDR" = 198.18.17.3 ]
check "replica eth0 has its address" \
	sh -c "nsenter -t $S_PID -n ip -4 addr show dev eth0 | grep -q 'inet $S_ADDR/32'"
check "replica default route via the gateway" \
	sh -c "nsenter -t $S_PID -n ip route show default | grep -q 'via 198.18.17.1 dev eth0'"
check "replica lo is up" sh -c "nsenter -t $S_PID -n ip link show lo | grep -q 'UP'"
check "host veth has the gateway address" \
	sh -c "ip -n $NODE -4 addr show dev $S_IF | grep -q 'inet 198.18.17.1/32'"
check "node routes the replica on its veth" \
	sh -c "ip -n $NODE route show $S_ADDR | grep -q 'dev $S_IF'"
check "host veth names are deterministic and short" \
	[ "${#S_IF}" -le 15 -a "$S_IF" != "$C_IF" ]
check "ip_forward on in the node namespace" \
	[ "$(in_ns "$NODE" cat /proc/sys/net/ipv4/ip_forward)" = 1 ]
check "replica has its own pid namespace" [ "$(readlink /proc/$S_PID/ns/pid)" != "$(readlink /proc/self/ns/pid)" ]
check "replica has its own net namespace" [ "$(readlink /proc/$S_PID/ns/net)" != "$(readlink /proc/self/ns/net)" ]
check "replica has its own mount and ipc namespaces" \
	[ "$(readlink /proc/$S_PID/ns/mnt)" != "$(readlink /proc/self/ns/mnt)" -a \
	  "$(readlink /proc/$S_PID/ns/ipc)" != "$(readlink /proc/self/ns/ipc)" ]
S2_PID=$(rt_field shop/server/0 pid 1)
check "containers of one replica share its net namespace" \
	[ "$(readlink /proc/$S_PID/ns/net)" = "$(readlink /proc/$S2_PID/ns/net)" ]
check "each container has its own pid namespace" \
	[ "$(readlink /proc/$S_PID/ns/pid)" != "$(readlink /proc/$S2_PID/ns/pid)" ]
check "hostname is the pod name" [ "$(nsenter -t $S_PID -u hostname)" = server-0 ]
wait_grep "$STATE_DIR/runtime/$S_ID.log" "side: 2 server-0 hello-from-configmap"
check "command runs as pid 2 under the container's init, env from the ConfigMap" \
	grep -q "side: 2 server-0 hello-from-configmap" "$STATE_DIR/runtime/$S_ID.log"

# cgroups
check "replica processes are in the replica's cgroup" \
	grep -q "^0::.*/bm-$S_ID\$" /proc/$S_PID/cgroup
check "the command is in the cgroup too" \
	[ "$(wc -l <"$CG/bm-$S_ID/cgroup.procs")" -ge 4 ]
if grep -qw memory "$CG/cgroup.controllers"; then
	check "memory.max is the sum of the containers' limits (96Mi)" \
		[ "$(cat "$CG/bm-$S_ID/memory.max")" = 100663296 ]
	check "cpu.max is the sum of the containers' limits (500m)" \
		grep -q "^50000 100000" "$CG/bm-$S_ID/cpu.max"
	check "runtime reports the limits enforced" [ "$(rt_field shop/server/0 mem_limited)" = True ]
else
	# Hybrid host (this machine kind, CI's too): memory and cpu are bound to
	# the cgroup v1 hierarchies mounted under /sys/fs/cgroup, so v2 cannot
	# offer them (docs/runtime.md). What must hold then is that the runtime
	# says so instead of claiming limits it cannot enforce.
	echo "note: memory/cpu controllers are bound to cgroup v1 here; limits not enforceable"
	check "runtime reports the memory limit as not enforced" \
		[ "$(rt_field shop/server/0 mem_limited)" = False ]
fi

# XDP on the host-side veths
check "XDP attached on the server's host veth" sh -c "ip -n $NODE link show dev $S_IF | grep -q xdp"
check "XDP attached on the client's host veth" sh -c "ip -n $NODE link show dev $C_IF | grep -q xdp"
check "runtime reports XDP attached" [ "$(rt_field shop/client/x/0 xdp)" = True ]

# Connectivity between the replicas, through the node namespace.
C_ID=${C_IF#bm}
wait_grep "$STATE_DIR/runtime/$C_ID.log" "client: ok"
check "client command reached the server through the node" \
	grep -q "client: ok" "$STATE_DIR/runtime/$C_ID.log"
expect "tcp client -> server" 0 nsenter -t "$C_PID" -n $NETTOOL tcp "$S_ADDR" 8080 --timeout 3
expect "udp client -> server" 0 nsenter -t "$C_PID" -n $NETTOOL udp "$S_ADDR" 5353 --timeout 3
expect "node -> server" 0 in_ns "$NODE" $NETTOOL tcp "$S_ADDR" 8080 --timeout 3

# Anti-spoofing: only the replica's own address may leave its veth.
check "runtime reports the guard set" [ "$(rt_field shop/client/x/0 guard)" = True ]
check "guard admits exactly the client's address" \
	[ "$(bm "$NODE" guard show "$C_IF" | cut -d' ' -f3-)" = "$C_ADDR" ]
nsenter -t "$C_PID" -n ip addr add 198.18.17.99/32 dev eth0
expect "tcp client -> server from a spoofed source is dropped" 1 \
	nsenter -t "$C_PID" -n $NETTOOL tcp "$S_ADDR" 8080 --src 198.18.17.99 --timeout 1
expect "tcp client -> server from its own address still passes" 0 \
	nsenter -t "$C_PID" -n $NETTOOL tcp "$S_ADDR" 8080 --src "$C_ADDR" --timeout 3

# Adoption: every call above was a new process; the replicas are the same.
check "replicas adopted by later calls keep their pids" \
	[ "$(rt_field shop/server/0 pid)" = "$S_PID" -a "$(rt_field shop/server/0 adopted)" = True ]
rt list >/dev/null
check "still running after rt_close/rt_open" [ "$(rt_count running)" = 2 ]

# Reap: the client's command exits; the replica is reported, not removed.
kill -TERM "$C_PID"
for _ in $(seq 50); do [ "$(rt_json reap | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 1 ] && break; sleep 0.1; done
rt_json reap >"$BM_TEST_DIR/reap.json"
check "reap reports the exited replica" \
	python3 -c "import json,sys; r=json.load(open('$BM_TEST_DIR/reap.json')); sys.exit(not (len(r)==1 and r[0]['key']=='shop/client/x/0' and not r[0]['running']))"

# Stop removes everything.
rt stop shop/client/x/0
rt stop shop/server/0
check "stop: no replica left" [ "$(rt_count all)" = 0 ]
check "stop: processes gone" eval "! is_alive $S_PID && ! is_alive $S2_PID"
check "stop: host veths gone" sh -c "! ip -n $NODE link show dev $S_IF 2>/dev/null && ! ip -n $NODE link show dev $C_IF 2>/dev/null"
check "stop: cgroups gone" [ -z "$(ls -d "$CG"/bm-* 2>/dev/null)" ]
check "stop: records gone" [ -z "$(ls "$STATE_DIR/runtime")" ]
check "stop: no route left to the replicas" [ -z "$(ip -n "$NODE" route show 198.18.17.0/24 root 198.18.17.0/24)" ]
check "stop: guards gone" [ -z "$(bm "$NODE" guard show)" ]
check "stop: no XDP pins left" [ -z "$(find "$PIN_DIR/xdp" -mindepth 1 2>/dev/null)" ]
expect "stop of an unknown replica fails" 1 rt stop shop/server/0

# Addresses are freed and reused; allocations persist across calls.
rt start -f "$BM_TEST_DIR/pods.yaml" --object pod/server --key k/a >/dev/null
rt start -f "$BM_TEST_DIR/pods.yaml" --object pod/server --key k/b >/dev/null
rt stop k/a
rt start -f "$BM_TEST_DIR/pods.yaml" --object pod/server --key k/c >/dev/null
rt_json list >"$BM_TEST_DIR/list.json"
check "a freed address is reused, a live one is kept" \
	[ "$(rt_field k/b address)" = 198.18.17.3 -a "$(rt_field k/c address)" = 198.18.17.2 ]
rt stop k/b
rt stop k/c

# Images: a directory under --rootfs-dir is the container's root.
mkdir -p "$ROOTFS/busybox_1.36/bin" "$ROOTFS/busybox_1.36/proc"
cp "$(command -v busybox)" "$ROOTFS/busybox_1.36/bin/busybox"
cat >"$BM_TEST_DIR/bb.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata: {name: bb, namespace: img}
spec:
  containers:
  - name: bb
    image: busybox:1.36
    command: [/bin/busybox, sh, -c, "echo root: \$(/bin/busybox ls /); echo pid: \$\$; /bin/busybox sleep 120"]
EOF
rt start -f "$BM_TEST_DIR/bb.yaml" >/dev/null
B_ID=$(rt_json list | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["host_ifname"][2:])')
wait_grep "$STATE_DIR/runtime/$B_ID.log" "pid: 2"
check "image busybox:1.36 runs in ROOTFS/busybox_1.36 with its own /proc" \
	grep -qx "root: bin proc" "$STATE_DIR/runtime/$B_ID.log"
check "its /proc is its pid namespace's" grep -qx "pid: 2" "$STATE_DIR/runtime/$B_ID.log"
rt stop img/bb/0

# Peer routes.
UP="$BM_TEST_ID-up"
netns_add HUB hub
ip link add "$UP" netns "$NODE" type veth peer name "$BM_TEST_ID-hub" netns "$HUB"
ip -n "$NODE" addr add 198.18.0.11/24 dev "$UP"
ip -n "$NODE" link set "$UP" up
ip -n "$NODE" route add 198.18.30.0/24 via 198.18.0.30
rt routes 198.18.18.0/24=198.18.0.12 198.18.19.0/24=198.18.0.13
check "peer routes added" sh -c "ip -n $NODE route show proto 190 | grep -q '198.18.18.0/24 via 198.18.0.12' && ip -n $NODE route show proto 190 | grep -q '198.18.19.0/24 via 198.18.0.13'"
rt routes 198.18.19.0/24=198.18.0.14
ip -n "$NODE" route show proto 190 >"$BM_TEST_DIR/routes"
check "stale peer route removed, changed one replaced" \
	[ "$(wc -l <"$BM_TEST_DIR/routes")" = 1 -a -n "$(grep "^198.18.19.0/24 via 198.18.0.14 dev $UP" "$BM_TEST_DIR/routes")" ]
expect "a bad route is rejected" 1 rt routes 198.18.20.0/33=198.18.0.15
check "a rejected sync changes nothing" [ "$(ip -n "$NODE" route show proto 190 | wc -l)" = 1 ]
rt routes
check "empty sync removes our routes only" \
	[ -z "$(ip -n "$NODE" route show proto 190)" -a -n "$(ip -n "$NODE" route show 198.18.30.0/24)" ]

finish
