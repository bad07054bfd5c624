/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Workload identities issued by the agent (docs/agent.md, "Identities").
 * On an enrolled node (STATE_DIR/identity holds node.doc and node.key from
 * `bpfmesh identity enroll`), every replica the agent runs gets a workload
 * document for spiffe://DOMAIN/ns/NS/sa/SA, issued with the node's key:
 * STATE_DIR/replicas/POD.id and its secret key POD.id.key (0600, written
 * atomically, the format of `bpfmesh identity issue -o`). Documents are
 * re-issued at 2/3 of their lifetime and deleted when the replica stops.
 * Everything runs on the agent's one thread.
 */
#ifndef BM_AGENT_IDENT_H
#define BM_AGENT_IDENT_H

#include <stddef.h>
#include <stdint.h>

#define AGENT_IDENT_WORKLOAD_TTL_S 3600 /* --workload-ttl default */
#define AGENT_IDENT_WORKLOAD_TTL_MIN_S 3
#define AGENT_IDENT_AUTH_PORT 4433 /* --auth-port default */
#define AGENT_IDENT_AUTH_TTL_S 300 /* --auth-ttl default */
#define AGENT_IDENT_REPLICA_DIR "replicas"

struct agent;
struct agent_config;

/*
 * One identity option of `bpfmesh agent` (--workload-ttl DURATION,
 * --auth-port PORT, --auth-ttl DURATION) with its value v into c. Returns 0,
 * 1 when opt is none of these, or -EINVAL (message printed).
 */
int agent_ident_opt(struct agent_config *c, const char *opt, const char *v);

/*
 * Set up a->ident: find the node's identity (logged once when the node is
 * not enrolled; looked for again every few seconds) and forget documents of
 * replicas that no longer run here. Returns 0 or -ENOMEM.
 */
int agent_ident_open(struct agent *a);

/* Free a->ident and wipe it. Documents stay for the replicas, which keep running. NULL-safe. */
void agent_ident_close(struct agent *a);

/*
 * A replica (scheduler key, namespace, pod name, service account or NULL
 * for "default") runs here now: issue its document unless it holds a valid
 * one. Returns 0, -ENOENT when the node is not enrolled, or the error of
 * issuing or writing (logged; retried by agent_ident_tick).
 */
int agent_ident_replica_started(struct agent *a, const char *key, const char *ns, const char *pod,
				const char *sa);

/* The replica with this scheduler key stopped: delete its files. Cannot fail (errors logged). */
void agent_ident_replica_stopped(struct agent *a, const char *key);

/*
 * Re-issue documents at 2/3 of their lifetime, issue those that failed or
 * that adopted replicas lack, delete those of replicas no longer local.
 * Cheap when nothing is due. Cannot fail (errors logged and retried).
 */
void agent_ident_tick(struct agent *a);

/*
 * The path of pod's document (its secret key is PATH.key) into out.
 * Returns 0 once issued, -ENOENT when pod has none (not running here, node
 * not enrolled, issuing failed), -ENAMETOOLONG when cap is too small.
 */
int agent_replica_identity_path(const struct agent *a, const char *pod, char *out, size_t cap);

/*
 * STATE_DIR/identity (trust.bundle, crl.bin: what a sidecar's
 * --identity-dir wants) into out. Returns 0, -ENOENT when the node is not
 * enrolled, -ENAMETOOLONG.
 */
int agent_identity_dir(const struct agent *a, char *out, size_t cap);

#endif /* BM_AGENT_IDENT_H */
