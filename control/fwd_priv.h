/* SPDX-License-Identifier: GPL-2.0-only */
/* Internals shared by fwd.c, fwd_relay.c, fwd_auth.c and fwd_events.c. */
#ifndef BM_FWD_PRIV_H
#define BM_FWD_PRIV_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <abi/abi.h>

#include "fwd.h"
#include "ident_authz.h"
#include "ident_crl.h"
#include "ident_trust.h"
#include "policy_eval.h"

#define FWD_MAX_WORKLOADS 64
#define FWD_MAX_LISTENERS 4096
#define FWD_AUTH_MAX 4096
#define FWD_MAX_DUE 64
#define FWD_TICK_MS 100
#define FWD_POOL 4 /* ready sockets per listener, made ahead in the destination */
#define FWD_POOL_LOW 2 /* refill at this many: the keeper makes them in one wakeup */
#define FWD_POOL_INFLIGHT 256 /* pool requests in flight per keeper */
#define FWD_SPARE_PIPES 64 /* empty pipes of finished relays kept for new ones */
#define FWD_HS_FAILS 16 /* pairs whose last handshake failed, remembered */
#define FWD_HS_RETRY_MS 1000 /* before such a pair is tried again */
#define FWD_EVENTS_MAX_BYTES (4 << 20) /* then rotated to events.1 */
#define FWD_MAX_ADDRS 8 /* host addresses per workload */
#define FWD_MAX_PORTS 128 /* extra ports remembered */
#define FWD_MAX_REVOKED 1024
#define FWD_DGRAM_MAX 65536

enum fwd_ref_kind {
	FWD_REF_LISTENER,
	FWD_REF_CONN,
	FWD_REF_POOL, /* a keeper's pool socketpair */
	FWD_REF_FLOW, /* a UDP flow's socket in the destination */
};

/* What an epoll event points at. */
struct fwd_ref {
	uint8_t kind; /* FWD_REF_* */
	uint8_t side; /* FWD_REF_CONN: 0 client, 1 server */
	void *owner;
};

struct fwd_workload {
	struct fwd_ref ref; /* FWD_REF_POOL */
	char ns[64], name[256];
	uint32_t sec_id; /* from the current model's Endpoint NS/NAME */
	struct pm_addr addrs[FWD_MAX_ADDRS]; /* host addresses, fixed for its life */
	size_t n_addrs;
	int ctrl_fd; /* its keeper: blocking calls */
	int pool_fd; /* its keeper: pool requests, answered in order */
	uint16_t inflight[FWD_POOL_INFLIGHT]; /* listener index of each request, a ring */
	unsigned int inflight_head, n_inflight;
	bool has_identity;
	bool is_used; /* slot in use (a removed workload's slot is reused) */
	uint8_t *doc;
	size_t doc_len;
	uint8_t sk[64];
};

struct fwd_listener {
	struct fwd_ref ref;
	int fd; /* -1: a free slot (its workload was removed) */
	struct fwd_workload *src; /* the namespace it lives in: the only possible source */
	struct fwd_workload *dst;
	uint8_t proto; /* BM_PROTO_TCP or BM_PROTO_UDP (a bound datagram socket) */
	uint8_t family;
	uint8_t saddr[16]; /* src's address of this family */
	uint8_t daddr[16];
	uint16_t dport;
	int pool[FWD_POOL]; /* sockets in dst's namespace bound to saddr */
	unsigned int n_pool, n_requested;
};

/* One direction: bytes read from fd[d] wait in the pipe for fd[1 - d]. */
struct fwd_half {
	int pipe[2];
	uint32_t pending;
	bool is_eof; /* fd[d] said EOF */
	bool is_shut; /* and fd[1 - d] got shutdown(SHUT_WR) */
};

struct fwd_conn {
	struct fwd_ref ref[2];
	int fd[2]; /* 0: the client's (accepted), 1: to the server */
	uint32_t interest[2];
	struct fwd_half dir[2]; /* dir[0]: client -> server */
	bool is_connecting;
	bool is_dead; /* closed; freed after the current epoll batch */
	bool is_auth_bound; /* lives only while (src_id, dst_id) is authenticated */
	uint32_t src_id, dst_id;
	struct pe_tuple tuple;
	struct fwd_conn *prev, *next;
};

struct fwd {
	struct fwd_config cfg;
	int epoll_fd;
	uint32_t pipe_cap;
	struct fwd_workload workloads[FWD_MAX_WORKLOADS];
	size_t n_workloads;
	struct fwd_listener *listeners;
	size_t n_listeners;
	struct fwd_conn *conns; /* live */
	struct fwd_conn *dead;
	unsigned int n_conns;
	/* Empty pipes of relays that finished cleanly: saves pipe2() and close(). */
	int spare_pipes[FWD_SPARE_PIPES][2];
	unsigned int n_spare_pipes;
	/* The in-memory auth table: what bm_auth is on the rootful path. */
	struct bm_auth_key auth_keys[FWD_AUTH_MAX];
	struct bm_auth_value auth_values[FWD_AUTH_MAX];
	size_t n_auth;
	struct ident_authz *az;
	struct ident_trust trust;
	struct ident_crl crl;
	bool has_trust;
	char crl_path[PATH_MAX];
	struct timespec crl_mtime;
	off_t crl_size;
	struct {
		uint32_t src_id, dst_id;
		uint64_t until_ms; /* CLOCK_MONOTONIC */
	} hs_fails[FWD_HS_FAILS]; /* a ring: a failing pair costs one fork a second */
	unsigned int hs_fail_next;
	uint64_t n_hs_ok, n_hs_failed; /* handshakes run by fwd_auth_pair() */
	uint32_t due[FWD_MAX_DUE][2];
	unsigned int n_due;
	struct fwd_flow *flows;
	unsigned int n_flows;
	uint8_t *dgram; /* FWD_DGRAM_MAX bytes: one datagram in transit */
	struct fwd_port ports[FWD_MAX_PORTS]; /* extra ports to intercept */
	size_t n_ports;
	uint32_t revoked[FWD_MAX_REVOKED]; /* identities revoked on the bus */
	size_t n_revoked;
	bool is_primed; /* socket pools asked for */
	uint64_t last_tick_ms; /* CLOCK_MONOTONIC of the last housekeeping */
	int events_fd;
	off_t events_size;
	char events_path[PATH_MAX];
};

/* A UDP flow: one source port of l->src to l's destination. */
struct fwd_flow {
	struct fwd_ref ref; /* FWD_REF_FLOW */
	struct fwd_listener *l;
	int fd; /* connected, in the destination's namespace, bound to the source address */
	struct sockaddr_storage peer; /* the source as l->fd sees it, for replies */
	socklen_t peer_len;
	bool is_auth_bound;
	uint32_t src_id, dst_id;
	struct pe_tuple tuple;
	uint64_t last_ms; /* CLOCK_MONOTONIC of its last datagram */
	struct fwd_flow *prev, *next;
};

/* fwd_pool.c */
void fwd_pool_refill(struct fwd *f, struct fwd_listener *l);
void fwd_pool_event(struct fwd *f, struct fwd_workload *w);
int fwd_pool_take(struct fwd *f, struct fwd_listener *l, int *fd);
void fwd_pool_release(struct fwd_listener *l);

/* fwd_relay.c */
int fwd_conn_open(struct fwd *f, struct fwd_listener *l, int cfd, const struct pe_tuple *t,
		  const struct pe_result *r);
void fwd_conn_event(struct fwd *f, struct fwd_conn *c, int side, uint32_t events);
void fwd_conn_abort(struct fwd *f, struct fwd_conn *c);
void fwd_conns_reap(struct fwd *f);
void fwd_reset_close(int fd);
void fwd_spare_pipes_release(struct fwd *f);

/* fwd_remove.c: a free listener slot (zeroed, fd -1 until used), or NULL when full */
struct fwd_listener *fwd_listener_slot(struct fwd *f);

/* fwd.c */
void fwd_judge(struct fwd *f, struct fwd_workload *src, struct fwd_workload *dst,
	       const struct pe_tuple *t, struct pe_result *r);

/* fwd_udp.c */
void fwd_udp_recv(struct fwd *f, struct fwd_listener *l);
void fwd_flow_event(struct fwd *f, struct fwd_flow *fl);
void fwd_flow_close(struct fwd *f, struct fwd_flow *fl);
void fwd_flows_expire(struct fwd *f);

/* fwd_auth.c */
int fwd_auth_init(struct fwd *f);
void fwd_auth_release(struct fwd *f);
int fwd_auth_pair(struct fwd *f, struct fwd_workload *src, struct fwd_workload *dst);
void fwd_auth_snapshot(struct fwd *f, struct pe_auth *auth);
void fwd_auth_housekeeping(struct fwd *f);
bool fwd_is_revoked(const struct fwd *f, uint32_t id);

/* fwd_events.c */
int fwd_events_open(struct fwd *f);
void fwd_events_close(struct fwd *f);
void fwd_event_emit(struct fwd *f, const struct pe_tuple *t, const struct pe_result *r);

#endif /* BM_FWD_PRIV_H */
