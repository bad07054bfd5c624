/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Can this process run the BPF data plane? The answer decides between the
 * rootful path (XDP, socket hooks, pinned maps) and the rootless one (user
 * and network namespaces, slirp4netns, the userland forwarder: see
 * docs/rootless.md). Loading BPF is necessary but not sufficient: attaching
 * XDP and socket hooks also needs CAP_NET_ADMIN.
 */
#ifndef BM_ROOTLESS_PROBE_H
#define BM_ROOTLESS_PROBE_H

#include <stdbool.h>
#include <stddef.h>

enum rootless_mode {
	ROOTLESS_MODE_BPF, /* the kernel data plane */
	ROOTLESS_MODE_USER, /* namespaces + slirp4netns + userland forwarder */
};

#define ROOTLESS_REASON_LEN 256

struct rootless_probe {
	enum rootless_mode mode;
	bool is_root; /* effective uid 0 */
	bool has_cap_bpf; /* CAP_BPF, or CAP_SYS_ADMIN on kernels without it */
	bool has_cap_net_admin;
	int unpriv_bpf_disabled; /* kernel.unprivileged_bpf_disabled; -1: unreadable */
	int prog_load_err; /* 0 or -errno of the trial BPF_PROG_LOAD */
	char reason[ROOTLESS_REASON_LEN]; /* "rootless: not root and ..." */
};

/*
 * Probe the effective capabilities, the sysctl and a trial load of a
 * two-instruction socket filter, and decide the mode. With is_forced, the
 * mode is ROOTLESS_MODE_USER whatever the probe finds (the reason says so).
 * Cannot fail: an unreadable fact counts against the BPF path.
 */
void rootless_probe_run(struct rootless_probe *p, bool is_forced);

/*
 * The line `bpfmesh status` prints about the mode, into buf: "mode: rootless
 * (REASON)" from the status file of a rootless forwarder running for
 * state_dir, else "mode: M (REASON)" from a fresh probe. Returns true when a
 * rootless forwarder runs. Cannot fail (buf is always a string).
 */
bool rootless_describe(const char *state_dir, char *buf, size_t len);

/*
 * Whether a rootless forwarder (`rootless run`, or an agent in rootless
 * mode) runs for state_dir: its status file names a live pid. Cannot fail.
 */
bool rootless_is_running(const char *state_dir);

/* "bpf" or "rootless". Cannot fail. */
const char *rootless_mode_name(enum rootless_mode mode);

#endif /* BM_ROOTLESS_PROBE_H */
