// SPDX-License-Identifier: GPL-2.0-only
/* Rolling update targets per generation (see sched_rollout.h). */
#include "sched_rollout.h"

static uint32_t amount(const struct wl_int_or_percent *v, uint32_t desired, int is_round_up)
{
	uint64_t scaled;

	if (!v->is_percent)
		return v->value;
	scaled = (uint64_t)v->value * desired + (is_round_up ? 99 : 0);
	return (uint32_t)(scaled / 100);
}

static uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

/* See sched_rollout.h. */
void sched_rollout(uint32_t desired, const struct wl_int_or_percent *max_surge,
		   const struct wl_int_or_percent *max_unavailable,
		   const struct sched_generation *gens, size_t n, uint32_t *target)
{
	uint32_t surge = amount(max_surge, desired, 1),
		 unavail = amount(max_unavailable, desired, 0);
	uint64_t old_running = 0, ready = 0, max_total, min_ready, budget, take;
	uint32_t room, unready;
	size_t i;

	if (!n)
		return;
	if (!surge && !unavail) /* as Kubernetes: both zero would never progress */
		unavail = 1;
	max_total = (uint64_t)desired + surge;
	min_ready = desired > unavail ? desired - unavail : 0;
	for (i = 0; i < n; i++) {
		ready += gens[i].ready;
		if (i + 1 < n)
			old_running += gens[i].running;
	}
	/* the newest grows into whatever the surge leaves */
	room = max_total > old_running ? (uint32_t)(max_total - old_running) : 0;
	target[n - 1] = min_u32(desired, room > gens[n - 1].running ? room : gens[n - 1].running);
	/* the old shrink, oldest first: unready ones freely, ready ones within the budget */
	budget = ready > min_ready ? ready - min_ready : 0;
	for (i = 0; i + 1 < n; i++) {
		unready = gens[i].running - min_u32(gens[i].ready, gens[i].running);
		take = min_u32(gens[i].ready, gens[i].running);
		take = take < budget ? take : budget;
		budget -= take;
		target[i] = gens[i].running - unready - (uint32_t)take;
	}
}
