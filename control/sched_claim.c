// SPDX-License-Identifier: GPL-2.0-only
/* The StatefulSet claim rule (see sched_claim.h): CAS admits one holder, leases fence. */
#include <string.h>

#include "sched_claim.h"

static bool is_me(const struct sched_claim_in *in, const char *node)
{
	return node && *node && !strcmp(node, in->me);
}

/* See sched_claim.h. */
enum sched_claim_action sched_claim_decide(const struct sched_claim_in *in)
{
	bool is_free = !in->holder || !*in->holder;

	if (is_me(in, in->holder)) {
		if (!is_me(in, in->owner))
			return SCHED_CLAIM_RELEASE;
		if (in->renew_age_ms * 2 >= in->lease_ms)
			return SCHED_CLAIM_FENCED;
		return in->renew_age_ms * 3 >= in->lease_ms ? SCHED_CLAIM_RENEW : SCHED_CLAIM_RUN;
	}
	if (!is_me(in, in->owner))
		return SCHED_CLAIM_IDLE;
	if (is_free || in->claim_age_ms >= in->lease_ms)
		return SCHED_CLAIM_ACQUIRE;
	return SCHED_CLAIM_IDLE;
}
