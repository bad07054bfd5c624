/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the agent's and the standalone sidecar's local nats-server share:
 * finding the binary, a free loopback port, and knowing when the server
 * accepts. Both supervise their own child (control/bus.c, sidecar/natsd.c).
 */
#ifndef BM_NATSBIN_H
#define BM_NATSBIN_H

#include <stdbool.h>

/*
 * The nats-server binary: $BPFMESH_NATS_SERVER if set, else the Debian
 * package's /usr/sbin/nats-server, else /usr/bin/nats-server (exec reports
 * ENOENT if neither exists). Cannot fail.
 */
const char *natsbin_path(void);

/* A TCP port on 127.0.0.1 free right now (0 if none could be had). Cannot fail. */
unsigned int natsbin_free_port(void);

/* Does something accept TCP connections on 127.0.0.1:port? Cannot fail. */
bool natsbin_port_accepts(unsigned int port);

#endif /* BM_NATSBIN_H */
