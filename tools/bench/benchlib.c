// SPDX-License-Identifier: GPL-2.0-only
/* Shared pieces of the data-plane benchmarks; see benchlib.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "benchlib.h"

#define HOST_BASE 0xc6120002U /* 198.18.0.2 */
#define CIDR_BASE 0xc6138000U /* 198.19.128.0 */

static const struct bm_port_range bench_ranges[] = {
	{.port_lo = 22, .port_hi = 22},
	{.port_lo = 80, .port_hi = 80},
	{.port_lo = 443, .port_hi = 443},
	{.port_lo = 8000, .port_hi = 8999},
};

#define NR_RANGES (sizeof(bench_ranges) / sizeof(bench_ranges[0]))

/* See benchlib.h. */
uint32_t bench_host_addr(uint32_t i)
{
	return HOST_BASE + i;
}

/* See benchlib.h. */
void bench_policy_size(uint32_t n_entries, struct bench_policy *p)
{
	uint32_t pairs = n_entries / 2 + (n_entries & 1);
	uint32_t hosts;

	if (pairs == 0)
		pairs = 1;
	hosts = pairs / 4;
	if (hosts < 16)
		hosts = 16;
	if (hosts > BENCH_MAX_HOSTS)
		hosts = BENCH_MAX_HOSTS;
	p->n_pairs = pairs;
	p->n_entries = pairs * 2;
	p->n_hosts = hosts;
}

/* See benchlib.h. */
void bench_policy_pair(const struct bench_policy *p, uint32_t j, uint32_t *src, uint32_t *dst)
{
	uint32_t k = p->n_hosts, s = j % k, step = 1 + j / k;

	*dst = s;
	*src = (s + step) % k;
}

static int add_hosts(const struct bench_policy *p, struct bm_tables *t)
{
	struct bm_ipcache_value v = {
		.flags = BM_IPC_F_LOCAL | BM_IPC_F_INGRESS_ISOLATED | BM_IPC_F_EGRESS_ISOLATED,
	};
	struct bm_host4_key k;
	uint32_t i;
	int err;

	for (i = 0; i < p->n_hosts; i++) {
		k.addr = htonl(bench_host_addr(i));
		v.sec_id = BM_ID_FIRST_WORKLOAD + i;
		v.class_id = BM_CLASS_FIRST + i;
		err = tables_append(t, TABLES_HOST4, &k, &v);
		if (err)
			return err;
	}
	return 0;
}

/* Prefixes nothing in the policy names: they only make the trie realistic. */
static int add_cidrs(const struct bench_policy *p, struct bm_tables *t)
{
	struct bm_ipcache_value v = {.sec_id = BM_ID_WORLD};
	struct bm_cidr4_key k = {.prefixlen = 24};
	uint32_t i;
	int err;

	for (i = 0; i < BENCH_NR_CIDRS; i++) {
		k.addr = htonl(CIDR_BASE + (i << 8));
		v.class_id = BM_CLASS_FIRST + p->n_hosts + i;
		err = tables_append(t, TABLES_CIDR4, &k, &v);
		if (err)
			return err;
	}
	return 0;
}

static int add_entry(struct bm_tables *t, uint32_t subject, uint32_t peer, uint8_t dir,
		     uint32_t first_rule)
{
	struct bm_policy_key k = {
		.subject_class = BM_CLASS_FIRST + subject,
		.peer_class = BM_CLASS_FIRST + peer,
		.direction = dir,
		.proto = BM_PROTO_UDP,
	};
	struct bm_policy_value v = {.nr_ranges = NR_RANGES};
	struct bm_port_range pr;
	uint32_t idx;
	size_t r;
	int err;

	/* One pool slice per entry (its rule ids are its own): no sharing at all. */
	v.first = (uint32_t)t->maps[TABLES_RANGES].n;
	for (r = 0; r < NR_RANGES; r++) {
		pr = bench_ranges[r];
		pr.rule_id = first_rule + (uint32_t)r;
		if (r < BM_POLICY_INLINE_RANGES) {
			v.range[r] = pr;
			continue;
		}
		idx = v.first + (uint32_t)r - BM_POLICY_INLINE_RANGES;
		err = tables_append(t, TABLES_RANGES, &idx, &pr);
		if (err)
			return err;
	}
	return tables_append(t, TABLES_POLICY, &k, &v);
}

/* See benchlib.h. */
int bench_tables_build(const struct bench_policy *p, struct bm_tables *t)
{
	uint32_t j, src, dst;
	int err;

	err = add_hosts(p, t);
	if (err)
		return err;
	err = add_cidrs(p, t);
	if (err)
		return err;
	for (j = 0; j < p->n_pairs; j++) {
		bench_policy_pair(p, j, &src, &dst);
		err = add_entry(t, dst, src, BM_DIR_INGRESS, 1 + j * 2 * NR_RANGES);
		if (err)
			return err;
		err = add_entry(t, src, dst, BM_DIR_EGRESS, 1 + (j * 2 + 1) * NR_RANGES);
		if (err)
			return err;
	}
	t->nr_classes = BM_CLASS_FIRST + p->n_hosts + BENCH_NR_CIDRS;
	return 0;
}

static uint16_t ip_checksum(const uint8_t *hdr, size_t len)
{
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(hdr[i] << 8 | hdr[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* See benchlib.h. */
size_t bench_frame_udp4(uint8_t *buf, const uint8_t dmac[6], const uint8_t smac[6], uint32_t saddr,
			uint32_t daddr, uint16_t sport, uint16_t dport)
{
	uint8_t *ip = buf + 14, *udp = ip + 20;
	uint16_t ip_len = BENCH_FRAME_LEN - 14, udp_len = ip_len - 20, csum;
	uint32_t be;

	memset(buf, 0, BENCH_FRAME_LEN);
	memcpy(buf, dmac, 6);
	memcpy(buf + 6, smac, 6);
	buf[12] = 0x08; /* ETH_P_IP */
	ip[0] = 0x45;
	ip[2] = (uint8_t)(ip_len >> 8);
	ip[3] = (uint8_t)ip_len;
	ip[8] = 64; /* TTL */
	ip[9] = 17; /* UDP */
	be = htonl(saddr);
	memcpy(ip + 12, &be, 4);
	be = htonl(daddr);
	memcpy(ip + 16, &be, 4);
	csum = ip_checksum(ip, 20);
	ip[10] = (uint8_t)(csum >> 8);
	ip[11] = (uint8_t)csum;
	udp[0] = (uint8_t)(sport >> 8);
	udp[1] = (uint8_t)sport;
	udp[2] = (uint8_t)(dport >> 8);
	udp[3] = (uint8_t)dport;
	udp[4] = (uint8_t)(udp_len >> 8);
	udp[5] = (uint8_t)udp_len;
	return BENCH_FRAME_LEN;
}

/* See benchlib.h. */
uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* See benchlib.h. */
double bench_median(double *v, size_t n)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return n & 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* See benchlib.h. */
int bench_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/* See benchlib.h. */
int bench_pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		return -errno;
	return 0;
}

/* See benchlib.h. */
int bench_pin_cpu_range(int first, unsigned int n)
{
	cpu_set_t set;
	unsigned int i;

	CPU_ZERO(&set);
	for (i = 0; i < n; i++)
		CPU_SET(first + (int)i, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		return -errno;
	return 0;
}

/* See benchlib.h. */
int bench_read_reasons(int fd, uint64_t *out)
{
	int ncpu = libbpf_num_possible_cpus();
	struct bm_reason_stats *vals;
	uint32_t r;
	int c, err = 0;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (r = 0; r < BM_REASON_MAX; r++) {
		out[r] = 0;
		if (bpf_map_lookup_elem(fd, &r, vals)) {
			err = -errno;
			break;
		}
		for (c = 0; c < ncpu; c++)
			out[r] += vals[c].packets;
	}
	free(vals);
	return err;
}

/* See benchlib.h. */
int bench_enter_netns(const char *name)
{
	char path[PATH_MAX];
	int fd, err = 0;

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (setns(fd, CLONE_NEWNET))
		err = -errno;
	close(fd);
	return err;
}
