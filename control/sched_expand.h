/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * From the workload model to the scheduler's inputs: Node objects become the
 * membership view, Pods, Deployments and StatefulSets their replicas, keyed
 * as docs/scheduler.md says (NS/NAME/ORDINAL for StatefulSets,
 * NS/NAME/TEMPLATE-HASH/INDEX for Deployments, NS/NAME/0 for Pods).
 * DaemonSets are not placed: each node runs one where the pod spec fits.
 */
#ifndef BM_SCHED_EXPAND_H
#define BM_SCHED_EXPAND_H

#include "sched_place.h"
#include "workload_model.h"

struct sched_batch {
	struct sched_node *nodes; /* borrow strings and labels from the model */
	size_t n_nodes;
	struct sched_taint **taints; /* per node, owned */
	struct sched_replica *reps;
	const struct wl_object **owner; /* per replica: its workload */
	size_t n_reps;
	char **keys; /* per replica, owned */
};

/*
 * Fill b from m (which must outlive b). Returns 0 or -ENOMEM (b released).
 * Release with sched_batch_release().
 */
int sched_batch_from_model(const struct wl_model *m, struct sched_batch *b);

/* Free what b owns. NULL-safe. */
void sched_batch_release(struct sched_batch *b);

#endif /* BM_SCHED_EXPAND_H */
