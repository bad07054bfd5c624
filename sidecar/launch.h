/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Starting one sidecar per workload replica, for the agent: the command
 * line of bpfmesh-sidecar for a replica (in the replica's network
 * namespace, with its identity document) and a spawn of it. Needs nothing
 * of control/: the agent fills struct sidecar_launch from the replica it
 * started (runtime) and keeps the pid to stop it (SIGTERM) with the
 * replica. docs/sidecar.md, "Launch", is the contract.
 */
#ifndef BM_SC_LAUNCH_H
#define BM_SC_LAUNCH_H

#include <stdbool.h>
#include <sys/types.h>

struct sidecar_launch {
	const char *binary; /* path of bpfmesh-sidecar; NULL: found in PATH */
	const char *netns; /* the replica's network namespace (/proc/PID/ns/net); NULL: ours */
	const char *app_netns; /* only the app-facing sockets there (--app-netns); NULL: none */
	const char *nats_urls; /* required: "nats://h1:4222,nats://h2:4222" */
	const char *app_id; /* required: the workload name */
	const char *replica; /* required: unique replica name (the pod name) */
	const char *namespace; /* NULL: "default" */
	const char *version; /* NULL: versions share a keyspace */
	const char *kind; /* "Deployment" | "StatefulSet"; NULL: Deployment */
	const char *consistency; /* bpfmesh.io/consistency annotation; NULL: from kind */
	const char *identity; /* the replica's workload document; NULL: none */
	const char *identity_dir; /* trust.bundle + crl.bin (STATE_DIR/identity) */
	const char
		*invoke_listen; /* "IPv4:PORT" serving invocations (needs identity); NULL: none */
	const char *invoke_advertise; /* the address callers dial; NULL: invoke_listen */
	const char *state_dir; /* eventual snapshots; NULL: none */
	const char *log_path; /* stdout and stderr appended here; NULL: inherited */
	unsigned int http_port; /* DAPR_HTTP_PORT in the replica; 0: 3500 */
	unsigned int app_port; /* the app's port for subscriptions; 0: none */
	bool is_shared_versions; /* manifest lets versions share state */
	bool is_exit_with_parent; /* it stops when its starter exits (--exit-with-parent) */
};

#define SIDECAR_ARGV_MAX 48

struct sidecar_argv {
	const char *argv[SIDECAR_ARGV_MAX]; /* NULL-terminated; points into l and here */
	char http_port[12], app_port[12];
};

/*
 * Build the command line for l into a (pure). Returns 0 or -EINVAL
 * (a required field missing, identity without identity_dir, invoke_listen
 * without identity).
 */
int sidecar_launch_argv(const struct sidecar_launch *l, struct sidecar_argv *a);

/*
 * Spawn the sidecar (stdin /dev/null, output to log_path). It enters
 * l->netns itself before starting any thread. It starts with SIGHUP
 * blocked, so a SIGHUP (reload the identity) sent before it is ready waits
 * for it instead of killing it. Returns 0 with *pid (the caller reaps it)
 * or -errno. The sidecar exits 1 soon after when its
 * identity document does not check out or the namespace cannot be
 * entered; 2 on bad options.
 */
int sidecar_launch(const struct sidecar_launch *l, pid_t *pid);

#endif /* BM_SC_LAUNCH_H */
