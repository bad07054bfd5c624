// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The bare baseline for benchmarks and for the libxdp dispatcher: pass all. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int bm_xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
