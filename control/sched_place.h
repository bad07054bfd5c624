/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * (Not sched.h: that name would shadow <sched.h> for every file on this
 * include path.) Placement without a coordinator: a pure function every agent evaluates on
 * the same inputs (membership view, replicas, previous placement) and so
 * gets the same answer. docs/scheduler.md states the rules; in short:
 *
 *  - a node fits a replica when its allocatable resources cover the
 *    requests, its labels satisfy nodeSelector and the required node affinity
 *    terms, and every NoSchedule/NoExecute taint is tolerated;
 *  - among fitting nodes, a replica's preference order is weighted
 *    rendezvous hashing, score = -weight / ln(u), u = hash(node, replica key)
 *    in (0,1), weight = allocatable CPU; two levels (128 fixed buckets of
 *    nodes, then the nodes of a bucket) so a placement costs ~B + n/B hashes;
 *  - loads are bounded (consistent hashing with bounded loads): a node takes
 *    a replica only while its CPU requests stay within load_factor times the
 *    cluster's mean utilisation, else the replica goes to its next choice;
 *  - replicas are placed in a canonical order (key hash, then key), so the
 *    bounded choices are deterministic too;
 *  - with a previous placement, replicas stay where they are while their
 *    node is in the view, fits and has room; the replicas of departed nodes
 *    are placed anew; a replica moves to a joined node only if that node is
 *    its first choice and has room. A failure thus moves exactly the failed
 *    node's replicas, a join at most the joined node's bounded share.
 */
#ifndef BM_SCHED_PLACE_H
#define BM_SCHED_PLACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "workload_model.h"

#define SCHED_BUCKETS 128
#define SCHED_LOAD_FACTOR_DEFAULT 1.05
/* The load a replica without a CPU request counts for when balancing. */
#define SCHED_MIN_CPU_MILLI 10

struct sched_taint {
	const char *key;
	const char *value;
	enum wl_taint_effect effect;
};

/* One member of the view (borrowed by the view; must outlive it). */
struct sched_node {
	const char *name; /* unique */
	uint64_t cpu_milli; /* allocatable */
	uint64_t mem_bytes;
	const struct pm_labels *labels; /* NULL: none */
	const struct sched_taint *taints;
	size_t n_taints;
};

/* A membership view prepared for placement. */
struct sched_view {
	const struct sched_node *nodes;
	size_t n;
	uint64_t *hash; /* per node, of its name */
	uint32_t *by_bucket; /* node indices grouped by bucket, in index order within one */
	uint32_t bucket_start[SCHED_BUCKETS + 1];
	uint64_t total_cpu_milli;
};

/* One replica to place. key is NS/NAME/ORDINAL or NS/NAME/TEMPLATE-HASH/INDEX. */
struct sched_replica {
	const char *key;
	const struct wl_pod_spec *pod; /* constraints; NULL: none */
	struct wl_resources req; /* per replica */
};

/* What a node already carries from replicas placed elsewhere (sched_topic.h). */
struct sched_load {
	uint64_t cpu_milli, mem_bytes; /* requests */
	uint64_t load; /* balancing load: CPU requests, at least SCHED_MIN_CPU_MILLI each */
};

struct sched_opts {
	double load_factor; /* >= 1; 0: SCHED_LOAD_FACTOR_DEFAULT */
	const int32_t *prev; /* per replica, a node index in this view or -1; NULL: none */
	const bool *is_joined; /* per node: not in the previous view; NULL: none */
	/*
	 * Per node, load placed before these replicas: it takes room and
	 * counts toward the load bound (and the mean it is relative to).
	 * NULL: none.
	 */
	const struct sched_load *base;
};

/*
 * Prepare v over the n nodes (borrowed). Returns 0, or -ENOMEM. Release with
 * sched_view_release().
 */
int sched_view_init(struct sched_view *v, const struct sched_node *nodes, size_t n);

/* Free what v owns. NULL-safe, idempotent. */
void sched_view_release(struct sched_view *v);

/* The balancing load replica r adds to its node. Cannot fail. */
uint64_t sched_load_of(const struct sched_replica *r);

/* Does node fit the replica's constraints and (static) resources? Cannot fail. */
bool sched_node_fits(const struct sched_node *node, const struct sched_replica *r);

/* A 64-bit hash of a string (FNV-1a, then mixed). Cannot fail. */
uint64_t sched_hash_str(const char *s);

/* The rendezvous score of node_hash for key_hash with weight; higher wins. Cannot fail. */
double sched_score(uint64_t node_hash, uint64_t key_hash, double weight);

/*
 * Place the n replicas on v's nodes: out[i] is a node index, or -1 when no
 * node fits. Deterministic in (v, replicas, opts). Returns the number of
 * replicas left unplaced (>= 0), or -ENOMEM.
 */
int sched_place(const struct sched_view *v, const struct sched_replica *reps, size_t n,
		const struct sched_opts *opts, int32_t *out);

/*
 * Translate a placement on view old into view new: prev[i] is the index in
 * new of the node old_assign[i] names, or -1 (departed or unplaced);
 * is_joined[j] says node j of new is not in old. Returns 0 or -ENOMEM.
 */
int sched_remap(const struct sched_view *old, const int32_t *old_assign, size_t n,
		const struct sched_view *new, int32_t *prev, bool *is_joined);

/*
 * Replicas whose node (by name) differs between two placements, on views
 * old and new; their indices go to moved (may be NULL; room for n). Counts
 * a replica unplaced on either side as moved only if placed on the other.
 * Returns the count. Cannot fail.
 */
size_t sched_moves(const struct sched_view *old, const int32_t *old_assign,
		   const struct sched_view *new, const int32_t *new_assign, size_t n,
		   size_t *moved);

#endif /* BM_SCHED_PLACE_H */
