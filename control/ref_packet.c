// SPDX-License-Identifier: GPL-2.0-only
/*
 * Whole-frame reference verdicts: the packet-level layer of bm_xdp_ingress
 * (parse outcome, fragments) over a tuple evaluator. See ref_packet.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"
#include "pkt_parse.h"
#include "ref_packet.h"

/* A tuple evaluator: policy_eval() on a model or tables_eval() on tables. */
struct evaluator {
	int (*eval)(const void *ctx, const struct pe_tuple *t, const struct pe_auth *auth,
		    struct pe_result *out);
	const void *ctx;
};

static int eval_model(const void *ctx, const struct pe_tuple *t, const struct pe_auth *auth,
		      struct pe_result *out)
{
	return policy_eval(ctx, t, auth, out);
}

static int eval_tables(const void *ctx, const struct pe_tuple *t, const struct pe_auth *auth,
		       struct pe_result *out)
{
	return tables_eval(ctx, t, auth, out);
}

/* See ref_packet.h. */
void ref_frag_state_init(struct ref_frag_state *s)
{
	memset(s, 0, sizeof(*s));
}

/* See ref_packet.h. */
void ref_frag_state_release(struct ref_frag_state *s)
{
	if (!s)
		return;
	free(s->items);
	memset(s, 0, sizeof(*s));
}

static void frag_key(const struct pkt_info *info, struct bm_frag_key *k)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->saddr, info->tuple.saddr, 16);
	memcpy(k->daddr, info->tuple.daddr, 16);
	k->id = info->frag_id;
	k->proto = info->frag_proto;
	k->family = info->tuple.family;
}

static struct ref_frag *frag_find(const struct ref_frag_state *s, const struct bm_frag_key *k)
{
	size_t i;

	for (i = 0; s && i < s->n; i++) {
		if (!memcmp(&s->items[i].key, k, sizeof(*k)))
			return &s->items[i];
	}
	return NULL;
}

/* Record (or overwrite) an allowed first fragment, as bm_frags does. */
static int frag_record(struct ref_frag_state *s, const struct pkt_info *info,
		       const struct pe_result *res)
{
	struct bm_frag_key k;
	struct ref_frag *f;
	size_t cap;

	frag_key(info, &k);
	f = frag_find(s, &k);
	if (!f) {
		if (s->n == s->cap) {
			cap = s->cap ? s->cap * 2 : 16;
			f = realloc(s->items, cap * sizeof(*f));
			if (!f)
				return -ENOMEM;
			s->items = f;
			s->cap = cap;
		}
		f = &s->items[s->n++];
		f->key = k;
	}
	f->src_id = res->src_id;
	f->dst_id = res->dst_id;
	f->rule_id = res->rule_id;
	return 0;
}

static void set_result(struct pe_result *out, uint8_t verdict, uint8_t reason)
{
	out->verdict = verdict;
	out->reason = reason;
}

/*
 * The fragment rule of bpf/lib/flow.h for a non-first fragment: its record,
 * else the tuple with port 0, an ingress/egress deny reading DENY_FRAGMENT.
 */
static int judge_later_frag(const struct evaluator *ev, const struct pkt_info *info,
			    const struct pe_auth *auth, const struct ref_frag_state *frags,
			    struct pe_result *out)
{
	struct pe_tuple t = info->tuple;
	const struct ref_frag *f;
	struct bm_frag_key k;
	int err;

	frag_key(info, &k);
	f = frag_find(frags, &k);
	if (f) {
		out->src_id = f->src_id;
		out->dst_id = f->dst_id;
		out->rule_id = f->rule_id;
		set_result(out, BM_VERDICT_ALLOW, BM_REASON_ALLOW_FRAGMENT);
		return 0;
	}
	t.sport = 0;
	t.dport = 0;
	err = ev->eval(ev->ctx, &t, auth, out);
	if (err)
		return err;
	if (out->reason == BM_REASON_DENY_INGRESS || out->reason == BM_REASON_DENY_EGRESS)
		out->reason = BM_REASON_DENY_FRAGMENT;
	return 0;
}

static int judge(const struct evaluator *ev, const struct bm_ifguard *guard, const void *frame,
		 size_t len, const struct pe_auth *auth, struct ref_frag_state *frags,
		 struct pe_result *out)
{
	struct pkt_info info;
	uint8_t reason;
	int err;

	memset(out, 0, sizeof(*out));
	reason = pkt_parse(frame, len, &info);
	if (reason == PKT_PARSE_OK &&
	    guard_is_spoofed(guard, info.tuple.family, info.tuple.saddr)) {
		set_result(out, BM_VERDICT_DENY, BM_REASON_DENY_SPOOFED);
		return 0;
	}
	if (reason != PKT_PARSE_OK) {
		set_result(out, bm_reason_is_deny(reason) ? BM_VERDICT_DENY : BM_VERDICT_ALLOW,
			   reason);
		return 0;
	}
	if (info.is_later_frag)
		return judge_later_frag(ev, &info, auth, frags, out);
	err = ev->eval(ev->ctx, &info.tuple, auth, out);
	if (err)
		return err;
	if (info.is_first_frag && frags && out->verdict != BM_VERDICT_DENY)
		return frag_record(frags, &info, out);
	return 0;
}

/* See ref_packet.h. */
int ref_packet_verdict(const struct pm_model *m, const void *frame, size_t len,
		       const struct pe_auth *auth, struct ref_frag_state *frags,
		       struct pe_result *out)
{
	return ref_packet_verdict_guarded(m, NULL, frame, len, auth, frags, out);
}

/* See ref_packet.h. */
int ref_packet_verdict_tables(const struct bm_tables *tb, const void *frame, size_t len,
			      const struct pe_auth *auth, struct ref_frag_state *frags,
			      struct pe_result *out)
{
	return ref_packet_verdict_tables_guarded(tb, NULL, frame, len, auth, frags, out);
}

/* See ref_packet.h. */
int ref_packet_verdict_guarded(const struct pm_model *m, const struct bm_ifguard *guard,
			       const void *frame, size_t len, const struct pe_auth *auth,
			       struct ref_frag_state *frags, struct pe_result *out)
{
	const struct evaluator ev = {eval_model, m};

	return judge(&ev, guard, frame, len, auth, frags, out);
}

/* See ref_packet.h. */
int ref_packet_verdict_tables_guarded(const struct bm_tables *tb, const struct bm_ifguard *guard,
				      const void *frame, size_t len, const struct pe_auth *auth,
				      struct ref_frag_state *frags, struct pe_result *out)
{
	const struct evaluator ev = {eval_tables, tb};

	return judge(&ev, guard, frame, len, auth, frags, out);
}
