/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Handshakes run by the agent (docs/agent.md, "Mutual authentication"):
 * the threads that run them off the agent's thread (agent_auth_hs.c) and
 * the agent-thread side that decides which pairs need one and writes
 * bm_auth (agent_auth.c). Used by agent_ident.c only.
 *
 * On the auth port, before the handshake of docs/identity.md §5, the
 * client names the destination identity it wants with one frame of the
 * handshake's framing: version 1, type AGENT_AUTH_SELECT (16), body = the
 * SPIFFE ID (1..512 bytes). The server answers with that local replica's
 * document, or closes the connection when it runs none.
 */
#ifndef BM_AGENT_AUTH_H
#define BM_AGENT_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "ident_cert.h"
#include "ident_store.h"

#define AGENT_AUTH_SELECT 16
#define AGENT_AUTH_WORKERS 4 /* handshakes at once */
#define AGENT_AUTH_QUEUE_MAX 64 /* waiting handshakes; more connections are refused */
#define AGENT_AUTH_TIMEOUT_MS 2000 /* connect, and the whole handshake */

struct agent;
struct agent_auth_hs;

/* One handshake to run or that ran (the client fields are set for client jobs). */
struct agent_auth_job {
	struct agent_auth_job *next;
	bool is_server;
	int fd; /* server: the accepted connection */
	char src_doc[IDENT_PATH_MAX]; /* client: our replica's document (key: PATH.key) */
	char src_uri[IDENT_SUBJECT_MAX + 1]; /* client: its subject */
	char dst_uri[IDENT_SUBJECT_MAX + 1]; /* client: the peer identity wanted */
	char node[64]; /* client: the peer node */
	char addr[64]; /* client: the peer agent's address */
	unsigned int port;
	/* Result. */
	int err;
	char local_uri[IDENT_SUBJECT_MAX + 1];
	char peer_uri[IDENT_SUBJECT_MAX + 1];
	int64_t not_after; /* earliest of both chains */
	uint64_t handshake_id;
};

/*
 * Start the listener on addr:port and the workers. id_dir is
 * STATE_DIR/identity (trust bundle, revocation list). Returns 0 with *out,
 * or -errno (bind, threads).
 */
int agent_auth_hs_start(const char *id_dir, const char *addr, unsigned int port,
			struct agent_auth_hs **out);

/* Stop the threads (each handshake is bounded) and free everything. NULL-safe. */
void agent_auth_hs_stop(struct agent_auth_hs *hs);

/*
 * The documents the server side may present: n subjects and their document
 * paths (copied). Replaces the previous set. Returns 0 or -ENOMEM.
 */
int agent_auth_hs_serve(struct agent_auth_hs *hs, const char *const *uris, const char *const *paths,
			size_t n);

/* Queue a client job (ownership taken). Returns 0, or -EBUSY when the queue is full. */
int agent_auth_hs_submit(struct agent_auth_hs *hs, struct agent_auth_job *job);

/* Finished jobs, oldest first (caller frees each), or NULL. */
struct agent_auth_job *agent_auth_hs_done(struct agent_auth_hs *hs);

/* agent_auth.c, on the agent's thread: see agent_ident.c. */
void agent_auth_tick(struct agent *a);
void agent_auth_close(struct agent *a);

#endif /* BM_AGENT_AUTH_H */
