/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Rootless workload namespaces. Each workload gets a keeper: a child that
 * made a new user and network namespace (its uid mapped to root inside),
 * put lo up with the host addresses of every rootless workload on it, and
 * then runs the workload command and serves the forwarder over two
 * SOCK_SEQPACKET socketpairs (one for blocking calls, one non-blocking for
 * the forwarder's socket pool): it creates sockets *inside* its namespace
 * and passes them back with SCM_RIGHTS. A socket stays in the namespace it was
 * made in, so the forwarder on the host accepts and connects inside every
 * workload without ever entering one. The keeper exits, killing its
 * workload, when the forwarder's end of the socketpair closes.
 */
#ifndef BM_RLNS_H
#define BM_RLNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "policy_model.h"

struct rlns_config {
	const char *name; /* "ns/name", for messages */
	const char *command; /* run with /bin/sh -c; NULL: none */
	const struct pm_addr *addrs; /* host addresses of every workload, its own included */
	size_t n_addrs;
	/*
	 * Its own addresses (a placed replica), or none: with them the keeper
	 * gives the workload an egress namespace (rlns_priv.h: only its own
	 * addresses on its lo, the forwarder's sockets in a namespace of
	 * their own, so a server may bind the wildcard address); without
	 * them, or if that fails, every address is on the workload's lo.
	 */
	const struct pm_addr *own;
	size_t n_own;
};

/*
 * Start a keeper. On success *pid is its pid (a child of the caller),
 * *ctrl_fd the caller's end of the blocking socketpair and *pool_fd of the
 * non-blocking one. The namespace is configured when this returns; the
 * command has not started (rlns_start). Returns 0 or -errno (the keeper's
 * own set-up error when it got that far).
 */
int rlns_spawn(const struct rlns_config *cfg, pid_t *pid, int *ctrl_fd, int *pool_fd);

/*
 * Put host address a on the keeper's lo (is_add; already there is fine) or
 * take it off: a workload placed or stopped after this one started.
 * Returns 0 or the keeper's -errno (-EIO: ip failed).
 */
int rlns_addr(int ctrl_fd, const struct pm_addr *a, bool is_add);

/* Start the workload command; *wpid its pid (0 without a command). 0 or -errno. */
int rlns_start(int ctrl_fd, pid_t *wpid);

/*
 * A listening TCP socket in the keeper's namespace bound to addr:port
 * (family BM_FAMILY_*, addr as in pm_addr), non-blocking, into *fd.
 * Returns 0 or the keeper's -errno.
 */
int rlns_listen(int ctrl_fd, uint8_t family, const uint8_t *addr, uint16_t port, int *fd);

/*
 * A non-blocking TCP socket in the keeper's namespace bound to addr (port
 * 0), ready to connect(), into *fd. Returns 0 or the keeper's -errno.
 */
int rlns_socket(int ctrl_fd, uint8_t family, const uint8_t *addr, int *fd);

/*
 * A non-blocking UDP socket in the keeper's namespace bound to addr:port
 * (port 0: any), into *fd. Returns 0 or the keeper's -errno.
 */
int rlns_udp(int ctrl_fd, uint8_t family, const uint8_t *addr, uint16_t port, int *fd);

/*
 * Ask on pool_fd, without waiting, for a socket as rlns_socket() makes.
 * Returns 0 or -errno (-EAGAIN: the socketpair is full).
 */
int rlns_socket_send(int pool_fd, uint8_t family, const uint8_t *addr);

/*
 * Take the next answer on pool_fd, in the order asked: 0 and *fd, -EAGAIN
 * when none arrived yet, or the keeper's -errno for that request.
 */
int rlns_socket_recv(int pool_fd, int *fd);

/*
 * Move the calling (single-threaded) process into the user and network
 * namespaces of keeper pid. Returns 0 or -errno.
 */
int rlns_enter(pid_t pid);

/* Fill a sockaddr for family/addr/port; returns its length. Cannot fail. */
socklen_t rlns_sockaddr(uint8_t family, const uint8_t *addr, uint16_t port,
			struct sockaddr_storage *ss);

#endif /* BM_RLNS_H */
