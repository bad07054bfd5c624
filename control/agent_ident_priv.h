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
};

#endif /* BM_AGENT_IDENT_PRIV_H */
