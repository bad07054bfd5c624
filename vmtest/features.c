// SPDX-License-Identifier: GPL-2.0-only
/* Feature names and first releases; see features.h. */
#include <stddef.h>

#include "features.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The UAPI mapper adds the commas; extra arguments (newer headers) are ignored. */
#define HELPER_NAME(name, ...) [BPF_FUNC_##name] = #name
static const char *const helper_names[] = {__BPF_FUNC_MAPPER(HELPER_NAME)};

struct since {
	int id;
	const char *release;
};

/* Helpers the data plane, sockets and telemetry code use or may soon use. */
static const struct since helper_since[] = {
	{BPF_FUNC_map_lookup_elem, "3.19"},
	{BPF_FUNC_ktime_get_ns, "4.1"},
	{BPF_FUNC_get_prandom_u32, "4.1"},
	{BPF_FUNC_l3_csum_replace, "4.1"},
	{BPF_FUNC_l4_csum_replace, "4.1"},
	{BPF_FUNC_redirect, "4.4"},
	{BPF_FUNC_perf_event_output, "4.4"},
	{BPF_FUNC_csum_diff, "4.6"},
	{BPF_FUNC_xdp_adjust_head, "4.10"},
	{BPF_FUNC_get_socket_cookie, "4.12"},
	{BPF_FUNC_redirect_map, "4.14"},
	{BPF_FUNC_sock_map_update, "4.14"},
	{BPF_FUNC_xdp_adjust_meta, "4.15"},
	{BPF_FUNC_sock_ops_cb_flags_set, "4.16"},
	{BPF_FUNC_msg_redirect_map, "4.17"},
	{BPF_FUNC_msg_apply_bytes, "4.17"},
	{BPF_FUNC_fib_lookup, "4.18"},
	{BPF_FUNC_sock_hash_update, "4.18"},
	{BPF_FUNC_msg_redirect_hash, "4.18"},
	{BPF_FUNC_sk_redirect_hash, "4.18"},
	{BPF_FUNC_xdp_adjust_tail, "4.18"},
	{BPF_FUNC_get_current_cgroup_id, "4.18"},
	{BPF_FUNC_get_local_storage, "4.19"},
	{BPF_FUNC_sk_lookup_tcp, "4.20"},
	{BPF_FUNC_sk_lookup_udp, "4.20"},
	{BPF_FUNC_sk_release, "4.20"},
	{BPF_FUNC_map_push_elem, "4.20"},
	{BPF_FUNC_spin_lock, "5.1"},
	{BPF_FUNC_sk_fullsock, "5.1"},
	{BPF_FUNC_tcp_sock, "5.1"},
	{BPF_FUNC_get_listener_sock, "5.1"},
	{BPF_FUNC_sk_storage_get, "5.2"},
	{BPF_FUNC_sk_storage_delete, "5.2"},
	{BPF_FUNC_get_current_ancestor_cgroup_id, "5.6"},
	{BPF_FUNC_skb_ancestor_cgroup_id, "4.19"},
	{BPF_FUNC_skc_lookup_tcp, "5.2"},
	{BPF_FUNC_jiffies64, "5.5"},
	{BPF_FUNC_probe_read_kernel, "5.5"},
	{BPF_FUNC_get_netns_cookie, "5.7"},
	{BPF_FUNC_ringbuf_output, "5.8"},
	{BPF_FUNC_ringbuf_reserve, "5.8"},
	{BPF_FUNC_ringbuf_submit, "5.8"},
	{BPF_FUNC_ringbuf_discard, "5.8"},
	{BPF_FUNC_ringbuf_query, "5.8"},
	{BPF_FUNC_ktime_get_boot_ns, "5.8"},
	{BPF_FUNC_sk_cgroup_id, "5.8"},
	{BPF_FUNC_skc_to_tcp_sock, "5.9"},
	{BPF_FUNC_load_hdr_opt, "5.10"},
	{BPF_FUNC_store_hdr_opt, "5.10"},
	{BPF_FUNC_ktime_get_coarse_ns, "5.11"},
	{BPF_FUNC_check_mtu, "5.12"},
	{BPF_FUNC_for_each_map_elem, "5.13"},
	{BPF_FUNC_snprintf, "5.13"},
	{BPF_FUNC_timer_init, "5.15"},
	{BPF_FUNC_loop, "5.17"},
	{BPF_FUNC_xdp_get_buff_len, "5.18"},
	{BPF_FUNC_xdp_load_bytes, "5.18"},
	{BPF_FUNC_xdp_store_bytes, "5.18"},
	{BPF_FUNC_dynptr_from_mem, "5.19"},
	{BPF_FUNC_ktime_get_tai_ns, "6.1"},
	{BPF_FUNC_user_ringbuf_drain, "6.1"},
};

static const struct since map_since[] = {
	{BPF_MAP_TYPE_HASH, "3.19"},	       {BPF_MAP_TYPE_ARRAY, "3.19"},
	{BPF_MAP_TYPE_PROG_ARRAY, "4.2"},      {BPF_MAP_TYPE_PERF_EVENT_ARRAY, "4.3"},
	{BPF_MAP_TYPE_PERCPU_HASH, "4.6"},     {BPF_MAP_TYPE_PERCPU_ARRAY, "4.6"},
	{BPF_MAP_TYPE_LRU_HASH, "4.10"},       {BPF_MAP_TYPE_LRU_PERCPU_HASH, "4.10"},
	{BPF_MAP_TYPE_LPM_TRIE, "4.11"},       {BPF_MAP_TYPE_ARRAY_OF_MAPS, "4.12"},
	{BPF_MAP_TYPE_HASH_OF_MAPS, "4.12"},   {BPF_MAP_TYPE_DEVMAP, "4.14"},
	{BPF_MAP_TYPE_SOCKMAP, "4.14"},	       {BPF_MAP_TYPE_CPUMAP, "4.15"},
	{BPF_MAP_TYPE_XSKMAP, "4.18"},	       {BPF_MAP_TYPE_SOCKHASH, "4.18"},
	{BPF_MAP_TYPE_CGROUP_STORAGE, "4.19"}, {BPF_MAP_TYPE_QUEUE, "4.20"},
	{BPF_MAP_TYPE_SK_STORAGE, "5.2"},      {BPF_MAP_TYPE_DEVMAP_HASH, "5.4"},
	{BPF_MAP_TYPE_STRUCT_OPS, "5.6"},      {BPF_MAP_TYPE_RINGBUF, "5.8"},
	{BPF_MAP_TYPE_INODE_STORAGE, "5.10"},  {BPF_MAP_TYPE_TASK_STORAGE, "5.11"},
	{BPF_MAP_TYPE_BLOOM_FILTER, "5.16"},   {BPF_MAP_TYPE_USER_RINGBUF, "6.1"},
};

static const struct since prog_since[] = {
	{BPF_PROG_TYPE_SOCKET_FILTER, "3.19"},
	{BPF_PROG_TYPE_SCHED_CLS, "4.1"},
	{BPF_PROG_TYPE_SCHED_ACT, "4.1"},
	{BPF_PROG_TYPE_XDP, "4.8"},
	{BPF_PROG_TYPE_CGROUP_SKB, "4.10"},
	{BPF_PROG_TYPE_CGROUP_SOCK, "4.10"},
	{BPF_PROG_TYPE_SOCK_OPS, "4.13"},
	{BPF_PROG_TYPE_SK_SKB, "4.14"},
	{BPF_PROG_TYPE_SK_MSG, "4.17"},
	{BPF_PROG_TYPE_CGROUP_SOCK_ADDR, "4.17"},
	{BPF_PROG_TYPE_CGROUP_SOCKOPT, "5.3"},
	{BPF_PROG_TYPE_TRACING, "5.5"},
	{BPF_PROG_TYPE_STRUCT_OPS, "5.6"},
	{BPF_PROG_TYPE_EXT, "5.6"},
	{BPF_PROG_TYPE_LSM, "5.7"},
	{BPF_PROG_TYPE_SK_LOOKUP, "5.9"},
	{BPF_PROG_TYPE_SYSCALL, "5.14"},
};

static const char *lookup(const struct since *table, size_t n, int id)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (table[i].id == id)
			return table[i].release;
	}
	return "?";
}

/* See features.h. */
const char *feature_helper_name(int id)
{
	if (id < 0 || (size_t)id >= ARRAY_SIZE(helper_names) || !helper_names[id])
		return "unknown";
	return helper_names[id];
}

/* See features.h. */
const char *feature_helper_since(int id)
{
	return lookup(helper_since, ARRAY_SIZE(helper_since), id);
}

/* See features.h. */
const char *feature_map_since(enum bpf_map_type t)
{
	return lookup(map_since, ARRAY_SIZE(map_since), t);
}

/* See features.h. */
const char *feature_prog_since(enum bpf_prog_type t)
{
	return lookup(prog_since, ARRAY_SIZE(prog_since), t);
}
