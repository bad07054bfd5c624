#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# run.sh [-b BUILD_DIR] [-m DIR] [-t SECS] [-r REGEX] [-j N] [-s] [-k] KERNEL_IMAGE
#
# Boot KERNEL_IMAGE in qemu (TCG, no network card) with a throwaway
# initramfs holding the host's bash, coreutils, iproute2, bpftool (busybox
# for the rest), the build's BPF objects, the bpfmesh binary and every CTest
# test labelled bpf or netns (with the shared libraries ldd lists), run those
# tests inside the guest, print the summary on the serial console and power
# off. qemu runs under `timeout`
# with -no-reboot and panic=-1, so a hung or crashed guest ends the run.
#
#   -b DIR   build tree to test (default: ../build next to this script)
#   -m DIR   root holding lib/modules/<release>/ for the image (default: the
#            image's own directory if it has one, as get-kernel.sh lays out,
#            else /); modules from vmtest/modules.txt are loaded if present
#   -t SECS  hard limit for the whole VM run (default 900, $VMTEST_TIMEOUT)
#   -r REGEX only the tests whose names match (ctest -R)
#   -j N     run N tests at a time in the guest (default 2, $VMTEST_JOBS);
#            they are written to run in parallel, as under ctest -j
#   -s       skips are no failure even under CI=true (for kernels older than
#            the oldest supported one, where a test must name what is missing)
#   -k       keep the staged root and initramfs (printed) for debugging
#
# Environment: VMTEST_TEST_TIMEOUT caps each test (default 300 s);
# VMTEST_EXTRA_TOOLS adds host programs to the guest; VMTEST_ACCEL=kvm uses
# KVM (default tcg); VMTEST_SMP (2) and VMTEST_CPU (max) shape the guest;
# VMTEST_PERF_MAX_NS is exported to the tests as BM_PERF_MAX_NS under TCG
# (default 100000); CI=true is passed to the tests, so a skip fails there.
#
# Exit status: the suite's (0 all passed, 1 a test failed or no test ran),
# 124 if the guest hit the time limit, 2 on a usage or setup error.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=$here/../build
modroot=
vm_timeout=${VMTEST_TIMEOUT:-900}
test_timeout=${VMTEST_TEST_TIMEOUT:-300}
keep=0
work=
only=
allow_skip=0
jobs=${VMTEST_JOBS:-2}

# The host's own userland, so scripts behave as on the host (busybox's
# date has no %N, its ip no -V, ...): every program of these Debian packages,
# then single programs busybox lacks; busybox fills in the rest.
guest_packages="coreutils grep sed mawk findutils diffutils procps psmisc util-linux iproute2"
guest_tools="bash bpftool nft ethtool nats-server"

die() { echo "vmtest: $*" >&2; exit 2; }

usage() { sed -n '3,32p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }

# The release string of a bzImage: the setup header holds at 0x20e a pointer
# (relative to 0x200) to "6.1.0-56-amd64 (debian-kernel@...) #1 SMP ...".
kernel_release() {
	local off

	off=$(od -An -t u2 -j 526 -N 2 "$1" | tr -d ' ')
	[ -n "$off" ] && [ "$off" -gt 0 ] || return 1
	dd if="$1" bs=1 skip=$((off + 512)) count=128 status=none | tr '\0' '\n' |
		head -n1 | cut -d' ' -f1
}

# Copy one host path into the guest root at the same absolute path.
put() {
	mkdir -p "$root$(dirname "$1")"
	cp -L --preserve=mode "$1" "$root$1"
}

# Copy an executable and every shared library ldd lists for it.
put_elf() {
	local lib

	put "$1"
	# ldd fails on static binaries: nothing to add then.
	{ ldd "$1" 2>/dev/null || true; } | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
		while read -r lib; do
			[ -e "$root$lib" ] || put "$lib"
		done
}

is_elf() { [ "$(head -c4 "$1" | od -An -c | tr -d ' ')" = '177ELF' ]; }

put_any() {
	if [ -d "$1" ]; then
		mkdir -p "$root$1"
		cp -rL "$1/." "$root$1/"
	elif is_elf "$1"; then
		put_elf "$1"
	else
		put "$1"
	fi
}

# A path the tests name: binaries with libraries, scripts with their whole
# directory (helpers they source), directories as they are. The source tree
# itself is too big (it holds build trees): only its tests/ go in.
put_test_path() {
	local p=$1 src

	src=$(cd "$here/.." && pwd)
	if [ "$p" = "$src" ] || [ "$p" = "$src/" ]; then
		put_any "$src/tests"
	elif [ -f "$p" ] && ! is_elf "$p"; then
		put_any "$(dirname "$p")"
	else
		put_any "$p"
	fi
}

make_layout() {
	local d

	mkdir -p "$root"/usr/{bin,sbin,lib,lib64} "$root"/{proc,sys,dev,tmp,run,etc,root,mnt,vmtest}
	for d in bin sbin lib lib64; do
		ln -s "usr/$d" "$root/$d"
	done
	put_elf "$(command -v busybox)"
	cp "$here/init" "$root/init"
	cp "$here/known-failures.txt" "$root/vmtest/known-failures.txt"
	chmod 755 "$root/init"
	printf 'root:x:0:0:root:/root:/bin/bash\n' >"$root/etc/passwd"
	printf 'root:x:0:\n' >"$root/etc/group"
	for d in /etc/protocols /etc/services /etc/iproute2 /usr/share/iproute2 \
		/usr/lib/x86_64-linux-gnu/bpf /usr/lib/bpf; do
		[ -e "$d" ] && put_any "$d"
	done
	return 0
}

put_tools() {
	local t path sh

	dpkg-query -L $guest_packages 2>/dev/null | grep -E '^/(usr/)?s?bin/' | sort -u |
		while read -r path; do
			[ -f "$path" ] && [ -x "$path" ] && [ ! -e "$root$path" ] && put_elf "$path"
		done
	for t in $guest_tools ${VMTEST_EXTRA_TOOLS:-}; do
		path=$(PATH=/usr/local/sbin:/usr/sbin:/sbin:$PATH command -v "$t" || true)
		[ -n "$path" ] && put_elf "$path"
	done
	# busybox fills in every other command, never over a real one.
	busybox --list-full | while read -r t; do
		[ -e "$root/$t" ] || [ -L "$root/$t" ] || ln -s "$(command -v busybox)" "$root/$t"
	done
	# /bin/sh is the host's (dash on Debian), not busybox's ash: that one
	# prefers its own applets, so system("ip ...") would run busybox ip.
	sh=$(readlink -f /bin/sh)
	put_elf "$sh"
	[ "$sh" = /usr/bin/sh ] || ln -sf "$sh" "$root/usr/bin/sh"
}

# Debian's python3 and its standard library (no tests, GUI, docs or site
# packages), for test scripts that use it; ~8 MB more in the initramfs.
# /usr/bin/python3 first: a pyenv shim earlier in PATH is no binary.
put_python() {
	local py exe lib f

	py=/usr/bin/python3
	[ -x "$py" ] || py=$(command -v python3) || return 0
	exe=$(readlink -f "$py")
	lib=$("$exe" -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')
	put_elf "$exe"
	ln -sf "$(basename "$exe")" "$root/usr/bin/python3"
	mkdir -p "$root$lib"
	tar -C "$lib" --exclude=test --exclude=tests --exclude=idlelib --exclude=tkinter \
		--exclude=turtledemo --exclude=ensurepip --exclude=lib2to3 --exclude=pydoc_data \
		--exclude=site-packages --exclude=dist-packages \
		--exclude='_tkinter*' -cf - . | tar -C "$root$lib" -xf -
	for f in "$lib"/lib-dynload/*.so; do
		case $f in *_tkinter*) continue ;; esac
		put_elf "$f"
	done
}

put_tests() {
	local json=$work/ctest.json path

	# Rootless and sidecar tests exercise no kernel BPF and need host tools
	# (useradd, slirp4netns, nats-server clusters) the guest does not carry.
	# The agent, scheduler-on-agents and demo tests are bus and process
	# choreography over the same kernel paths the remaining tests cover
	# (XDP on veths, map swaps, guards, socket hooks, the runtime's veths);
	# under TCG they took 2-5 minutes each and pushed the guest past its limit.
	# test_xdp_swap (200 back-to-back swaps while a thread test-runs the
	# program) drove both emulated CPUs into soft lockups for 5+ minutes in
	# the 6.1 guest; it stays on the host until that is understood
	# (docs/vmtest.md, known failures).
	(cd "$build" && ctest -N -L '^(bpf|netns)$' -LE '^(rootless|sidecar|agent|demo)$' \
		-E '^test_xdp_swap$' ${only:+-R "$only"} \
		--show-only=json-v1) >"$json" ||
		die "ctest -N in $build failed"
	python3 "$here/manifest.py" "$json" "$root" "$test_timeout" >"$work/paths"
	while read -r path; do
		put_test_path "$path"
	done <"$work/paths"
	# Scripts and the helpers beside them decide whether python3 goes in.
	if grep -rqs -e python3 "$root/vmtest/tests" $(while read -r path; do
		[ -f "$path" ] && ! is_elf "$path" && echo "$root$(dirname "$path")"
	done <"$work/paths"); then
		put_python
	fi
	echo "vmtest: $(wc -l <"$root/vmtest/tests.list") tests from $build:" \
		"$(cut -d' ' -f1 "$root/vmtest/tests.list" | tr '\n' ' ')"
}

# Modules and their dependencies, in load order, decompressed.
put_modules() {
	local kver=$1 mod path dst

	[ -d "$modroot/lib/modules/$kver" ] || {
		echo "vmtest: no modules for $kver under $modroot; using built-ins only"
		return 0
	}
	for mod in $(grep -v '^#' "$here/modules.txt"); do
		modprobe -d "$modroot" -S "$kver" --show-depends "$mod" 2>/dev/null |
			awk '$1 == "insmod" { print $2 }' || true
	done | awk '!seen[$0]++' | while read -r path; do
		dst=/lib/modules/$kver/$(basename "${path%.[gx]z}" .zst)
		mkdir -p "$root$(dirname "$dst")"
		case $path in
		*.xz) xz -dc "$path" ;;
		*.zst) zstd -qdc "$path" ;;
		*.gz) gzip -dc "$path" ;;
		*) cat "$path" ;;
		esac >"$root$dst"
		echo "$dst" >>"$root/vmtest/modules.list"
	done
}

boot() {
	local image=$1 initrd=$2 log=$3 accel=${VMTEST_ACCEL:-tcg} cpu=${VMTEST_CPU:-max}

	[ "$accel" = kvm ] && cpu=host
	set +e
	timeout -k 10 "$vm_timeout" qemu-system-x86_64 \
		-accel "$accel" -cpu "$cpu" -smp "${VMTEST_SMP:-2}" -m 2048 \
		-kernel "$image" -initrd "$initrd" \
		-append "console=ttyS0 panic=-1 oops=panic quiet loglevel=3 rdinit=/init" \
		-nic none -display none -monitor none -serial stdio -no-reboot \
		</dev/null 2>&1 | tr -d '\r' | tee "$log"
	qemu_rc=${PIPESTATUS[0]}
	set -e
}

main() {
	local image kver initrd log rc t0

	while getopts "b:m:t:r:j:skh" opt; do
		case $opt in
		b) build=$OPTARG ;;
		m) modroot=$OPTARG ;;
		t) vm_timeout=$OPTARG ;;
		r) only=$OPTARG ;;
		j) jobs=$OPTARG ;;
		s) allow_skip=1 ;;
		k) keep=1 ;;
		h) usage 0 ;;
		*) usage ;;
		esac
	done
	shift $((OPTIND - 1))
	[ $# = 1 ] || usage
	image=$(realpath "$1")
	[ -f "$image" ] || die "no kernel image $1"
	for t in qemu-system-x86_64 busybox cpio python3 ctest modprobe; do
		command -v "$t" >/dev/null || die "$t not found (run tools/deps.sh)"
	done
	build=$(cd "$build" && pwd) || die "no build dir"
	kver=$(kernel_release "$image") || die "$image is not a bzImage"
	if [ -z "$modroot" ]; then
		modroot=/
		[ -d "$(dirname "$image")/lib/modules/$kver" ] && modroot=$(dirname "$image")
	fi
	mkdir -p "$build/vmtest-work"
	work=$(mktemp -d "$build/vmtest-work/$kver.XXXXXX")
	root=$work/root
	[ "$keep" = 1 ] || trap 'rm -rf "$work"' EXIT
	t0=$(date +%s)
	make_layout
	put_tools
	put_tests
	put_modules "$kver"
	# Absolute timing bounds mean nothing under emulation: relax them.
	# BM_VMTEST tells tests they run in a guest (value: the accelerator).
	{
		echo "export BM_VMTEST=${VMTEST_ACCEL:-tcg} VMTEST_JOBS=$jobs"
		[ "${VMTEST_ACCEL:-tcg}" = kvm ] || echo "export BM_PERF_MAX_NS=${VMTEST_PERF_MAX_NS:-100000}"
	} >"$root/vmtest/config"
	# CI=true turns skips into failures inside the guest, as on the host.
	if [ "$allow_skip" = 1 ]; then
		echo 'unset CI' >>"$root/vmtest/config"
	else
		printf 'export CI=%q\n' "${CI:-}" >>"$root/vmtest/config"
	fi
	initrd=$work/initramfs.cpio.gz
	(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) >"$initrd"
	echo "vmtest: kernel $kver, initramfs $(du -h "$initrd" | cut -f1)," \
		"staged in $(($(date +%s) - t0))s; booting (limit ${vm_timeout}s)"
	log=$build/vmtest-work/$kver.log
	boot "$image" "$initrd" "$log"
	rc=$(sed -n 's/^VMTEST-RESULT: \([0-9]*\)$/\1/p' "$log" | tail -n1)
	echo "vmtest: kernel $kver done in $(($(date +%s) - t0))s, log $log"
	[ "$keep" = 1 ] && echo "vmtest: kept $work"
	if [ -z "$rc" ]; then
		[ "$qemu_rc" = 124 ] || [ "$qemu_rc" = 137 ] && {
			echo "vmtest: FAIL: guest did not finish within ${vm_timeout}s"
			exit 124
		}
		echo "vmtest: FAIL: guest ended without a result (qemu exit $qemu_rc; panic?)"
		exit 1
	fi
	exit "$rc"
}

main "$@"
