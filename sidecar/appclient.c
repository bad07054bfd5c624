// SPDX-License-Identifier: GPL-2.0-only
/* HTTP/1.1 client to the local application; see appclient.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "appclient.h"
#include "netns.h"

/* Double the reply buffer up to APPCLIENT_REPLY_MAX; frees it (NULL) when out of memory. */
static int grow_reply(char **buf, size_t *cap)
{
	char *nb;

	if (*cap >= APPCLIENT_REPLY_MAX)
		return -E2BIG;
	nb = realloc(*buf, *cap * 2 + 1);
	if (!nb) {
		free(*buf);
		*buf = NULL;
		return -ENOMEM;
	}
	*buf = nb;
	*cap *= 2;
	return 0;
}

static int send_request(int fd, const char *method, const char *path, const char *ctype,
			const char *headers, const char *data, size_t len)
{
	char head[2048];
	int n;

	n = snprintf(head, sizeof(head),
		     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: %s\r\n%s"
		     "Content-Length: %zu\r\nConnection: close\r\n\r\n",
		     method, path, ctype, headers, len);
	if (n < 0 || (size_t)n >= sizeof(head))
		return -ENAMETOOLONG;
	if (send(fd, head, (size_t)n, MSG_NOSIGNAL) != n)
		return errno ? -errno : -EIO;
	if (len && send(fd, data, len, MSG_NOSIGNAL) != (ssize_t)len)
		return errno ? -errno : -EIO;
	return 0;
}

/*
 * Whether buf (have bytes, NUL-terminated) holds a whole reply: headers
 * and, when they give a Content-Length, that many body bytes.
 */
static bool reply_complete(const char *buf, size_t have)
{
	const char *end = strstr(buf, "\r\n\r\n"), *cl;

	if (!end)
		return false;
	cl = strcasestr(buf, "\r\ncontent-length:");
	if (!cl || cl > end)
		return false; /* read until the app closes */
	return have >= (size_t)(end + 4 - buf) + strtoul(cl + 17, NULL, 10);
}

/* Read the reply into *buf until EOF or complete; returns bytes or -errno. */
static ssize_t read_reply(int fd, char **buf)
{
	size_t have = 0, cap = 4096;
	ssize_t r;
	int err;

	*buf = malloc(cap + 1);
	if (!*buf)
		return -ENOMEM;
	for (;;) {
		if (have == cap) {
			err = grow_reply(buf, &cap);
			if (err)
				return err;
		}
		r = recv(fd, *buf + have, cap - have, 0);
		if (r == 0)
			break;
		if (r < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? -EAGAIN : -errno;
		have += (size_t)r;
		(*buf)[have] = '\0';
		if (reply_complete(*buf, have))
			break;
	}
	(*buf)[have] = '\0';
	return (ssize_t)have;
}

/* See appclient.h. */
int appclient_request(unsigned int port, const char *method, const char *path, const char *ctype,
		      const char *data, size_t len, int timeout_ms, char **body)
{
	return appclient_request_hdrs(port, method, path, ctype, "", data, len, timeout_ms, body);
}

/* See appclient.h. */
int appclient_request_hdrs(unsigned int port, const char *method, const char *path,
			   const char *ctype, const char *headers, const char *data, size_t len,
			   int timeout_ms, char **body)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
	char *buf = NULL, *p;
	int fd, status;
	ssize_t have;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = sc_app_socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		status = -errno;
		goto out;
	}
	status = send_request(fd, method, path, ctype, headers, data, len);
	if (status)
		goto out;
	have = read_reply(fd, &buf);
	if (have < 0) {
		status = (int)have;
		goto out;
	}
	status = -EPROTO;
	if (have < 12 || strncmp(buf, "HTTP/1.", 7))
		goto out;
	status = (int)strtol(buf + 9, NULL, 10);
	if (status < 100 || status > 599) {
		status = -EPROTO;
		goto out;
	}
	p = strstr(buf, "\r\n\r\n");
	if (body && p)
		*body = strdup(p + 4);
out:
	free(buf);
	close(fd);
	return status;
}
