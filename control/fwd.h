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
#define FWD_EVENTS_FILE "rootless/events"

struct fwd;

struct fwd_config {
	const char *state_dir; /* events file; trust bundle and CRL of identity/ */
	const struct pm_model *model; /* borrowed; outlives the forwarder */
	uint64_t auth_ttl_ns; /* upper bound of an authenticated pair's life; 0: none */
	unsigned int max_conns; /* 0: FWD_DEFAULT_MAX_CONNS */
};

/* A new forwarder; NULL with errno set. cfg is copied (the model borrowed). */
struct fwd *fwd_new(const struct fwd_config *cfg);

/*
 * Add rootless workload model->endpoints[ep_index], served by the keeper at
 * ctrl_fd and pool_fd (rlns.h; the forwarder owns and closes both from now
 * on, also on error). doc_path: its identity document (key at
 * DOC_PATH.key), or NULL. Returns 0 or -errno (-E2BIG: too many workloads).
 */
int fwd_add_workload(struct fwd *f, size_t ep_index, int ctrl_fd, int pool_fd,
		     const char *doc_path);

/*
 * Listen, inside every workload's namespace, on every other workload's host
 * addresses (of a family the listening workload has) at each of ports.
 * Returns 0 or -errno.
 */
int fwd_intercept(struct fwd *f, const uint16_t *ports, size_t n_ports);

/* The keeper socket of the i-th added workload (-1 if none). Cannot fail. */
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
