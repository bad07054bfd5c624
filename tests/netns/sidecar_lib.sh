# SPDX-License-Identifier: GPL-2.0-only
# Set-up shared by the sidecar tests: everything on 127.0.0.1 with free
# ports, a private temporary directory, and a trap that kills every process
# the test started (nats-servers included) and removes the directory, on
# success and on failure. No root needed.
set -euo pipefail

SC_DIR=$(mktemp -d /tmp/bm-sidecar-test.XXXXXX)
SC_TOOL="python3 $(dirname "${BASH_SOURCE[0]}")/sidecartool.py"
SC_PIDS=()
SC_NETNS=()
SC_FAILS=0
if [ -z "${BM_SIDECAR:-}" ] && [ -n "${BPFMESH:-}" ]; then
	BM_SIDECAR="$(dirname "$BPFMESH")/../sidecar/bpfmesh-sidecar"
fi
BM_SIDECAR="${BM_SIDECAR:?set BM_SIDECAR to the bpfmesh-sidecar binary}"
NATS_SERVER=$(command -v nats-server || echo /usr/sbin/nats-server)

sc_skip() {
	if [ "${CI:-}" = true ]; then
		echo "FAIL (skip not allowed under CI): $*" >&2
		exit 1
	fi
	echo "SKIP: $*" >&2
	exit 77
}

sc_cleanup() {
	local pid i ns rc=$?
	set +e
	# SIGTERM first, so sidecars shut down and sanitizers report leaks.
	for pid in "${SC_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
	for i in $(seq 50); do
		for pid in "${SC_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && break; done
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	for pid in "${SC_PIDS[@]}"; do kill -9 "$pid" 2>/dev/null; done
	for pid in "${SC_PIDS[@]}"; do wait "$pid" 2>/dev/null; done
	for ns in "${SC_NETNS[@]}"; do
		# Anything still running in a namespace the test made (bounded).
		for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null
	done
	if grep -l "Sanitizer" "$SC_DIR"/*.log 2>/dev/null; then
		echo "FAIL: sanitizer report (above)"
		grep -h -A30 "Sanitizer" "$SC_DIR"/*.log | head -80
		rc=1
	fi
	if [ "$rc" != 0 ] || [ "$SC_FAILS" != 0 ] || [ -n "${SC_KEEP_LOGS:-}" ]; then
		tail -n 20 "$SC_DIR"/*.log 2>/dev/null
	fi
	[ -n "${SC_KEEP_DIR:-}" ] && echo "kept $SC_DIR" || rm -rf "$SC_DIR"
	exit "$rc"
}
trap sc_cleanup EXIT

[ -x "$NATS_SERVER" ] || sc_skip "needs nats-server"
command -v python3 >/dev/null || sc_skip "needs python3"
[ -x "$BM_SIDECAR" ] || sc_skip "no sidecar binary at $BM_SIDECAR"

# free_port: print a port nobody listens on right now.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_port PORT [SECONDS]: wait (bounded) until 127.0.0.1:PORT accepts.
wait_port() {
	local i n=$((${2:-10} * 10))
	for i in $(seq "$n"); do
		python3 -c "import socket; socket.create_connection(('127.0.0.1',$1),0.2)" \
			2>/dev/null && return 0
		sleep 0.1
	done
	echo "timed out waiting for port $1" >&2
	return 1
}

# sc_bg NAME CMD...: run CMD in the background, log to NAME.log, remember
# its pid (in SC_LAST_PID and for cleanup). Not in a subshell: $! is CMD.
sc_bg() {
	local name=$1; shift
	"$@" >>"$SC_DIR/$name.log" 2>&1 &
	SC_LAST_PID=$!
	SC_PIDS+=("$!")
}

# sc_stop PID: stop one process gracefully (bounded), then for good.
sc_stop() {
	local i
	kill "$1" 2>/dev/null || return 0
	for i in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# run_check CMD...: run a checking command; count its failure.
run_check() {
	if ! "$@"; then
		SC_FAILS=$((SC_FAILS + 1))
	fi
}

sc_finish() {
	echo "sidecar test: $SC_FAILS failed step(s)"
	[ "$SC_FAILS" = 0 ]
}
