// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bm_bench_tx: the traffic generator of tools/bench/bench_veth_pps.c. Run
 * with BPF_PROG_TEST_RUN and BPF_F_TEST_XDP_LIVE_FRAMES on a veth's context,
 * every XDP_TX sends the test frame out of that veth for real. With
 * nr_flows > 1 the UDP source port cycles through nr_flows values from
 * sport_base, so the receiver sees that many distinct flows.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

const volatile __u32 nr_flows = 1;
const volatile __u32 sport_base = 1024;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} bm_tx_seq SEC(".maps");

SEC("xdp")
int bm_bench_tx(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct udphdr *udp;
	__u32 zero = 0, *seq;

	if (nr_flows <= 1)
		return XDP_TX;
	/* the frame is ours: Ethernet, IPv4 without options, UDP */
	udp = data + sizeof(struct ethhdr) + sizeof(struct iphdr);
	if ((void *)(udp + 1) > data_end) /* verifier: bound the header */
		return XDP_TX;
	seq = bpf_map_lookup_elem(&bm_tx_seq, &zero);
	if (!seq)
		return XDP_TX;
	udp->source = bpf_htons((__u16)(sport_base + *seq % nr_flows));
	*seq += 1;
	return XDP_TX;
}

/*
 * bm_bench_drop: attached to the receiving veth, the cheapest possible
 * receiver. The rate it reaches is the generator's own ceiling (the
 * generator and the receive path share one CPU, see bench_veth_pps.c).
 */
SEC("xdp")
int bm_bench_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
