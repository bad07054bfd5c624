/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Every map of the data plane, in one place. All are pinned by name under the
 * controller's pin root so that enforcement outlives the command and socket
 * programs (sockops, cgroup hooks) share them. The generational maps are
 * ARRAY_OF_MAPS with BM_GEN_SLOTS slots; their inner maps are created by userland
 * (control/tables_install.c) with exactly the flags of the templates here.
 */
#ifndef BM_BPF_MAPS_H
#define BM_BPF_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "abi/abi.h"

/*
 * Outer map with BM_GEN_SLOTS slots. The inner template gives key and value sizes
 * rather than BTF types: clang emits struct types reached only through the
 * nested template as forward declarations, which libbpf cannot size.
 */
#define BM_OUTER(name, inner_type, inner_key, inner_value, inner_flags)                           \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);                                          \
		__uint(max_entries, BM_GEN_SLOTS);                                                 \
		__type(key, __u32);                                                                \
		__uint(pinning, LIBBPF_PIN_BY_NAME);                                               \
		__array(values, struct {                                                           \
			__uint(type, inner_type);                                                  \
			__uint(max_entries, 1);                                                    \
			__uint(map_flags, inner_flags);                                            \
			__uint(key_size, sizeof(inner_key));                                       \
			__uint(value_size, sizeof(inner_value));                                   \
		});                                                                                \
	} name SEC(".maps")

BM_OUTER(bm_host4_o, BPF_MAP_TYPE_HASH, struct bm_host4_key, struct bm_ipcache_value, 0);
BM_OUTER(bm_host6_o, BPF_MAP_TYPE_HASH, struct bm_host6_key, struct bm_ipcache_value, 0);
BM_OUTER(bm_cidr4_o, BPF_MAP_TYPE_LPM_TRIE, struct bm_cidr4_key, struct bm_ipcache_value,
	 BPF_F_NO_PREALLOC);
BM_OUTER(bm_cidr6_o, BPF_MAP_TYPE_LPM_TRIE, struct bm_cidr6_key, struct bm_ipcache_value,
	 BPF_F_NO_PREALLOC);
BM_OUTER(bm_policy_o, BPF_MAP_TYPE_HASH, struct bm_policy_key, struct bm_policy_value, 0);
BM_OUTER(bm_ports_o, BPF_MAP_TYPE_HASH, struct bm_port_key, struct bm_port_value, 0);
/* The range pool (abi/policy.h): sized per generation, hence BPF_F_INNER_MAP. */
BM_OUTER(bm_ranges_o, BPF_MAP_TYPE_ARRAY, __u32, struct bm_port_range, BPF_F_INNER_MAP);

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct bm_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bm_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BM_AUTH_MAX);
	__type(key, struct bm_auth_key);
	__type(value, struct bm_auth_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bm_auth SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, BM_FLOWS_MAX);
	__type(key, struct bm_flow_key);
	__type(value, struct bm_flow_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bm_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, BM_FRAGS_MAX);
	__type(key, struct bm_frag_key);
	__type(value, struct bm_frag_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bm_frags SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BM_PAIR_SLOTS);
	__type(key, struct bm_pair_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bm_pair_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BM_PAIR_SLOTS);
	__type(key, __u32);
	__type(value, struct bm_pair_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bm_pair_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BM_REASON_MAX);
	__type(key, __u32);
	__type(value, struct bm_reason_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bm_reasons SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bm_alloc);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bm_alloc SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BM_IFGUARD_MAX);
	__type(key, struct bm_ifguard_key);
	__type(value, struct bm_ifguard);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bm_ifguard SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bm_event_budget);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bm_event_budget SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, BM_EVENTS_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bm_events SEC(".maps");

#endif /* BM_BPF_MAPS_H */
