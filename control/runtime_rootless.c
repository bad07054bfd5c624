// SPDX-License-Identifier: GPL-2.0-only
/* Running rootless workloads: keepers, slirp4netns, forwarder registration. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rlns.h"
#include "runtime_rootless.h"

#define RL_SLIRP_READY_MS 10000
#define RL_STOP_WAIT_MS 3000

/* slirp4netns for w's keeper, its log next to its API socket. */
static void exec_slirp(const struct rlrt_wl *w, const char *cidr, int ready, int exit_fd,
		       const char *log)
{
	char pid[16], cidr_opt[64];
	int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
	}
	ready = fcntl(ready, F_DUPFD, 10);
	exit_fd = fcntl(exit_fd, F_DUPFD, 10);
	dup2(ready, 3);
	dup2(exit_fd, 4);
	close_range(5, ~0U, 0);
	snprintf(pid, sizeof(pid), "%d", (int)w->keeper);
	snprintf(cidr_opt, sizeof(cidr_opt), "--cidr=%s", cidr);
	execlp("slirp4netns", "slirp4netns", "--configure", "--mtu=65520", "--enable-sandbox",
	       "--enable-seccomp", "--disable-host-loopback", cidr_opt, "--api-socket", w->api_sock,
	       "--ready-fd=3", "--exit-fd=4", pid, "tap0", (char *)NULL);
	_exit(127);
}

/* slirp4netns for w, API socket RL_DIR/TAG.sock, log RL_DIR/TAG.log. */
static int start_slirp(struct rlrt_wl *w, const char *rl_dir, const char *tag, const char *cidr)
{
	struct pollfd pfd = {.events = POLLIN};
	int ready[2], ex[2], err = 0;
	char log[PATH_MAX], c;

	if ((size_t)snprintf(w->api_sock, sizeof(w->api_sock), "%s/%s.sock", rl_dir, tag) >=
	    sizeof(w->api_sock))
		return -ENAMETOOLONG;
	if (snprintf(log, sizeof(log), "%s/%s.log", rl_dir, tag) >= (int)sizeof(log))
		return -ENAMETOOLONG;
	if (pipe2(ready, O_CLOEXEC))
		return -errno;
	if (pipe2(ex, O_CLOEXEC)) {
		err = -errno;
		goto out_ready;
	}
	w->slirp = fork();
	if (w->slirp == 0)
		exec_slirp(w, cidr, ready[1], ex[0], log);
	close(ex[0]);
	w->slirp_exit_fd = ex[1];
	pfd.fd = ready[0];
	if (w->slirp < 0 || poll(&pfd, 1, RL_SLIRP_READY_MS) != 1 || read(ready[0], &c, 1) != 1) {
		err = w->slirp < 0 ? -errno : -ETIMEDOUT;
		fprintf(stderr, "bpfmesh: rootless: slirp4netns for %s did not start (see %s)\n",
			w->name, log);
	}
out_ready:
	close(ready[0]);
	close(ready[1]);
	return err;
}

static void wait_bounded(pid_t pid)
{
	int i;

	if (pid <= 0)
		return;
	for (i = 0; i < RL_STOP_WAIT_MS / 20; i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		usleep(20000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/*
 * Keeper, slirp4netns, forwarder registration: one workload up (not
 * started). own: its addresses when the model need not name it (placed
 * replicas), else NULL (its Endpoint's).
 */
static int bring_up(const struct rlrt_config *c, struct rlrt_wl *w, const char *tag,
		    const struct pm_addr *addrs, size_t n_addrs, const struct pm_addr *own,
		    size_t n_own, struct fwd *f)
{
	struct rlns_config nc = {.name = w->name,
				 .command = w->command,
				 .addrs = addrs,
				 .n_addrs = n_addrs,
				 .own = own,
				 .n_own = own ? n_own : 0};
	const char *slash = strchr(w->name, '/');
	char ns[64];
	int ctrl, pool, err;

	if (!slash || (size_t)(slash - w->name) >= sizeof(ns))
		return -EINVAL;
	snprintf(ns, sizeof(ns), "%.*s", (int)(slash - w->name), w->name);
	err = rlns_spawn(&nc, &w->keeper, &ctrl, &pool);
	if (err)
		return err;
	w->ctrl_fd = ctrl; /* the forwarder owns it from here */
	err = own ? fwd_add_workload_addrs(f, ns, slash + 1, own, n_own, ctrl, pool, w->doc)
		  : fwd_add_workload(f, ns, slash + 1, ctrl, pool, w->doc);
	if (err)
		w->ctrl_fd = -1;
	if (!err && !c->is_slirp_off)
		err = start_slirp(w, c->rl_dir, tag, c->cidr ? c->cidr : RLRT_DEFAULT_CIDR);
	return err;
}

/* Put addrs on (or take them off) the lo of every workload of f but those of skip[0..n_skip). */
static void announce(struct fwd *f, const struct rlrt_wl *skip, size_t n_skip,
		     const struct pm_addr *addrs, size_t n, bool is_add)
{
	size_t i, k;
	int fd, err;

	for (i = 0; i < fwd_slots(f); i++) {
		fd = fwd_keeper_fd(f, i);
		for (k = 0; fd >= 0 && k < n_skip; k++)
			if (skip[k].ctrl_fd == fd)
				fd = -1;
		for (k = 0; fd >= 0 && k < n; k++) {
			err = rlns_addr(fd, &addrs[k], is_add);
			if (err && is_add)
				fprintf(stderr, "bpfmesh: rootless: address on a peer's lo: %s\n",
					strerror(-err));
		}
	}
}

/* See runtime_rootless.h. */
int rlrt_write_status(const char *rl_dir, const struct rlrt_wl *w, size_t n,
		      const struct rootless_probe *p)
{
	char path[PATH_MAX], tmp[PATH_MAX + 4];
	FILE *fp;
	size_t i;

	if (snprintf(path, sizeof(path), "%s/status", rl_dir) >= (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s.new", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fp = fopen(tmp, "w");
	if (!fp)
		return -errno;
	fprintf(fp, "mode\t%s\nreason\t%s\npid\t%d\n", rootless_mode_name(p->mode), p->reason,
		(int)getpid());
	for (i = 0; i < n; i++)
		fprintf(fp, "workload\t%s\t%d\t%s\n", w[i].name, (int)w[i].keeper,
			w[i].api_sock[0] ? w[i].api_sock : "-");
	if (fclose(fp))
		return -errno;
	return rename(tmp, path) ? -errno : 0;
}

/* slirp4netns and keeper of w gone (bounded), its API socket removed. */
static void stop_one(struct rlrt_wl *w)
{
	if (w->slirp_exit_fd >= 0)
		close(w->slirp_exit_fd);
	w->slirp_exit_fd = -1;
	wait_bounded(w->slirp);
	wait_bounded(w->keeper);
	w->slirp = w->keeper = 0;
	if (w->api_sock[0])
		unlink(w->api_sock);
	w->api_sock[0] = '\0';
}

/* See runtime_rootless.h. */
void rlrt_stop(const char *rl_dir, struct rlrt_wl *w, size_t n, struct fwd *f)
{
	char path[PATH_MAX];
	size_t i;

	if (snprintf(path, sizeof(path), "%s/status", rl_dir) < (int)sizeof(path))
		unlink(path);
	fwd_free(f); /* closes every keeper's socket: keepers stop their workloads */
	for (i = 0; i < n; i++)
		stop_one(&w[i]);
}

/* See runtime_rootless.h. */
int rlrt_start(const struct rlrt_config *c, struct rlrt_wl *w, size_t n,
	       const struct pm_addr *addrs, size_t n_addrs, struct fwd *f,
	       const struct fwd_port *ports, size_t n_ports)
{
	struct pm_addr *all = calloc(RLRT_MAX_ADDRS + n_addrs, sizeof(*all));
	size_t i, n_pre;
	char tag[32];
	pid_t wpid;
	int err = 0;

	if (!all)
		return -ENOMEM;
	/* Workloads that run already (placed replicas): their addresses here, ours there. */
	n_pre = fwd_host_addrs(f, all, RLRT_MAX_ADDRS);
	memcpy(all + n_pre, addrs, n_addrs * sizeof(*addrs));
	for (i = 0; i < n && !err; i++) {
		snprintf(tag, sizeof(tag), "s%zu", i);
		err = bring_up(c, &w[i], tag, all, n_pre + n_addrs, NULL, 0, f);
	}
	free(all);
	if (!err && n_pre)
		announce(f, w, n, addrs, n_addrs, true);
	if (!err)
		err = fwd_intercept(f, ports, n_ports);
	for (i = 0; i < n && !err; i++)
		err = rlns_start(w[i].ctrl_fd, &wpid);
	return err;
}

/* See runtime_rootless.h. */
int rlrt_add(const struct rlrt_config *c, struct rlrt_wl *w, const char *tag,
	     const struct pm_addr *own, size_t n_own, struct fwd *f, pid_t *wpid)
{
	struct pm_addr *all = calloc(RLRT_MAX_ADDRS + n_own, sizeof(*all));
	size_t n;
	int err;

	*wpid = 0;
	if (!all)
		return -ENOMEM;
	n = fwd_host_addrs(f, all, RLRT_MAX_ADDRS);
	memcpy(all + n, own, n_own * sizeof(*own));
	err = bring_up(c, w, tag, all, n + n_own, own, n_own, f);
	free(all);
	if (!err)
		announce(f, w, 1, own, n_own, true);
	if (!err)
		err = fwd_intercept(f, NULL, 0);
	if (!err)
		err = rlns_start(w->ctrl_fd, wpid);
	return err;
}

/* See runtime_rootless.h. */
void rlrt_remove(struct rlrt_wl *w, const struct pm_addr *own, size_t n_own, struct fwd *f)
{
	const char *slash = strchr(w->name, '/');
	char ns[64], log[sizeof(w->api_sock) + 4];
	size_t len = strlen(w->api_sock);

	/* Its slirp4netns log (TAG.log next to TAG.sock) goes too: nothing of it stays. */
	if (len > 5 && !strcmp(w->api_sock + len - 5, ".sock")) {
		snprintf(log, sizeof(log), "%.*s.log", (int)(len - 5), w->api_sock);
		unlink(log);
	}
	if (f && slash && (size_t)(slash - w->name) < sizeof(ns) && w->ctrl_fd >= 0) {
		snprintf(ns, sizeof(ns), "%.*s", (int)(slash - w->name), w->name);
		fwd_remove_workload(f, ns, slash + 1); /* its keeper stops the command */
		announce(f, NULL, 0, own, n_own, false);
	}
	w->ctrl_fd = -1;
	stop_one(w);
}
