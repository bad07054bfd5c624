#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Bounded libFuzzer runs for identity/.
#   run_fuzz.sh run BINARY SEED_CORPUS SECONDS
#       Fuzz for SECONDS from a scratch copy of SEED_CORPUS (the checked-in
#       seeds are never modified). Crash reproducers land in the scratch dir,
#       whose path is printed on failure.
#   run_fuzz.sh build-and-run BUILD_DIR SECONDS
#       Build tests/fuzz with clang in BUILD_DIR, then run every target.
#       Exit 77 (skip) when clang or its libFuzzer runtime is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

run_one() {
	local bin=$1 seeds=$2 secs=$3 work
	work=$(mktemp -d /tmp/bm-fuzz-XXXXXX)
	mkdir -p "$work/corpus" "$work/artifacts"
	cp "$seeds"/* "$work/corpus/"
	echo "== $(basename "$bin"): ${secs}s from $seeds"
	if ! "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
		-print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus" \
		>"$work/log" 2>&1; then
		tail -n 40 "$work/log"
		echo "FAIL: $(basename "$bin"): reproducer and log kept in $work" >&2
		return 1
	fi
	grep -E "stat::number_of_executed_units|Done [0-9]+ runs" "$work/log" | tail -n 2 || true
	rm -rf "$work"
}

have_libfuzzer() {
	command -v clang >/dev/null || return 1
	echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' |
		clang -x c -fsanitize=fuzzer -o /dev/null - 2>/dev/null
}

case "${1:-}" in
run)
	[ $# -eq 4 ] || { echo "usage: $0 run BINARY SEEDS SECONDS" >&2; exit 2; }
	run_one "$2" "$3" "$4"
	;;
build-and-run)
	[ $# -eq 3 ] || { echo "usage: $0 build-and-run BUILD_DIR SECONDS" >&2; exit 2; }
	if ! have_libfuzzer; then
		echo "SKIP: clang with libFuzzer not found (apt-get install clang libclang-rt-14-dev)"
		[ "${CI:-}" = true ] && exit 1
		exit 77
	fi
	CC=clang cmake -S "$here" -B "$2" -DCMAKE_BUILD_TYPE=Debug >/dev/null
	cmake --build "$2" -j"$(nproc)" >/dev/null
	status=0
	for t in ident_doc ident_hs; do
		run_one "$2/fuzz_$t" "$here/corpus/$t" "$3" || status=1
	done
	exit $status
	;;
*)
	echo "usage: $0 run BINARY SEEDS SECONDS | build-and-run BUILD_DIR SECONDS" >&2
	exit 2
	;;
esac
