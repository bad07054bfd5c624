/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Running rootless workloads (docs/rootless.md): for each one a keeper in a
 * new user and network namespace (rlns.h) with the host addresses of every
 * workload on its lo, slirp4netns joined to it, and its registration with
 * the forwarder (fwd.h); then the intercepting listeners and the commands.
 * Used by `bpfmesh rootless run` and by the agent in rootless mode.
 */
#ifndef BM_RUNTIME_ROOTLESS_H
#define BM_RUNTIME_ROOTLESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/un.h>

#include "fwd.h"
#include "policy_model.h"
#include "rootless_probe.h"

#define RLRT_DEFAULT_CIDR "198.19.254.0/24"
#define RLRT_MAX_ADDRS 512 /* host addresses of all workloads, on every lo */

struct rlrt_wl {
	const char *name; /* NS/NAME of its local Endpoint */
	const char *command; /* run with /bin/sh -c inside; NULL: none */
	const char *doc; /* identity document (key at DOC.key), or NULL */
	pid_t keeper;
	pid_t slirp;
	int slirp_exit_fd; /* slirp4netns exits when this closes; -1: none */
	int ctrl_fd; /* its keeper's control socket, owned by the forwarder; -1: none */
	char api_sock[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

struct rlrt_config {
	const char *rl_dir; /* STATE_DIR/rootless: API sockets, slirp logs, status */
	const char *cidr; /* slirp4netns --cidr; NULL: RLRT_DEFAULT_CIDR */
	bool is_slirp_off; /* no slirp4netns (no way out of the namespace) */
};

/*
 * Bring up workloads w[0..n) (slirp_exit_fd set to -1 by the caller), each
 * named by a local Endpoint of f's model, with addrs (every workload's host
 * addresses) on each namespace's lo; intercept ports (and the Endpoints'
 * ports) with f; then start their commands. On error what came up stays
 * recorded in w for rlrt_stop(). Returns 0 or -errno.
 */
int rlrt_start(const struct rlrt_config *c, struct rlrt_wl *w, size_t n,
	       const struct pm_addr *addrs, size_t n_addrs, struct fwd *f,
	       const struct fwd_port *ports, size_t n_ports);

/*
 * Bring up one more workload w (slirp_exit_fd and ctrl_fd -1) while others
 * run: a placed replica. Its namespace gets every running workload's host
 * addresses plus own (its addresses, n_own of them, which need not be in
 * f's model yet), own goes onto every other namespace's lo, f forwards to
 * and from it, and its command starts (*wpid: its pid, 0 without one).
 * slirp4netns's API socket is RL_DIR/TAG.sock. On error what came up stays
 * recorded in w for rlrt_remove(). Returns 0 or -errno.
 */
int rlrt_add(const struct rlrt_config *c, struct rlrt_wl *w, const char *tag,
	     const struct pm_addr *own, size_t n_own, struct fwd *f, pid_t *wpid);

/*
 * Take w down again: out of f (its connections closed, its keeper stops its
 * command), own off every other namespace's lo, slirp4netns and keeper
 * waited for (bounded), API socket removed. f may be NULL. Cannot fail.
 */
void rlrt_remove(struct rlrt_wl *w, const struct pm_addr *own, size_t n_own, struct fwd *f);

/*
 * Write RL_DIR/status (mode, reason, our pid, one line per workload: what
 * `rootless status|exec` and `bpfmesh status` read). Returns 0 or -errno.
 */
int rlrt_write_status(const char *rl_dir, const struct rlrt_wl *w, size_t n,
		      const struct rootless_probe *p);

/*
 * Remove the status file, free f (NULL-safe; keepers stop their workloads
 * when their socket closes) and wait (bounded) for every keeper and
 * slirp4netns of w[0..n). Cannot fail.
 */
void rlrt_stop(const char *rl_dir, struct rlrt_wl *w, size_t n, struct fwd *f);

#endif /* BM_RUNTIME_ROOTLESS_H */
