/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The rootless userland forwarder (docs/rootless.md). One thread, one epoll
 * set. For every pair of rootless workloads (W, P) it holds listening
 * sockets *inside W's network namespace* on P's addresses and service
 * ports: a connection accepted there comes from W, whatever address it
 * claims, because nothing else can reach that socket. Each connection is
 * judged with policy_eval() on (W's address, P's address, tcp, port);
 * denied ones are reset at once; for `authentication: required` the
 * forwarder runs the identity handshake with both workloads' documents and
 * binds the connection to the pair, cutting it when ident_authz expires or
 * revokes the pair. Allowed connections are relayed with splice() through
 * one pipe per direction (bounded by the pipe), half-closes forwarded.
 * UDP: a bound socket in W's namespace per (P's address, port); each source
 * port of W is a flow with its own connected socket in P's namespace, judged
 * once when it starts and closed after an idle timeout. fwd_set_model()
 * swaps the policy at once: new connections and flows are judged by the new
 * one, established ones it no longer allows are closed with their event.
 * Every verdict is appended as a struct bm_flow_event (source
 * BM_EVENT_SRC_USER) to STATE_DIR/rootless/events.
 */
#ifndef BM_FWD_H
#define BM_FWD_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "policy_model.h"

#define FWD_DEFAULT_MAX_CONNS 1024
#define FWD_DEFAULT_UDP_IDLE_MS 30000
#define FWD_MAX_FLOWS 1024
#define FWD_EVENTS_FILE "rootless/events"

struct fwd;

struct fwd_config {
	const char *state_dir; /* events file; trust bundle and CRL of identity/ */
	const struct pm_model *model; /* borrowed; outlives the forwarder */
	uint64_t auth_ttl_ns; /* upper bound of an authenticated pair's life; 0: none */
	unsigned int max_conns; /* 0: FWD_DEFAULT_MAX_CONNS */
	unsigned int udp_idle_ms; /* a UDP flow with no datagram this long ends; 0: default */
};

/* A port to intercept: proto BM_PROTO_TCP or BM_PROTO_UDP. */
struct fwd_port {
	uint8_t proto;
	uint16_t port;
};

/* A new forwarder; NULL with errno set. cfg is copied (the model borrowed). */
struct fwd *fwd_new(const struct fwd_config *cfg);

/*
 * Add rootless workload NS/NAME, the Endpoint of that name in the current
 * model (its name, identity and host addresses are copied: the namespace's
 * addresses are fixed for its life), served by the keeper at ctrl_fd and
 * pool_fd (rlns.h; the forwarder owns and closes both from now on, also on
 * error). doc_path: its identity document (key at DOC_PATH.key), or NULL.
 * Returns 0 or -errno (-ENOENT: no such Endpoint, -E2BIG: too many).
 */
int fwd_add_workload(struct fwd *f, const char *ns, const char *name, int ctrl_fd, int pool_fd,
		     const char *doc_path);

/*
 * Add rootless workload NS/NAME with the given host addresses (copied; the
 * model need not name it yet: its identity follows the Endpoint NS/NAME of
 * each model fwd_set_model installs), otherwise as fwd_add_workload. The
 * agent adds placed replicas so, before their Endpoints reach the bus.
 * Returns 0 or -errno (-E2BIG: too many workloads or names too long).
 */
int fwd_add_workload_addrs(struct fwd *f, const char *ns, const char *name,
			   const struct pm_addr *addrs, size_t n_addrs, int ctrl_fd, int pool_fd,
			   const char *doc_path);

/*
 * Load workload NS/NAME's identity document anew from doc_path (key at
 * DOC_PATH.key): a renewed document replaces the old one for the next
 * handshakes. On error the workload has no identity. Returns 0, -ENOENT
 * (no such workload) or the error of reading.
 */
int fwd_set_identity(struct fwd *f, const char *ns, const char *name, const char *doc_path);

/*
 * Remove workload NS/NAME: close its connections and UDP flows (both
 * directions) without events, the listeners in its namespace and those on
 * its addresses in every other one, and its keeper's sockets (the keeper
 * then stops its command and exits). Its slot is reused by the next add.
 * Returns 0 or -ENOENT.
 */
int fwd_remove_workload(struct fwd *f, const char *ns, const char *name);

/*
 * Copy the host addresses of every workload (at most max) into out.
 * Returns how many. Cannot fail.
 */
size_t fwd_host_addrs(const struct fwd *f, struct pm_addr *out, size_t max);

/* Workload slots in use or freed (fwd_keeper_fd's range). Cannot fail. */
size_t fwd_slots(const struct fwd *f);

/*
 * Add extra to the ports intercepted (kept across fwd_set_model), then
 * listen, inside every workload's namespace, on every other workload's
 * host addresses (of a family the listening workload has) at each port:
 * the extra ones and the TCP and UDP ports of every workload's Endpoint in
 * the current model. Listeners that exist stay. Returns 0 or -errno.
 */
int fwd_intercept(struct fwd *f, const struct fwd_port *extra, size_t n_extra);

/*
 * Swap the policy: from now on m (borrowed; must outlive the forwarder or
 * the next swap, the caller frees the previous one after this returns)
 * judges every new connection and flow. Every established connection and
 * UDP flow is judged again on m (with a handshake on behalf of both ends
 * where m newly requires authentication); those m denies are closed at
 * once, each with an event giving the new reason. Workload identities
 * follow m (by NS/NAME; a workload m no longer names keeps its addresses
 * and is judged as whatever m makes of them). Then new ports of m are
 * intercepted. *n_closed (may be NULL): connections and flows closed.
 * Returns 0 or -errno of intercepting (the swap itself cannot fail).
 */
int fwd_set_model(struct fwd *f, const struct pm_model *m, unsigned int *n_closed);

/*
 * Revoke numeric identities at once (the bus's revocations on the agent's
 * rootless path): every authenticated pair with one of ids at either end is
 * deleted and each connection or flow bound to it cut with its event; the
 * ids stay revoked (no handshake on their behalf) until the next call,
 * which replaces the set. Returns the number of pairs deleted.
 */
int fwd_revoke_ids(struct fwd *f, const uint32_t *ids, size_t n);

/* Counts for status: workloads, listeners, open TCP connections, UDP flows. */
void fwd_counts(const struct fwd *f, size_t *workloads, size_t *listeners, size_t *conns,
		size_t *flows);

/* Handshakes the forwarder ran: authenticated and failed (metrics). Cannot fail. */
void fwd_hs_counts(const struct fwd *f, uint64_t *ok, uint64_t *failed);

/* The keeper socket of workload slot i (-1 if none: free or out of range). Cannot fail. */
int fwd_keeper_fd(const struct fwd *f, size_t i);

/*
 * For embedding in another event loop (the agent's): an fd that becomes
 * readable when fwd_poll() has work. Cannot fail.
 */
int fwd_fd(const struct fwd *f);

/*
 * One round: wait up to timeout_ms (at most the 100 ms housekeeping tick;
 * 0: do not wait) and handle what is ready, then expiry, re-authentication
 * and revocation if a tick is due. Returns 0 or -errno of epoll.
 */
int fwd_poll(struct fwd *f, int timeout_ms);

/* Forward until *stop becomes non-zero (fwd_poll in a loop). 0 or -errno of epoll. */
int fwd_run(struct fwd *f, volatile sig_atomic_t *stop);

/* Close every connection, listener and keeper socket. NULL-safe. */
void fwd_free(struct fwd *f);

#endif /* BM_FWD_H */
