/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Rolling updates without a controller: from the same observed state (each
 * generation's running and ready replica counts, as published endpoints
 * show them) every agent computes the same target count per generation, and
 * runs only the replicas whose index is below its generation's target.
 * Kubernetes' RollingUpdate semantics:
 *
 *  - at most desired + maxSurge replicas exist (maxSurge: a count, or a
 *    percentage of desired rounded up);
 *  - at least desired - maxUnavailable replicas are ready (maxUnavailable
 *    rounded down), except that replicas which are not ready may always go;
 *  - the newest generation grows as far as the surge allows, the older ones
 *    shrink oldest first as far as availability allows.
 */
#ifndef BM_SCHED_ROLLOUT_H
#define BM_SCHED_ROLLOUT_H

#include <stddef.h>
#include <stdint.h>

#include "workload_model.h"

struct sched_generation {
	uint32_t running; /* replicas that exist */
	uint32_t ready; /* of those, ready */
};

/*
 * gens[0..n-1] oldest first; gens[n-1] is the current template. Fills
 * target[0..n-1]. desired is the Deployment's replicas. Cannot fail.
 */
void sched_rollout(uint32_t desired, const struct wl_int_or_percent *max_surge,
		   const struct wl_int_or_percent *max_unavailable,
		   const struct sched_generation *gens, size_t n, uint32_t *target);

#endif /* BM_SCHED_ROLLOUT_H */
