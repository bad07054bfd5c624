/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The CLI's unix socket to the local agent: one JSON request per
 * connection, one JSON reply ({"ok": true, ...} or {"ok": false, "error"}).
 * The socket is 0660, owner root, group bpfmesh when that group exists.
 */
#ifndef BM_AGENT_SOCK_H
#define BM_AGENT_SOCK_H

#include <stdbool.h>

#include <jansson.h>

#define AGENT_SOCK_MAX_REQUEST (64u << 20)

/* Create, bind and listen on path (replacing a stale socket). Returns an fd or -errno. */
int agent_sock_listen(const char *path);

/* Read one request from a connected fd (2 s timeout); NULL on error (logged at debug). */
json_t *agent_sock_read(int fd);

/* Write reply to fd. Returns 0 or -errno. Does not take the reference. */
int agent_sock_write(int fd, const json_t *reply);

/* Does path name a socket an agent listens on? */
bool agent_sock_is_up(const char *path);

/*
 * Send req to the agent at path and wait up to timeout_ms for its reply.
 * Returns 0 and *reply (caller decrefs) or -errno (-ENOENT / -ECONNREFUSED:
 * no agent). Does not take the reference to req.
 */
int agent_sock_call(const char *path, const json_t *req, int timeout_ms, json_t **reply);

#endif /* BM_AGENT_SOCK_H */
