// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_xdp: nanoseconds per packet of bm_xdp_ingress under BPF_PROG_TEST_RUN,
 * for synthetic policies of several sizes (benchlib.h), next to the bare
 * bm_xdp_pass program measured in the same run, on the same frame.
 *
 * Per size it measures, each as the best and the median of --rounds runs of --repeat:
 *  - pass:      bm_xdp_pass (the floor: test-run loop plus an empty program);
 *  - cached:    the allowed flow repeated with the flow cache on, so every
 *               packet after the first is a flow-cache hit (ALLOW_FLOW);
 *  - uncached:  the same flow with the flow cache off: the full decision
 *               (two ipcache lookups, both policy directions, range scan);
 *  - deny:      the same pair on a denied port (never cached);
 *  - ref:       bm_bench_ref (reference.bpf.c), the yardstick of two
 *               LPM and two hash lookups, on the same policy and frame.
 * and, with run-time statistics (BPF_ENABLE_STATS) instead of the test-run
 * clock, --flows distinct allowed flows over random host pairs of the whole
 * table, each packet its own test run (one syscall each, so caches are as
 * cold as for a first packet), the same pairs in every case:
 *  - newpair:   flow cache on, first packet ever between each pair: a
 *               cache miss and insert, and the data plane also allocates
 *               the counter slots of both directions of the pair;
 *  - first:     flow cache on, new connections of known pairs: every
 *               packet misses the cache and inserts both flow entries;
 *  - distinct:  flow cache off, new connections of known pairs;
 *  - pass1:     bm_xdp_pass run the same way (the floor of that method:
 *               mostly the two clock reads of the statistics).
 * The repeat cases report the best round (least disturbed by other load on
 * the machine) and the median. Lines starting with '@' are for run.sh:
 * "@xdp <entries> <case> <best_ns> <median_ns> <action> <reason>".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "reference.skel.h"
#include "xdp_pass.skel.h"

#include "benchlib.h"
#include "dataplane.h"
#include "log.h"

#define MAX_SIZES 8
#define DEFAULT_CFG_FLAGS BM_CFG_F_EVENTS
#define DEFAULT_SAMPLE 64

struct opts {
	const char *pin_dir;
	uint32_t sizes[MAX_SIZES];
	int nr_sizes;
	uint32_t repeat;
	uint32_t rounds;
	uint32_t flows;
};

struct bench {
	struct opts o;
	struct dataplane *dp;
	struct xdp_pass *pass;
	struct reference *ref;
	int prog_fd;
	int pass_fd;
	int reasons_fd;
	uint64_t rng;
	uint32_t next_sport;
};

/* A measured case: ns per packet, the action seen, the dominant reason. */
struct result {
	double ns; /* best round (least disturbed by other load) */
	double ns_median;
	int action;
	int reason; /* -1: unknown (no counters) */
};

static const char *const reason_names[BM_REASON_MAX] = {
	[BM_REASON_ALLOW_POLICY] = "ALLOW_POLICY",
	[BM_REASON_ALLOW_NOT_ENDPOINT] = "ALLOW_NOT_ENDPOINT",
	[BM_REASON_ALLOW_NOT_ISOLATED] = "ALLOW_NOT_ISOLATED",
	[BM_REASON_ALLOW_REPLY] = "ALLOW_REPLY",
	[BM_REASON_ALLOW_FLOW] = "ALLOW_FLOW",
	[BM_REASON_ALLOW_NO_POLICY] = "ALLOW_NO_POLICY",
	[BM_REASON_DENY_INGRESS] = "DENY_INGRESS",
	[BM_REASON_DENY_EGRESS] = "DENY_EGRESS",
	[BM_REASON_DENY_MALFORMED] = "DENY_MALFORMED",
	[BM_REASON_DENY_INTERNAL] = "DENY_INTERNAL",
};

static const char *reason_name(int r)
{
	if (r < 0 || r >= BM_REASON_MAX)
		return "?";
	return reason_names[r] ? reason_names[r] : "other";
}

static const char *action_name(int a)
{
	return a == XDP_PASS ? "PASS" : a == XDP_DROP ? "DROP" : "other";
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_xdp --pin-dir DIR [--sizes N[,N...]] [--repeat N]\n"
			"                 [--rounds N] [--flows N]\n");
}

static int parse_sizes(char *s, struct opts *o)
{
	char *tok, *save = NULL;

	o->nr_sizes = 0;
	for (tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (o->nr_sizes == MAX_SIZES ||
		    bench_parse_u32(tok, 1, 4000000, &o->sizes[o->nr_sizes]))
			return -EINVAL;
		o->nr_sizes++;
	}
	return o->nr_sizes ? 0 : -EINVAL;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	int i, err = 0;

	*o = (struct opts){.repeat = 1000000,
			   .rounds = 5,
			   .flows = 8192,
			   .sizes = {1, 10000, 100000, 1000000},
			   .nr_sizes = 4};
	for (i = 1; i < argc && !err; i++) {
		if (i + 1 >= argc)
			return -EINVAL;
		if (!strcmp(argv[i], "--pin-dir"))
			o->pin_dir = argv[++i];
		else if (!strcmp(argv[i], "--sizes"))
			err = parse_sizes(argv[++i], o);
		else if (!strcmp(argv[i], "--repeat"))
			err = bench_parse_u32(argv[++i], 1, 100000000, &o->repeat);
		else if (!strcmp(argv[i], "--rounds"))
			err = bench_parse_u32(argv[++i], 1, 101, &o->rounds);
		else if (!strcmp(argv[i], "--flows"))
			err = bench_parse_u32(argv[++i], 1, 200000, &o->flows);
		else
			return -EINVAL;
	}
	return err || !o->pin_dir ? -EINVAL : 0;
}

static void flow_frame(const struct bench_policy *p, uint32_t pair, uint16_t sport, uint16_t dport,
		       uint8_t *buf)
{
	static const uint8_t dmac[6] = {0x02, 0, 0, 0, 0, 0x02};
	static const uint8_t smac[6] = {0x02, 0, 0, 0, 0, 0x01};
	uint32_t src, dst;

	bench_policy_pair(p, pair, &src, &dst);
	bench_frame_udp4(buf, dmac, smac, bench_host_addr(src), bench_host_addr(dst), sport, dport);
}

/* The reason whose counter grew most between before and after; -1 if none did. */
static int dominant_reason(struct bench *b, const uint64_t *before)
{
	uint64_t after[BM_REASON_MAX], best = 0;
	int r, found = -1;

	if (b->reasons_fd < 0 || bench_read_reasons(b->reasons_fd, after))
		return -1;
	for (r = 0; r < BM_REASON_MAX; r++) {
		if (after[r] - before[r] > best) {
			best = after[r] - before[r];
			found = r;
		}
	}
	return found;
}

static void snapshot_reasons(struct bench *b, uint64_t *snap)
{
	memset(snap, 0, sizeof(uint64_t) * BM_REASON_MAX);
	if (b->reasons_fd >= 0)
		bench_read_reasons(b->reasons_fd, snap);
}

/* Median over rounds of the test-run clock (ns per repetition, loop included). */
static int run_repeat(struct bench *b, int fd, const uint8_t *frame, struct result *res)
{
	LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = frame, .data_size_in = BENCH_FRAME_LEN,
		    .repeat = b->o.repeat);
	uint64_t snap[BM_REASON_MAX];
	double ns[101];
	uint32_t i;
	int err;

	snapshot_reasons(b, snap);
	for (i = 0; i < b->o.rounds; i++) {
		err = bpf_prog_test_run_opts(fd, &t);
		if (err) {
			fprintf(stderr, "test run: %s\n", strerror(-err));
			return err;
		}
		ns[i] = t.duration;
	}
	res->ns_median = bench_median(ns, b->o.rounds);
	res->ns = ns[0]; /* sorted by bench_median() */
	res->action = (int)t.retval;
	res->reason = fd == b->prog_fd ? dominant_reason(b, snap) : -1;
	return 0;
}

static int prog_stats(int fd, uint64_t *run_ns, uint64_t *cnt)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int err;

	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	if (err)
		return err;
	*run_ns = info.run_time_ns;
	*cnt = info.run_cnt;
	return 0;
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * --flows distinct allowed flows, each run once; ns from the kernel's
 * run-time statistics (program only, no test-run loop). The host pairs are
 * the same sequence in every call of one size (the generator restarts from
 * seed); source ports come from a process-wide counter, so no flow repeats
 * one sent before.
 */
static int run_distinct(struct bench *b, int fd, const struct bench_policy *p, uint64_t seed,
			struct result *res)
{
	LIBBPF_OPTS(bpf_test_run_opts, t, .data_size_in = BENCH_FRAME_LEN, .repeat = 1);
	uint64_t ns0, cnt0, ns1, cnt1, snap[BM_REASON_MAX];
	uint8_t frame[BENCH_FRAME_LEN];
	uint32_t i, pair;
	int err;

	t.data_in = frame;
	b->rng = seed;
	snapshot_reasons(b, snap);
	err = prog_stats(fd, &ns0, &cnt0);
	for (i = 0; i < b->o.flows && !err; i++) {
		pair = (uint32_t)(xorshift(&b->rng) % p->n_pairs);
		flow_frame(p, pair, (uint16_t)(1024 + b->next_sport++ % 64000), BENCH_PORT_ALLOW,
			   frame);
		err = bpf_prog_test_run_opts(fd, &t);
	}
	if (!err)
		err = prog_stats(fd, &ns1, &cnt1);
	if (err) {
		fprintf(stderr, "distinct-flow run: %s\n", strerror(-err));
		return err;
	}
	res->ns = cnt1 > cnt0 ? (double)(ns1 - ns0) / (double)(cnt1 - cnt0) : 0;
	res->ns_median = res->ns;
	res->action = (int)t.retval;
	res->reason = fd == b->prog_fd ? dominant_reason(b, snap) : -1;
	return 0;
}

static void print_result(uint32_t entries, const char *name, const struct result *r,
			 int want_action)
{
	const char *mark = r->action == want_action ? "" : "  <-- unexpected action";

	printf("  %-10s %8.1f ns best %8.1f median   %-4s %-14s%s\n", name, r->ns, r->ns_median,
	       action_name(r->action), reason_name(r->reason), mark);
	printf("@xdp %u %s %.1f %.1f %s %s\n", entries, name, r->ns, r->ns_median,
	       action_name(r->action), reason_name(r->reason));
}

static int measure_repeat_cases(struct bench *b, const struct bench_policy *p)
{
	uint8_t allow[BENCH_FRAME_LEN], deny[BENCH_FRAME_LEN];
	struct result r;
	int err;

	flow_frame(p, 0, BENCH_SPORT, BENCH_PORT_ALLOW, allow);
	flow_frame(p, 0, BENCH_SPORT, BENCH_PORT_DENY, deny);
	err = run_repeat(b, b->pass_fd, allow, &r);
	if (err)
		return err;
	print_result(p->n_entries, "pass", &r, XDP_PASS);
	dp_configure(b->dp, DEFAULT_CFG_FLAGS | BM_CFG_F_FLOW_CACHE, DEFAULT_SAMPLE);
	err = run_repeat(b, b->prog_fd, allow, &r);
	if (err)
		return err;
	print_result(p->n_entries, "cached", &r, XDP_PASS);
	dp_configure(b->dp, DEFAULT_CFG_FLAGS, DEFAULT_SAMPLE);
	err = run_repeat(b, b->prog_fd, allow, &r);
	if (err)
		return err;
	print_result(p->n_entries, "uncached", &r, XDP_PASS);
	err = run_repeat(b, b->prog_fd, deny, &r);
	if (err)
		return err;
	print_result(p->n_entries, "deny", &r, XDP_DROP);
	return 0;
}

static int measure_distinct_cases(struct bench *b, const struct bench_policy *p)
{
	uint64_t seed = 0x2545f4914f6cdd1dULL ^ p->n_entries;
	struct result r;
	int stats_fd, err;

	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (stats_fd < 0) {
		fprintf(stderr, "enable BPF run-time statistics: %s\n", strerror(-stats_fd));
		return stats_fd;
	}
	/* first sight of each pair: the data plane allocates counter slots for both directions */
	dp_configure(b->dp, DEFAULT_CFG_FLAGS | BM_CFG_F_FLOW_CACHE, DEFAULT_SAMPLE);
	err = run_distinct(b, b->prog_fd, p, seed, &r);
	if (err)
		goto out;
	print_result(p->n_entries, "newpair", &r, XDP_PASS);
	err = run_distinct(b, b->prog_fd, p, seed, &r);
	if (err)
		goto out;
	print_result(p->n_entries, "first", &r, XDP_PASS);
	dp_configure(b->dp, DEFAULT_CFG_FLAGS, DEFAULT_SAMPLE);
	err = run_distinct(b, b->prog_fd, p, seed, &r);
	if (err)
		goto out;
	print_result(p->n_entries, "distinct", &r, XDP_PASS);
	err = run_distinct(b, b->pass_fd, p, seed, &r);
	if (err)
		goto out;
	print_result(p->n_entries, "pass1", &r, XDP_PASS);
out:
	close(stats_fd);
	return err;
}

/* Fill one reference map, in one batch where the kernel allows it. */
static int ref_fill(int fd, const void *keys, const void *values, size_t key_size,
		    size_t value_size, uint32_t n)
{
	uint32_t count = n, i;
	int err;

	err = bpf_map_update_batch(fd, keys, values, &count, NULL);
	for (i = err ? 0 : n; i < n; i++) {
		err = bpf_map_update_elem(fd, (const char *)keys + i * key_size,
					  (const char *)values + i * value_size, BPF_ANY);
		if (err)
			return err;
	}
	return 0;
}

/* The synthetic policy as the reference program sees it. */
static int ref_load(struct bench *b, const struct bench_policy *p)
{
	uint32_t n_ids = p->n_hosts + BENCH_NR_CIDRS, n_ports = p->n_hosts * 3, i, src, dst;
	struct ref_port_key {
		uint32_t id;
		uint16_t port, pad;
	} * ports;
	struct ref_lpm_key {
		uint32_t prefixlen, addr;
	} * ids;
	uint32_t *pairs, *vals, n_max;
	int err = -ENOMEM;

	b->ref = reference__open_and_load();
	if (!b->ref)
		return -errno;
	n_max = n_ids > p->n_pairs ? n_ids : p->n_pairs;
	n_max = n_max > n_ports ? n_max : n_ports;
	ids = calloc(n_ids, sizeof(*ids));
	pairs = calloc(p->n_pairs, 2 * sizeof(*pairs));
	ports = calloc(n_ports, sizeof(*ports));
	vals = calloc(n_max, sizeof(*vals));
	if (!ids || !pairs || !ports || !vals)
		goto out;
	for (i = 0; i < p->n_hosts; i++) {
		ids[i] = (struct ref_lpm_key){32, htonl(bench_host_addr(i))};
		ports[3 * i] = (struct ref_port_key){.id = i, .port = 22};
		ports[3 * i + 1] = (struct ref_port_key){.id = i, .port = 80};
		ports[3 * i + 2] = (struct ref_port_key){.id = i, .port = 443};
	}
	for (i = 0; i < BENCH_NR_CIDRS; i++)
		ids[p->n_hosts + i] = (struct ref_lpm_key){24, htonl(0xc6138000U + (i << 8))};
	for (i = 0; i < n_max; i++)
		vals[i] = i;
	for (i = 0; i < p->n_pairs; i++) {
		bench_policy_pair(p, i, &src, &dst);
		pairs[2 * i] = src;
		pairs[2 * i + 1] = dst;
	}
	err = ref_fill(bpf_map__fd(b->ref->maps.ref_ids), ids, vals, sizeof(*ids), 4, n_ids);
	if (!err)
		err = ref_fill(bpf_map__fd(b->ref->maps.ref_pairs), pairs, vals, 8, 4, p->n_pairs);
	if (!err)
		err = ref_fill(bpf_map__fd(b->ref->maps.ref_ports), ports, vals, sizeof(*ports), 4,
			       n_ports);
out:
	free(ids);
	free(pairs);
	free(ports);
	free(vals);
	return err;
}

static int measure_reference(struct bench *b, const struct bench_policy *p)
{
	uint8_t allow[BENCH_FRAME_LEN];
	struct result r;
	int err;

	err = ref_load(b, p);
	if (err) {
		fprintf(stderr, "reference program: %s\n", strerror(-err));
		goto out;
	}
	flow_frame(p, 0, BENCH_SPORT, BENCH_PORT_ALLOW, allow);
	err = run_repeat(b, bpf_program__fd(b->ref->progs.bm_bench_ref), allow, &r);
	if (!err)
		print_result(p->n_entries, "ref", &r, XDP_PASS);
out:
	reference__destroy(b->ref);
	b->ref = NULL;
	return err;
}

static int bench_size(struct bench *b, uint32_t n)
{
	struct bench_policy p;
	struct bm_tables t;
	uint64_t t0, t1;
	uint32_t gen;
	int err;

	bench_policy_size(n, &p);
	tables_init(&t);
	err = bench_tables_build(&p, &t);
	if (err)
		goto out;
	t0 = bench_now_ns();
	err = dp_install(b->dp, &t, &gen);
	t1 = bench_now_ns();
	if (err) {
		fprintf(stderr, "install %u entries: %s\n", p.n_entries, strerror(-err));
		goto out;
	}
	printf("%u policy entries, %u hosts: installed generation %u in %.1f ms\n", p.n_entries,
	       p.n_hosts, gen, (double)(t1 - t0) / 1e6);
	printf("@xdpinstall %u %.1f\n", p.n_entries, (double)(t1 - t0) / 1e6);
	err = measure_repeat_cases(b, &p);
	if (!err)
		err = measure_distinct_cases(b, &p);
	if (!err)
		err = measure_reference(b, &p);
out:
	tables_release(&t);
	return err;
}

static int bench_open(struct bench *b)
{
	int err;

	err = dp_open(b->o.pin_dir, false, &b->dp);
	if (err) {
		fprintf(stderr, "open data plane under %s: %s\n", b->o.pin_dir, strerror(-err));
		return err;
	}
	b->pass = xdp_pass__open_and_load();
	if (!b->pass) {
		err = -errno;
		fprintf(stderr, "load bm_xdp_pass: %s\n", strerror(errno));
		return err;
	}
	b->prog_fd = dp_prog_fd(b->dp);
	b->pass_fd = bpf_program__fd(b->pass->progs.bm_xdp_pass);
	b->reasons_fd = dp_map_fd(b->dp, BM_MAP_REASONS);
	return 0;
}

int main(int argc, char **argv)
{
	struct bench b = {.reasons_fd = -1};
	int i, err;

	if (parse_args(argc, argv, &b.o)) {
		usage();
		return 2;
	}
	log_set_level(LOG_LEVEL_WARN);
	log_hook_libbpf();
	if (bench_pin_cpu(1))
		bench_pin_cpu(0);
	err = bench_open(&b);
	if (err)
		goto out;
	printf("bm_xdp_ingress vs bm_xdp_pass, BPF_PROG_TEST_RUN, %u-byte UDP frame\n"
	       "repeat cases: best and median of %u x %u repetitions (test-run clock, loop "
	       "included)\n"
	       "distinct cases: %u flows run once each (BPF run-time stats, program only)\n",
	       BENCH_FRAME_LEN, b.o.rounds, b.o.repeat, b.o.flows);
	for (i = 0; i < b.o.nr_sizes && !err; i++)
		err = bench_size(&b, b.o.sizes[i]);
out:
	xdp_pass__destroy(b.pass);
	dp_close(b.dp);
	return err ? 1 : 0;
}
