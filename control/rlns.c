// SPDX-License-Identifier: GPL-2.0-only
/* Rootless workload namespaces: the keeper process and its socket service. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/sched.h> /* CLONE_NEW*; unshare and setns go through syscall() */

#include <abi/abi.h>

#include "log.h"
#include "rlns.h"
#include "rlns_priv.h"

#define RLNS_OP_LISTEN 'L'
#define RLNS_OP_SOCKET 'S'
#define RLNS_OP_START 'G'
#define RLNS_OP_UDP 'U'
#define RLNS_OP_ADDR 'A' /* put one more host address on lo */
#define RLNS_OP_UNADDR 'D' /* take one off */
#define RLNS_CTRL_FD 3
#define RLNS_POOL_FD 4
#define RLNS_REPLY_TIMEOUT_MS 5000

struct rlns_req {
	uint8_t op;
	uint8_t family;
	uint16_t port;
	uint8_t addr[16];
};

struct rlns_rep {
	int32_t err; /* 0 or -errno */
	int32_t pid;
};

/* See rlns.h. */
socklen_t rlns_sockaddr(uint8_t family, const uint8_t *addr, uint16_t port,
			struct sockaddr_storage *ss)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	if (family == BM_FAMILY_IPV4) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, addr, 4);
		return sizeof(*s4);
	}
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(port);
	memcpy(&s6->sin6_addr, addr, 16);
	return sizeof(*s6);
}

static int send_reply(int ctrl, const struct rlns_rep *rep, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {.iov_base = (void *)rep, .iov_len = sizeof(*rep)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	struct cmsghdr *cm;

	if (fd >= 0) {
		memset(cbuf, 0, sizeof(cbuf));
		msg.msg_control = cbuf;
		msg.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	return sendmsg(ctrl, &msg, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

/* Receive one reply and the fd it may carry (*fd = -1 without). */
static int recv_reply(int ctrl, struct rlns_rep *rep, int *fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {.iov_base = rep, .iov_len = sizeof(*rep)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	struct pollfd pfd = {.fd = ctrl, .events = POLLIN};
	struct cmsghdr *cm;
	ssize_t n;

	*fd = -1;
	if (poll(&pfd, 1, RLNS_REPLY_TIMEOUT_MS) != 1)
		return -ETIMEDOUT;
	msg.msg_control = cbuf;
	msg.msg_controllen = sizeof(cbuf);
	n = recvmsg(ctrl, &msg, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return -errno;
	if (n != sizeof(*rep))
		return -ECONNRESET;
	cm = CMSG_FIRSTHDR(&msg);
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
		memcpy(fd, CMSG_DATA(cm), sizeof(int));
	if (rep->err && *fd >= 0) {
		close(*fd);
		*fd = -1;
	}
	return rep->err;
}

static int call(int ctrl, const struct rlns_req *req, struct rlns_rep *rep, int *fd)
{
	if (send(ctrl, req, sizeof(*req), MSG_NOSIGNAL) < 0)
		return -errno;
	return recv_reply(ctrl, rep, fd);
}

/*
 * Keeper side: a socket for a request, inside the keeper's namespace (its
 * egress namespace when it has one: a socket stays where socket() made it).
 */
static int make_socket(const struct rlns_req *req, const struct rlns_egress *eg, int *out)
{
	int fd, one = 1, domain = req->family == BM_FAMILY_IPV4 ? AF_INET : AF_INET6;
	struct sockaddr_storage ss;
	socklen_t len;

	if (rlns_egress_enter(eg, true))
		return -EIO;
	fd = socket(domain,
		    (req->op == RLNS_OP_UDP ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK |
			    SOCK_CLOEXEC,
		    0);
	if (rlns_egress_enter(eg, false)) {
		if (fd >= 0)
			close(fd);
		return -EIO; /* the workload must stay in W: rlns_start */
	}
	if (fd < 0)
		return -errno;
	len = rlns_sockaddr(req->family, req->addr, req->op == RLNS_OP_SOCKET ? 0 : req->port, &ss);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (domain == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) ||
	    (req->op == RLNS_OP_LISTEN && listen(fd, 1024))) {
		int err = -errno;

		close(fd);
		return err;
	}
	*out = fd;
	return 0;
}

static pid_t start_command(const char *command)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	setsid();
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	close(RLNS_CTRL_FD);
	execl("/bin/sh", "sh", "-c", command, (char *)NULL);
	_exit(127);
}

static void stop_command(pid_t wpid)
{
	int i;

	if (wpid <= 0)
		return;
	kill(-wpid, SIGTERM);
	for (i = 0; i < 40; i++) {
		if (waitpid(wpid, NULL, WNOHANG) == wpid)
			return;
		usleep(50000);
	}
	kill(-wpid, SIGKILL);
	waitpid(wpid, NULL, 0);
}

static int configure_lo(const struct pm_addr *addrs, size_t n_addrs, const char *verb);

/* Keeper: one peer's host address (port = prefix length) on or off. */
static int lo_addr(const struct rlns_req *req, const struct rlns_egress *eg)
{
	struct pm_addr a = {.family = req->family, .prefixlen = (uint8_t)req->port};

	memcpy(a.addr, req->addr, 16);
	if (eg->e_fd >= 0)
		return rlns_egress_addr(eg, &a, req->op == RLNS_OP_ADDR);
	return configure_lo(&a, 1, req->op == RLNS_OP_ADDR ? "replace" : "del");
}

/* Keeper: answer one request on fd; false when the forwarder's end closed. */
static bool handle(int fd, const char *command, const struct rlns_egress *eg, pid_t *wpid)
{
	struct rlns_rep rep;
	struct rlns_req req;
	int sfd = -1;
	ssize_t n;

	n = recv(fd, &req, sizeof(req), MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	if (n == 0)
		return false;
	memset(&rep, 0, sizeof(rep));
	if (n != sizeof(req))
		rep.err = -EINVAL;
	else if (req.op == RLNS_OP_START && command && !*wpid)
		rep.pid = *wpid = start_command(command);
	else if (req.op == RLNS_OP_LISTEN || req.op == RLNS_OP_SOCKET || req.op == RLNS_OP_UDP)
		rep.err = make_socket(&req, eg, &sfd);
	else if (req.op == RLNS_OP_ADDR || req.op == RLNS_OP_UNADDR)
		rep.err = lo_addr(&req, eg);
	send_reply(fd, &rep, sfd);
	if (sfd >= 0)
		close(sfd);
	return true;
}

/* Keeper: serve both sockets until the forwarder's ends close. */
static void serve(const char *command, const struct rlns_egress *eg)
{
	struct pollfd pfd[2] = {{.fd = RLNS_CTRL_FD, .events = POLLIN},
				{.fd = RLNS_POOL_FD, .events = POLLIN}};
	bool is_open = true;
	pid_t wpid = 0;
	int i;

	while (is_open) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (poll(pfd, 2, 1000) <= 0)
			continue;
		for (i = 0; i < 2 && is_open; i++)
			if (pfd[i].revents)
				is_open = handle(pfd[i].fd, command, eg, &wpid);
	}
	stop_command(wpid);
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -EPERM;
}

/* Map our outer uid/gid to root inside: what `unshare -r` does. */
static int map_ids(uid_t uid, gid_t gid)
{
	char line[64];
	int err;

	err = write_file("/proc/self/setgroups", "deny");
	if (err && err != -ENOENT)
		return err;
	snprintf(line, sizeof(line), "0 %u 1", (unsigned int)uid);
	err = write_file("/proc/self/uid_map", line);
	snprintf(line, sizeof(line), "0 %u 1", (unsigned int)gid);
	return err ? err : write_file("/proc/self/gid_map", line);
}

static const char *find_ip(void)
{
	static const char *const paths[] = {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"};
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (!access(paths[i], X_OK))
			return paths[i];
	return NULL;
}

/*
 * lo up and every address on it (verb "add" or "replace"), or the addresses
 * off it (verb "del"), with one `ip -batch -` (we are root inside).
 */
static int configure_lo(const struct pm_addr *addrs, size_t n_addrs, const char *verb)
{
	const char *ip = find_ip();
	char addr[INET6_ADDRSTRLEN];
	int p[2], status;
	FILE *in;
	pid_t pid;
	size_t i;

	if (!ip || pipe2(p, O_CLOEXEC))
		return -ENOENT;
	pid = fork();
	if (pid == 0) {
		dup2(p[0], 0);
		execl(ip, "ip", "-batch", "-", (char *)NULL);
		_exit(127);
	}
	close(p[0]);
	in = fdopen(p[1], "w");
	if (!in) {
		close(p[1]);
		waitpid(pid, NULL, 0);
		return -ENOMEM;
	}
	fprintf(in, "link set lo up\n");
	for (i = 0; i < n_addrs; i++) {
		const struct pm_addr *a = &addrs[i];
		bool is_nodad = a->family == BM_FAMILY_IPV6 && strcmp(verb, "del");

		inet_ntop(a->family == BM_FAMILY_IPV4 ? AF_INET : AF_INET6, a->addr, addr,
			  sizeof(addr));
		fprintf(in, "addr %s %s/%u dev lo%s\n", verb, addr, a->prefixlen,
			is_nodad ? " nodad" : "");
	}
	fclose(in);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		return -EIO;
	return 0;
}

static void keeper_main(const struct rlns_config *cfg, int ctrl, int pool, uid_t uid, gid_t gid)
{
	struct rlns_egress eg = {.w_fd = -1, .e_fd = -1};
	struct rlns_rep rep = {.pid = getpid()};

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* Out of the way first, so that neither lands on the other's number. */
	ctrl = fcntl(ctrl, F_DUPFD, 10);
	pool = fcntl(pool, F_DUPFD, 10);
	if (ctrl < 0 || pool < 0 || dup2(ctrl, RLNS_CTRL_FD) < 0 || dup2(pool, RLNS_POOL_FD) < 0)
		_exit(1);
	close_range(RLNS_POOL_FD + 1, ~0U, 0);
	if (syscall(SYS_unshare, CLONE_NEWUSER | CLONE_NEWNET))
		rep.err = -errno;
	if (!rep.err)
		rep.err = map_ids(uid, gid);
	/* An egress namespace for a placed replica; else, or if that fails, the plain layout. */
	if (!rep.err && (!cfg->n_own || rlns_egress_setup(cfg, &eg)))
		rep.err = configure_lo(cfg->addrs, cfg->n_addrs, "add");
	send_reply(RLNS_CTRL_FD, &rep, -1);
	if (!rep.err)
		serve(cfg->command, &eg);
	_exit(rep.err ? 1 : 0);
}

/* See rlns.h. */
int rlns_spawn(const struct rlns_config *cfg, pid_t *pid, int *ctrl_fd, int *pool_fd)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	int sv[2], pv[2], fd, err;
	struct rlns_rep rep;
	pid_t child;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return -errno;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pv)) {
		err = -errno;
		goto err_sv;
	}
	fflush(NULL);
	child = fork();
	if (child == 0)
		keeper_main(cfg, sv[1], pv[1], uid, gid);
	err = child < 0 ? -errno : recv_reply(sv[0], &rep, &fd);
	close(sv[1]);
	close(pv[1]);
	if (err) {
		pr_warn("workload %s: namespace set-up: %s", cfg->name, strerror(-err));
		close(pv[0]);
		if (child > 0) {
			kill(child, SIGKILL);
			waitpid(child, NULL, 0);
		}
		close(sv[0]);
		return err;
	}
	*pid = child;
	*ctrl_fd = sv[0];
	*pool_fd = pv[0];
	return 0;
err_sv:
	close(sv[0]);
	close(sv[1]);
	return err;
}

/* See rlns.h. */
int rlns_start(int ctrl_fd, pid_t *wpid)
{
	struct rlns_req req = {.op = RLNS_OP_START};
	struct rlns_rep rep;
	int fd, err;

	err = call(ctrl_fd, &req, &rep, &fd);
	*wpid = err ? 0 : rep.pid;
	return err;
}

/* See rlns.h. */
int rlns_listen(int ctrl_fd, uint8_t family, const uint8_t *addr, uint16_t port, int *fd)
{
	struct rlns_req req = {.op = RLNS_OP_LISTEN, .family = family, .port = port};
	struct rlns_rep rep;

	memcpy(req.addr, addr, 16);
	return call(ctrl_fd, &req, &rep, fd);
}

/* See rlns.h. */
int rlns_socket(int ctrl_fd, uint8_t family, const uint8_t *addr, int *fd)
{
	struct rlns_req req = {.op = RLNS_OP_SOCKET, .family = family};
	struct rlns_rep rep;

	memcpy(req.addr, addr, 16);
	return call(ctrl_fd, &req, &rep, fd);
}

/* See rlns.h. */
int rlns_udp(int ctrl_fd, uint8_t family, const uint8_t *addr, uint16_t port, int *fd)
{
	struct rlns_req req = {.op = RLNS_OP_UDP, .family = family, .port = port};
	struct rlns_rep rep;

	memcpy(req.addr, addr, 16);
	return call(ctrl_fd, &req, &rep, fd);
}

/* See rlns.h. */
int rlns_socket_send(int pool_fd, uint8_t family, const uint8_t *addr)
{
	struct rlns_req req = {.op = RLNS_OP_SOCKET, .family = family};

	memcpy(req.addr, addr, 16);
	return send(pool_fd, &req, sizeof(req), MSG_NOSIGNAL | MSG_DONTWAIT) < 0 ? -errno : 0;
}

/* See rlns.h. */
int rlns_socket_recv(int pool_fd, int *fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct rlns_rep rep;
	struct iovec iov = {.iov_base = &rep, .iov_len = sizeof(rep)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	struct cmsghdr *cm;
	ssize_t n;

	*fd = -1;
	msg.msg_control = cbuf;
	msg.msg_controllen = sizeof(cbuf);
	n = recvmsg(pool_fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0)
		return -errno;
	if (n != sizeof(rep))
		return -ECONNRESET;
	cm = CMSG_FIRSTHDR(&msg);
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
		memcpy(fd, CMSG_DATA(cm), sizeof(int));
	return rep.err ? rep.err : (*fd >= 0 ? 0 : -EPROTO);
}

/* See rlns.h. */
int rlns_enter(pid_t pid)
{
	static const char *const kinds[] = {"user", "net"};
	static const int types[] = {CLONE_NEWUSER, CLONE_NEWNET};
	char path[64];
	int i, fd, err = 0;

	for (i = 0; i < 2 && !err; i++) {
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, kinds[i]);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		if (syscall(SYS_setns, fd, types[i]))
			err = -errno;
		close(fd);
	}
	return err;
}

/* See rlns.h. */
int rlns_addr(int ctrl_fd, const struct pm_addr *a, bool is_add)
{
	struct rlns_req req = {.op = is_add ? RLNS_OP_ADDR : RLNS_OP_UNADDR,
			       .family = a->family,
			       .port = a->prefixlen};
	struct rlns_rep rep;
	int fd;

	memcpy(req.addr, a->addr, 16);
	return call(ctrl_fd, &req, &rep, &fd);
}
