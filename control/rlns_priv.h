/* SPDX-License-Identifier: GPL-2.0-only */
/* Inside a rootless keeper (rlns.c): its egress namespace (rlns_egress.c). */
#ifndef BM_RLNS_PRIV_H
#define BM_RLNS_PRIV_H

#include <stdbool.h>

#include "rlns.h"

/*
 * A keeper with an egress namespace: the workload's own network namespace
 * (W) holds only its own addresses and routes every peer's address through
 * a veth pair to a second namespace (E) that holds the peers' addresses.
 * The forwarder's sockets are made in E, so nothing the forwarder binds
 * collides with the workload's own (a server on the wildcard address).
 * Both fds are -1 in the plain layout (every address on W's lo).
 */
struct rlns_egress {
	int w_fd; /* the keeper's (workload's) network namespace */
	int e_fd; /* its egress namespace */
};

/*
 * In the keeper, right after its user and network namespaces are made:
 * build E and the veth pair, own addresses on W's lo, peers' (every other
 * address of cfg) on E's lo, routes both ways. On error eg stays plain
 * (-1) and the caller falls back to the plain layout. Returns 0 or -errno.
 */
int rlns_egress_setup(const struct rlns_config *cfg, struct rlns_egress *eg);

/* Make the next socket() in E (true) or back in W (false). 0 or -errno. */
int rlns_egress_enter(const struct rlns_egress *eg, bool is_egress);

/* Peer address a on (is_add) or off: E's lo and W's route. 0 or -EIO. */
int rlns_egress_addr(const struct rlns_egress *eg, const struct pm_addr *a, bool is_add);

#endif /* BM_RLNS_PRIV_H */
