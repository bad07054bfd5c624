/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shared pieces of the data-plane benchmarks: a synthetic policy of a chosen
 * size (hand-built tables, no compiler involved), the flows that policy
 * allows and denies, UDP frame building, clocks, and small helpers.
 *
 * The synthetic policy. n_hosts workloads, all local, all isolated for
 * ingress and egress, host i at bench_host_addr(i) (198.18.0.2 + i, inside
 * 198.18.0.0/15), class BM_CLASS_FIRST + i. Pair j (0 <= j) names a
 * (subject s, peer p) with p != s; entry j of the ingress half is
 * {s, p, INGRESS, UDP} and its mirror {p, s, EGRESS, UDP} sits in the egress
 * half, so pair j is exactly one allowed flow: host p -> host s. Every entry
 * allows the same four port ranges: 22, 80, 443 and 8000-8999; port 81 is
 * the denied port (the range scan passes 22 and 80 and stops at 443).
 * Pair 0 is host 1 -> host 0, the flow the single-flow benchmarks use.
 */
#ifndef BM_BENCHLIB_H
#define BM_BENCHLIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <abi/abi.h>

#include "tables.h"

#define BENCH_PORT_ALLOW 80
#define BENCH_PORT_DENY 81
#define BENCH_SPORT 40000
#define BENCH_FRAME_LEN 60 /* minimum Ethernet frame without FCS */
#define BENCH_MAX_HOSTS 65536
#define BENCH_NR_CIDRS 128 /* /24 prefixes in 198.19.128.0/17, for a non-empty trie */

struct bench_policy {
	uint32_t n_entries; /* policy map entries (even: ingress + egress mirror) */
	uint32_t n_pairs; /* allowed (src, dst) host pairs = n_entries / 2 */
	uint32_t n_hosts;
};

/* Host-order IPv4 address of host i (i < BENCH_MAX_HOSTS). Cannot fail. */
uint32_t bench_host_addr(uint32_t i);

/*
 * Size the synthetic policy for at least n_entries policy entries (rounded up
 * to an even count, at least 2). Cannot fail.
 */
void bench_policy_size(uint32_t n_entries, struct bench_policy *p);

/* Pair j's source and destination host indices. j < p->n_hosts * (p->n_hosts - 1). */
void bench_policy_pair(const struct bench_policy *p, uint32_t j, uint32_t *src, uint32_t *dst);

/*
 * Fill t (tables_init()ed by the caller, released by the caller) with the
 * synthetic policy p. Returns 0 or -ENOMEM.
 */
int bench_tables_build(const struct bench_policy *p, struct bm_tables *t);

/*
 * Write a BENCH_FRAME_LEN-byte Ethernet/IPv4/UDP frame into buf (at least
 * that long): valid IPv4 checksum, UDP checksum 0. Addresses host order.
 * Returns the frame length.
 */
size_t bench_frame_udp4(uint8_t *buf, const uint8_t dmac[6], const uint8_t smac[6], uint32_t saddr,
			uint32_t daddr, uint16_t sport, uint16_t dport);

/* CLOCK_MONOTONIC in nanoseconds. Cannot fail. */
uint64_t bench_now_ns(void);

/* Median of n values (sorts v in place); 0 for n == 0. */
double bench_median(double *v, size_t n);

/* strtoul with end pointer and range check. Returns 0 or -EINVAL. */
int bench_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out);

/* Pin the calling thread to cpu. Returns 0 or -errno. */
int bench_pin_cpu(int cpu);

/* Let the calling thread (and the threads it starts) run on CPUs first .. first + n - 1. */
int bench_pin_cpu_range(int first, unsigned int n);

/*
 * Sum the per-CPU bm_reasons packet counters of fd into out[BM_REASON_MAX].
 * Returns 0 or -errno.
 */
int bench_read_reasons(int fd, uint64_t *out);

/* Enter the named network namespace (/run/netns/name). Returns 0 or -errno. */
int bench_enter_netns(const char *name);

#endif /* BM_BENCHLIB_H */
