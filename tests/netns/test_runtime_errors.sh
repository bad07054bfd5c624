#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The workload runtime refuses bad specs with a clear error and leaves
# nothing behind (no veth, cgroup, record, process, XDP pin): a container
# without command, a missing ConfigMap, a command that does not exist, an
# exhausted pod range, a duplicate key, a bad pod range.
# ctest-labels: netns runtime scheduler
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/runtime_lib.sh"

# A /30: network .0, gateway .1, one replica address .2, broadcast .3.
rt_setup n1 198.18.17.0/30

cat >"$BM_TEST_DIR/bad.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata: {name: nocmd, namespace: t}
spec:
  containers:
  - {name: main, image: python, args: [x]}
---
apiVersion: v1
kind: Pod
metadata: {name: nocm, namespace: t}
spec:
  containers:
  - name: main
    image: python
    command: [sleep, "60"]
    envFrom: [{configMapRef: {name: absent}}]
---
apiVersion: v1
kind: Pod
metadata: {name: nokey, namespace: t}
spec:
  containers:
  - name: main
    image: python
    command: [sleep, "60"]
    env: [{name: X, valueFrom: {configMapKeyRef: {name: cm, key: absent}}}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm, namespace: t}
data: {a: b}
---
apiVersion: v1
kind: Pod
metadata: {name: noexec, namespace: t}
spec:
  containers:
  - {name: first, image: python, command: [sleep, "60"]}
  - {name: second, image: python, command: [/nonexistent/bpfmesh-test-binary]}
---
apiVersion: v1
kind: Pod
metadata: {name: good, namespace: t}
spec:
  containers:
  - {name: main, image: python, command: [sleep, "60"]}
EOF

# nothing_left: no replica, record, cgroup, veth, XDP pin or stray process.
nothing_left() {
	[ "$(rt_count all)" = 0 ] &&
		[ -z "$(ls "$STATE_DIR/runtime" 2>/dev/null)" ] &&
		[ -z "$(ls -d "$CG"/bm-* 2>/dev/null)" ] &&
		[ -z "$(ip -n "$NODE" -o link show | grep -v ': lo:')" ] &&
		[ -z "$(find "$PIN_DIR/xdp" -mindepth 1 2>/dev/null)" ] &&
		! pgrep -f bpfmesh-test-binary >/dev/null
}

# fails_with NAME TEXT ARGS...: `runtime start ARGS` fails, says TEXT.
fails_with() {
	local name=$1 text=$2 out="$BM_TEST_DIR/out"; shift 2
	if rt start -f "$BM_TEST_DIR/bad.yaml" "$@" >"$out" 2>&1; then
		check "$name: fails" false
		return
	fi
	check "$name: says '$text'" grep -q "$text" "$out"
	check "$name: nothing left behind" nothing_left
}

fails_with "no command" "container main has no command" --object nocmd
fails_with "missing ConfigMap" "envFrom ConfigMap t/absent not found" --object nocm
fails_with "missing ConfigMap key" "key t/cm key absent not found" --object nokey
fails_with "command not found" "No such file or directory" --object noexec

rt start -f "$BM_TEST_DIR/bad.yaml" --object good >/dev/null
check "a good spec starts and takes the only address" [ "$(rt_field t/good/0 address)" = 198.18.17.2 ]
rt start -f "$BM_TEST_DIR/bad.yaml" --object good >"$BM_TEST_DIR/out" 2>&1 && check "duplicate key: fails" false
check "duplicate key: says so" grep -q "already on this node" "$BM_TEST_DIR/out"
check "duplicate key: the first one still runs" [ "$(rt_count running)" = 1 ]
rt start -f "$BM_TEST_DIR/bad.yaml" --object good --key t/good/1 >"$BM_TEST_DIR/out" 2>&1 && check "pod range exhausted: fails" false
check "pod range exhausted: says so" grep -q "no free address left in 198.18.17.0/30" "$BM_TEST_DIR/out"
check "pod range exhausted: only the first replica exists" [ "$(rt_count all)" = 1 ]
rt stop t/good/0
check "stop after the errors leaves nothing" nothing_left

expect "a pod range with host bits is refused" 1 \
	bm "$NODE" runtime list --pod-cidr 198.18.17.1/24 --cgroup-root "$CG"
expect "a pod range outside IPv4 is refused" 1 \
	bm "$NODE" runtime list --pod-cidr fd00::/64 --cgroup-root "$CG"
expect "a cgroup root that is not cgroup v2 is refused" 1 \
	bm "$NODE" runtime list --pod-cidr 198.18.17.0/24 --cgroup-root "$BM_TEST_DIR/rootfs"

finish
