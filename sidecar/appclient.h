/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A tiny HTTP/1.1 client to the workload's application on 127.0.0.1: the
 * sidecar asks it for GET /dapr/subscribe and POSTs events to its routes.
 * One request per connection (Connection: close), reply read until EOF.
 */
#ifndef BM_SC_APPCLIENT_H
#define BM_SC_APPCLIENT_H

#include <stddef.h>

#define APPCLIENT_REPLY_MAX (1u << 20)

/*
 * Send method path with body data (len bytes, content type ctype) to
 * 127.0.0.1:port and wait at most timeout_ms for each socket operation.
 * Returns the reply's status code (and *body, malloc()ed and
 * NUL-terminated, when body is not NULL and the reply has one), or -errno:
 * -ECONNREFUSED (app not listening), -EAGAIN (timed out), -EPROTO (not an
 * HTTP reply), -E2BIG (reply over APPCLIENT_REPLY_MAX).
 */
int appclient_request(unsigned int port, const char *method, const char *path, const char *ctype,
		      const char *data, size_t len, int timeout_ms, char **body);

/*
 * appclient_request() with extra header lines (each "Name: value\r\n",
 * may be ""), at most about 1 KiB of them (else -ENAMETOOLONG).
 */
int appclient_request_hdrs(unsigned int port, const char *method, const char *path,
			   const char *ctype, const char *headers, const char *data, size_t len,
			   int timeout_ms, char **body);

#endif /* BM_SC_APPCLIENT_H */
