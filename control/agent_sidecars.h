/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One bpfmesh-sidecar per replica the agent runs (docs/sidecar.md,
 * "Launch"; docs/agent.md, "Sidecars"): started after the replica, its
 * Dapr port opened in the replica's network namespace while its bus
 * connection stays in the node's, restarted with a bounded backoff when it
 * dies while the replica runs, stopped (SIGTERM, bounded wait, SIGKILL,
 * reaped) with the replica. Runs on the agent's thread only.
 */
#ifndef BM_AGENT_SIDECARS_H
#define BM_AGENT_SIDECARS_H

#include <stdbool.h>

struct agent;
struct agent_local;
struct agent_replica;
struct wl_object;

#define AGENT_SIDECAR_HTTP_PORT 3500
/*
 * Where a replica's sidecar serves service invocation: the replica's
 * address, this TCP port (Dapr's internal gRPC port number), in the
 * replica's namespace, so network policies judge it (docs/agent.md,
 * "Sidecars").
 */
#define AGENT_SIDECAR_INVOKE_PORT 50002
/* The name of that port on the replica's endpoint, for NetworkPolicy rules. */
#define AGENT_SIDECAR_INVOKE_PORT_NAME "dapr-invoke"

/* The environment a replica's containers get for its sidecar. */
struct agent_sidecar_env {
	char dapr[32], app[32];
	const char *v[3]; /* NULL-terminated NAME=VALUE; v[0] NULL: no sidecar */
};

/*
 * Does workload o get sidecars on this agent (not rootless, not
 * --no-sidecars, not annotated bpfmesh.io/sidecar: "false")? Cannot fail.
 */
bool agent_sidecar_is_wanted(const struct agent *a, const struct wl_object *o);

/*
 * Does the sidecar of o's replica pod serve invocations on this agent
 * (it gets one, and the replica has an identity document)? Then its
 * endpoint names port AGENT_SIDECAR_INVOKE_PORT AGENT_SIDECAR_INVOKE_PORT_NAME,
 * unless a container declares that port or name itself. Cannot fail.
 */
bool agent_sidecar_serves_invoke(const struct agent *a, const struct wl_object *o, const char *pod);

/*
 * The containers' environment for a replica of o into e: DAPR_HTTP_PORT
 * and, when a container declares a port, APP_PORT (the first one); empty
 * when o gets no sidecar. Cannot fail.
 */
void agent_sidecar_env(const struct agent *a, const struct wl_object *o,
		       struct agent_sidecar_env *e);

/*
 * Keep the sidecar of the running replica r (local state l) running:
 * reap it if it exited, start it when none runs and its backoff allows
 * (1 s doubling to 30 s after exits within 10 s of a start), with the
 * replica's identity document when the agent issued one
 * (agent_replica_identity_path()) and then an invocation listener on the
 * replica's address, port AGENT_SIDECAR_INVOKE_PORT. When the document is
 * renewed the sidecar gets SIGHUP and reloads it in place (it exits if the
 * new one does not check out, and is started again); when one is issued to
 * a sidecar that started without, it is restarted. A stale sidecar a killed
 * agent left for this replica (its pid file) is stopped first. Failures are
 * logged and retried. Cannot fail.
 */
void agent_sidecar_tick(struct agent *a, const struct agent_replica *r, struct agent_local *l);

/*
 * Stop l's sidecar, if one runs, without waiting: SIGTERM now, SIGKILL if
 * it has not exited 3 s later, reaped by agent_sidecar_reap(); its pid
 * file removed. No new sidecar starts for that replica until it is
 * reaped. Cannot fail.
 */
void agent_sidecar_stop(struct agent *a, struct agent_local *l);

/*
 * Reap stopped sidecars that exited, SIGKILL those past their 3 s. Called
 * every scheduling pass. Cannot fail.
 */
void agent_sidecar_reap(struct agent *a);

/*
 * Stop every sidecar (the agent is stopping) and wait for them: SIGTERM,
 * up to 3 s in all, SIGKILL, reaped. Cannot fail.
 */
void agent_sidecar_stop_all(struct agent *a);

#endif /* BM_AGENT_SIDECARS_H */
