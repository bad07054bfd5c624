/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The live-run check shared by the XDP parse and verdict tests: run frame b
 * through the live program and assert the action, exactly one more count of
 * reason (packets and bytes), and for a deny exactly one event describing it
 * (no event for an allow: the fixtures sample no allows).
 */
#ifndef BM_TESTS_XDP_EXPECT_H
#define BM_TESTS_XDP_EXPECT_H

#include <stdio.h>

#include <CUnit/CUnit.h>

#include "pkt_build.h"
#include "xdp_fixture.h"

static inline void xfx_expect_live(struct xfx *f, const struct pb *b, uint8_t reason)
{
	struct bm_reason_stats before = xfx_reason(f, reason), after;
	bool is_deny = bm_reason_is_deny(reason);
	struct bm_verdict_record rec;
	unsigned int events;

	xfx_events(f);
	CU_ASSERT_EQUAL_FATAL(dp_test_run(f->live, b->d, b->len, &rec), 0);
	CU_ASSERT_EQUAL(rec.xdp_action, is_deny ? XDP_DROP : XDP_PASS);
	after = xfx_reason(f, reason);
	CU_ASSERT_EQUAL(after.packets, before.packets + 1);
	CU_ASSERT_EQUAL(after.bytes, before.bytes + b->len);
	if (after.packets != before.packets + 1)
		fprintf(stderr, "  live: reason %u not counted\n", reason);
	events = xfx_events(f);
	CU_ASSERT_EQUAL(events, is_deny ? 1u : 0u);
	if (events && is_deny) {
		CU_ASSERT_EQUAL(f->last_event.reason, reason);
		CU_ASSERT_EQUAL(f->last_event.verdict, BM_VERDICT_DENY);
		CU_ASSERT_EQUAL(f->last_event.pkt_len, b->len);
		CU_ASSERT_EQUAL(f->last_event.source, BM_EVENT_SRC_XDP);
		CU_ASSERT_EQUAL(f->last_event.generation, f->generation);
	}
}

#endif /* BM_TESTS_XDP_EXPECT_H */
