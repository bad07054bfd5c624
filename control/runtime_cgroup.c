// SPDX-License-Identifier: GPL-2.0-only
/*
 * cgroup v2 groups of the runtime: CGROUP_ROOT/bm-ID per replica, with
 * cpu.max and memory.max from the pod's limits when the hierarchy offers
 * those controllers (a hybrid host may keep them on cgroup v1: the limit is
 * then reported as not enforced, see docs/runtime.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include <linux/magic.h>

#include "log.h"
#include "runtime_priv.h"

#define CPU_PERIOD_US 100000ULL
#define RMDIR_WAIT_MS 2000

static int write_file(const char *dir, const char *file, const char *text)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	if (n < 0)
		err = -errno;
	else if ((size_t)n != strlen(text))
		err = -EIO;
	close(fd);
	return err;
}

/* Is word one of the space-separated words in DIR/FILE? */
static bool file_has_word(const char *dir, const char *file, const char *word)
{
	char path[PATH_MAX], buf[512], *tok, *save;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	for (tok = strtok_r(buf, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
		if (!strcmp(tok, word))
			return true;
	return false;
}

static bool is_cgroup2(const char *path)
{
	struct statfs sf;

	return !statfs(path, &sf) && sf.f_type == CGROUP2_SUPER_MAGIC;
}

/*
 * Make controller ctl available to dir's children: enable it in dir's
 * subtree_control, first in the ancestors that do not yet pass it down.
 * Returns 0 or -errno.
 */
static int enable_controller(const char *dir, const char *ctl, int depth)
{
	char parent[PATH_MAX], word[32];
	int err;

	if (file_has_word(dir, "cgroup.subtree_control", ctl))
		return 0;
	if (!file_has_word(dir, "cgroup.controllers", ctl)) {
		snprintf(parent, sizeof(parent), "%s", dir);
		dirname(parent);
		if (depth > 32 || !strcmp(parent, dir) || !is_cgroup2(parent))
			return -ENOENT;
		err = enable_controller(parent, ctl, depth + 1);
		if (err)
			return err;
	}
	snprintf(word, sizeof(word), "+%s", ctl);
	return write_file(dir, "cgroup.subtree_control", word);
}

/*
 * Check cgroup_root (a cgroup v2 directory, created when its parent is one)
 * and enable cpu and memory for replica groups where the hierarchy has
 * them. Returns 0, -EINVAL (not on cgroup v2), or -errno.
 */
int rtc_prepare(struct rt *rt)
{
	static const char *const ctls[] = {"cpu", "memory"};
	bool *has[] = {&rt->has_cpu, &rt->has_mem};
	size_t i;
	int err;

	if (!rt->cgroup_root)
		return 0;
	if (mkdir(rt->cgroup_root, 0755) && errno != EEXIST) {
		pr_warn("create cgroup %s: %s", rt->cgroup_root, strerror(errno));
		return -errno;
	}
	if (!is_cgroup2(rt->cgroup_root)) {
		pr_warn("cgroup root %s: not on a cgroup v2 filesystem", rt->cgroup_root);
		return -EINVAL;
	}
	for (i = 0; i < 2; i++) {
		err = enable_controller(rt->cgroup_root, ctls[i], 0);
		*has[i] = !err;
		if (err)
			pr_info("cgroup %s: %s controller not available (%s); %s limits not "
				"enforced",
				rt->cgroup_root, ctls[i], strerror(-err), ctls[i]);
	}
	return 0;
}

static int write_limits(const struct rt *rt, struct rt_replica *r, const struct wl_resources *lim)
{
	unsigned long long quota;
	char buf[64];
	int err;

	if (lim->cpu_milli && rt->has_cpu) {
		quota = lim->cpu_milli * CPU_PERIOD_US / 1000;
		snprintf(buf, sizeof(buf), "%llu %llu", quota < 1000 ? 1000 : quota, CPU_PERIOD_US);
		err = write_file(r->cgroup, "cpu.max", buf);
		if (err) {
			pr_warn("replica %s: write %s/cpu.max: %s", r->info.key, r->cgroup,
				strerror(-err));
			return err;
		}
		r->info.is_cpu_limited = true;
	} else if (lim->cpu_milli) {
		pr_warn("replica %s: cpu limit not enforced (no cpu controller in cgroup v2)",
			r->info.key);
	}
	if (lim->mem_bytes && rt->has_mem) {
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)lim->mem_bytes);
		err = write_file(r->cgroup, "memory.max", buf);
		if (err) {
			pr_warn("replica %s: write %s/memory.max: %s", r->info.key, r->cgroup,
				strerror(-err));
			return err;
		}
		r->info.is_mem_limited = true;
	} else if (lim->mem_bytes) {
		pr_warn("replica %s: memory limit not enforced (no memory controller in cgroup v2)",
			r->info.key);
	}
	return 0;
}

/*
 * Create r's group CGROUP_ROOT/bm-ID (r->cgroup) with limits. Without a
 * cgroup root it does nothing. Returns 0 or -errno (logged; nothing left).
 */
int rtc_create(const struct rt *rt, struct rt_replica *r, const struct wl_resources *limits)
{
	int err;

	r->cgroup[0] = '\0';
	if (!rt->cgroup_root)
		return 0;
	snprintf(r->cgroup, sizeof(r->cgroup), "%s/bm-%s", rt->cgroup_root, r->id);
	if (mkdir(r->cgroup, 0755)) {
		err = -errno;
		pr_warn("replica %s: create cgroup %s: %s", r->info.key, r->cgroup,
			strerror(errno));
		r->cgroup[0] = '\0';
		return err;
	}
	err = write_limits(rt, r, limits);
	if (err) {
		rmdir(r->cgroup);
		r->cgroup[0] = '\0';
	}
	return err;
}

/* Move pid into r's group. Returns 0 (also without a group) or -errno. */
int rtc_add_pid(const struct rt_replica *r, int pid)
{
	char buf[32];
	int err;

	if (!r->cgroup[0])
		return 0;
	snprintf(buf, sizeof(buf), "%d", pid);
	err = write_file(r->cgroup, "cgroup.procs", buf);
	if (err)
		pr_warn("replica %s: add pid %d to %s: %s", r->info.key, pid, r->cgroup,
			strerror(-err));
	return err;
}

/*
 * SIGKILL every process in r's group (cgroup.kill, Linux 5.14+). Returns 0,
 * -ENOENT (no group or no cgroup.kill) or -errno.
 */
int rtc_kill(const struct rt_replica *r)
{
	if (!r->cgroup[0])
		return -ENOENT;
	return write_file(r->cgroup, "cgroup.kill", "1");
}

/*
 * Remove r's group, waiting (bounded) while exiting processes leave it.
 * Returns 0 (also when it is gone) or -errno (logged).
 */
int rtc_remove(const struct rt_replica *r)
{
	struct timespec ts = {.tv_nsec = 20 * 1000 * 1000};
	int i;

	if (!r->cgroup[0])
		return 0;
	for (i = 0; i < RMDIR_WAIT_MS / 20; i++) {
		if (!rmdir(r->cgroup) || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			break;
		nanosleep(&ts, NULL);
	}
	pr_warn("replica %s: remove cgroup %s: %s", r->info.key, r->cgroup, strerror(errno));
	return -errno;
}
