#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# get-kernel.sh [--cache DIR] [--suite SUITE] [PACKAGE]
#
# Fetch a Debian kernel package with `apt-get download` (default
# linux-image-amd64, which in bookworm is the 6.1 LTS kernel), unpack it, and
# keep only what vmtest boots: vmlinuz, the config, and the modules listed in
# vmtest/modules.txt with their dependencies (decompressed, re-indexed by
# depmod). The result is cached in DIR/<kernel-release>/ and the path of its
# vmlinuz is printed on stdout; a second call with the same package is free.
#
# --suite SUITE takes the package from another Debian release (bullseye: the
# 5.10 LTS kernel) through a private apt state under DIR, leaving the
# machine's apt sources alone; without it the machine's sources are used.
#
# Exit status: 0 with the path printed, 1 on error (message on stderr).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${VMTEST_CACHE:-$here/../build/vmtest-cache}
pkg=linux-image-amd64
suite=
tmp=
apt_opts=()

die() { echo "get-kernel: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
	case $1 in
	--cache) cache=$2; shift 2 ;;
	--suite) suite=$2; shift 2 ;;
	-h|--help) sed -n '3,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) die "unknown option $1" ;;
	*) pkg=$1; shift ;;
	esac
done

# Point apt at SUITE (and its security updates) in a private state dir.
use_suite() {
	local state=$cache/apt-$1

	mkdir -p "$state/lists/partial" "$state/cache/archives/partial"
	printf 'deb http://deb.debian.org/debian %s main\n' "$1" >"$state/sources.list"
	printf 'deb http://deb.debian.org/debian-security %s-security main\n' "$1" \
		>>"$state/sources.list"
	apt_opts=(-o "Dir::Etc::SourceList=$state/sources.list" -o Dir::Etc::SourceParts=/dev/null
		-o "Dir::State::Lists=$state/lists" -o "Dir::Cache=$state/cache")
	# Lists older than a day are refreshed; a failed refresh keeps old ones.
	if [ -z "$(find "$state/lists" -name '*Packages*' -mtime -1 2>/dev/null)" ]; then
		apt-get -q "${apt_opts[@]}" update >&2 || true
	fi
}

# A meta package (linux-image-amd64) depends on exactly one versioned image.
resolve_package() {
	local dep

	dep=$(apt-cache "${apt_opts[@]}" depends "$1" 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n1)
	echo "${dep:-$1}"
}

# Decompress one module if the kernel ships them compressed: busybox insmod
# in the guest only reads plain .ko files.
plain_module() {
	case $1 in
	*.ko.xz) xz -dc "$1" ;;
	*.ko.zst) zstd -qdc "$1" ;;
	*.ko.gz) gzip -dc "$1" ;;
	*) cat "$1" ;;
	esac
}

# Copy the wanted modules and their dependencies from $1 (an unpacked
# package root) to $2 (the cache entry), both for kernel release $3.
keep_modules() {
	local src=$1 dst=$2 kver=$3 mod path rel wanted

	depmod -b "$src" "$kver"
	wanted=$(grep -v '^#' "$here/modules.txt" | tr -s ' \n' ' ')
	for mod in $wanted; do
		# --show-depends prints "insmod PATH" for the module and each dependency,
		# "builtin NAME" for built-in ones, and fails for unknown modules.
		modprobe -d "$src" -S "$kver" --show-depends "$mod" 2>/dev/null |
			awk '$1 == "insmod" { print $2 }' || true
	done | sort -u | while read -r path; do
		rel=${path#"$src"/}
		rel=${rel%.xz}; rel=${rel%.zst}; rel=${rel%.gz}
		mkdir -p "$dst/$(dirname "$rel")"
		plain_module "$path" >"$dst/$rel"
	done
	cp "$src/lib/modules/$kver"/modules.{order,builtin,builtin.modinfo} \
		"$dst/lib/modules/$kver/" 2>/dev/null || true
	depmod -b "$dst" "$kver"
}

main() {
	local real deb kver entry

	[ "$(id -u)" = 0 ] || die "apt-get download needs root"
	mkdir -p "$cache"
	cache=$(cd "$cache" && pwd)
	[ -z "$suite" ] || use_suite "$suite"
	real=$(resolve_package "$pkg")
	if [ -f "$cache/$real.path" ] && [ -f "$(cat "$cache/$real.path")" ]; then
		cat "$cache/$real.path"
		return 0
	fi
	tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
	trap 'rm -rf "${tmp:-}"' EXIT
	(cd "$tmp" && apt-get download -q "${apt_opts[@]}" -o APT::Sandbox::User=root "$real" >&2) || die "apt-get download $real failed"
	deb=$(ls "$tmp"/*.deb)
	dpkg-deb -x "$deb" "$tmp/root"
	kver=$(ls "$tmp/root/lib/modules" | head -n1)
	[ -n "$kver" ] || die "$real ships no modules"
	entry=$cache/$kver
	rm -rf "$entry"
	mkdir -p "$entry/lib/modules/$kver"
	cp "$tmp/root/boot/vmlinuz-$kver" "$entry/vmlinuz"
	cp "$tmp/root/boot/config-$kver" "$entry/config" 2>/dev/null || true
	keep_modules "$tmp/root" "$entry" "$kver"
	echo "$real $(dpkg-deb -f "$deb" Version)" >"$entry/package"
	echo "$entry/vmlinuz" >"$cache/$real.path"
	echo "$entry/vmlinuz"
}

main
