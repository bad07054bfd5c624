/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The application's network namespace (--app-netns): the sockets that face
 * the application (the Dapr HTTP listener, connections to the app, the
 * invocation listener and calls to other sidecars) are created there, while
 * the bus connection and everything else stay in the sidecar's own
 * namespace. A socket keeps the namespace it was created in, so only the
 * creation switches: setns(2) on the calling thread, socket(2), back.
 */
#ifndef BM_SC_NETNS_H
#define BM_SC_NETNS_H

/*
 * Open path as the application's namespace (and ours, to come back to).
 * Call once, before any thread exists. Returns 0 or -errno (the path
 * cannot be opened or is not a network namespace we may enter).
 */
int sc_netns_set_app(const char *path);

/*
 * socket(2) in the application's namespace (ours when none was set).
 * Thread-safe. Returns the fd or -1 with errno set; the calling thread is
 * back in its namespace either way (if it cannot come back, the process
 * aborts: a thread left in the app's namespace would reach the wrong bus).
 */
int sc_app_socket(int domain, int type, int protocol);

#endif /* BM_SC_NETNS_H */
