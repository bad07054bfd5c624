// SPDX-License-Identifier: GPL-2.0-only
/*
 * A rootless keeper's egress namespace (rlns_priv.h). The veth pair has the
 * same MAC address on both ends and ARP off: a NOARP device addresses every
 * frame to its own MAC, which is the peer's too, so neither IPv4 nor IPv6
 * needs neighbour discovery for addresses that sit on the other side's lo.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <abi/abi.h>

#include "rlns_priv.h"

#define EGRESS_MAC "02:62:6d:00:00:01"

static const char *ip_path(void)
{
	static const char *const paths[] = {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"};
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (!access(paths[i], X_OK))
			return paths[i];
	return NULL;
}

/* Run `ip -batch -` on text in network namespace ns_fd (-1: the current one). 0 or -EIO. */
static int ip_batch(const char *text, int ns_fd)
{
	const char *ip = ip_path();
	int p[2], status;
	size_t len = strlen(text);
	pid_t pid;

	if (!ip || pipe2(p, O_CLOEXEC))
		return -ENOENT;
	pid = fork();
	if (pid == 0) {
		if (ns_fd >= 0 && syscall(SYS_setns, ns_fd, CLONE_NEWNET))
			_exit(126);
		dup2(p[0], 0);
		execl(ip, "ip", "-batch", "-", (char *)NULL);
		_exit(127);
	}
	close(p[0]);
	if (pid < 0 || write(p[1], text, len) != (ssize_t)len) {
		close(p[1]);
		if (pid > 0)
			waitpid(pid, NULL, 0);
		return -EIO;
	}
	close(p[1]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		return -EIO;
	return 0;
}

static bool is_own(const struct rlns_config *cfg, const struct pm_addr *a)
{
	size_t i;

	for (i = 0; i < cfg->n_own; i++)
		if (cfg->own[i].family == a->family && !memcmp(cfg->own[i].addr, a->addr, 16))
			return true;
	return false;
}

/* "VERB A/LEN dev DEV[ nodad]\n" for a: an address or a route line. */
static void put_line(FILE *fp, const char *what, const char *verb, const struct pm_addr *a,
		     const char *dev)
{
	char text[INET6_ADDRSTRLEN];
	bool is_v6 = a->family == BM_FAMILY_IPV6;

	inet_ntop(is_v6 ? AF_INET6 : AF_INET, a->addr, text, sizeof(text));
	fprintf(fp, "%s%s %s %s/%u dev %s%s\n", is_v6 && !strcmp(what, "route") ? "-6 " : "", what,
		verb, text, a->prefixlen, dev,
		is_v6 && !strcmp(what, "addr") && strcmp(verb, "del") ? " nodad" : "");
}

/*
 * E (e_fd; the keeper is back in W): lo with the peers, the veth pair
 * (e0 moved to the keeper's namespace, W), routes to our own addresses.
 */
static int setup_e(const struct rlns_config *cfg, int e_fd, pid_t keeper)
{
	char *text = NULL;
	size_t len, i;
	FILE *fp = open_memstream(&text, &len);
	int err;

	if (!fp)
		return -ENOMEM;
	fprintf(fp, "link set lo up\n");
	for (i = 0; i < cfg->n_addrs; i++)
		if (!is_own(cfg, &cfg->addrs[i]))
			put_line(fp, "addr", "add", &cfg->addrs[i], "lo");
	fprintf(fp,
		"link add e1 address " EGRESS_MAC
		" arp off type veth peer name e0 address " EGRESS_MAC
		" arp off netns %d\nlink set e1 up\n",
		(int)keeper);
	for (i = 0; i < cfg->n_own; i++)
		put_line(fp, "route", "add", &cfg->own[i], "e1");
	err = fclose(fp) ? -ENOMEM : ip_batch(text, e_fd);
	free(text);
	return err;
}

/* W (the current namespace): lo with our own addresses, routes to the peers. */
static int setup_w(const struct rlns_config *cfg)
{
	char *text = NULL;
	size_t len, i;
	FILE *fp = open_memstream(&text, &len);
	int err;

	if (!fp)
		return -ENOMEM;
	fprintf(fp, "link set lo up\nlink set e0 up\n");
	for (i = 0; i < cfg->n_own; i++)
		put_line(fp, "addr", "add", &cfg->own[i], "lo");
	for (i = 0; i < cfg->n_addrs; i++)
		if (!is_own(cfg, &cfg->addrs[i]))
			put_line(fp, "route", "add", &cfg->addrs[i], "e0");
	err = fclose(fp) ? -ENOMEM : ip_batch(text, -1);
	free(text);
	return err;
}

/* See rlns_priv.h. */
int rlns_egress_setup(const struct rlns_config *cfg, struct rlns_egress *eg)
{
	int w_fd, e_fd = -1, err = 0;

	eg->w_fd = eg->e_fd = -1;
	w_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (w_fd < 0)
		return -errno;
	if (syscall(SYS_unshare, CLONE_NEWNET))
		err = -errno;
	if (!err) {
		e_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		if (e_fd < 0)
			err = -errno;
	}
	/* Back to W in any case: the workload lives there. */
	if (syscall(SYS_setns, w_fd, CLONE_NEWNET) && !err)
		err = -errno;
	if (!err)
		err = setup_e(cfg, e_fd, getpid());
	if (!err)
		err = setup_w(cfg);
	if (err) {
		if (e_fd >= 0)
			close(e_fd); /* E and the veth pair go with it */
		close(w_fd);
		return err;
	}
	eg->w_fd = w_fd;
	eg->e_fd = e_fd;
	return 0;
}

/* See rlns_priv.h. */
int rlns_egress_enter(const struct rlns_egress *eg, bool is_egress)
{
	if (eg->e_fd < 0)
		return 0;
	return syscall(SYS_setns, is_egress ? eg->e_fd : eg->w_fd, CLONE_NEWNET) ? -errno : 0;
}

/* See rlns_priv.h. */
int rlns_egress_addr(const struct rlns_egress *eg, const struct pm_addr *a, bool is_add)
{
	char *text = NULL;
	size_t len;
	FILE *fp;
	int err;

	fp = open_memstream(&text, &len);
	if (!fp)
		return -ENOMEM;
	put_line(fp, "addr", is_add ? "replace" : "del", a, "lo");
	err = fclose(fp) ? -ENOMEM : ip_batch(text, eg->e_fd);
	free(text);
	text = NULL;
	fp = err ? NULL : open_memstream(&text, &len);
	if (!fp)
		return err ? err : -ENOMEM;
	put_line(fp, "route", is_add ? "replace" : "del", a, "e0");
	err = fclose(fp) ? -ENOMEM : ip_batch(text, -1);
	free(text);
	return err;
}
