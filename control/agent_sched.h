/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent's scheduler side (docs/scheduler.md, "In the agent"): workload
 * objects from the bpfmesh-workloads bucket, StatefulSet claims from
 * bpfmesh-claims, the membership view from heartbeats, placement with
 * sched_place(), the replicas this node runs and the endpoints it publishes.
 * Everything runs on the agent's one thread.
 */
#ifndef BM_AGENT_SCHED_H
#define BM_AGENT_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

struct agent;
struct agent_ev;
struct wl_model;

/* One replica of the current placement. */
struct agent_replica {
	char *key; /* scheduler key: NS/NAME/ORDINAL or NS/NAME/HASH/INDEX */
	char *pod; /* pod name: NAME-ORDINAL, NAME-HASH-INDEX or NAME */
	const struct wl_object *obj; /* in sched->model */
	char node[64]; /* placement in this node's view; "" when no node fits */
	bool is_sts;
};

/* A replica this node runs (or started). */
struct agent_local {
	char *key;
	char *pod;
	char *ns;
	char address[46];
	int pid;
	uint64_t started_ms;
	bool is_published; /* its endpoint is on the bus */
	bool is_wanted; /* scratch: still wanted in this pass */
	/* Its sidecar (agent_sidecars.c). */
	int sc_pid; /* our child; 0: none runs */
	unsigned int sc_fails; /* early exits in a row: the restart backoff */
	uint64_t sc_started_ms, sc_next_ms; /* last start; no start before next */
	uint64_t sc_id_sig; /* the identity document it was started with; 0: none */
};

/* A StatefulSet claim as this node last saw it (key sts.NS.NAME.ORDINAL). */
struct agent_claim {
	char key[256];
	char holder[64]; /* "" free */
	uint64_t rev; /* last revision seen or written; 0: absent */
	uint64_t seen_ms; /* when rev last changed */
	uint64_t renew_ms; /* my last successful renewal (when I hold it) */
};

#define AGENT_ROLLOUT_GENS 8 /* generations of one Deployment considered at once */

/* One Deployment's rollout targets, computed once per pass (agent_rollout.c). */
struct agent_rollout {
	const struct wl_object *obj;
	uint64_t pass;
	size_t n;
	char hash[AGENT_ROLLOUT_GENS][11]; /* oldest first; the current template last */
	uint32_t target[AGENT_ROLLOUT_GENS];
};

/* A sidecar sent SIGTERM, not reaped yet (agent_sidecars.c). */
struct agent_sc_stopping {
	int pid;
	uint64_t kill_ms; /* SIGKILL then; UINT64_MAX: sent */
	uint64_t tag; /* its replica's key, hashed: no new sidecar there until reaped */
};

struct agent_sched {
	struct wl_model *model; /* built from the workloads bucket */
	struct agent_replica *reps;
	size_t n_reps;
	struct agent_local *local;
	size_t n_local;
	struct agent_sc_stopping *sc_stopping;
	size_t n_sc_stopping;
	struct agent_claim *claims;
	size_t n_claims;
	uint64_t view_sig, eps_sig; /* inputs of the last placement */
	bool is_dirty; /* workloads changed: rebuild the model */
	bool has_placement;
	bool is_busy; /* replicas wait to be started: tick again at once */
	uint64_t pass; /* act() passes, for the rollout cache */
	struct agent_rollout rollout;
	uint64_t next_tick_ms;
	struct rt *rt; /* the runtime; NULL when the node runs no replicas */
	json_t *view; /* the last membership view, for get nodes */
};

/* Open the scheduler state (and the runtime when cfg->pod_cidr is set). 0 or -errno. */
int agent_sched_open(struct agent *a);

/* Free the state; replicas keep running (the runtime adopts them on restart). NULL-safe. */
void agent_sched_close(struct agent *a);

/* A bpfmesh-workloads or bpfmesh-claims event (validated here; rejects are counted). */
void agent_sched_apply(struct agent *a, const struct agent_ev *ev);

/*
 * After the buckets are replayed: re-place when workloads, membership or
 * endpoints changed, start and stop local replicas, publish their
 * endpoints, and drive StatefulSet claims (on a timer). Cannot fail (errors
 * are logged and retried on the next tick).
 */
void agent_sched_tick(struct agent *a);

/* Add this node's placement properties to a heartbeat's capacity object. */
void agent_sched_capacity(const struct agent *a, json_t *cap);

/*
 * Socket requests wl-apply, wl-delete, get-nodes, get-workloads,
 * get-endpoints. Returns a new reply, or NULL when op is none of these.
 */
json_t *agent_sched_handle(struct agent *a, const char *op, const json_t *req);

#define AGENT_WL_KEY_MAX 400

/*
 * Check one workload value as every receiver does: schema 1, one source
 * holding exactly one object whose bucket key (sched_object_key(): a
 * placement request's includes its topic) is key. With store_key (room for
 * AGENT_WL_KEY_MAX), key may also be the object's NAMESPACE.KIND.NAME, and
 * store_key gets the bucket key. Returns 0, or -EINVAL with why filled.
 */
int agent_workload_check(const char *key, const char *data, size_t len, const char *trust_domain,
			 char *store_key, char *why, size_t why_len);

/* The workload model of every accepted workload value. 0 or -ENOMEM. */
int agent_workloads_model(const struct agent *a, struct wl_model **out);

#endif /* BM_AGENT_SCHED_H */
