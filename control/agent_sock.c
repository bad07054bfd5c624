// SPDX-License-Identifier: GPL-2.0-only
/* The agent's unix socket: JSON request and reply, one per connection. */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent_sock.h"
#include "log.h"

static int make_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, path);
	return 0;
}

/* See agent_sock.h. */
int agent_sock_listen(const char *path)
{
	struct sockaddr_un sa;
	struct group *gr;
	int fd, err;

	err = make_addr(path, &sa);
	if (err)
		return err;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || chmod(path, 0660) || listen(fd, 64)) {
		err = -errno;
		pr_warn("agent: listen on %s: %s", path, strerror(errno));
		close(fd);
		return err;
	}
	gr = getgrnam("bpfmesh");
	if (gr && chown(path, 0, gr->gr_gid))
		pr_warn("agent: chown %s to group bpfmesh: %s", path, strerror(errno));
	return fd;
}

static void set_timeouts(int fd, int timeout_ms)
{
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Read until EOF or newline; NULL on error or when over the limit. */
static char *read_all(int fd, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap), *p;
	ssize_t r;

	while (buf) {
		if (n + 1 >= cap) {
			cap *= 2;
			p = cap <= AGENT_SOCK_MAX_REQUEST ? realloc(buf, cap) : NULL;
			if (!p)
				break;
			buf = p;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		n += (size_t)r;
		if (r == 0 || memchr(buf + n - (size_t)r, '\n', (size_t)r)) {
			buf[n] = '\0';
			*len = n;
			return buf;
		}
	}
	free(buf);
	return NULL;
}

static json_t *read_json(int fd, int timeout_ms)
{
	json_error_t jerr;
	json_t *j = NULL;
	size_t len = 0;
	char *buf;

	set_timeouts(fd, timeout_ms);
	buf = read_all(fd, &len);
	if (buf)
		j = json_loadb(buf, len, JSON_DISABLE_EOF_CHECK, &jerr);
	if (buf && !j)
		pr_debug("agent socket: bad json at line %d column %d: %s", jerr.line, jerr.column,
			 jerr.text);
	free(buf);
	return j;
}

/* See agent_sock.h. */
json_t *agent_sock_read(int fd)
{
	return read_json(fd, 2000);
}

static int write_all(int fd, const char *buf, size_t len)
{
	ssize_t w;

	while (len) {
		w = write(fd, buf, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -errno;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

/* See agent_sock.h. */
int agent_sock_write(int fd, const json_t *reply)
{
	char *text = json_dumps(reply, JSON_COMPACT);
	int err;

	if (!text)
		return -ENOMEM;
	err = write_all(fd, text, strlen(text));
	if (!err)
		err = write_all(fd, "\n", 1);
	free(text);
	return err;
}

static int connect_to(const char *path, int timeout_ms)
{
	struct sockaddr_un sa;
	int fd, err;

	err = make_addr(path, &sa);
	if (err)
		return err;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	set_timeouts(fd, timeout_ms);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* See agent_sock.h. */
bool agent_sock_is_up(const char *path)
{
	struct stat st;
	int fd;

	if (stat(path, &st) || !S_ISSOCK(st.st_mode))
		return false;
	fd = connect_to(path, 1000);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* See agent_sock.h. */
int agent_sock_call(const char *path, const json_t *req, int timeout_ms, json_t **reply)
{
	int fd, err;

	fd = connect_to(path, timeout_ms);
	if (fd < 0)
		return fd;
	err = agent_sock_write(fd, req);
	if (!err) {
		shutdown(fd, SHUT_WR);
		*reply = read_json(fd, timeout_ms);
		if (!*reply)
			err = -EPROTO;
	}
	close(fd);
	return err;
}
