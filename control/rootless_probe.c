// SPDX-License-Identifier: GPL-2.0-only
/* The privilege probe: BPF data plane or rootless fallback. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "rootless_probe.h"

#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static bool cap_is_set(const struct __user_cap_data_struct *d, int cap)
{
	return d[cap / 32].effective & (1U << (cap % 32));
}

static void probe_caps(struct rootless_probe *p)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data))
		return;
	/* Kernels before 5.8 have no CAP_BPF: CAP_SYS_ADMIN stands in for it. */
	p->has_cap_bpf = cap_is_set(data, CAP_BPF) || cap_is_set(data, CAP_SYS_ADMIN);
	p->has_cap_net_admin = cap_is_set(data, CAP_NET_ADMIN);
}

static int read_sysctl_int(const char *path)
{
	char buf[32] = "";
	ssize_t n;
	int fd, v;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0 || sscanf(buf, "%d", &v) != 1)
		return -1;
	return v;
}

/* Load "r0 = 0; exit" as a socket filter and close it at once. */
static int trial_prog_load(void)
{
	struct bpf_insn insns[2] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
		{.code = BPF_JMP | BPF_EXIT},
	};
	union bpf_attr attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	attr.insns = (__u64)(unsigned long)insns;
	attr.insn_cnt = 2;
	attr.license = (__u64)(unsigned long)"GPL";
	fd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static void explain(struct rootless_probe *p)
{
	char sysctl[64] = "kernel.unprivileged_bpf_disabled unreadable";
	size_t n = sizeof(p->reason);

	if (p->unpriv_bpf_disabled >= 0)
		snprintf(sysctl, sizeof(sysctl), "kernel.unprivileged_bpf_disabled=%d",
			 p->unpriv_bpf_disabled);
	if (p->mode == ROOTLESS_MODE_BPF)
		snprintf(p->reason, n, "bpf: %s with CAP_BPF and CAP_NET_ADMIN; trial load works",
			 p->is_root ? "root" : "not root");
	else if (!p->is_root && !p->has_cap_bpf)
		snprintf(p->reason, n, "rootless: not root and %s", sysctl);
	else if (p->prog_load_err)
		snprintf(p->reason, n, "rootless: trial BPF_PROG_LOAD failed: %s (%s)",
			 strerror(-p->prog_load_err), sysctl);
	else
		snprintf(p->reason, n,
			 "rootless: no CAP_NET_ADMIN: cannot attach XDP or socket hooks");
}

/* See rootless_probe.h. */
void rootless_probe_run(struct rootless_probe *p, bool is_forced)
{
	memset(p, 0, sizeof(*p));
	p->is_root = geteuid() == 0;
	probe_caps(p);
	p->unpriv_bpf_disabled = read_sysctl_int("/proc/sys/kernel/unprivileged_bpf_disabled");
	p->prog_load_err = trial_prog_load();
	p->mode = !p->prog_load_err && p->has_cap_bpf && p->has_cap_net_admin ? ROOTLESS_MODE_BPF
									      : ROOTLESS_MODE_USER;
	explain(p);
	if (is_forced && p->mode == ROOTLESS_MODE_BPF) {
		p->mode = ROOTLESS_MODE_USER;
		snprintf(p->reason, sizeof(p->reason),
			 "rootless: --rootless given (BPF would work)");
	}
}

/* The running forwarder's "reason" line, if its pid is alive. */
static bool read_running(const char *state_dir, char *reason, size_t len)
{
	char path[PATH_MAX], line[ROOTLESS_REASON_LEN + 16];
	bool has_reason = false;
	FILE *fp;
	long pid = 0;

	if (snprintf(path, sizeof(path), "%s/rootless/status", state_dir) >= (int)sizeof(path))
		return false;
	fp = fopen(path, "r");
	while (fp && fgets(line, sizeof(line), fp)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "pid\t", 4))
			pid = strtol(line + 4, NULL, 10);
		else if (!strncmp(line, "reason\t", 7) &&
			 snprintf(reason, len, "%s", line + 7) >= 0)
			has_reason = true;
	}
	if (fp)
		fclose(fp);
	return has_reason && pid > 0 && !(kill((pid_t)pid, 0) && errno == ESRCH);
}

/* See rootless_probe.h. */
bool rootless_describe(const char *state_dir, char *buf, size_t len)
{
	char reason[ROOTLESS_REASON_LEN];
	struct rootless_probe p;

	if (read_running(state_dir, reason, sizeof(reason))) {
		snprintf(buf, len, "mode: rootless (%s); rootless forwarder running", reason);
		return true;
	}
	rootless_probe_run(&p, false);
	snprintf(buf, len, "mode: %s (%s)", rootless_mode_name(p.mode), p.reason);
	return false;
}

/* See rootless_probe.h. */
bool rootless_is_running(const char *state_dir)
{
	char reason[ROOTLESS_REASON_LEN];

	return read_running(state_dir, reason, sizeof(reason));
}

/* See rootless_probe.h. */
const char *rootless_mode_name(enum rootless_mode mode)
{
	return mode == ROOTLESS_MODE_BPF ? "bpf" : "rootless";
}
