/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * StatefulSet ordinals run at most once: the node that placement names
 * claims the ordinal in a KV bucket with compare-and-set, holds it under a
 * lease it renews, and runs the replica only while it holds a fresh lease.
 * This is the pure decision; the agent does the I/O. Rules (docs/scheduler.md):
 *
 *  - a free or absent claim is taken (CAS on its revision, 0: create) by the
 *    node its own view's placement names, and by no other;
 *  - another node's claim is taken over only once it has not changed for a
 *    whole lease (its holder failed or is cut off), again only by the node
 *    placement names;
 *  - the holder renews every lease/3 and stops the replica as soon as its
 *    last successful renewal is lease/2 old (fencing: a cut-off holder
 *    stops before anyone may take over);
 *  - a holder whose view names another node stops, then frees the claim.
 *
 * Views that disagree therefore never run an ordinal twice (the CAS admits
 * one holder at a time and leases fence the rest), and they converge: once
 * views agree, the named node ends up the holder within about one lease.
 */
#ifndef BM_SCHED_CLAIM_H
#define BM_SCHED_CLAIM_H

#include <stdbool.h>
#include <stdint.h>

enum sched_claim_action {
	SCHED_CLAIM_IDLE, /* do not run the replica */
	SCHED_CLAIM_RUN, /* run it (we hold a fresh lease) */
	SCHED_CLAIM_RENEW, /* run it and renew: CAS the claim on its revision */
	SCHED_CLAIM_ACQUIRE, /* CAS the claim to us on its revision; run once that succeeds */
	SCHED_CLAIM_RELEASE, /* stop the replica, then CAS the claim to free */
	SCHED_CLAIM_FENCED, /* stop the replica (lease too old); try to renew */
};

struct sched_claim_in {
	const char *me;
	const char *owner; /* placement's answer in my view; NULL: none fits */
	const char *holder; /* the claim's node; NULL or "": free or absent */
	uint64_t claim_age_ms; /* since I saw the claim's revision change */
	uint64_t renew_age_ms; /* since my last successful renewal (when I hold it) */
	uint64_t lease_ms; /* > 0; the agent uses its --dead-after-ms */
};

/* What node in->me does about one ordinal. Cannot fail. */
enum sched_claim_action sched_claim_decide(const struct sched_claim_in *in);

#endif /* BM_SCHED_CLAIM_H */
