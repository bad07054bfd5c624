#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Handshake benchmark: bpfmesh identity handshake next to OpenSSL TLS 1.3 with
# mutual certificate authentication, in the same run, on 127.0.0.1 only.
#   tools/bench/handshake.sh BENCH_BINARY [SECONDS]
# BENCH_BINARY is build/tools/bench/bench_handshake (build it Release). Each
# measurement runs SECONDS (default 5, at most 60). Prints key=value lines and
# a ratio; docs/BENCHMARKS.md explains every number.
set -euo pipefail
bench=${1:?usage: handshake.sh BENCH_BINARY [SECONDS]}
secs=${2:-5}
[[ $secs =~ ^[0-9]+$ ]] && ((secs >= 1 && secs <= 60)) || { echo "SECONDS: 1..60" >&2; exit 2; }
command -v openssl >/dev/null || { echo "openssl not found" >&2; exit 77; }

work=$(mktemp -d /tmp/bm-hsbench-XXXXXX)
server_pid=
cleanup() {
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

# CPU seconds (user + system) a process used so far, from /proc/PID/stat.
proc_cpu() {
	local hz
	hz=$(getconf CLK_TCK)
	awk -v hz="$hz" '{ sub(/^.*\) /, ""); printf "%.3f\n", ($12 + $13) / hz }' "/proc/$1/stat"
}

# A free loopback port (bound, then released; raced only by other local binds).
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

make_pki() {
	local alg=$1 n
	local -a kopt
	if [ "$alg" = p256 ]; then kopt=(-newkey ec -pkeyopt ec_paramgen_curve:P-256); else kopt=(-newkey ed25519); fi
	openssl req -x509 "${kopt[@]}" -nodes -keyout "$work/ca.key" -out "$work/ca.pem" \
		-days 1 -subj /CN=bench-ca 2>/dev/null
	for n in server client; do
		openssl req "${kopt[@]}" -nodes -keyout "$work/$n.key" -out "$work/$n.csr" \
			-subj "/CN=$n" 2>/dev/null
		openssl x509 -req -in "$work/$n.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" \
			-CAcreateserial -out "$work/$n.pem" -days 1 2>/dev/null
	done
}

openssl_run() {
	local alg=$1 port out t0 t1 c0 c1 n client_cpu
	make_pki "$alg"
	port=$(free_port)
	openssl s_server -accept "127.0.0.1:$port" -cert "$work/server.pem" -key "$work/server.key" \
		-CAfile "$work/ca.pem" -Verify 1 -tls1_3 -quiet </dev/zero >/dev/null 2>&1 &
	server_pid=$!
	for _ in $(seq 50); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
		sleep 0.1
	done
	c0=$(proc_cpu "$server_pid")
	t0=$(date +%s.%N)
	out=$( { TIMEFORMAT='%U %S'; time openssl s_time -connect "127.0.0.1:$port" -new \
		-time "$secs" -cert "$work/client.pem" -key "$work/client.key" \
		-CAfile "$work/ca.pem" -verify 1 -tls1_3 2>&1; } 2>&1)
	t1=$(date +%s.%N)
	c1=$(proc_cpu "$server_pid")
	kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=
	n=$(grep -m1 -oE '^[0-9]+ connections in' <<<"$out" | awk '{print $1}')
	client_cpu=$(tail -n1 <<<"$out" | awk '{print $1 + $2}')
	awk -v n="$n" -v w="$(echo "$t1 - $t0" | bc)" -v sc="$(echo "$c1 - $c0" | bc)" \
		-v cc="$client_cpu" -v alg="$alg" 'BEGIN {
		printf "impl=openssl-tls1.3-mutual certs=%s seconds=%.2f handshakes=%d " \
		       "handshakes_per_sec=%.0f cpu_us_per_handshake=%.0f\n",
		       alg, w, n, n / w, (sc + cc) * 1e6 / n }'
}

echo "# $(date -u +%FT%TZ) $(uname -r) $(nproc) cpus, load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# $(openssl version); libsodium $(pkg-config --modversion libsodium 2>/dev/null || echo ?)"
ours=$("$bench" handshake "$secs")
echo "impl=bpfmesh ${ours#mode=handshake }"
echo "impl=bpfmesh $("$bench" handshake "$secs" --no-cache | sed 's/^mode=handshake //')"
p256=$(openssl_run p256)
echo "$p256"
openssl_run ed25519
"$bench" verify 2
"$bench" crl 100000
rate() { grep -oE 'handshakes_per_sec=[0-9]+' <<<"$1" | cut -d= -f2; }
cpu() { grep -oE 'cpu_us_per_handshake=[0-9]+' <<<"$1" | cut -d= -f2; }
awk -v a="$(rate "$ours")" -v b="$(rate "$p256")" -v ca="$(cpu "$ours")" -v cb="$(cpu "$p256")" \
	'BEGIN { printf "ratio_handshakes_per_sec=%.1f ratio_cpu_per_handshake=%.1f (bpfmesh vs openssl p256)\n", a / b, cb / ca }'
