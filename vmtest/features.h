/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Names and first Linux releases of the BPF features bpfmesh may use, so a
 * failed load can name what the running kernel lacks. The releases are the
 * upstream ones in which the feature first appeared (enterprise kernels may
 * backport); "?" means not in our table, look it up in the kernel's
 * Documentation/bpf or bcc's docs/kernel-versions.md.
 */
#ifndef BM_VMTEST_FEATURES_H
#define BM_VMTEST_FEATURES_H

#include <linux/bpf.h>

/* Oldest kernel bpfmesh supports; keep in step with README and docs/vmtest.md. */
#define FEATURE_MIN_KERNEL "6.1"

/* Helper name without the bpf_ prefix, e.g. "ringbuf_output"; never NULL. */
const char *feature_helper_name(int id);

/* First release with helper id, e.g. "5.8", or "?"; never NULL. */
const char *feature_helper_since(int id);

/* First release with map type t, or "?"; never NULL. */
const char *feature_map_since(enum bpf_map_type t);

/* First release with program type t, or "?"; never NULL. */
const char *feature_prog_since(enum bpf_prog_type t);

#endif /* BM_VMTEST_FEATURES_H */
