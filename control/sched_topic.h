/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Placement topics (docs/scheduler.md, "Topics for placement requests"): a
 * replica's topic is derived from its constraints, a node serves the topics
 * of every replica it could fit, and placement is computed per topic, so
 * the agents a topic reaches (its subscribers, which include every node
 * that fits one of its replicas) compute the same answer from that topic's
 * requests alone.
 *
 *  - resource class: the CPU request rounded up to a power of two of cores
 *    (class c holds requests in (2^(c-1), 2^c] cores, class 0 up to 1 core)
 *    and the memory request likewise in GiB; a node serves class (c, m) when
 *    its allocatable CPU exceeds 2^(c-1) cores (any, for c = 0) and its
 *    memory 2^(m-1) GiB, i.e. when some request of the class could fit;
 *  - selector: "any" without a nodeSelector, else the hash of the first
 *    KEY=VALUE pair in (key, value) order; a node serves "any" and the
 *    pairs of its labels.
 * Every node that fits a replica serves the replica's topic (tested).
 */
#ifndef BM_SCHED_TOPIC_H
#define BM_SCHED_TOPIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sched_place.h"

#define SCHED_TOPIC_CLASSES 16 /* per dimension: up to 2^15 cores, 2^15 GiB */
#define SCHED_TOPIC_SUBJECT_MAX 64

struct sched_topic {
	uint8_t cpu_class, mem_class;
	uint64_t selector; /* 0: any; else the hash of KEY=VALUE (never 0) */
};

/* The topic of replica r. Cannot fail. */
void sched_topic_of(const struct sched_replica *r, struct sched_topic *t);

/* Does node serve topic t (could it fit some replica of t)? Cannot fail. */
bool sched_node_serves(const struct sched_node *node, const struct sched_topic *t);

/*
 * The NATS subject of t into buf (SCHED_TOPIC_SUBJECT_MAX bytes):
 * bpfmesh.v1.sched.req.cCmM.any or bpfmesh.v1.sched.req.cCmM.sHEX16 (label
 * pairs are hashed: keys and values may hold '.', '*', '>'). Returns the
 * length, or -ENOSPC.
 */
int sched_topic_subject(const struct sched_topic *t, char *buf, size_t len);

/* Bucket keys of placement requests start so (no namespace can: "_" is not in a DNS label). */
#define SCHED_REQ_KEY_PREFIX "_p"

/* "cCmM.any" or "cCmM.sHEX16": the topic's tokens. Returns the length, or -ENOSPC. */
int sched_topic_key(const struct sched_topic *t, char *buf, size_t len);

/* "sHEX16": the selector token of a node label KEY=VALUE. Returns the length, or -ENOSPC. */
int sched_label_token(const char *key, const char *value, char *buf, size_t len);

/*
 * The bpfmesh-workloads key of o: a placement request (Pod, Deployment,
 * StatefulSet, DaemonSet) goes under its topic,
 * SCHED_REQ_KEY_PREFIX.cCmM.SELECTOR.NS.KIND.NAME, every other object
 * under NS.KIND.NAME. Returns the length, or -ENOSPC.
 */
int sched_object_key(const struct wl_object *o, char *buf, size_t len);

/*
 * sched_place() per topic: the replicas are grouped by topic and the groups
 * placed one after another, each starting from the load of the topics it
 * dominates (u's classes no larger than t's, u's selector "any" or t's:
 * every node serving t serves u, so t's subscribers can compute u too) and
 * blind to the others. opts->prev and opts->is_joined apply as in
 * sched_place(); opts->base is ignored. A topic's placement is thus a
 * function of the requests of the topics its subscribers receive, which is
 * what lets agents receive only their topics. out as sched_place(); returns
 * the number left unplaced (>= 0), or -ENOMEM. *n_topics (may be NULL) gets
 * the number of topics.
 */
int sched_place_by_topic(const struct sched_view *v, const struct sched_replica *reps, size_t n,
			 const struct sched_opts *opts, int32_t *out, size_t *n_topics);

#endif /* BM_SCHED_TOPIC_H */
