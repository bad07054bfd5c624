/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The workload runtime: runs the replicas the scheduler places on this node.
 * A replica's containers run in new net, pid, mount, uts and ipc namespaces
 * (the containers of one replica share its net namespace, as in a Pod), in
 * one cgroup v2 group with the pod's limits, joined to the node by a veth
 * pair with an address from the node's pod range. Replicas outlive the
 * process that started them: every replica is recorded under
 * STATE_DIR/runtime/ and adopted by the next rt_open(). See docs/runtime.md.
 *
 * Split by job: runtime.c (the API), runtime_proc.c (namespaces, processes),
 * runtime_net.c (libnl: veth, addresses, routes), runtime_cgroup.c (cgroup
 * v2), runtime_state.c (records, address allocation).
 *
 * Not thread-safe: one thread owns a struct rt.
 */
#ifndef BM_RUNTIME_H
#define BM_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>

#include "workload_model.h"

struct rt;
struct dataplane;

#define RT_KEY_MAX 320 /* longest replica key, with its NUL */
#define RT_NS_MAX 64
#define RT_POD_NAME_MAX 254
#define RT_ROUTE_PROTO 190 /* rtm_protocol of the peer routes rt_routes_sync() owns */

struct rt_config {
	const char *state_dir; /* replicas recorded under STATE_DIR/runtime/ (required) */
	const char *pin_dir; /* data plane whose bm_xdp_ingress goes on host-side veths;
			      * NULL (and dp NULL): no XDP */
	struct dataplane *dp; /* an open data plane to use instead of opening pin_dir
			       * (the caller keeps it open until rt_close) */
	const char *pod_cidr; /* IPv4 "198.18.17.0/24", /8../29; gateway = first address */
	const char *cgroup_root; /* cgroup v2 directory for replica groups; NULL: none */
	const char *rootfs_dir; /* image NAME runs in ROOTFS_DIR/NAME if it is a directory
				 * (name sanitized), else on the host's /; NULL: host / */
	unsigned int stop_timeout_ms; /* SIGTERM to SIGKILL in rt_stop; 0: 5000 */
};

struct rt_replica_spec {
	const char *key; /* scheduler replica key, unique on the node */
	const char *ns; /* e.g. "shop" */
	const char *pod_name; /* e.g. "backend-v1-3f2a9c1e0b-0"; the hostname */
	const struct wl_pod_spec *pod; /* containers: command/args/env/resources */
	const struct wl_model *model; /* ConfigMaps for env (may be NULL) */
	const char *const *env; /* NULL-terminated NAME=VALUE for every container, set
				 * before its envFrom and env (which may override); NULL: none */
};

struct rt_replica_info {
	char key[RT_KEY_MAX];
	char ns[RT_NS_MAX];
	char pod_name[RT_POD_NAME_MAX];
	char address[46]; /* assigned from pod_cidr */
	char host_ifname[16]; /* host-side veth in the node's namespace */
	int host_ifindex;
	int pid; /* first container's init pid (in the node's pid namespace) */
	bool is_running; /* every container's process is alive */
	bool is_adopted; /* started by an earlier process, adopted by rt_open */
	bool is_xdp_attached; /* bm_xdp_ingress on host_ifname */
	bool is_guarded; /* anti-spoofing guard set for host_ifindex */
	bool is_cpu_limited; /* cpu.max written (false: no limit, or no cpu controller) */
	bool is_mem_limited; /* memory.max written (false: no limit, or no memory controller) */
	int exit_status; /* wait status of the first exited container when we saw it,
			  * -1 when unknown (adopted processes are not our children) */
};

/* A peer node's pod range and the address it is reached at. */
struct rt_route {
	const char *cidr; /* "198.18.18.0/24" */
	const char *via; /* "198.18.0.12" */
};

/*
 * Open the runtime for cfg (strings are copied): check pod_cidr, create
 * STATE_DIR/runtime/, enable the cpu and memory controllers below
 * cgroup_root where the hierarchy offers them, set net.ipv4.ip_forward=1 in
 * the current network namespace, open the data plane (pin_dir), and adopt
 * every replica recorded in the state directory (records of starts that
 * never finished are rolled back). Returns 0 and *out (free with
 * rt_close), or -EINVAL (bad config, logged), -ENOMEM, or another -errno.
 */
int rt_open(const struct rt_config *cfg, struct rt **out);

/*
 * Start one replica: allocate an address, create the cgroup with the pod's
 * limits, the namespaces, the veth pair (host side up with the gateway
 * address and a /32 route to the replica; inside eth0 with the address, lo
 * up, default route via the gateway), attach XDP and the anti-spoofing guard
 * to the host side, then run every container (env with ConfigMap values
 * resolved) and record the replica. All or nothing: on failure everything
 * made is removed. info (may be NULL) receives the replica's state.
 * Returns 0, -EEXIST (key already runs here, or a host veth name clash),
 * -EINVAL (bad spec: no containers, a container without command, ...),
 * -ENOENT (missing ConfigMap or key, command not found), -ENOSPC (pod_cidr
 * exhausted), or another -errno; every error is logged with the key.
 */
int rt_start(struct rt *rt, const struct rt_replica_spec *spec, struct rt_replica_info *info);

/*
 * Stop replica key: SIGTERM to its processes, wait up to stop_timeout_ms,
 * then SIGKILL (cgroup.kill where available); detach XDP, drop the guard,
 * delete the veth pair (and so its routes), remove the cgroup, release the
 * address and the record. Returns 0, -ENOENT (no such replica), or another
 * -errno (what could not be removed stays recorded for a later rt_stop).
 */
int rt_stop(struct rt *rt, const char *key);

/* State of replica key into *info. Returns 0 or -ENOENT. */
int rt_get(struct rt *rt, const char *key, struct rt_replica_info *info);

/*
 * Every replica this runtime knows (running or exited), in key order:
 * *out is a malloc'ed array the caller frees, *n its length (0: *out NULL).
 * Liveness is checked on each call. Returns 0 or -ENOMEM.
 */
int rt_list(struct rt *rt, struct rt_replica_info **out, size_t *n);

/*
 * The replicas that are no longer whole: some container process has
 * exited (it reaps the ones that are our children). They stay recorded and
 * are reported on every call until rt_stop(key) removes them. Same output
 * and errors as rt_list().
 */
int rt_reap(struct rt *rt, struct rt_replica_info **out, size_t *n);

/*
 * Make the node's routes to peer pod ranges exactly routes[0..n): add or
 * replace `CIDR via VIA` (protocol RT_ROUTE_PROTO, main table) and delete
 * routes of that protocol not in the list. Returns 0, -EINVAL (a bad
 * route, nothing changed), or the first -errno (the others still tried).
 */
int rt_routes_sync(struct rt *rt, const struct rt_route *routes, size_t n);

/* The node's pod range and gateway as configured. Cannot fail. */
const char *rt_pod_cidr(const struct rt *rt);
const char *rt_gateway(const struct rt *rt);

/* Release rt; replicas keep running and stay recorded. NULL-safe. */
void rt_close(struct rt *rt);

#endif /* BM_RUNTIME_H */
