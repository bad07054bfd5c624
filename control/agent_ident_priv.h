/* SPDX-License-Identifier: GPL-2.0-only */
/* The agent's identity state, shared by agent_ident*.c only. */
#ifndef BM_AGENT_IDENT_PRIV_H
#define BM_AGENT_IDENT_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "ident_cert.h"
#include "ident_store.h"
#include "ident_trust.h"

/* The document of one local replica. */
struct agent_ident_rep {
	char *key; /* scheduler key */
	char *ns;
	char *pod;
	char subject[IDENT_SUBJECT_MAX + 1];
	uint64_t serial; /* 0: not issued yet (retry_at says when to try) */
	int64_t not_after; /* unix seconds */
	int64_t renew_at; /* 2/3 of the lifetime */
	int64_t retry_at; /* after a failed issue */
};

/* An identity pair this node authenticates (agent_auth.c). */
struct agent_auth_pair {
	char src_uri[IDENT_SUBJECT_MAX + 1]; /* a local replica's identity */
	char dst_uri[IDENT_SUBJECT_MAX + 1];
	uint32_t src_id, dst_id; /* as the enforced policy numbers them */
	char src_pod[256]; /* the local replica whose document we present */
	char dst_pod[256]; /* both local: the destination replica; "" remote */
	char node[64]; /* the destination replica's node; "" here */
	char addr[64]; /* remote: the peer agent's address */
	uint64_t expires_ms; /* when our entries lapse (monotonic); 0: none written */
	uint64_t next_ms; /* next handshake (renewal at 2/3, or retry) */
	uint64_t sent_ms; /* when the last handshake was queued */
	unsigned int backoff_ms;
	bool is_wanted; /* scratch of find_pairs */
	bool is_in_flight;
};

struct agent_auth_hs;
struct pm_model;

struct agent_ident {
	char dir[IDENT_PATH_MAX]; /* STATE_DIR/identity */
	char rep_dir[IDENT_PATH_MAX]; /* STATE_DIR/replicas */
	struct ident_trust trust;
	struct ident_doc node; /* node.doc */
	bool is_enrolled;
	bool is_told; /* "not enrolled" was logged */
	int64_t next_look_s; /* when to look for enrollment again */
	int64_t next_sweep_ms; /* when to compare with the local replicas again */
	int64_t ttl_s;
	struct agent_ident_rep *reps;
	size_t n_reps;
	/* Handshakes (agent_auth.c). */
	struct agent_auth_hs *hs; /* NULL until listening */
	struct agent_auth_pair *pairs;
	size_t n_pairs;
	uint64_t next_pairs_ms, next_start_ms;
	uint64_t pairs_sig; /* the inputs the pairs were found with (agent_auth.c) */
	bool is_auth_told; /* "no uplink address" was logged */
};

#endif /* BM_AGENT_IDENT_PRIV_H */
