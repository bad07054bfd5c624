/* SPDX-License-Identifier: GPL-2.0-only */
/* Internals of the agent's scheduler side (agent_sched*.c, agent_rt.c). */
#ifndef BM_AGENT_SCHED_PRIV_H
#define BM_AGENT_SCHED_PRIV_H

#include <jansson.h>

#include "sched_place.h"

struct agent;
struct agent_local;
struct agent_replica;

/* A membership view: canonical JSON (sorted by name) and the scheduler's form of it. */
struct agent_view {
	json_t *json; /* [{name, cpu_milli, mem_bytes, labels, taints, pod_cidr?, address?}] */
	struct sched_node *nodes; /* strings borrowed from json */
	struct pm_labels *labels; /* per node */
	struct sched_taint **taints; /* per node */
	char ***bufs; /* per node, per taint: the parsed copy */
	size_t n;
	struct sched_view v;
};

/*
 * This node's view entry, as its heartbeats present it to every agent
 * (labels with kubernetes.io/hostname, capacity, taints); NULL when it has
 * no usable capacity or on ENOMEM.
 */
json_t *agent_view_self(const struct agent *a);

/* This node and every alive peer with usable capacity, sorted by name; NULL on ENOMEM. */
json_t *agent_view_json(const struct agent *a);

/* Build out from the current membership. 0 or -ENOMEM. */
int agent_view_build(const struct agent *a, struct agent_view *out);

/* Free what v owns. Idempotent. */
void agent_view_release(struct agent_view *v);

/* The index of node name in v, or -1. */
int agent_view_find(const struct agent_view *v, const char *name);

/*
 * agent_rt.c: the runtime (control/runtime.h) for the agent. open: 0 or
 * -errno (a node without --pod-cidr runs no replicas: 0, no runtime).
 */
int agent_rt_open(struct agent *a);
void agent_rt_close(struct agent *a);

/* Start r here; fills l's address and pid. 0 or -errno (logged). */
int agent_rt_start(struct agent *a, const struct agent_replica *r, struct agent_local *l);

/* Stop the replica with key. 0 or -errno. */
int agent_rt_stop(struct agent *a, const char *key);

/* Is the replica with key still running? */
bool agent_rt_is_running(struct agent *a, const char *key);

/* Routes to the alive peers' pod ranges (view entries with pod_cidr and address). */
void agent_rt_routes(struct agent *a, const json_t *view);

/*
 * agent_rollout.c: may replica INDEX of Deployment o's generation hash run
 * now? Targets come from sched_rollout() over the generations the endpoints
 * show (cached per act() pass). True for other kinds. Cannot fail.
 */
bool agent_rollout_wants(struct agent *a, const struct wl_object *o, const char *hash,
			 uint32_t index);

/*
 * The Deployment in the current model a replica key NS/NAME/HASH/INDEX
 * belongs to (whatever its current template), with hash (11 bytes) and
 * *index filled; NULL when the key is no Deployment replica's or the
 * Deployment is gone.
 */
const struct wl_object *agent_rollout_owner(const struct agent *a, const char *key, char *hash,
					    uint32_t *index);

/*
 * agent_wl_keys.c: the bucket keys a workload object NS.KIND.NAME lives
 * under now: for a placement request, every topic key the bus holds for it
 * (one, or two while a new version moves to another topic); otherwise its
 * own key if this agent holds it. *keys: bus_kv_keys_free(). 0 or -errno.
 */
int agent_wl_find(struct agent *a, const char *logical, char ***keys, size_t *n);

/*
 * The manifest text stored under bucket key (this agent's copy, else the
 * bus's) into *data (free it; NULL when the value has none). 0 or -errno
 * (-ENOENT: no such key).
 */
int agent_wl_data(struct agent *a, const char *key, char **data);

/*
 * Watch only the placement topics this node serves in bpfmesh-workloads
 * (every resource class of selector "any" and of each label of its view
 * entry, agent_view_self()), plus every Service, ServiceAccount and
 * ConfigMap; every placement topic when the labels do not fit the watcher
 * limit or the node has no view entry. Call before the first bus_watch().
 * 0 or -errno.
 */
int agent_wl_watch_keys(struct agent *a);

#endif /* BM_AGENT_SCHED_PRIV_H */
