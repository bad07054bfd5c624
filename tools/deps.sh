#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Install every Debian 12 package bpfmesh needs to build, test and run.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  build-essential cmake pkg-config clang llvm libc6-dev linux-libc-dev \
  libbpf-dev libxdp-dev xdp-tools bpftool \
  libsodium-dev libnl-3-dev libnl-route-3-dev libjansson-dev libfyaml-dev \
  nats-server libnats-dev libcunit1-dev \
  slirp4netns uidmap iproute2 nftables procps psmisc util-linux kmod \
  openssl valgrind python3 \
  qemu-system-x86 busybox-static cpio zstd xz-utils >/dev/null
