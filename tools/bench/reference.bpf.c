// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bm_bench_ref: the "straightforward" per-packet policy check the issue
 * quotes for scale, measured by bench_xdp next to bm_xdp_ingress: two
 * LPM-trie lookups (source and destination address to an identity) and
 * two hash lookups (the identity pair, the destination's port), no flow
 * cache, no counters. Allows when all four hit.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define REF_MAX_ENTRIES (1U << 21)

struct ref_lpm_key {
	__u32 prefixlen;
	__be32 addr;
};

struct ref_pair_key {
	__u32 src_id;
	__u32 dst_id;
};

struct ref_port_key {
	__u32 id;
	__u16 port; /* host order */
	__u16 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, REF_MAX_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct ref_lpm_key);
	__type(value, __u32);
} ref_ids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, REF_MAX_ENTRIES);
	__type(key, struct ref_pair_key);
	__type(value, __u32);
} ref_pairs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, REF_MAX_ENTRIES);
	__type(key, struct ref_port_key);
	__type(value, __u32);
} ref_ports SEC(".maps");

SEC("xdp")
int bm_bench_ref(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct ref_lpm_key sk = {.prefixlen = 32}, dk = {.prefixlen = 32};
	struct ref_port_key port = {};
	struct ref_pair_key pair;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);
	__u32 *sid, *did;

	if ((void *)(udp + 1) > data_end) /* verifier: bound all three headers */
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5 || ip->protocol != IPPROTO_UDP)
		return XDP_PASS;
	sk.addr = ip->saddr;
	dk.addr = ip->daddr;
	sid = bpf_map_lookup_elem(&ref_ids, &sk);
	did = bpf_map_lookup_elem(&ref_ids, &dk);
	if (!sid || !did)
		return XDP_DROP;
	pair.src_id = *sid;
	pair.dst_id = *did;
	if (!bpf_map_lookup_elem(&ref_pairs, &pair))
		return XDP_DROP;
	port.id = *did;
	port.port = bpf_ntohs(udp->dest);
	if (!bpf_map_lookup_elem(&ref_ports, &port))
		return XDP_DROP;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
