#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The README's main job runs in CI: tools/demo.sh on the embedded default
# with the binary under test, checking its own outcomes (every expected allow
# and deny, the handshakes, the revocation on every node, observe's events,
# the re-placement after a node failure) and leaving nothing behind.
# ctest-labels: netns demo
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root" >&2; exit 77; }
rc=0
BM_SKIP_DEPS=1 bash "$ROOT/tools/demo.sh" &
demo=$!
# Bounded: the demo must finish in under 2 minutes; give it 170 s here.
# (the watchdog keeps no handle on our output, so ctest never waits for it)
( sleep 170 && kill -TERM "$demo" ) >/dev/null 2>&1 </dev/null &
watchdog=$!
wait "$demo" || rc=$?
pkill -P "$watchdog" sleep 2>/dev/null || true
kill "$watchdog" 2>/dev/null || true
# lib.sh names everything after the demo shell's pid (bm$$, /run/bpfmesh-test-$$).
left=$(ip netns list | awk '{print $1}' | grep -c "^bm$demo-" || true)
if [ "$left" != 0 ]; then
	echo "FAIL: the demo left $left network namespaces behind" >&2
	rc=1
fi
if [ -e "/run/bpfmesh-test-$demo" ]; then
	echo "FAIL: the demo left /run/bpfmesh-test-$demo behind" >&2
	rc=1
fi
if ip -o link show 2>/dev/null | grep -q "bm$demo-"; then
	echo "FAIL: the demo left links behind" >&2
	rc=1
fi
exit "$rc"
