/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Accounting of socket-level verdicts: the counters of lib/telemetry.h (one
 * "packet" per connection or datagram judged, no bytes) and flow events with
 * source BM_EVENT_SRC_SOCK, built from a connection record instead of a frame.
 */
#ifndef BM_LIB_SOCK_TELEMETRY_H
#define BM_LIB_SOCK_TELEMETRY_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "abi/abi.h"
#include "maps.h"
#include "lib/policy.h"
#include "lib/telemetry.h"

static __always_inline void bm_sock_emit(__u32 generation, const struct bm_sock_conn *c,
					 __be16 sport, const struct bm_verdict *v)
{
	struct bm_flow_event *e;

	e = bpf_ringbuf_reserve(&bm_events, sizeof(*e), 0);
	if (!e)
		return;
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_boot_ns = bpf_ktime_get_boot_ns();
	e->src_id = v->src_id;
	e->dst_id = v->dst_id;
	e->rule_id = v->rule_id;
	e->generation = generation;
	if (c->src_family == c->family) /* else the source has no address of this family */
		__builtin_memcpy(e->saddr, c->psrc, 16);
	__builtin_memcpy(e->daddr, c->pdst, 16);
	e->sport = sport;
	e->dport = bpf_htons(c->dport);
	e->proto = c->proto;
	e->family = c->family;
	e->verdict = v->verdict;
	e->reason = v->reason;
	e->source = BM_EVENT_SRC_SOCK;
	bpf_ringbuf_submit(e, 0);
}

/* Count one judged connection or datagram and report it (every deny, sampled allows). */
static __always_inline void bm_sock_account(const struct bm_config *cfg, __u32 generation,
					    const struct bm_sock_conn *c, __be16 sport,
					    struct bm_verdict *v)
{
	bm_count_reason(v->reason, 0);
	if (v->has_ids)
		bm_count_pair(v, 0);
	if (cfg && bm_event_wanted(cfg, v))
		bm_sock_emit(generation, c, sport, v);
}

#endif /* BM_LIB_SOCK_TELEMETRY_H */
