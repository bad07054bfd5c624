# SPDX-License-Identifier: GPL-2.0-only
# Shared set-up for the rootless tests (sourced after lib.sh, as root): an
# unprivileged user made for this run, a directory it owns, a tun device it
# may open, and a trap that ends the user's processes and removes the user.
# Everything the user runs goes through `as_user`.

RL_USER="bmrl$$"
RL_DIR="$BM_TEST_DIR/user"
RL_STATE="$RL_DIR/state"
RL_RUN_PID=
command -v useradd >/dev/null || skip "needs useradd"
command -v runuser >/dev/null || skip "needs runuser"
command -v slirp4netns >/dev/null || skip "needs slirp4netns (tools/deps.sh)"
command -v unshare >/dev/null || skip "needs unshare"

rl_cleanup() {
	local pid i
	set +e
	if [ -n "$RL_RUN_PID" ]; then
		pid=$(rl_pid)
		[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
		for i in $(seq 50); do kill -0 "$RL_RUN_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$RL_RUN_PID" 2>/dev/null
		wait "$RL_RUN_PID" 2>/dev/null
	fi
	# Whatever the user still runs was started by this test: end it by pid.
	for pid in $(pgrep -u "$RL_USER" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
	for i in $(seq 50); do pgrep -u "$RL_USER" >/dev/null || break; sleep 0.1; done
	id "$RL_USER" >/dev/null 2>&1 && userdel "$RL_USER" 2>/dev/null
	mountpoint -q /dev/net/tun && umount /dev/net/tun
	cleanup
}
trap rl_cleanup EXIT

useradd -M -d "$RL_DIR" -s /usr/sbin/nologin "$RL_USER" || skip "cannot create a user"
chmod 711 "$BM_TEST_DIR"
mkdir -p "$RL_DIR"
chown "$RL_USER:" "$RL_DIR"
chmod 700 "$RL_DIR"

# as_user CMD...: run CMD as the test user, in its directory.
as_user() {
	(cd "$RL_DIR" && runuser -u "$RL_USER" -- "$@")
}

# rl CMD...: bpfmesh as the test user with its state directory.
rl() {
	as_user "$BPFMESH" --state-dir "$RL_STATE" "$@"
}

as_user unshare -Ur true 2>/dev/null || skip "unprivileged user namespaces are disabled"
# slirp4netns opens /dev/net/tun inside the user namespace; Debian makes it
# 0666, some machines 0600. Then lend the user a node of its own, bound over
# /dev/net/tun in this test's private mount namespace only.
if ! as_user test -r /dev/net/tun -a -w /dev/net/tun; then
	mknod "$BM_TEST_DIR/tun" c 10 200
	chmod 666 "$BM_TEST_DIR/tun"
	mount --bind "$BM_TEST_DIR/tun" /dev/net/tun
fi

# rl_start ARGS...: `rootless run` in the background as the user; waits for
# its status file.
rl_start() {
	as_user "$BPFMESH" --state-dir "$RL_STATE" rootless run "$@" >"$RL_DIR/run.log" 2>&1 &
	RL_RUN_PID=$!
	local i
	for i in $(seq 100); do
		[ -e "$RL_STATE/rootless/status" ] && return 0
		kill -0 "$RL_RUN_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$RL_DIR/run.log" >&2
	return 1
}

# rl_pid: the pid `rootless run` wrote into its status file.
rl_pid() {
	awk -F'\t' '$1 == "pid" {print $2}' "$RL_STATE/rootless/status" 2>/dev/null
}

# rl_log_clean: no sanitizer report in the log of `rootless run` or the
# agent (its keepers write there too); prints the report if there is one.
rl_log_clean() {
	grep -q -e 'Sanitizer' -e 'runtime error:' "$RL_DIR/run.log" || return 0
	echo "sanitizer report in run.log:" >&2
	grep -h -B2 -A30 -e 'Sanitizer' -e 'runtime error:' "$RL_DIR/run.log" | head -80 >&2
	return 1
}

# rl_stop: end `rootless run` (bounded); it must exit 0 with no sanitizer
# report and leave no process behind.
rl_stop() {
	local i pid rc=0
	pid=$(rl_pid)
	[ -n "$pid" ] && kill -TERM "$pid"
	wait "$RL_RUN_PID" || rc=$?
	RL_RUN_PID=
	rl_log_clean || return 1
	if [ "$rc" != 0 ]; then
		echo "exit status $rc after SIGTERM:" >&2
		tail -n 20 "$RL_DIR/run.log" >&2
		return 1
	fi
	for i in $(seq 50); do
		pgrep -u "$RL_USER" >/dev/null || return 0
		sleep 0.1
	done
	echo "left behind:" >&2
	ps -u "$RL_USER" -o pid,ppid,args >&2
	cat "$RL_DIR/run.log" >&2
	return 1
}

# in_wl WORKLOAD CMD...: run CMD inside a rootless workload.
in_wl() {
	local w=$1; shift
	rl rootless exec "$w" -- "$@"
}

# last_verdict: "VERDICT REASON" of the forwarder's newest event.
last_verdict() {
	rl rootless observe --all --json --timeout 1 | tail -n 1 |
		python3 -c 'import json,sys; e=json.load(sys.stdin); print(e["verdict"].replace("allow-auth","allow"), e["reason"])'
}

# rl_event_count: how many events the forwarder has written (80 bytes each,
# struct bm_flow_event; the file rotates only at 4 MiB).
rl_event_count() {
	local size
	size=$(stat -c %s "$RL_STATE/rootless/events" 2>/dev/null || echo 0)
	echo $((size / 80))
}

# cut_within MS T0_NS FILE: the nettool stream whose output (both streams)
# is FILE was cut, by a reset or close and not by a stall, at most MS ms
# after T0_NS (earlier counts too). The stream takes the time itself, so
# process start-up and exit under a loaded or sanitized run do not count.
cut_within() {
	local at
	at=$(awk '$1 == "broke_at_ns" {print $2}' "$3")
	[ -n "$at" ] && [ $(((at - $2) / 1000000)) -lt "$1" ] && ! grep -q 'timed out' "$3"
}

# tcp_echo_ok WL ADDR PORT: an echo from workload WL through the forwarder,
# within 5 s (generous for loaded and sanitized runs: an allowed exchange
# takes milliseconds); on failure, prints what the client saw and the
# forwarder's last events. Needs $NT (the test's copy of nettool.py).
tcp_echo_ok() {
	local out
	out=$(in_wl "$1" python3 "$NT" tcp "$2" "$3" --timeout 5 2>&1) && return 0
	echo "client in $1 -> $2:$3: $out" >&2
	echo "last events:" >&2
	rl observe --all --json --timeout 1 | tail -n 3 >&2
	echo "log of the forwarder (last lines):" >&2
	tail -n 5 "$RL_DIR/run.log" >&2
	return 1
}

# events_have PATTERN...: one `observe --all` event line matches every PATTERN.
events_have() {
	local events
	events=$(rl observe --all --json --timeout 1)
	while [ $# -gt 0 ]; do
		events=$(grep -e "$1" <<<"$events") || return 1
		shift
	done
}

# until_ok SECONDS CMD...: retry CMD every 0.1 s for at most SECONDS.
until_ok() {
	local i n=$(($1 * 10)); shift
	for i in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
	return 1
}
