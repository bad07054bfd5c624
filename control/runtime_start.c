// SPDX-License-Identifier: GPL-2.0-only
/*
 * rt_start(): check the spec, prepare every container's argv and env,
 * record the start, then cgroup, namespaces, veth, data plane, and let the
 * containers run. Anything made before a failure is removed again.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "runtime_priv.h"

#define HOSTNAME_MAX 63

/* What the containers of one start need, prepared before any clone. */
struct launch {
	char ***argv;
	char ***envp;
	char **root; /* NULL entries: the host's / */
	size_t n;
	char hostname[HOSTNAME_MAX + 1];
	int sync[2];
	int err[2];
	int log_fd;
	int netns_fd;
};

static bool is_name_ok(const char *s, size_t max)
{
	const char *p;

	if (!s || !*s || strlen(s) >= max)
		return false;
	for (p = s; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return false;
	return true;
}

static int check_spec(const struct rt *rt, const struct rt_replica_spec *spec)
{
	const char *key = spec->key ? spec->key : "?";
	size_t i;

	if (!is_name_ok(spec->key, RT_KEY_MAX) || !is_name_ok(spec->ns, RT_NS_MAX) ||
	    !is_name_ok(spec->pod_name, RT_POD_NAME_MAX)) {
		pr_warn("replica %s: key, namespace and pod name must be non-empty, printable "
			"and short",
			key);
		return -EINVAL;
	}
	if (rts_find(rt, spec->key)) {
		pr_warn("replica %s: already on this node", key);
		return -EEXIST;
	}
	if (!spec->pod || !spec->pod->n_containers) {
		pr_warn("replica %s: pod has no containers", key);
		return -EINVAL;
	}
	for (i = 0; i < spec->pod->n_containers; i++) {
		if (spec->pod->containers[i].n_command && spec->pod->containers[i].command[0][0])
			continue;
		pr_warn("replica %s: container %s has no command (there are no image entrypoints "
			"here: give command)",
			key, spec->pod->containers[i].name ? spec->pod->containers[i].name : "?");
		return -EINVAL;
	}
	return 0;
}

/*
 * ROOTFS_DIR/NAME for image, NAME being the image with every character but
 * letters, digits, '.', '-' and '_' replaced by '_', if that is a
 * directory; else NULL (the host's /). Returns 0 or -ENOMEM.
 */
static int resolve_root(const struct rt *rt, const char *image, char **root)
{
	struct stat st;
	char *path, *p;
	size_t off;

	*root = NULL;
	if (!rt->rootfs_dir || !image || !*image || !strcmp(image, ".") || !strcmp(image, ".."))
		return 0;
	if (asprintf(&path, "%s/%s", rt->rootfs_dir, image) < 0)
		return -ENOMEM;
	off = strlen(rt->rootfs_dir) + 1;
	for (p = path + off; *p; p++)
		if (!(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') &&
		    !(*p >= '0' && *p <= '9') && *p != '.' && *p != '-' && *p != '_')
			*p = '_';
	if (stat(path, &st) || !S_ISDIR(st.st_mode)) {
		free(path);
		return 0;
	}
	*root = path;
	return 0;
}

static void launch_free(struct launch *l)
{
	size_t i;
	int *fds[] = {&l->sync[0], &l->sync[1], &l->err[0], &l->err[1], &l->log_fd, &l->netns_fd};

	for (i = 0; i < l->n; i++) {
		rtp_free_strv(l->argv ? l->argv[i] : NULL);
		rtp_free_strv(l->envp ? l->envp[i] : NULL);
		free(l->root ? l->root[i] : NULL);
	}
	free(l->argv);
	free(l->envp);
	free(l->root);
	l->argv = l->envp = NULL;
	l->root = NULL;
	l->n = 0;
	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

static int launch_prepare(const struct rt *rt, const struct rt_replica_spec *spec, struct launch *l)
{
	const struct wl_container *c;
	size_t i;
	int err = 0;

	l->n = spec->pod->n_containers;
	l->argv = calloc(l->n, sizeof(*l->argv));
	l->envp = calloc(l->n, sizeof(*l->envp));
	l->root = calloc(l->n, sizeof(*l->root));
	if (!l->argv || !l->envp || !l->root)
		return -ENOMEM;
	snprintf(l->hostname, sizeof(l->hostname), "%s", spec->pod_name);
	for (i = 0; i < l->n && !err; i++) {
		c = &spec->pod->containers[i];
		err = rtp_build_argv(c, &l->argv[i]);
		if (!err)
			err = rtp_build_env(spec, c, &l->envp[i]);
		if (!err)
			err = resolve_root(rt, c->image, &l->root[i]);
		if (!err && c->image)
			pr_info("replica %s: container %s: image %s runs in %s", spec->key,
				c->name ? c->name : "?", c->image, l->root[i] ? l->root[i] : "/");
	}
	if (!err && (pipe2(l->sync, O_CLOEXEC) || pipe2(l->err, O_CLOEXEC)))
		err = -errno;
	return err;
}

/* The pod's limits: the sum over containers when every container has one. */
static struct wl_resources pod_limits(const struct wl_pod_spec *pod)
{
	struct wl_resources sum = {0};
	bool has_cpu = true, has_mem = true;
	size_t i;

	for (i = 0; i < pod->n_containers; i++) {
		has_cpu &= pod->containers[i].limits.cpu_milli != 0;
		has_mem &= pod->containers[i].limits.mem_bytes != 0;
		sum.cpu_milli += pod->containers[i].limits.cpu_milli;
		sum.mem_bytes += pod->containers[i].limits.mem_bytes;
	}
	if (!has_cpu)
		sum.cpu_milli = 0;
	if (!has_mem)
		sum.mem_bytes = 0;
	return sum;
}

static int new_replica(struct rt *rt, const struct rt_replica_spec *spec, struct rt_replica **out)
{
	struct rt_replica *r = calloc(1, sizeof(*r));
	int err;

	if (!r)
		return -ENOMEM;
	r->ctrs = calloc(spec->pod->n_containers, sizeof(*r->ctrs));
	if (!r->ctrs) {
		free(r);
		return -ENOMEM;
	}
	strcpy(r->info.key, spec->key);
	strcpy(r->info.ns, spec->ns);
	strcpy(r->info.pod_name, spec->pod_name);
	r->info.exit_status = -1;
	rts_id(spec->key, r->id);
	snprintf(r->info.host_ifname, sizeof(r->info.host_ifname), "bm%s", r->id);
	err = rts_addr_alloc(rt, &r->addr);
	if (err) {
		pr_warn("replica %s: no free address left in %s", spec->key, rt->pod_cidr);
	} else if (if_nametoindex(r->info.host_ifname)) {
		pr_warn("replica %s: interface %s already exists", spec->key, r->info.host_ifname);
		err = -EEXIST;
	}
	if (err) {
		rts_replica_free(r);
		return err;
	}
	rts_addr_str(r->addr, r->info.address, sizeof(r->info.address));
	*out = r;
	return 0;
}

static int spawn_one(struct rt_replica *r, struct launch *l, size_t i)
{
	struct rtp_exec ex = {
		.argv = l->argv[i],
		.envp = l->envp[i],
		.hostname = l->hostname,
		.root = l->root[i],
		.netns_fd = l->netns_fd,
		.log_fd = l->log_fd,
		.sync_fd = l->sync[0],
		.err_fd = l->err[1],
	};
	struct rt_ctr *c = &r->ctrs[i];
	int err;

	err = rtp_spawn(&ex, &c->pid);
	if (err) {
		pr_warn("replica %s: clone container %zu: %s", r->info.key, i, strerror(-err));
		return err;
	}
	c->start_time = rtp_start_time(c->pid);
	c->status = -1;
	r->n_ctrs++;
	return rtc_add_pid(r, c->pid);
}

static int open_netns(struct rt_replica *r, struct launch *l)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/ns/net", r->ctrs[0].pid);
	l->netns_fd = open(path, O_RDONLY | O_CLOEXEC);
	return l->netns_fd < 0 ? -errno : 0;
}

/* Namespaces, veth, the other containers, the data plane; then run. */
static int bring_up(struct rt *rt, struct rt_replica *r, struct launch *l)
{
	size_t i;
	int err;

	err = spawn_one(r, l, 0);
	if (!err)
		err = open_netns(r, l);
	if (!err)
		err = rtn_veth_create(r->info.host_ifname, r->ctrs[0].pid, &r->info.host_ifindex);
	if (!err)
		err = rtn_host_setup(r->info.host_ifindex, rt->gw, r->addr);
	if (!err)
		err = rtn_inside_setup(r->ctrs[0].pid, rt->gw, r->addr);
	for (i = 1; !err && i < l->n; i++)
		err = spawn_one(r, l, i);
	if (!err)
		err = rts_save(rt, r);
	if (!err)
		err = rt_hook(rt, r);
	if (err)
		return err;
	/* Let every container go; the error pipe closes once all exec'd. */
	close(l->sync[0]);
	close(l->err[1]);
	l->sync[0] = l->err[1] = -1;
	for (i = 0; i < l->n && !err; i++)
		if (write(l->sync[1], "g", 1) != 1)
			err = -errno;
	if (!err)
		err = rtp_wait_started(l->err[0]);
	if (err)
		pr_warn("replica %s: start %s: %s", r->info.key, l->argv[0][0], strerror(-err));
	return err;
}

static int open_log(const struct rt *rt, const struct rt_replica *r, struct launch *l)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s.log", rt->rt_dir, r->id);
	l->log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (l->log_fd < 0) {
		pr_warn("replica %s: open %s: %s", r->info.key, path, strerror(errno));
		return -errno;
	}
	return 0;
}

/* See runtime.h. */
int rt_start(struct rt *rt, const struct rt_replica_spec *spec, struct rt_replica_info *info)
{
	struct launch l = {.sync = {-1, -1}, .err = {-1, -1}, .log_fd = -1, .netns_fd = -1};
	struct wl_resources limits;
	struct rt_replica *r = NULL;
	int err;

	err = check_spec(rt, spec);
	if (!err)
		err = launch_prepare(rt, spec, &l);
	if (!err)
		err = new_replica(rt, spec, &r);
	if (err)
		goto out;
	err = rts_add(rt, r);
	if (err) {
		rts_replica_free(r);
		goto out;
	}
	/* Recorded before anything exists: a crash mid-start is rolled back on open. */
	limits = pod_limits(spec->pod);
	err = rts_save(rt, r);
	if (!err)
		err = open_log(rt, r, &l);
	if (!err)
		err = rtc_create(rt, r, &limits);
	if (!err)
		err = bring_up(rt, r, &l);
	if (!err) {
		r->is_complete = true;
		err = rts_save(rt, r);
	}
	if (err) {
		launch_free(&l); /* containers still waiting see EOF and exit */
		if (rt_teardown(rt, r, false))
			pr_warn("replica %s: roll back incomplete; rt_stop retries", spec->key);
		goto out;
	}
	r->info.is_running = true;
	r->info.pid = r->ctrs[0].pid;
	if (info)
		*info = r->info;
	pr_info("replica %s started: pid %d, %s on %s", spec->key, r->info.pid, r->info.address,
		r->info.host_ifname);
out:
	launch_free(&l);
	return err;
}
