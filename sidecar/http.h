/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A small, bounded HTTP/1.1 server for the sidecar's local API: requests
 * with Content-Length bodies (no chunked uploads), a header limit, a body
 * limit, read and idle timeouts, keep-alive, a bounded number of connection
 * threads. It listens on 127.0.0.1 only.
 *
 * http_parse_head() is the pure parser the server uses; tests call it alone.
 */
#ifndef BM_SC_HTTP_H
#define BM_SC_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP_MAX_HEADERS 48

struct http_limits {
	size_t max_head; /* request line + headers, bytes (default 16384) */
	size_t max_body; /* body bytes (default 4 MiB, Dapr's default) */
	unsigned int read_timeout_ms; /* one request, from its first byte (default 10000) */
	unsigned int idle_timeout_ms; /* keep-alive between requests (default 30000) */
	unsigned int max_conns; /* concurrent connections (default 128) */
};

struct http_header {
	const char *name;
	const char *value;
};

struct http_request {
	const char *method;
	const char *path; /* percent-decoded, without the query */
	const char *query; /* raw, after '?', or "" */
	struct http_header headers[HTTP_MAX_HEADERS];
	unsigned int nr_headers;
	size_t content_length;
	bool is_keep_alive;
	const char *body; /* NUL-terminated copy, content_length bytes */
	/* The parser's storage, owned by the request. */
	char *head_copy;
};

/* What a handler returns. body is malloc()ed and freed by the server. */
struct http_response {
	int status;
	const char *content_type; /* static string or NULL */
	char *body;
	size_t body_len;
	char etag[32]; /* sent as ETag when not empty */
	char extra_headers[256]; /* "Name: value\r\n" lines, may be empty */
};

typedef void (*http_handler_fn)(void *ctx, const struct http_request *req,
				struct http_response *resp);

/*
 * Parse one request head from buf[0..len). Returns the number of bytes the
 * head takes (including the blank line) once it is complete, 0 when more
 * bytes are needed, or -EINVAL / -E2BIG / -ENOSYS with *status set to the
 * 4xx/5xx to answer (400 malformed, 431 head too large, 413 body too large,
 * 501 chunked upload, 505 version). On success req->head_copy holds the
 * strings req points at; free it with http_request_free().
 */
int http_parse_head(const char *buf, size_t len, const struct http_limits *lim,
		    struct http_request *req, int *status);

/* Free what http_parse_head() allocated. NULL-safe. */
void http_request_free(struct http_request *req);

/* Case-insensitive header lookup. Returns the value (owned by req) or NULL. */
const char *http_header(const struct http_request *req, const char *name);

/*
 * Query parameter name's value, percent-decoded into buf (size bytes).
 * Returns true when present (and fits).
 */
bool http_query_param(const struct http_request *req, const char *name, char *buf, size_t size);

/* Reason phrase for status ("Not Found"); "" when unknown. Cannot fail. */
const char *http_reason(int status);

struct http_server;

/*
 * Listen on 127.0.0.1:port (0: a free one, see http_server_port) and serve
 * handler from an accept thread. lim may be NULL for defaults. Returns the
 * server or NULL with errno set.
 */
struct http_server *http_server_start(unsigned int port, const struct http_limits *lim,
				      http_handler_fn handler, void *ctx);

/* The port the server listens on. */
unsigned int http_server_port(const struct http_server *s);

/* Stop accepting, wait for connection threads to finish, free. NULL-safe. */
void http_server_stop(struct http_server *s);

#endif /* BM_SC_HTTP_H */
