// SPDX-License-Identifier: GPL-2.0-only
/*
 * The runtime's API (runtime.h): open/adopt, list, reap, stop, close.
 * Starting a replica is runtime_start.c; the pieces are runtime_proc.c,
 * runtime_net.c, runtime_cgroup.c and runtime_state.c.
 */
#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "bpffs.h"
#include "dataplane.h"
#include "log.h"
#include "runtime_priv.h"

#define KILL_WAIT_MS 3000

static char *dup_opt(const char *s, int *err)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*err = -ENOMEM;
	return d;
}

static int copy_config(struct rt *rt, const struct rt_config *cfg)
{
	int err = 0;

	if (!cfg->state_dir || !cfg->state_dir[0]) {
		pr_warn("runtime: no state directory");
		return -EINVAL;
	}
	if (!cfg->pod_cidr || rts_parse_cidr(cfg->pod_cidr, &rt->net, &rt->prefixlen)) {
		pr_warn("runtime: pod range '%s' is not an IPv4 network A.B.C.D/8..30",
			cfg->pod_cidr ? cfg->pod_cidr : "");
		return -EINVAL;
	}
	if (cfg->dp && !cfg->pin_dir) {
		pr_warn("runtime: a data plane needs its pin directory");
		return -EINVAL;
	}
	snprintf(rt->pod_cidr, sizeof(rt->pod_cidr), "%s", cfg->pod_cidr);
	rt->gw = rt->net + 1;
	rts_addr_str(rt->gw, rt->gateway, sizeof(rt->gateway));
	rt->stop_timeout_ms = cfg->stop_timeout_ms ? cfg->stop_timeout_ms : RT_DEFAULT_STOP_MS;
	rt->state_dir = dup_opt(cfg->state_dir, &err);
	rt->pin_dir = dup_opt(cfg->pin_dir, &err);
	rt->cgroup_root = dup_opt(cfg->cgroup_root, &err);
	rt->rootfs_dir = dup_opt(cfg->rootfs_dir, &err);
	if (!err && asprintf(&rt->rt_dir, "%s/runtime", cfg->state_dir) < 0) {
		rt->rt_dir = NULL;
		err = -ENOMEM;
	}
	return err;
}

/* Refresh r's liveness into r->info. Cannot fail. */
static void refresh(struct rt_replica *r)
{
	bool is_all = true;
	size_t i;

	for (i = 0; i < r->n_ctrs; i++) {
		is_all &= rtp_is_alive(&r->ctrs[i]);
		if (r->ctrs[i].is_exited && r->info.exit_status < 0 && r->ctrs[i].status >= 0)
			r->info.exit_status = r->ctrs[i].status;
	}
	r->info.is_running = is_all && r->n_ctrs;
	r->info.pid = r->n_ctrs ? r->ctrs[0].pid : 0;
}

/*
 * Kill every process of r: SIGTERM first when is_graceful (waiting up to
 * timeout_ms), then SIGKILL (cgroup.kill, else each init, whose death
 * takes its pid namespace along). Returns 0 or -EBUSY (still alive).
 */
int rt_kill(struct rt_replica *r, bool is_graceful, unsigned int timeout_ms)
{
	size_t i;

	if (is_graceful) {
		for (i = 0; i < r->n_ctrs; i++)
			rtp_signal(&r->ctrs[i], SIGTERM);
		if (!rtp_wait_exit(r, timeout_ms))
			return 0;
		pr_info("replica %s: still running %u ms after SIGTERM; killing", r->info.key,
			timeout_ms);
	}
	if (rtc_kill(r))
		for (i = 0; i < r->n_ctrs; i++)
			rtp_signal(&r->ctrs[i], SIGKILL);
	if (!rtp_wait_exit(r, KILL_WAIT_MS))
		return 0;
	pr_warn("replica %s: processes still alive after SIGKILL", r->info.key);
	return -EBUSY;
}

/* Detach XDP and the guard from r's host veth if they are there. */
void rt_unhook(struct rt *rt, struct rt_replica *r)
{
	int ifindex = (int)if_nametoindex(r->info.host_ifname);

	if (r->info.is_guarded && r->guard_ifindex)
		rt_guard_del(rt, r->guard_ifindex);
	r->info.is_guarded = false;
	r->guard_ifindex = 0;
	if (ifindex && rt->pin_dir && dp_is_attached(ifindex, NULL))
		dp_detach(rt->pin_dir, ifindex);
	r->info.is_xdp_attached = false;
}

/*
 * Remove everything of r (processes, XDP, veth, cgroup, record) and drop
 * it from rt. The net namespace is held open while the processes die so
 * the veth is still there to detach from. Returns 0 or the first -errno
 * (r then stays, recorded, for another try).
 */
int rt_teardown(struct rt *rt, struct rt_replica *r, bool is_graceful)
{
	char path[64];
	int netns = -1, err;

	if (r->n_ctrs && rtp_is_alive(&r->ctrs[0])) {
		snprintf(path, sizeof(path), "/proc/%d/ns/net", r->ctrs[0].pid);
		netns = open(path, O_RDONLY | O_CLOEXEC);
	}
	err = rt_kill(r, is_graceful, rt->stop_timeout_ms);
	if (!err) {
		rt_unhook(rt, r);
		err = rtn_link_del(r->info.host_ifname);
	}
	if (netns >= 0)
		close(netns);
	if (!err)
		err = rtc_remove(r);
	if (!err)
		err = rts_remove(rt, r);
	if (!err)
		rts_drop(rt, r);
	return err;
}

/* Re-establish what an adopted replica needs from this process. */
static void adopt(struct rt *rt, struct rt_replica *r)
{
	int ifindex;

	refresh(r);
	ifindex = (int)if_nametoindex(r->info.host_ifname);
	r->info.host_ifindex = ifindex;
	if (r->addr < rt->net + 2 || r->addr >= rt->net + (1U << (32 - rt->prefixlen)) - 1)
		pr_warn("replica %s: address %s outside the pod range %s", r->info.key,
			r->info.address, rt->pod_cidr);
	if (!ifindex || !r->info.is_running) {
		pr_info("adopted replica %s has exited", r->info.key);
		return;
	}
	rt_hook(rt, r);
	pr_info("adopted replica %s (pid %d, %s on %s)", r->info.key, r->info.pid, r->info.address,
		r->info.host_ifname);
}

static int adopt_all(struct rt *rt)
{
	struct rt_replica *r;
	size_t i = 0;
	int err;

	err = rts_load_all(rt);
	while (!err && i < rt->n_reps) {
		r = rt->reps[i];
		if (r->is_complete) {
			adopt(rt, r);
			i++;
			continue;
		}
		pr_info("replica %s: rolling back a start that did not finish", r->info.key);
		if (rt_teardown(rt, r, false))
			i++;
	}
	return err;
}

/* See runtime.h. */
int rt_open(const struct rt_config *cfg, struct rt **out)
{
	struct rt *rt = calloc(1, sizeof(*rt));
	int err;

	if (!rt)
		return -ENOMEM;
	err = copy_config(rt, cfg);
	if (!err) {
		err = bpffs_mkdir_p(rt->rt_dir, 0700);
		if (err)
			pr_warn("create %s: %s", rt->rt_dir, strerror(-err));
	}
	if (!err)
		err = rtc_prepare(rt);
	if (!err)
		err = rtn_forwarding();
	rt->dp = cfg->dp; /* else opened on first use (rt_dp) */
	if (!err)
		err = adopt_all(rt);
	if (err) {
		rt_close(rt);
		return err;
	}
	*out = rt;
	return 0;
}

/* See runtime.h. */
void rt_close(struct rt *rt)
{
	size_t i;

	if (!rt)
		return;
	for (i = 0; i < rt->n_reps; i++)
		rts_replica_free(rt->reps[i]);
	free(rt->reps);
	if (rt->owns_dp)
		dp_close(rt->dp);
	free(rt->state_dir);
	free(rt->rt_dir);
	free(rt->pin_dir);
	free(rt->cgroup_root);
	free(rt->rootfs_dir);
	free(rt);
}

/* See runtime.h. */
int rt_stop(struct rt *rt, const char *key)
{
	struct rt_replica *r = rts_find(rt, key);
	int err;

	if (!r) {
		pr_warn("replica %s: not running on this node", key);
		return -ENOENT;
	}
	err = rt_teardown(rt, r, true);
	if (err)
		pr_warn("replica %s: stop: %s", key, strerror(-err));
	else
		pr_info("replica %s stopped", key);
	return err;
}

/* See runtime.h. */
int rt_get(struct rt *rt, const char *key, struct rt_replica_info *info)
{
	struct rt_replica *r = rts_find(rt, key);

	if (!r)
		return -ENOENT;
	refresh(r);
	*info = r->info;
	return 0;
}

static int cmp_info(const void *a, const void *b)
{
	return strcmp(((const struct rt_replica_info *)a)->key,
		      ((const struct rt_replica_info *)b)->key);
}

static int collect(struct rt *rt, bool is_exited_only, struct rt_replica_info **out, size_t *n)
{
	struct rt_replica_info *v;
	size_t i, k = 0;

	*out = NULL;
	*n = 0;
	if (!rt->n_reps)
		return 0;
	v = calloc(rt->n_reps, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < rt->n_reps; i++) {
		refresh(rt->reps[i]);
		if (!is_exited_only || !rt->reps[i]->info.is_running)
			v[k++] = rt->reps[i]->info;
	}
	if (!k) {
		free(v);
		return 0;
	}
	if (k > 1)
		qsort(v, k, sizeof(*v), cmp_info);
	*out = v;
	*n = k;
	return 0;
}

/* See runtime.h. */
int rt_list(struct rt *rt, struct rt_replica_info **out, size_t *n)
{
	return collect(rt, false, out, n);
}

/* See runtime.h. */
int rt_reap(struct rt *rt, struct rt_replica_info **out, size_t *n)
{
	return collect(rt, true, out, n);
}

/* See runtime.h. */
int rt_routes_sync(struct rt *rt, const struct rt_route *routes, size_t n)
{
	(void)rt;
	return rtn_routes_sync(routes, n);
}

/* See runtime.h. */
const char *rt_pod_cidr(const struct rt *rt)
{
	return rt->pod_cidr;
}

/* See runtime.h. */
const char *rt_gateway(const struct rt *rt)
{
	return rt->gateway;
}
