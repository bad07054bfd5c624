// SPDX-License-Identifier: GPL-2.0-only
/* The sidecar's bounded HTTP/1.1 server; see http.h. */
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "netns.h"
#include "../control/log.h"

struct http_server {
	struct http_limits lim;
	http_handler_fn handler;
	void *ctx;
	pthread_t accept_thread;
	atomic_bool is_stopping;
	atomic_uint nr_conns;
	unsigned int port;
	int lfd;
};

struct conn {
	struct http_server *srv;
	int fd;
};

static const struct {
	int status;
	const char *reason;
} reasons[] = {
	{200, "OK"},
	{201, "Created"},
	{204, "No Content"},
	{400, "Bad Request"},
	{403, "Forbidden"},
	{404, "Not Found"},
	{405, "Method Not Allowed"},
	{408, "Request Timeout"},
	{409, "Conflict"},
	{411, "Length Required"},
	{412, "Precondition Failed"},
	{413, "Payload Too Large"},
	{431, "Request Header Fields Too Large"},
	{500, "Internal Server Error"},
	{501, "Not Implemented"},
	{503, "Service Unavailable"},
	{505, "HTTP Version Not Supported"},
};

/* Reason phrase for status; "" when unknown. Cannot fail. */
const char *http_reason(int status)
{
	size_t i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].status == status)
			return reasons[i].reason;
	return "";
}

static void limits_default(struct http_limits *out, const struct http_limits *in)
{
	static const struct http_limits zero;

	*out = in ? *in : zero;
	if (!out->max_head)
		out->max_head = 16384;
	if (!out->max_body)
		out->max_body = 4u << 20;
	if (!out->read_timeout_ms)
		out->read_timeout_ms = 10000;
	if (!out->idle_timeout_ms)
		out->idle_timeout_ms = 30000;
	if (!out->max_conns)
		out->max_conns = 128;
}

static bool is_tchar(unsigned char c)
{
	return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (unsigned char)tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Percent-decode s in place ('+' stays '+' in paths). False on bad escapes or NUL. */
static bool pct_decode(char *s, bool is_form)
{
	char *w = s;
	int hi, lo;

	for (; *s; s++) {
		if (*s == '%') {
			hi = hexval((unsigned char)s[1]);
			lo = hi < 0 ? -1 : hexval((unsigned char)s[2]);
			if (lo < 0 || (hi == 0 && lo == 0))
				return false;
			*w++ = (char)(hi * 16 + lo);
			s += 2;
		} else {
			*w++ = is_form && *s == '+' ? ' ' : *s;
		}
	}
	*w = '\0';
	return true;
}

static char *find_head_end(const char *buf, size_t len)
{
	size_t i;

	for (i = 0; i + 3 < len; i++)
		if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' &&
		    buf[i + 3] == '\n')
			return (char *)buf + i;
	return NULL;
}

/* "GET /path?q HTTP/1.1": fill method, path, query; set keep-alive default. */
static int parse_request_line(char *line, struct http_request *req, int *status)
{
	char *sp1, *sp2, *q;
	const char *p;

	sp1 = strchr(line, ' ');
	sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	if (!sp1 || !sp2 || sp1 == line || strchr(sp2 + 1, ' '))
		goto bad;
	*sp1 = *sp2 = '\0';
	for (p = line; *p; p++)
		if (!is_tchar((unsigned char)*p))
			goto bad;
	if (strncmp(sp2 + 1, "HTTP/1.", 7) || !sp2[8] || sp2[9]) {
		*status = strncmp(sp2 + 1, "HTTP/", 5) ? 400 : 505;
		return -EINVAL;
	}
	if (sp2[8] != '0' && sp2[8] != '1') {
		*status = 505;
		return -EINVAL;
	}
	req->is_keep_alive = sp2[8] == '1';
	if (sp1[1] != '/')
		goto bad;
	for (p = sp1 + 1; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			goto bad;
	q = strchr(sp1 + 1, '?');
	req->query = "";
	if (q) {
		*q = '\0';
		req->query = q + 1;
	}
	if (!pct_decode(sp1 + 1, false))
		goto bad;
	req->method = line;
	req->path = sp1 + 1;
	return 0;
bad:
	*status = 400;
	return -EINVAL;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return s;
}

/* Content-Length: digits only, one value, within the body limit. */
static int parse_length(const char *v, const struct http_limits *lim, struct http_request *req,
			bool *is_seen, int *status)
{
	unsigned long long n;
	char *end;

	if (!isdigit((unsigned char)*v))
		goto bad;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (*end || errno)
		goto bad;
	if (*is_seen && n != req->content_length)
		goto bad;
	if (n > lim->max_body) {
		*status = 413;
		return -E2BIG;
	}
	*is_seen = true;
	req->content_length = (size_t)n;
	return 0;
bad:
	*status = 400;
	return -EINVAL;
}

static int parse_header_line(char *line, const struct http_limits *lim, struct http_request *req,
			     bool *is_len_seen, int *status)
{
	char *colon = strchr(line, ':'), *p, *value;

	if (!colon || colon == line)
		goto bad;
	*colon = '\0';
	for (p = line; *p; p++)
		if (!is_tchar((unsigned char)*p))
			goto bad;
	value = trim(colon + 1);
	for (p = value; *p; p++)
		if ((unsigned char)*p < 0x20 && *p != '\t')
			goto bad;
	if (req->nr_headers == HTTP_MAX_HEADERS) {
		*status = 431;
		return -E2BIG;
	}
	req->headers[req->nr_headers].name = line;
	req->headers[req->nr_headers++].value = value;
	if (!strcasecmp(line, "Content-Length"))
		return parse_length(value, lim, req, is_len_seen, status);
	if (!strcasecmp(line, "Transfer-Encoding")) {
		*status = 501;
		return -ENOSYS;
	}
	if (!strcasecmp(line, "Connection")) {
		if (strcasestr(value, "close"))
			req->is_keep_alive = false;
		else if (strcasestr(value, "keep-alive"))
			req->is_keep_alive = true;
	}
	return 0;
bad:
	*status = 400;
	return -EINVAL;
}

/*
 * Parse one request head; see http.h for the contract.
 */
int http_parse_head(const char *buf, size_t len, const struct http_limits *lim,
		    struct http_request *req, int *status)
{
	struct http_limits l;
	char *end, *line, *next;
	bool is_len_seen = false;
	size_t head_len;
	int err;

	limits_default(&l, lim);
	memset(req, 0, sizeof(*req));
	end = find_head_end(buf, len < l.max_head ? len : l.max_head);
	if (!end) {
		if (len < l.max_head)
			return 0;
		*status = 431;
		return -E2BIG;
	}
	head_len = (size_t)(end - buf) + 4;
	req->head_copy = strndup(buf, head_len - 2);
	if (!req->head_copy) {
		*status = 500;
		return -ENOMEM;
	}
	line = req->head_copy;
	next = strstr(line, "\r\n");
	*next = '\0';
	err = parse_request_line(line, req, status);
	for (line = next + 2; !err && *line; line = next + 2) {
		next = strstr(line, "\r\n");
		*next = '\0';
		err = parse_header_line(line, &l, req, &is_len_seen, status);
	}
	if (err) {
		http_request_free(req);
		return err;
	}
	return (int)head_len;
}

/* Free what http_parse_head() allocated. NULL-safe. */
void http_request_free(struct http_request *req)
{
	if (!req)
		return;
	free(req->head_copy);
	req->head_copy = NULL;
}

/* Case-insensitive header lookup; the value is owned by req, or NULL. */
const char *http_header(const struct http_request *req, const char *name)
{
	unsigned int i;

	for (i = 0; i < req->nr_headers; i++)
		if (!strcasecmp(req->headers[i].name, name))
			return req->headers[i].value;
	return NULL;
}

/* Find name=value in the query string and decode it into buf. */
bool http_query_param(const struct http_request *req, const char *name, char *buf, size_t size)
{
	size_t nlen = strlen(name), vlen;
	const char *p = req->query, *amp;

	while (p && *p) {
		amp = strchr(p, '&');
		vlen = amp ? (size_t)(amp - p) : strlen(p);
		if (vlen > nlen && !strncmp(p, name, nlen) && p[nlen] == '=') {
			vlen -= nlen + 1;
			if (vlen >= size)
				return false;
			memcpy(buf, p + nlen + 1, vlen);
			buf[vlen] = '\0';
			return pct_decode(buf, true);
		}
		p = amp ? amp + 1 : NULL;
	}
	return false;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Read more bytes before deadline_ms. Returns bytes, 0 on EOF, -ETIMEDOUT or -errno. */
static ssize_t read_until(struct conn *c, char *buf, size_t size, uint64_t deadline_ms)
{
	struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
	uint64_t now;
	ssize_t n;
	int r;

	for (;;) {
		now = now_ms();
		if (now >= deadline_ms || atomic_load(&c->srv->is_stopping))
			return -ETIMEDOUT;
		r = poll(&pfd, 1, (int)(deadline_ms - now < 200 ? deadline_ms - now : 200));
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r <= 0)
			continue;
		n = recv(c->fd, buf, size, 0);
		if (n >= 0)
			return n;
		if (errno != EINTR && errno != EAGAIN)
			return -errno;
	}
}

static int send_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int send_response(int fd, const struct http_response *r, bool is_keep_alive, bool is_head)
{
	char head[1024];
	int n;

	n = snprintf(
		head, sizeof(head),
		"HTTP/1.1 %d %s\r\nContent-Length: %zu\r\n%s%s%s%s%s%s%sConnection: %s\r\n\r\n",
		r->status, http_reason(r->status), r->body_len,
		r->content_type ? "Content-Type: " : "", r->content_type ? r->content_type : "",
		r->content_type ? "\r\n" : "", r->etag[0] ? "ETag: " : "", r->etag,
		r->etag[0] ? "\r\n" : "", r->extra_headers, is_keep_alive ? "keep-alive" : "close");
	if (n < 0 || (size_t)n >= sizeof(head))
		return -EOVERFLOW;
	if (send_all(fd, head, (size_t)n))
		return -EIO;
	if (is_head || !r->body_len)
		return 0;
	return send_all(fd, r->body, r->body_len);
}

/*
 * After an error answer the client may still be sending a body we will not
 * read; closing with unread data makes the kernel send RST, which can
 * destroy the answer before the client reads it. Stop writing, then drain
 * (bounded: 1 MiB or 500 ms) so the client sees the answer, then close.
 */
static void drain_input(int fd)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	uint64_t deadline = now_ms() + 500;
	size_t total = 0;
	char sink[4096];
	ssize_t n;

	shutdown(fd, SHUT_WR);
	while (total < (1u << 20) && now_ms() < deadline && poll(&pfd, 1, 100) > 0) {
		n = recv(fd, sink, sizeof(sink), 0);
		if (n <= 0)
			break;
		total += (size_t)n;
	}
}

static void send_error(int fd, int status)
{
	struct http_response r = {.status = status, .content_type = "application/json"};
	char body[160];

	r.body_len = (size_t)snprintf(
		body, sizeof(body), "{\"errorCode\":\"ERR_MALFORMED_REQUEST\",\"message\":\"%s\"}",
		http_reason(status));
	r.body = body;
	send_response(fd, &r, false, false);
	drain_input(fd);
}

/*
 * Read the body into a fresh NUL-terminated buffer: `have` bytes of it are
 * already in pre. Returns 0 or -errno.
 */
static int read_body(struct conn *c, struct http_request *req, const char *pre, size_t have,
		     uint64_t deadline_ms, char **out)
{
	size_t len = req->content_length;
	char *body = malloc(len + 1);
	ssize_t n;

	if (!body)
		return -ENOMEM;
	memcpy(body, pre, have);
	while (have < len) {
		n = read_until(c, body + have, len - have, deadline_ms);
		if (n <= 0) {
			free(body);
			return n ? (int)n : -ECONNRESET;
		}
		have += (size_t)n;
	}
	body[len] = '\0';
	*out = body;
	return 0;
}

/*
 * Clients that sent "Expect: 100-continue" (curl does for bodies over
 * 1 KiB) wait for this before sending the body; answering saves them a
 * second of waiting. Best effort: a failed send shows up when reading.
 */
static void send_continue(int fd, const struct http_request *req)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
	const char *expect = http_header(req, "Expect");

	if (expect && !strcasecmp(expect, "100-continue"))
		send_all(fd, cont, sizeof(cont) - 1);
}

static void dispatch(struct conn *c, struct http_request *req, bool *is_keep_alive)
{
	struct http_response resp;
	bool is_head = !strcmp(req->method, "HEAD");

	memset(&resp, 0, sizeof(resp));
	resp.status = 500;
	c->srv->handler(c->srv->ctx, req, &resp);
	if (send_response(c->fd, &resp, req->is_keep_alive, is_head))
		*is_keep_alive = false;
	else
		*is_keep_alive = req->is_keep_alive;
	free(resp.body);
}

/*
 * One connection: requests one after another (keep-alive). buf holds what
 * was read beyond the previous request (pipelining).
 */
static void serve(struct conn *c)
{
	const struct http_limits *lim = &c->srv->lim;
	size_t cap = lim->max_head, have = 0, used;
	struct http_request req;
	bool is_keep_alive = true;
	uint64_t deadline;
	char *buf, *body = NULL;
	int head, status;
	ssize_t n;

	buf = malloc(cap);
	while (buf && is_keep_alive) {
		deadline = now_ms() + (have ? lim->read_timeout_ms : lim->idle_timeout_ms);
		head = http_parse_head(buf, have, lim, &req, &status);
		while (head == 0) {
			n = read_until(c, buf + have, cap - have, deadline);
			if (n <= 0) {
				if (n == -ETIMEDOUT && have)
					send_error(c->fd, 408);
				goto out;
			}
			if (!have)
				deadline = now_ms() + lim->read_timeout_ms;
			have += (size_t)n;
			head = http_parse_head(buf, have, lim, &req, &status);
		}
		if (head < 0) {
			send_error(c->fd, status);
			goto out;
		}
		used = have - (size_t)head < req.content_length ? have - (size_t)head
								: req.content_length;
		if (used < req.content_length)
			send_continue(c->fd, &req);
		if (read_body(c, &req, buf + head, used, deadline, &body)) {
			http_request_free(&req);
			goto out;
		}
		req.body = body;
		memmove(buf, buf + head + used, have - (size_t)head - used);
		have -= (size_t)head + used;
		dispatch(c, &req, &is_keep_alive);
		free(body);
		http_request_free(&req);
	}
out:
	free(buf);
}

static void *conn_main(void *arg)
{
	struct conn *c = arg;

	serve(c);
	close(c->fd);
	atomic_fetch_sub(&c->srv->nr_conns, 1);
	free(c);
	return NULL;
}

static void start_conn(struct http_server *s, int fd)
{
	struct conn *c = NULL;
	pthread_attr_t attr;
	pthread_t t;
	int one = 1;

	if (atomic_fetch_add(&s->nr_conns, 1) >= s->lim.max_conns)
		goto busy;
	c = malloc(sizeof(*c));
	if (!c)
		goto busy;
	c->srv = s;
	c->fd = fd;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 << 10);
	if (!pthread_create(&t, &attr, conn_main, c)) {
		pthread_attr_destroy(&attr);
		return;
	}
	pthread_attr_destroy(&attr);
	free(c);
busy:
	send_error(fd, 503);
	close(fd);
	atomic_fetch_sub(&s->nr_conns, 1);
}

static void *accept_main(void *arg)
{
	struct http_server *s = arg;
	struct pollfd pfd = {.fd = s->lfd, .events = POLLIN};
	int fd;

	while (!atomic_load(&s->is_stopping)) {
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			start_conn(s, fd);
	}
	return NULL;
}

static int listen_loopback(unsigned int port, unsigned int *bound)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	socklen_t sl = sizeof(sa);
	int fd, one = 1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = sc_app_socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 128) ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl)) {
		one = -errno;
		close(fd);
		return one;
	}
	*bound = ntohs(sa.sin_port);
	return fd;
}

/* Start serving on 127.0.0.1:port; see http.h. */
struct http_server *http_server_start(unsigned int port, const struct http_limits *lim,
				      http_handler_fn handler, void *ctx)
{
	struct http_server *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return NULL;
	limits_default(&s->lim, lim);
	s->handler = handler;
	s->ctx = ctx;
	s->lfd = listen_loopback(port, &s->port);
	if (s->lfd < 0) {
		err = -s->lfd;
		pr_warn("sidecar: listen on 127.0.0.1:%u: %s", port, strerror(err));
		goto err_free;
	}
	err = pthread_create(&s->accept_thread, NULL, accept_main, s);
	if (err)
		goto err_close;
	return s;
err_close:
	close(s->lfd);
err_free:
	free(s);
	errno = err;
	return NULL;
}

/* The bound port. */
unsigned int http_server_port(const struct http_server *s)
{
	return s->port;
}

/*
 * Stop accepting, let connection threads notice (they poll every 200 ms)
 * and finish the request in hand, then free. A thread still busy after
 * 10 s (a handler stuck on the bus) keeps the server: it is leaked rather
 * than freed under it, which only happens at process exit.
 */
void http_server_stop(struct http_server *s)
{
	int i;

	if (!s)
		return;
	atomic_store(&s->is_stopping, true);
	pthread_join(s->accept_thread, NULL);
	close(s->lfd);
	for (i = 0; i < 1000 && atomic_load(&s->nr_conns); i++)
		usleep(10000);
	if (atomic_load(&s->nr_conns)) {
		pr_warn("sidecar: %u connections still busy at shutdown",
			atomic_load(&s->nr_conns));
		return;
	}
	free(s);
}
