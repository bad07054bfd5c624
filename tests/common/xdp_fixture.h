/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A throwaway data plane for tests/bpf: a unique pin directory
 * (/run/bpfmesh-test-<pid>-<n>), a live and a dry-run instance of
 * bm_xdp_ingress, the fixture policy of pkt_cases.h installed by hand-built
 * tables, and readers for counters and events. xfx_close() removes every pin
 * and the bpffs dp_open() mounted; an atexit() hook does the same if a test
 * binary dies early.
 */
#ifndef BM_TESTS_XDP_FIXTURE_H
#define BM_TESTS_XDP_FIXTURE_H

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dataplane.h"
#include "pkt_cases.h"
#include "tables.h"

#define XFX_MAX 4

struct xfx {
	char pin_dir[96];
	struct dataplane *live;
	struct dataplane *dry;
	uint32_t generation;
	struct ring_buffer *rb;
	struct bm_flow_event last_event;
	unsigned int nr_events;
};

static struct xfx *xfx_all[XFX_MAX];

/* Remove the pins under dir, the bpffs mounted there, and dir. */
static inline void xfx_remove_dir(const char *dir)
{
	char path[512];
	struct dirent *de;
	DIR *d = opendir(dir);

	if (d) {
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			unlink(path);
		}
		closedir(d);
	}
	umount2(dir, MNT_DETACH); /* fails harmlessly when dp_open mounted nothing */
	rmdir(dir);
}

static inline void xfx_close(struct xfx *f)
{
	int i;

	if (!f->pin_dir[0])
		return;
	ring_buffer__free(f->rb);
	dp_close(f->dry);
	dp_close(f->live);
	xfx_remove_dir(f->pin_dir);
	memset(f, 0, sizeof(*f));
	for (i = 0; i < XFX_MAX; i++) {
		if (xfx_all[i] == f)
			xfx_all[i] = NULL;
	}
}

static inline void xfx_close_all(void)
{
	int i;

	for (i = 0; i < XFX_MAX; i++) {
		if (xfx_all[i])
			xfx_close(xfx_all[i]);
	}
}

static inline int xfx_on_event(void *ctx, void *data, size_t len)
{
	struct xfx *f = ctx;

	if (len >= sizeof(f->last_event)) {
		memcpy(&f->last_event, data, sizeof(f->last_event));
		f->nr_events++;
	}
	return 0;
}

/* Open live + dry instances under a fresh pin directory. Returns 0 or -errno. */
static inline int xfx_open(struct xfx *f)
{
	static int seq;
	int err, i;

	memset(f, 0, sizeof(*f));
	snprintf(f->pin_dir, sizeof(f->pin_dir), "/run/bpfmesh-test-%d-%d", (int)getpid(), seq++);
	if (seq == 1)
		atexit(xfx_close_all);
	for (i = 0; i < XFX_MAX; i++) {
		if (!xfx_all[i]) {
			xfx_all[i] = f;
			break;
		}
	}
	err = dp_open(f->pin_dir, false, &f->live);
	/*
	 * No allow sampling (fresh pins default to 1 in 64): xfx_expect_live()
	 * counts events, and a sampled allow made it fail one run in 64.
	 */
	if (!err)
		err = dp_configure(f->live, BM_CFG_F_FLOW_CACHE | BM_CFG_F_EVENTS, 0);
	if (!err)
		err = dp_open(f->pin_dir, true, &f->dry);
	if (!err) {
		f->rb = ring_buffer__new(dp_map_fd(f->live, BM_MAP_EVENTS), xfx_on_event, f, NULL);
		if (!f->rb)
			err = -errno;
	}
	if (err)
		xfx_close(f);
	return err;
}

static inline void xfx_add(struct bm_tables *t, enum tables_kind kind, const void *k, const void *v)
{
	if (tables_append(t, kind, k, v))
		abort();
}

static inline void xfx_host4(struct bm_tables *t, uint32_t addr, uint32_t id, uint32_t cls,
			     uint32_t flags)
{
	struct bm_host4_key k = {.addr = htonl(addr)};
	struct bm_ipcache_value v = {.sec_id = id, .class_id = cls, .flags = flags};

	xfx_add(t, TABLES_HOST4, &k, &v);
}

static inline void xfx_host6(struct bm_tables *t, uint16_t last, uint32_t id, uint32_t cls,
			     uint32_t flags)
{
	struct bm_host6_key k;
	struct bm_ipcache_value v = {.sec_id = id, .class_id = cls, .flags = flags};

	pb_addr6(k.addr, last);
	xfx_add(t, TABLES_HOST6, &k, &v);
}

/* One policy entry with up to 4 ranges {lo, hi, rule, flags}; spill if spill_port. */
struct xfx_range {
	uint16_t lo, hi;
	uint32_t rule_id, flags;
};

static inline void xfx_policy(struct bm_tables *t, uint32_t subject, uint32_t peer, uint8_t dir,
			      uint8_t proto, const struct xfx_range *r, unsigned int n,
			      uint16_t spill_port, uint32_t spill_rule)
{
	struct bm_policy_key k = {
		.subject_class = subject, .peer_class = peer, .direction = dir, .proto = proto};
	struct bm_policy_value v;
	struct bm_port_key pk;
	struct bm_port_value pv = {.rule_id = spill_rule};
	struct bm_port_range pr;
	unsigned int i;
	uint32_t idx;

	memset(&v, 0, sizeof(v));
	v.nr_ranges = n;
	v.first = n > BM_POLICY_INLINE_RANGES ? (uint32_t)t->maps[TABLES_RANGES].n : 0;
	for (i = 0; i < n; i++) {
		pr.port_lo = r[i].lo;
		pr.port_hi = r[i].hi;
		pr.rule_id = r[i].rule_id;
		pr.flags = r[i].flags;
		if (i < BM_POLICY_INLINE_RANGES) {
			v.range[i] = pr;
			continue;
		}
		idx = v.first + i - BM_POLICY_INLINE_RANGES;
		xfx_add(t, TABLES_RANGES, &idx, &pr);
	}
	if (spill_port) {
		v.flags = BM_POLICY_F_SPILL;
		memset(&pk, 0, sizeof(pk));
		pk.policy = k;
		pk.port = spill_port;
		xfx_add(t, TABLES_PORTS, &pk, &pv);
	}
	xfx_add(t, TABLES_POLICY, &k, &v);
}

#define XFX_ALL(rule) ((const struct xfx_range[]){{0, 65535, (rule), 0}}), 1

/* Classes: A 2, B 3, C 4, D 5, R 6. See pkt_cases.h for addresses and rules. */
static inline void xfx_tables(struct bm_tables *t)
{
	const uint32_t iso_both =
		BM_IPC_F_LOCAL | BM_IPC_F_INGRESS_ISOLATED | BM_IPC_F_EGRESS_ISOLATED;
	const struct xfx_range b_tcp[] = {
		{80, 80, FX_R_B_IN_TCP80, 0},
		{443, 443, FX_R_B_IN_TCP443_AUTH, BM_RANGE_F_AUTH},
		{8000, 8080, FX_R_B_IN_TCP8000, 0},
	};
	const struct xfx_range b_sctp[] = {{5000, 5000, FX_R_B_IN_SCTP5000, 0}};
	const struct xfx_range b_any_tcp[] = {{22, 22, FX_R_B_IN_ANY_TCP22, 0}};
	struct bm_cidr4_key c4 = {.prefixlen = 16, .addr = htonl(0x0a010000)};
	struct bm_cidr6_key c6 = {.prefixlen = 48};
	struct bm_ipcache_value r = {.sec_id = FX_ID_R, .class_id = 6};

	tables_init(t);
	xfx_host4(t, FX_A4, FX_ID_A, 2, iso_both);
	xfx_host4(t, FX_B4, FX_ID_B, 3, BM_IPC_F_LOCAL | BM_IPC_F_INGRESS_ISOLATED);
	xfx_host4(t, FX_C4, FX_ID_C, 4, BM_IPC_F_LOCAL);
	xfx_host4(t, FX_D4, FX_ID_D, 5, BM_IPC_F_LOCAL | BM_IPC_F_EGRESS_ISOLATED);
	xfx_host6(t, FX_A6, FX_ID_A, 2, iso_both);
	xfx_host6(t, FX_B6, FX_ID_B, 3, BM_IPC_F_LOCAL | BM_IPC_F_INGRESS_ISOLATED);
	xfx_add(t, TABLES_CIDR4, &c4, &r);
	pb_addr6(c6.addr, 0);
	c6.addr[5] = FX_R6_HI;
	xfx_add(t, TABLES_CIDR6, &c6, &r);

	xfx_policy(t, 3, 2, BM_DIR_INGRESS, BM_PROTO_TCP, b_tcp, 3, 9090, FX_R_B_IN_TCP9090_SPILL);
	xfx_policy(t, 3, 2, BM_DIR_INGRESS, BM_PROTO_UDP, XFX_ALL(FX_R_B_IN_UDP), 0, 0);
	xfx_policy(t, 3, 2, BM_DIR_INGRESS, BM_PROTO_ICMP, XFX_ALL(FX_R_B_IN_ICMP), 0, 0);
	xfx_policy(t, 3, 2, BM_DIR_INGRESS, BM_PROTO_ICMPV6, XFX_ALL(FX_R_B_IN_ICMP), 0, 0);
	xfx_policy(t, 3, 2, BM_DIR_INGRESS, BM_PROTO_SCTP, b_sctp, 1, 0, 0);
	xfx_policy(t, 3, BM_CLASS_ANY, BM_DIR_INGRESS, BM_PROTO_TCP, b_any_tcp, 1, 0, 0);
	xfx_policy(t, 2, 3, BM_DIR_EGRESS, BM_PROTO_TCP, XFX_ALL(FX_R_A_EG_TCP), 0, 0);
	xfx_policy(t, 2, 3, BM_DIR_EGRESS, BM_PROTO_UDP, XFX_ALL(FX_R_A_EG_UDP), 0, 0);
	xfx_policy(t, 2, 3, BM_DIR_EGRESS, BM_PROTO_ICMP, XFX_ALL(FX_R_A_EG_ICMP), 0, 0);
	xfx_policy(t, 2, 3, BM_DIR_EGRESS, BM_PROTO_ICMPV6, XFX_ALL(FX_R_A_EG_ICMP), 0, 0);
	xfx_policy(t, 2, 3, BM_DIR_EGRESS, BM_PROTO_SCTP, XFX_ALL(FX_R_A_EG_SCTP), 0, 0);
	xfx_policy(t, 2, 4, BM_DIR_INGRESS, BM_PROTO_TCP, XFX_ALL(FX_R_A_IN_FROM_C), 0, 0);
	t->nr_classes = 7;
}

/* Open and install the fixture policy; flags as for dp_configure(). */
static inline int xfx_open_installed(struct xfx *f, uint32_t flags, uint32_t allow_sample)
{
	struct bm_tables t;
	int err;

	err = xfx_open(f);
	if (err)
		return err;
	xfx_tables(&t);
	err = dp_install(f->live, &t, &f->generation);
	tables_release(&t);
	if (!err)
		err = dp_configure(f->live, flags, allow_sample);
	if (err)
		xfx_close(f);
	return err;
}

/* Sum of one reason counter over the CPUs. */
static inline struct bm_reason_stats xfx_reason(const struct xfx *f, uint32_t reason)
{
	struct bm_reason_stats sum = {0}, *per;
	int n = libbpf_num_possible_cpus(), i;

	per = calloc((size_t)n, sizeof(*per));
	if (per && !bpf_map_lookup_elem(dp_map_fd(f->live, BM_MAP_REASONS), &reason, per)) {
		for (i = 0; i < n; i++) {
			sum.packets += per[i].packets;
			sum.bytes += per[i].bytes;
		}
	}
	free(per);
	return sum;
}

/* Drain pending events; returns how many arrived. */
static inline unsigned int xfx_events(struct xfx *f)
{
	unsigned int before = f->nr_events;

	ring_buffer__consume(f->rb);
	return f->nr_events - before;
}

static inline uint64_t xfx_boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif /* BM_TESTS_XDP_FIXTURE_H */
