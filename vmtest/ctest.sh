#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# ctest.sh BUILD_DIR SUITE [RUN_SH_ARGS...]: the vmtest CTest entry. Fetch
# Debian's linux-image-amd64 from SUITE ("default": the machine's own apt
# sources, i.e. bookworm's 6.1 LTS; "bullseye": 5.10) into
# BUILD_DIR/vmtest-cache and run the suite on it with run.sh.
#
# Exits 77 (skip) without root or qemu, except under CI=true, where every
# step must work. One exception: a release the Debian archive no longer
# serves skips even under CI, with a message, since no change here can fix it.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=$1
suite=$2
shift 2

skip() {
	if [ "${CI:-}" = true ]; then
		echo "FAIL (skip not allowed under CI): $*" >&2
		exit 1
	fi
	echo "SKIP: $*" >&2
	exit 77
}

[ "$(id -u)" = 0 ] || skip "vmtest needs root (apt-get download; the guest runs as root)"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 missing (run tools/deps.sh)"
command -v busybox >/dev/null || skip "busybox missing (run tools/deps.sh)"
args=(--cache "$build/vmtest-cache")
[ "$suite" = default ] || args+=(--suite "$suite")
if ! image=$("$here/get-kernel.sh" "${args[@]}" linux-image-amd64); then
	if [ "$suite" != default ]; then
		echo "SKIP: Debian $suite's kernel could not be fetched (release archived?)" >&2
		exit 77
	fi
	skip "could not fetch linux-image-amd64 with apt-get download"
fi
exec "$here/run.sh" -b "$build" "$@" "$image"
