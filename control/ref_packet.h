/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The verdict the XDP program gives a whole frame, computed in userland:
 * pkt_parse() for the packet-level rules (bpf/lib/parse.h), the fragment
 * rule (bpf/lib/flow.h), then policy_eval() (or tables_eval()) for the tuple.
 *
 * It models the program with an empty flow cache (or BM_CFG_F_FLOW_CACHE
 * off) and a loaded generation: ALLOW_FLOW, ALLOW_REPLY, ALLOW_NO_POLICY
 * and DENY_INTERNAL never come out of it. Fragment records live in a
 * ref_frag_state the caller owns, the counterpart of bm_frags; pass NULL
 * to model a program that has recorded nothing (a dry run records nothing).
 *
 * Anti-spoofing (bpf/abi/guard.h) comes first: an IP frame whose source the
 * ingress interface's guard does not list gets deny DENY_SPOOFED. The *_guarded
 * variants take that guard (NULL: the interface has none); the others model
 * an interface without a guard.
 *
 * Results for frames that get no policy lookup (malformed, not IP, ND,
 * spoofed): rule_id 0, src_id and dst_id 0, is_auth_required false.
 */
#ifndef BM_REF_PACKET_H
#define BM_REF_PACKET_H

#include <stddef.h>
#include <stdint.h>

#include <abi/abi.h>

#include "policy_eval.h"
#include "policy_model.h"
#include "tables.h"

/* One recorded datagram: an allowed first fragment. */
struct ref_frag {
	struct bm_frag_key key;
	uint32_t src_id;
	uint32_t dst_id;
	uint32_t rule_id;
};

struct ref_frag_state {
	struct ref_frag *items;
	size_t n;
	size_t cap;
};

/* An empty state. Cannot fail. */
void ref_frag_state_init(struct ref_frag_state *s);

/* Free the records (not s). NULL-safe, idempotent. */
void ref_frag_state_release(struct ref_frag_state *s);

/*
 * Judge frame (len bytes, from its Ethernet header) on model m. auth may be
 * NULL; frags may be NULL. Fills *out. Returns 0, -ENOMEM (recording a
 * fragment), or policy_eval()'s error.
 */
int ref_packet_verdict(const struct pm_model *m, const void *frame, size_t len,
		       const struct pe_auth *auth, struct ref_frag_state *frags,
		       struct pe_result *out);

/* The same on compiled tables (tables_eval() order, see tables_eval.h). */
int ref_packet_verdict_tables(const struct bm_tables *tb, const void *frame, size_t len,
			      const struct pe_auth *auth, struct ref_frag_state *frags,
			      struct pe_result *out);

/* ref_packet_verdict() for a frame entering an interface with guard (may be NULL). */
int ref_packet_verdict_guarded(const struct pm_model *m, const struct bm_ifguard *guard,
			       const void *frame, size_t len, const struct pe_auth *auth,
			       struct ref_frag_state *frags, struct pe_result *out);

/* ref_packet_verdict_tables() for a frame entering an interface with guard (may be NULL). */
int ref_packet_verdict_tables_guarded(const struct bm_tables *tb, const struct bm_ifguard *guard,
				      const void *frame, size_t len, const struct pe_auth *auth,
				      struct ref_frag_state *frags, struct pe_result *out);

#endif /* BM_REF_PACKET_H */
