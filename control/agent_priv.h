/* SPDX-License-Identifier: GPL-2.0-only */
/* The agent's state, shared by agent.c (loop), agent_apply.c and agent_ops.c. */
#ifndef BM_AGENT_PRIV_H
#define BM_AGENT_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "agent.h"
#include "agent_sched.h"
#include "bus.h"
#include "policy_store.h"

#define AGENT_SUBJECT_PREFIX "bpfmesh.v1.node."
#define AGENT_POLICY_KEY "current"

enum agent_ev_kind {
	AGENT_EV_KV,
	AGENT_EV_MSG,
	AGENT_EV_CONNECTED,
	AGENT_EV_DISCONNECTED,
};

/* One queued bus event; data is NUL-terminated (len excludes the NUL). */
struct agent_ev {
	struct agent_ev *next;
	enum agent_ev_kind kind;
	enum bus_bucket bucket;
	bool is_delete;
	bool is_replay_done;
	uint64_t rev;
	char *key; /* KV key or subject */
	char *data;
	size_t len;
};

/* A key of the endpoint or revocation bucket and what it stands for. */
struct agent_item {
	char *key;
	uint64_t rev;
	char *doc; /* endpoints: the Endpoint manifest (JSON) built from the message */
	uint32_t id; /* revocations: the numeric identity */
	char *identity; /* revocations: the SPIFFE ID, or NULL */
};

/* Items in arrival order plus an open-addressing index by key (agent_items.c). */
struct agent_items {
	struct agent_item *v;
	size_t n, cap;
	size_t *slots; /* 0: empty, SIZE_MAX: deleted, else index + 1 */
	size_t n_slots, n_used; /* n_used counts deleted slots too */
};

struct agent_peer {
	char name[64];
	uint64_t last_ms;
	uint64_t revision;
	bool is_alive;
	bool is_ready;
	json_t *capacity; /* from its last heartbeat; NULL if none */
};

struct agent {
	const struct agent_config *cfg;
	struct bus *bus;
	struct dataplane *dp; /* NULL in rootless mode */
	struct agent_rl *rl; /* rootless mode (agent_rootless.h); NULL: the BPF data plane */
	char mode[320]; /* "bpf (REASON)" or "rootless (REASON)" */
	struct pm_model *model; /* what the kernel enforces now; NULL before the first install */
	struct pm_model *pending_model; /* built when policy_rev was accepted, not installed */
	uint64_t pending_sig; /* the endpoint set pending_model was built with */
	int sock_fd;
	int wake_fd; /* eventfd: the queue has events */

	pthread_mutex_t lock; /* protects queue only */
	struct agent_ev *queue, **queue_tail;

	bool is_connected, is_watching, is_ready, is_dirty;
	bool is_replayed[BUS_BUCKET_NR];
	uint64_t policy_rev; /* the newest accepted policy revision */
	uint64_t applied_rev; /* the revision the kernel enforces */
	uint64_t applied_sig; /* endpoint set signature installed with it */
	struct policy_sources policy; /* sources of policy_rev */
	char *policy_origin; /* node that published policy_rev */
	struct agent_items endpoints, revoked;
	struct agent_peer *peers;
	size_t n_peers;
	uint64_t hb_seq, next_hb_ms;
	uint64_t hb_sent_us; /* when heartbeat hb_seq was published (monotonic) */
	uint64_t bus_lag_us; /* own heartbeat back through bus and queue; 0: not yet */
	uint64_t bus_lost_ms; /* when the bus went away; 0 while connected */
	uint64_t judge_peers_ms; /* no peer is judged failed before this (after an outage) */
	uint64_t n_rejected, n_installs;
	uint32_t generation;
	double last_install_ms;
	struct agent_items workloads; /* bpfmesh-workloads: doc = the object's manifest text */
	struct agent_sched sched; /* agent_sched.c */
	/* Scheduler decisions (stable names: exported as metrics). */
	uint64_t n_sched_starts; /* local replicas started */
	uint64_t n_sched_stops; /* local replicas stopped */
	uint64_t n_sched_claims; /* StatefulSet claims won (acquired or taken over) */
	uint64_t n_sched_placements; /* placement computations */
	struct agent_flows *flows; /* ring buffer to bus; NULL with --flow-rate 0 */
	struct agent_metrics *metrics; /* NULL without --metrics-addr */
	uint64_t n_bus_connects; /* connections the watchers started on */
	uint64_t last_bus_msg_ms; /* when the last bus event was applied */
	uint64_t n_handshakes, n_handshake_failures; /* reported by bpfmesh auth serve|connect */
	struct agent_ident *ident; /* replica identities and handshakes (agent_ident.h) */
};

/* agent_sched_view.c: the IPv4 address of ifname in this namespace into buf, "" when none. */
void agent_iface_addr(const char *ifname, char *buf, size_t len);

uint64_t agent_now_ms(void);
uint64_t agent_now_us(void);

/*
 * agent_policy_msg.c: publish sources as the next policy revision (inline,
 * or through a blob when large; the superseded blob is dropped). Returns 0
 * and *rev (may be NULL) or -errno of the bus.
 */
int agent_policy_put(struct agent *a, const json_t *srcs, uint64_t *rev);

/*
 * agent_policy_msg.c: the sources array of a policy message, inline or
 * fetched from its blob (a new reference), or NULL with a reason in why.
 */
json_t *agent_policy_sources(struct agent *a, const json_t *msg, char *why, size_t cap);

/* agent_apply.c: apply one queued event to the state (may mark it dirty). */
void agent_apply(struct agent *a, const struct agent_ev *ev);

/* agent_apply.c: if dirty and replayed, build, compile and install. */
void agent_reconcile(struct agent *a);

/* agent_apply.c: would agent_reconcile() act now (dirty and replayed)? */
bool agent_is_reconcile_due(const struct agent *a);

/* agent_apply.c: delete every bm_auth entry of a revoked identity. Returns the count. */
int agent_sweep_auth(struct agent *a);

/* agent_apply.c: heartbeat bookkeeping: send ours, expire peers. */
void agent_tick_members(struct agent *a);

/*
 * agent_apply.c: send our heartbeat if it is due (long steps such as
 * starting replicas call this between items so peers never see us as dead).
 */
void agent_heartbeat_if_due(struct agent *a);

/* agent_apply.c: build a model from sources + bus endpoints; prints diagnostics. */
int agent_build_model(const struct agent *a, const struct policy_sources *srcs,
		      struct pm_model **out, char *why, size_t why_len);

/* agent_ops.c: answer one socket request; returns a new reply. */
json_t *agent_handle(struct agent *a, const json_t *req);

/* agent_items.c: the item with key, or NULL. */
struct agent_item *agent_items_find(const struct agent_items *items, const char *key);

/* agent_items.c: take ownership of it, replacing an item with the same key. 0 or -ENOMEM. */
int agent_items_put(struct agent_items *items, struct agent_item *it);

/* agent_items.c: remove and free the item with key, if any. */
void agent_items_remove(struct agent_items *items, const char *key);

/* agent_items.c: free every item and the index. NULL-safe fields; cannot fail. */
void agent_items_clear(struct agent_items *items);

/* agent_apply.c: forget every peer. Cannot fail. */
void agent_peers_clear(struct agent *a);

#endif /* BM_AGENT_PRIV_H */
