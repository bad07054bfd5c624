/* SPDX-License-Identifier: GPL-2.0-only */
/* Making sure a directory is on a BPF filesystem before we pin there. */
#ifndef BM_BPFFS_H
#define BM_BPFFS_H

#include <stdbool.h>

/* Is path (which must exist) on a bpffs? */
bool bpffs_is_mounted_at(const char *path);

/*
 * Ensure pin_dir exists on a bpffs, and that libxdp pins where the pins
 * outlive this process: if /sys/fs/bpf is not a bpffs but pin_dir is one,
 * point libxdp at pin_dir (LIBXDP_BPFFS); otherwise mount bpffs at
 * /sys/fs/bpf when needed, create pin_dir (0700), and mount a bpffs on
 * pin_dir itself when it is still not on one. Call before any libxdp call.
 * Returns 0 or a negative errno (logged with the path).
 */
int bpffs_prepare(const char *pin_dir);

/* mkdir -p with mode for every created component. Returns 0 or -errno. */
int bpffs_mkdir_p(const char *path, unsigned int mode);

#endif /* BM_BPFFS_H */
