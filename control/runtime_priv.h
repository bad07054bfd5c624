/* SPDX-License-Identifier: GPL-2.0-only */
/* Shared between the runtime_*.c files; not for other modules. */
#ifndef BM_RUNTIME_PRIV_H
#define BM_RUNTIME_PRIV_H

#include <limits.h>
#include <stdint.h>

#include "runtime.h"

#define RT_ID_LEN 12 /* hex digits of the key hash naming veth, cgroup and record */
#define RT_DEFAULT_STOP_MS 5000

/* One container: its init process (pid 1 of its pid namespace). */
struct rt_ctr {
	int pid;
	unsigned long long start_time; /* /proc/PID/stat starttime: detects pid reuse */
	bool is_exited;
	int status; /* wait status when is_exited and we reaped it, else -1 */
};

struct rt_replica {
	struct rt_replica_info info;
	char id[RT_ID_LEN + 1];
	char cgroup[PATH_MAX]; /* "" without cgroups */
	uint32_t addr; /* host byte order */
	struct rt_ctr *ctrs;
	size_t n_ctrs;
	bool is_complete; /* the start finished; else the record is rolled back on open */
	int guard_ifindex; /* host veth ifindex the guard is keyed by (0: none); recorded
			    * because the veth vanishes with the replica's net namespace */
};

struct rt {
	char *state_dir;
	char *rt_dir; /* STATE_DIR/runtime */
	char *pin_dir;
	char *cgroup_root;
	char *rootfs_dir;
	char pod_cidr[32];
	char gateway[16];
	uint32_t net; /* host byte order */
	uint32_t prefixlen;
	uint32_t gw;
	struct dataplane *dp;
	bool owns_dp;
	bool has_cpu; /* the cpu controller is enabled for replica groups */
	bool has_mem;
	unsigned int stop_timeout_ms;
	struct rt_replica **reps;
	size_t n_reps;
	size_t cap_reps;
};

/* runtime.c */
int rt_kill(struct rt_replica *r, bool is_graceful, unsigned int timeout_ms);
int rt_teardown(struct rt *rt, struct rt_replica *r, bool is_graceful);
void rt_unhook(struct rt *rt, struct rt_replica *r);

/* runtime_hook.c */
int rt_dp(struct rt *rt);
int rt_hook(struct rt *rt, struct rt_replica *r);
int rt_guard_del(struct rt *rt, int ifindex);

/* runtime_state.c */
void rts_id(const char *key, char id[RT_ID_LEN + 1]);
int rts_save(const struct rt *rt, const struct rt_replica *r);
int rts_remove(const struct rt *rt, const struct rt_replica *r);
int rts_load_all(struct rt *rt);
int rts_addr_alloc(const struct rt *rt, uint32_t *addr);
void rts_addr_str(uint32_t addr, char *buf, size_t len);
int rts_parse_cidr(const char *text, uint32_t *net, uint32_t *prefixlen);
int rts_add(struct rt *rt, struct rt_replica *r);
void rts_drop(struct rt *rt, struct rt_replica *r);
struct rt_replica *rts_find(const struct rt *rt, const char *key);
void rts_replica_free(struct rt_replica *r);

/* runtime_cgroup.c */
int rtc_prepare(struct rt *rt);
int rtc_create(const struct rt *rt, struct rt_replica *r, const struct wl_resources *limits);
int rtc_add_pid(const struct rt_replica *r, int pid);
int rtc_kill(const struct rt_replica *r);
int rtc_remove(const struct rt_replica *r);

/* runtime_proc.c */
struct rtp_exec {
	char **argv; /* NULL-terminated */
	char **envp;
	const char *hostname;
	const char *root; /* NULL: the host's / */
	int netns_fd; /* -1: a new net namespace */
	int log_fd; /* stdout and stderr */
	int sync_fd; /* read end: the container proceeds on one byte, aborts on EOF */
	int err_fd; /* write end (close-on-exec): an errno when the start fails */
};
int rtp_spawn(const struct rtp_exec *ex, int *pid);
int rtp_wait_started(int err_rd);
int rtp_build_env(const struct rt_replica_spec *spec, const struct wl_container *c, char ***envp);
void rtp_free_strv(char **v);
int rtp_build_argv(const struct wl_container *c, char ***argv);
unsigned long long rtp_start_time(int pid);
bool rtp_is_alive(struct rt_ctr *c);
int rtp_signal(const struct rt_ctr *c, int sig);
int rtp_wait_exit(struct rt_replica *r, unsigned int timeout_ms);

/* runtime_net.c */
int rtn_forwarding(void);
int rtn_veth_create(const char *host_ifname, int peer_pid, int *ifindex);
int rtn_host_setup(int ifindex, uint32_t gw, uint32_t addr);
int rtn_inside_setup(int pid, uint32_t gw, uint32_t addr);
int rtn_link_del(const char *ifname);
int rtn_routes_sync(const struct rt_route *routes, size_t n);

#endif /* BM_RUNTIME_PRIV_H */
