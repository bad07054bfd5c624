// SPDX-License-Identifier: GPL-2.0-only
/* Running rootless workloads: keepers, slirp4netns, forwarder registration. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
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

static int start_slirp(struct rlrt_wl *w, const char *rl_dir, size_t idx, const char *cidr)
{
	struct pollfd pfd = {.events = POLLIN};
	int ready[2], ex[2], err = 0;
	char log[PATH_MAX], c;

	if ((size_t)snprintf(w->api_sock, sizeof(w->api_sock), "%s/s%zu.sock", rl_dir, idx) >=
	    sizeof(w->api_sock))
		return -ENAMETOOLONG;
	if (snprintf(log, sizeof(log), "%s/s%zu.log", rl_dir, idx) >= (int)sizeof(log))
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

/* Keeper, slirp4netns, forwarder registration: one workload up (not started). */
static int bring_up(const struct rlrt_config *c, struct rlrt_wl *w, size_t i,
		    const struct pm_addr *addrs, size_t n_addrs, struct fwd *f)
{
	struct rlns_config nc = {
		.name = w->name, .command = w->command, .addrs = addrs, .n_addrs = n_addrs};
	const char *slash = strchr(w->name, '/');
	char ns[64];
	int ctrl, pool, err;

	if (!slash || (size_t)(slash - w->name) >= sizeof(ns))
		return -EINVAL;
	snprintf(ns, sizeof(ns), "%.*s", (int)(slash - w->name), w->name);
	err = rlns_spawn(&nc, &w->keeper, &ctrl, &pool);
	if (err)
		return err;
	err = fwd_add_workload(f, ns, slash + 1, ctrl, pool, w->doc);
	if (!err && !c->is_slirp_off)
		err = start_slirp(w, c->rl_dir, i, c->cidr ? c->cidr : RLRT_DEFAULT_CIDR);
	return err;
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

/* See runtime_rootless.h. */
void rlrt_stop(const char *rl_dir, struct rlrt_wl *w, size_t n, struct fwd *f)
{
	char path[PATH_MAX];
	size_t i;

	if (snprintf(path, sizeof(path), "%s/status", rl_dir) < (int)sizeof(path))
		unlink(path);
	fwd_free(f); /* closes every keeper's socket: keepers stop their workloads */
	for (i = 0; i < n; i++) {
		if (w[i].slirp_exit_fd >= 0)
			close(w[i].slirp_exit_fd);
		w[i].slirp_exit_fd = -1;
		wait_bounded(w[i].slirp);
		wait_bounded(w[i].keeper);
		w[i].slirp = w[i].keeper = 0;
		if (w[i].api_sock[0])
			unlink(w[i].api_sock);
	}
}

/* See runtime_rootless.h. */
int rlrt_start(const struct rlrt_config *c, struct rlrt_wl *w, size_t n,
	       const struct pm_addr *addrs, size_t n_addrs, struct fwd *f,
	       const struct fwd_port *ports, size_t n_ports)
{
	pid_t wpid;
	size_t i;
	int err = 0;

	for (i = 0; i < n && !err; i++)
		err = bring_up(c, &w[i], i, addrs, n_addrs, f);
	if (!err)
		err = fwd_intercept(f, ports, n_ports);
	for (i = 0; i < n && !err; i++)
		err = rlns_start(fwd_keeper_fd(f, i), &wpid);
	return err;
}
