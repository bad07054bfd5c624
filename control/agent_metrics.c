// SPDX-License-Identifier: GPL-2.0-only
/* The agent's /metrics HTTP/1.1 server thread (see agent_metrics.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "agent_metrics.h"
#include "agent_rootless.h"
#include "agent_priv.h"
#include "log.h"

#define MAX_REQUEST 8192
#define IO_TIMEOUT_MS 2000
#define POLL_MS 200

struct agent_metrics {
	struct agent_metrics_config cfg;
	int fd;
	unsigned int port;
	pthread_t thread;
	atomic_bool is_stopping;
	pthread_mutex_t lock; /* protects snap */
	struct agent_metrics_snapshot snap;
};

static bool is_loopback(const struct sockaddr_storage *ss)
{
	const struct sockaddr_in *in4 = (const void *)ss;
	const struct sockaddr_in6 *in6 = (const void *)ss;

	if (ss->ss_family == AF_INET)
		return (ntohl(in4->sin_addr.s_addr) >> 24) == 127;
	return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
}

/* Split "HOST:PORT" / "[HOST]:PORT" into host (without brackets) and port. */
static int split_addr(const char *text, char *host, size_t host_len, unsigned int *port)
{
	const char *colon = strrchr(text, ':');
	const char *h = text, *h_end = colon;
	unsigned long v;
	char *end;

	if (!colon || colon == text)
		return -EINVAL;
	if (*text == '[') {
		h = text + 1;
		h_end = colon - 1;
		if (h_end < h || *h_end != ']')
			return -EINVAL;
	}
	if ((size_t)(h_end - h) >= host_len || !colon[1] ||
	    (*text != '[' && memchr(h, ':', (size_t)(h_end - h))))
		return -EINVAL; /* an IPv6 host needs brackets */
	memcpy(host, h, (size_t)(h_end - h));
	host[h_end - h] = '\0';
	errno = 0;
	v = strtoul(colon + 1, &end, 10);
	if (errno || *end || v > 65535 || colon[1] == '-')
		return -EINVAL;
	*port = (unsigned int)v;
	return 0;
}

/* See agent_metrics.h. */
int agent_metrics_parse_addr(const char *text, bool is_public, struct sockaddr_storage *ss,
			     socklen_t *len, char *why, size_t why_len)
{
	struct sockaddr_in6 *in6 = (void *)ss;
	struct sockaddr_in *in4 = (void *)ss;
	unsigned int port;
	char host[64];

	memset(ss, 0, sizeof(*ss));
	if (split_addr(text, host, sizeof(host), &port)) {
		snprintf(why, why_len, "'%s' is not HOST:PORT (e.g. 127.0.0.1:9464)", text);
		return -EINVAL;
	}
	if (!strcmp(host, "localhost"))
		snprintf(host, sizeof(host), "127.0.0.1");
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		*len = sizeof(*in4);
	} else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*in6);
	} else {
		snprintf(why, why_len, "'%s' is not an IPv4 or [IPv6] address or localhost", host);
		return -EINVAL;
	}
	if (!is_public && !is_loopback(ss)) {
		snprintf(why, why_len,
			 "%s is not a loopback address; metrics carry identities and traffic "
			 "counts: add --metrics-public to serve them there anyway",
			 host);
		return -EINVAL;
	}
	return 0;
}

static void set_timeouts(int fd)
{
	struct timeval tv = {IO_TIMEOUT_MS / 1000, (IO_TIMEOUT_MS % 1000) * 1000};

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int write_all(int fd, const char *buf, size_t len)
{
	ssize_t w;

	while (len) {
		w = send(fd, buf, len, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -EIO;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Read the request head (up to the blank line); 0 or -EIO / -E2BIG. */
static int read_head(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	ssize_t r;

	while (n + 1 < cap) {
		r = recv(fd, buf + n, cap - n - 1, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -EIO;
		n += (size_t)r;
		buf[n] = '\0';
		if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n"))
			return 0;
	}
	return -E2BIG;
}

static void reply(int fd, const char *status, const char *type, const char *body, size_t len)
{
	char head[256];

	snprintf(head, sizeof(head),
		 "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		 "Connection: close\r\n\r\n",
		 status, type, len);
	if (!write_all(fd, head, strlen(head)))
		write_all(fd, body, len);
}

static void serve_metrics(struct agent_metrics *m, int fd, bool is_head)
{
	struct agent_metrics_snapshot s;
	char *body = NULL;
	size_t len = 0;
	FILE *out;

	pthread_mutex_lock(&m->lock);
	s = m->snap;
	pthread_mutex_unlock(&m->lock);
	out = open_memstream(&body, &len);
	if (!out || agent_metrics_render(out, &s, m->cfg.node, m->cfg.pin_dir, m->cfg.state_dir) ||
	    fclose(out)) {
		if (out)
			fclose(out);
		reply(fd, "500 Internal Server Error", "text/plain", "render failed\n", 14);
	} else {
		reply(fd, "200 OK", "text/plain; version=0.0.4; charset=utf-8", body,
		      is_head ? 0 : len);
	}
	free(body);
}

static void handle(struct agent_metrics *m, int fd)
{
	char req[MAX_REQUEST], method[16], path[256], version[16];
	const char *msg;

	set_timeouts(fd);
	if (read_head(fd, req, sizeof(req))) {
		msg = "bad request\n";
		reply(fd, "400 Bad Request", "text/plain", msg, strlen(msg));
		return;
	}
	if (sscanf(req, "%15s %255s %15s", method, path, version) != 3 ||
	    strncmp(version, "HTTP/1.", 7)) {
		msg = "bad request\n";
		reply(fd, "400 Bad Request", "text/plain", msg, strlen(msg));
	} else if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		msg = "only GET /metrics\n";
		reply(fd, "405 Method Not Allowed", "text/plain", msg, strlen(msg));
	} else if (strcmp(path, "/metrics") && strncmp(path, "/metrics?", 9)) {
		msg = "not found: try /metrics\n";
		reply(fd, "404 Not Found", "text/plain", msg, strlen(msg));
	} else {
		serve_metrics(m, fd, !strcmp(method, "HEAD"));
	}
}

static void *run(void *arg)
{
	struct agent_metrics *m = arg;
	struct pollfd pfd = {m->fd, POLLIN, 0};
	int fd;

	while (!atomic_load(&m->is_stopping)) {
		if (poll(&pfd, 1, POLL_MS) <= 0)
			continue;
		fd = accept4(m->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		handle(m, fd);
		close(fd);
	}
	return NULL;
}

static int listen_on(const struct sockaddr_storage *ss, socklen_t len, unsigned int *port)
{
	struct sockaddr_storage got;
	socklen_t got_len = sizeof(got);
	int fd, one = 1;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, len) || listen(fd, 16) ||
	    getsockname(fd, (struct sockaddr *)&got, &got_len)) {
		one = -errno;
		close(fd);
		return one;
	}
	*port = ntohs(got.ss_family == AF_INET ? ((struct sockaddr_in *)&got)->sin_port
					       : ((struct sockaddr_in6 *)&got)->sin6_port);
	return fd;
}

/* See agent_metrics.h. */
int agent_metrics_start(const struct agent_metrics_config *cfg, struct agent_metrics **out)
{
	struct sockaddr_storage ss;
	struct agent_metrics *m;
	char why[256];
	socklen_t len;
	int err;

	err = agent_metrics_parse_addr(cfg->addr, cfg->is_public, &ss, &len, why, sizeof(why));
	if (err) {
		pr_warn("agent: metrics: %s", why);
		return err;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->cfg = *cfg;
	pthread_mutex_init(&m->lock, NULL);
	m->fd = listen_on(&ss, len, &m->port);
	if (m->fd < 0) {
		err = m->fd;
		pr_warn("agent: metrics: listen on %s: %s", cfg->addr, strerror(-err));
		goto err_free;
	}
	err = -pthread_create(&m->thread, NULL, run, m);
	if (err)
		goto err_close;
	pr_info("agent: metrics on http://%s/metrics (port %u)", cfg->addr, m->port);
	*out = m;
	return 0;
err_close:
	close(m->fd);
err_free:
	pthread_mutex_destroy(&m->lock);
	free(m);
	return err;
}

/* See agent_metrics.h. */
void agent_metrics_update(struct agent_metrics *m, const struct agent *a)
{
	struct agent_metrics_snapshot s = {
		.is_connected = a->is_connected,
		.is_ready = a->is_ready,
		.bus_connects = a->n_bus_connects,
		.last_bus_msg_ms = a->last_bus_msg_ms,
		.bus_lag_us = a->bus_lag_us,
		.policy_rev = a->policy_rev,
		.applied_rev = a->applied_rev,
		.generation = a->generation,
		.installs = a->n_installs,
		.rejected = a->n_rejected,
		.last_install_ms = a->last_install_ms,
		.peers_known = a->n_peers,
		.bus_endpoints = a->endpoints.n,
		.revoked = a->revoked.n,
		.handshakes = a->n_handshakes,
		.handshake_failures = a->n_handshake_failures,
		.sched_starts = a->n_sched_starts,
		.sched_stops = a->n_sched_stops,
		.sched_claims = a->n_sched_claims,
		.sched_placements = a->n_sched_placements,
	};
	size_t i;

	if (!m)
		return;
	for (i = 0; i < a->n_peers; i++)
		s.peers_alive += a->peers[i].is_alive;
	agent_rl_hs_counts(a->rl, &s.handshakes, &s.handshake_failures);
	agent_flows_get_stats(a->flows, &s.flows);
	pthread_mutex_lock(&m->lock);
	m->snap = s;
	pthread_mutex_unlock(&m->lock);
}

/* See agent_metrics.h. */
unsigned int agent_metrics_port(const struct agent_metrics *m)
{
	return m->port;
}

/* See agent_metrics.h. */
void agent_metrics_stop(struct agent_metrics *m)
{
	if (!m)
		return;
	atomic_store(&m->is_stopping, true);
	pthread_join(m->thread, NULL);
	close(m->fd);
	pthread_mutex_destroy(&m->lock);
	free(m);
}
