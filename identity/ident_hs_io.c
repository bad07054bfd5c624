// SPDX-License-Identifier: GPL-2.0-only
/* Deadline-bounded socket I/O for the handshake. */
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ident_hs_io.h"

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* See ident_hs_io.h. */
int64_t hs_io_deadline(int timeout_ms)
{
	return now_ms() + timeout_ms;
}

/* Wait until fd is ready for events or the deadline passes. */
static int wait_fd(int fd, short events, int64_t deadline_ms)
{
	struct pollfd pfd = {.fd = fd, .events = events};
	int64_t left = deadline_ms - now_ms();
	int n;

	if (left <= 0)
		return -ETIMEDOUT;
	n = poll(&pfd, 1, (int)left);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	return n ? 0 : -ETIMEDOUT;
}

/* See ident_hs_io.h. */
int hs_io_read(int fd, void *buf, size_t len, int64_t deadline_ms)
{
	unsigned char *p = buf;
	ssize_t n;
	int ret;

	while (len) {
		n = recv(fd, p, len, MSG_DONTWAIT);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (!n)
			return -ECONNRESET;
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return -errno;
		ret = wait_fd(fd, POLLIN, deadline_ms);
		if (ret)
			return ret;
	}
	return 0;
}

/* See ident_hs_io.h. */
int hs_io_write(int fd, const void *buf, size_t len, int64_t deadline_ms)
{
	const unsigned char *p = buf;
	ssize_t n;
	int ret;

	while (len) {
		n = send(fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n >= 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return -errno;
		ret = wait_fd(fd, POLLOUT, deadline_ms);
		if (ret)
			return ret;
	}
	return 0;
}
