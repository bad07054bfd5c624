/* SPDX-License-Identifier: GPL-2.0-only */
/* Whole-buffer socket reads and writes bounded by a monotonic deadline. */
#ifndef BM_IDENT_HS_IO_H
#define BM_IDENT_HS_IO_H

#include <stddef.h>
#include <stdint.h>

/* Now plus timeout_ms on CLOCK_MONOTONIC, in milliseconds. Cannot fail. */
int64_t hs_io_deadline(int timeout_ms);

/*
 * Read exactly len bytes before deadline_ms. Returns 0, -ETIMEDOUT,
 * -ECONNRESET (end of stream first) or -errno.
 */
int hs_io_read(int fd, void *buf, size_t len, int64_t deadline_ms);

/* Write all len bytes before deadline_ms (no SIGPIPE). Returns 0 or -errno. */
int hs_io_write(int fd, const void *buf, size_t len, int64_t deadline_ms);

#endif /* BM_IDENT_HS_IO_H */
