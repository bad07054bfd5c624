// SPDX-License-Identifier: GPL-2.0-only
/* Sockets in the application's network namespace; see netns.h. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netns.h"

static int app_fd = -1, own_fd = -1;

/* See netns.h. */
int sc_netns_set_app(const char *path)
{
	int err = 0;

	app_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (app_fd < 0)
		return -errno;
	own_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (own_fd < 0)
		err = -errno;
	/* Try the round trip now, so a bad path fails at start, not per request. */
	else if (setns(app_fd, CLONE_NEWNET))
		err = -errno;
	else if (setns(own_fd, CLONE_NEWNET))
		err = -errno;
	if (err) {
		close(app_fd);
		if (own_fd >= 0)
			close(own_fd);
		app_fd = own_fd = -1;
	}
	return err;
}

/* See netns.h. */
int sc_app_socket(int domain, int type, int protocol)
{
	int fd, saved;

	if (app_fd < 0)
		return socket(domain, type, protocol);
	if (setns(app_fd, CLONE_NEWNET))
		return -1;
	fd = socket(domain, type, protocol);
	saved = errno;
	if (setns(own_fd, CLONE_NEWNET)) {
		fprintf(stderr, "bpfmesh-sidecar: cannot return to own network namespace\n");
		abort();
	}
	errno = saved;
	return fd;
}
