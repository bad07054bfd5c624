# SPDX-License-Identifier: GPL-2.0-only
# For tests and benchmarks whose agents launch sidecars (source after
# mesh_lib.sh): the sidecars' pids, their cleanup, their logs.

# sidecar_pids: every sidecar pid the agents recorded (for the cleanup too).
sidecar_pids() {
	cat "$STATE_DIR"/n*/sidecars/*.pid 2>/dev/null || true
}

# kill_sidecars: SIGKILL every recorded pid that still is a sidecar.
kill_sidecars() {
	local pid
	for pid in $(sidecar_pids); do
		grep -q bpfmesh-sidecar "/proc/$pid/cmdline" 2>/dev/null && kill -9 "$pid"
	done
	return 0
}

# sanitizer_check: fails, showing the report, when a sidecar's log holds a
# sanitizer report (Debug builds).
sanitizer_check() {
	if grep -l "Sanitizer\|runtime error:" "$STATE_DIR"/n*/sidecars/*.log 2>/dev/null; then
		grep -h -B2 -A30 "Sanitizer\|runtime error:" "$STATE_DIR"/n*/sidecars/*.log | head -80
		return 1
	fi
}

# sidecar_dump: the agents' logs (mesh_dump_logs), then each sidecar log's tail.
sidecar_dump() {
	mesh_dump_logs
	local f
	for f in "$STATE_DIR"/n*/sidecars/*.log; do
		[ -e "$f" ] && { echo "--- $f (tail)"; tail -n 20 "$f"; }
	done
	return 0
}
