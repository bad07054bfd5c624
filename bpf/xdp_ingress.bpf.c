// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Placeholder: the identity-authorizing XDP program (bm_xdp_ingress). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "maps.h"

/* Set through rodata by a dry-run instance (see bm_verdict_record). */
const volatile __u32 bm_dry_run;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bm_verdict_record);
} bm_last SEC(".maps");

SEC("xdp")
int bm_xdp_ingress(struct xdp_md *ctx)
{
	__u32 zero = 0;
	struct bm_verdict_record *rec;

	if (bm_dry_run) {
		rec = bpf_map_lookup_elem(&bm_last, &zero);
		if (rec) {
			rec->xdp_action = XDP_PASS;
			rec->reason = BM_REASON_ALLOW_NO_POLICY;
		}
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
