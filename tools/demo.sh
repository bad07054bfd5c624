#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The main job: an end-to-end run of bpfmesh on the embedded default
# (examples/policy.yaml). One node network namespace routes between four
# workload namespaces; bpfmesh's XDP program sits on the node side of every
# workload's veth; real TCP requests are allowed and denied by identity; a
# MeshPolicy pair is authenticated and then revoked. Everything is removed
# at the end, also on failure. Usage: tools/demo.sh [POLICY.yaml]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
POLICY=${1:-$ROOT/examples/policy.yaml}

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

[ "$(id -u)" = 0 ] || { echo "demo: run as root (it creates namespaces and loads BPF)" >&2; exit 2; }
step "installing Debian packages and building"
[ "${BM_SKIP_DEPS:-0}" = 1 ] || tools/deps.sh
cmake -S . -B build-demo -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-demo -j"$(nproc)" --target bpfmesh >/dev/null
BPFMESH=$ROOT/build-demo/control/bpfmesh
NETTOOL="python3 $ROOT/tests/netns/nettool.py"

ID=bmdemo$$
DIR=/run/bpfmesh-demo-$$
PINS=$DIR/pins
STATE=$DIR/state
NODE=$ID-node
WORKLOADS=(frontend:1 backend-v1:2 backend-v2:3 db:4)
PIDS=()
cleanup() {
	set +e
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	for w in "${WORKLOADS[@]}"; do ip netns del "$ID-${w%%:*}" 2>/dev/null; done
	ip netns del "$NODE" 2>/dev/null
	mountpoint -q "$PINS" && umount "$PINS"
	rm -rf "$DIR"
}
trap cleanup EXIT

bm() { ip netns exec "$NODE" "$BPFMESH" --pin-dir "$PINS" --state-dir "$STATE" "$@"; }

step "creating a node and four workloads (network namespaces, veth, 198.18.0.0/15)"
mkdir -p "$PINS" "$STATE"
chmod 700 "$DIR" "$STATE"
mount -t bpf bpf "$PINS"
ip netns add "$NODE"
ip -n "$NODE" link set lo up
ip netns exec "$NODE" sysctl -qw net.ipv4.ip_forward=1
for w in "${WORKLOADS[@]}"; do
	name=${w%%:*} n=${w##*:} ns=$ID-$name
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	ip link add "w$n-$$" netns "$ns" type veth peer name "n$n-$$" netns "$NODE"
	ip -n "$ns" link set "w$n-$$" name eth0
	ip -n "$ns" addr add "198.18.$n.2/24" dev eth0
	ip -n "$ns" link set eth0 up
	ip -n "$ns" route add default via "198.18.$n.1"
	ip -n "$NODE" addr add "198.18.$n.1/24" dev "n$n-$$"
	ip -n "$NODE" link set "n$n-$$" up
	ip netns exec "$ns" $NETTOOL serve "198.18.$n.2" --tcp 8080 --tcp 5432 --seconds 110 &
	PIDS+=($!)
	printf '  %-11s 198.18.%s.2\n' "$name" "$n"
done
sleep 1

step "attaching the XDP data plane to the node side of every workload"
for w in "${WORKLOADS[@]}"; do bm attach "n${w##*:}-$$"; done

step "loading plain Kubernetes NetworkPolicy + MeshPolicy YAML: $POLICY"
bm policy load "$POLICY"
bm policy show | sed 's/^/  /'

bm observe --timeout 100 >"$DIR/events" 2>&1 &
PIDS+=($!)
sleep 0.5

FAILS=0
request() { # FROM-WORKLOAD TO-ADDR PORT EXPECT(allow|deny)
	local from=$1 to=$2 port=$3 want=$4 got=deny
	ip netns exec "$ID-$from" $NETTOOL tcp "$to" "$port" --timeout 1 >/dev/null 2>&1 && got=allow
	local mark=ok
	[ "$got" = "$want" ] || { mark=UNEXPECTED; FAILS=$((FAILS + 1)); }
	printf '  %-10s %-11s -> %-10s :%-5s %-5s (%s)\n' "$mark" "$from" "$to" "$port" "$got" "expected $want"
}

step "requests between workloads"
request frontend 198.18.2.2 8080 allow
request frontend 198.18.3.2 8080 allow
request frontend 198.18.4.2 5432 deny
request backend-v1 198.18.2.2 8080 allow
request db 198.18.2.2 8080 deny
request backend-v1 198.18.4.2 5432 deny

step "workload identities: a trust domain, a node, signed documents for backend and db"
bmi() { "$BPFMESH" --state-dir "$STATE" "$@"; }
bmi identity init --trust-domain demo.bpfmesh >/dev/null
bmi identity enroll --node "$NODE" >/dev/null
bmi identity issue --namespace shop --service-account backend --ttl 10m -o "$DIR/backend.id"
bmi identity issue --namespace shop --service-account db --ttl 10m -o "$DIR/db.id"
bmi identity verify "$DIR/backend.id" | sed 's/^/  /'

step "mutual authentication backend <-> db (X25519 + Ed25519 handshake), then the MeshPolicy admits the pair"
ip netns exec "$ID-db" "$BPFMESH" --pin-dir "$PINS" --state-dir "$STATE" \
	auth serve --identity "$DIR/db.id" 198.18.4.2 4433 --count 1 --ttl 60 | sed 's/^/  db:      /' &
PIDS+=($!)
sleep 0.3
ip netns exec "$ID-backend-v1" "$BPFMESH" --pin-dir "$PINS" --state-dir "$STATE" \
	auth connect --identity "$DIR/backend.id" 198.18.4.2 4433 --ttl 60 | sed 's/^/  backend: /'
sleep 0.2
request backend-v1 198.18.4.2 5432 allow
request backend-v2 198.18.4.2 5432 allow
request frontend 198.18.4.2 5432 deny

step "revoking the backend's identity: the pair's entries go, its traffic is cut at once"
bmi identity revoke "$DIR/backend.id" | sed 's/^/  /'
bm auth del spiffe://demo.bpfmesh/ns/shop/sa/backend spiffe://demo.bpfmesh/ns/shop/sa/db
bm auth del spiffe://demo.bpfmesh/ns/shop/sa/db spiffe://demo.bpfmesh/ns/shop/sa/backend
request backend-v1 198.18.4.2 5432 deny
ip netns exec "$ID-db" "$BPFMESH" --pin-dir "$PINS" --state-dir "$STATE" \
	auth serve --identity "$DIR/db.id" 198.18.4.2 4433 --count 1 --ttl 60 >/dev/null 2>&1 &
PIDS+=($!)
sleep 0.3
if ip netns exec "$ID-backend-v1" "$BPFMESH" --pin-dir "$PINS" --state-dir "$STATE" \
	auth connect --identity "$DIR/backend.id" 198.18.4.2 4433 >/dev/null 2>&1; then
	echo "  UNEXPECTED: a handshake with the revoked identity succeeded"
	FAILS=$((FAILS + 1))
else
	echo "  ok         a new handshake with the revoked identity is refused"
fi
request backend-v1 198.18.4.2 5432 deny

step "what the kernel reported (bpfmesh observe: every deny, sampled allows)"
sleep 0.5
sort "$DIR/events" | uniq -c | sort -rn | head -12 | sed 's/^/  /'

step "counters (bpfmesh status)"
bm status | sed 's/^/  /'

step "tearing down"
for w in "${WORKLOADS[@]}"; do bm detach "n${w##*:}-$$" >/dev/null; done
if [ "$FAILS" = 0 ]; then
	echo "demo finished: every request got the expected verdict"
else
	echo "demo finished with $FAILS unexpected verdicts" >&2
	exit 1
fi
