/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Maps of the socket-level programs (abi/sock.h), pinned by name next to the
 * data-plane maps of maps.h so that every socket object and the controller
 * share them.
 */
#ifndef BM_BPF_SOCK_MAPS_H
#define BM_BPF_SOCK_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "abi/abi.h"

/* cgroup v2 id -> workload (written by `bpfmesh attach --cgroup`). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BM_CGROUP_IDS_MAX);
	__type(key, __u64);
	__type(value, struct bm_cgroup_ident);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bm_cgroup_ids SEC(".maps");

/* Socket 4-tuple (local -> remote) -> established connection. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, BM_SOCK_CONNS_MAX);
	__type(key, struct bm_flow_key);
	__type(value, struct bm_sock_conn);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bm_sock_conns SEC(".maps");

/* Fast-path sockets by their own 4-tuple; sk_msg redirects into the peer's. */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, BM_SOCKHASH_MAX);
	__type(key, struct bm_flow_key);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bm_sockhash SEC(".maps");

/*
 * The decision taken at connect(), kept with the socket until sockops sees
 * it established. Pinned: written by sock_connect, read by sockops.
 */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct bm_sock_conn);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bm_sock_pend SEC(".maps");

#endif /* BM_BPF_SOCK_MAPS_H */
