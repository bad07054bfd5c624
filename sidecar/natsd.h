/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A supervised local nats-server for --standalone: JetStream on
 * 127.0.0.1, data in STATE_DIR/nats, restarted if it dies. Synchronous
 * flushing (jetstream { sync_interval: always }) is used when the installed
 * server accepts it (nats-server >= 2.10); 2.9 rejects the field, and then
 * the server flushes on its own schedule (see docs/sidecar.md).
 */
#ifndef BM_SC_NATSD_H
#define BM_SC_NATSD_H

#include <stdbool.h>

struct natsd;

/*
 * Start the server on port (0: a free one) and wait until it accepts.
 * Returns 0 with *out (natsd_stop frees) or -errno (-ENOENT: no
 * nats-server binary, -ETIMEDOUT: it never accepted).
 */
int natsd_start(const char *state_dir, unsigned int port, struct natsd **out);

/* "nats://127.0.0.1:PORT", owned by d. */
const char *natsd_url(const struct natsd *d);

/* Did the server accept sync_interval: always? */
bool natsd_is_sync_always(const struct natsd *d);

/* Stop supervising, SIGTERM (then SIGKILL) the server, free. NULL-safe. */
void natsd_stop(struct natsd *d);

#endif /* BM_SC_NATSD_H */
