// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bm_xdp_ingress: authorize every packet by (source identity, destination
 * identity, protocol, port). Parse the frame (lib/parse.h), resolve both
 * addresses (lib/ipcache.h), decide through the flow cache or the policy of
 * the current generation (lib/flow.h, lib/policy.h), account (lib/telemetry.h).
 * Denies are XDP_DROP, allows XDP_PASS. Before any of that, a packet whose
 * source the ingress interface's guard does not list is dropped as spoofed
 * (lib/guard.h), even with no policy loaded.
 *
 * A dry-run instance (rodata bm_dry_run = 1) reads the same state but writes
 * none: no flow, fragment, counter, pair slot or event. It records its verdict
 * in the private map bm_last instead.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "abi/abi.h"
#include "maps.h"
#include "lib/parse.h"
#include "lib/ipcache.h"
#include "lib/policy.h"
#include "lib/flow.h"
#include "lib/guard.h"
#include "lib/telemetry.h"

/* Set through rodata by a dry-run instance (see bm_verdict_record). */
const volatile __u32 bm_dry_run;
/*
 * Set with bm_dry_run by `policy check --bpf`: judge by policy alone, as for
 * a new flow, without consulting the flow cache or fragment records.
 */
const volatile __u32 bm_policy_only;

/* Not pinned: each dry-run instance has its own. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bm_verdict_record);
} bm_last SEC(".maps");

static __always_inline void record_verdict(__u32 generation, const struct bm_verdict *v,
					   __u32 action)
{
	struct bm_verdict_record *rec;
	__u32 zero = 0;

	rec = bpf_map_lookup_elem(&bm_last, &zero);
	if (!rec)
		return;
	rec->xdp_action = action;
	rec->rule_id = v->rule_id;
	rec->src_id = v->src_id;
	rec->dst_id = v->dst_id;
	rec->generation = generation;
	rec->verdict = v->verdict;
	rec->reason = v->reason;
	rec->pad = 0;
}

SEC("xdp")
int bm_xdp_ingress(struct xdp_md *ctx)
{
	struct bm_verdict v = {};
	struct bm_pkt pkt = {};
	struct bm_config *cfg;
	__u32 zero = 0, gen = 0, action;

	cfg = bpf_map_lookup_elem(&bm_config, &zero);
	if (cfg)
		gen = *(volatile __u32 *)&cfg->generation; /* once: one generation per packet */
	v.reason = bm_parse(ctx, &pkt);
	if (v.reason == BM_PARSE_OK && !bm_policy_only && bm_guard_is_spoofed(ctx, &pkt))
		bm_verdict_set(&v, BM_VERDICT_DENY, BM_REASON_DENY_SPOOFED);
	else if (!gen)
		bm_verdict_set(&v, BM_VERDICT_ALLOW, BM_REASON_ALLOW_NO_POLICY);
	else if (v.reason == BM_PARSE_OK)
		bm_judge(ctx, cfg, gen, &pkt, &v, bm_dry_run, bm_policy_only);
	else
		v.verdict = bm_reason_is_deny(v.reason) ? BM_VERDICT_DENY : BM_VERDICT_ALLOW;
	action = v.verdict == BM_VERDICT_DENY ? XDP_DROP : XDP_PASS;
#ifdef BM_DEBUG
	bpf_printk("bm_xdp_ingress: reason %u rule %u ids %u->%u", v.reason, v.rule_id, v.src_id,
		   v.dst_id);
#endif
	if (bm_dry_run)
		record_verdict(gen, &v, action);
	else
		bm_account(ctx, cfg, gen, &pkt, &v);
	return action;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
