// SPDX-License-Identifier: GPL-2.0-only
/*
 * Cost of bm_xdp_ingress per packet under BPF_PROG_TEST_RUN (repeat), with
 * 100k policy entries and 100k ipcache hosts installed: the cached allow
 * path (flow cache hit, counters, sampled events), the same without events,
 * and a full policy evaluation (flow cache off). Prints the numbers; fails
 * only on a gross regression (BM_PERF_MAX_NS, default 120 ns for the cached
 * path: twice the 60 ns target, to stay quiet on a loaded machine).
 * ctest-labels: bpf dataplane
 */
#include <errno.h>

#include "bm_test.h"
#include "xdp_fixture.h"

#define NR_ENTRIES 100000
#define REPEAT 1000000

static struct xfx fx;

static int suite_init(void)
{
	return xfx_open(&fx) ? -1 : 0;
}

static int suite_clean(void)
{
	xfx_close(&fx);
	return 0;
}

/* Host i is 10.0.0.0 + i, class 2 + i; each may reach the next on TCP 80. */
static int big_tables(struct bm_tables *t)
{
	struct bm_policy_value pv;
	struct bm_policy_key pk;
	uint32_t i, next;

	tables_init(t);
	memset(&pv, 0, sizeof(pv));
	pv.nr_ranges = 1;
	for (i = 0; i < NR_ENTRIES; i++) {
		next = (i + 1) % NR_ENTRIES;
		xfx_host4(t, 0x0a000000 + i, 1000 + i, 2 + i,
			  BM_IPC_F_LOCAL | BM_IPC_F_INGRESS_ISOLATED | BM_IPC_F_EGRESS_ISOLATED);
		memset(&pk, 0, sizeof(pk));
		pk.subject_class = 2 + next;
		pk.peer_class = 2 + i;
		pk.direction = BM_DIR_INGRESS;
		pk.proto = BM_PROTO_TCP;
		pv.ranges[0] =
			(struct bm_port_range){.rule_id = i + 1, .port_lo = 80, .port_hi = 80};
		if (tables_append(t, TABLES_POLICY, &pk, &pv))
			return -ENOMEM;
		pk.subject_class = 2 + i;
		pk.peer_class = 2 + next;
		pk.direction = BM_DIR_EGRESS;
		pv.ranges[0].port_lo = 0;
		pv.ranges[0].port_hi = 65535;
		if (tables_append(t, TABLES_POLICY, &pk, &pv))
			return -ENOMEM;
	}
	t->nr_classes = NR_ENTRIES + 2;
	return 0;
}

static uint32_t ns_per_packet(const struct pb *b)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = b->d, .data_size_in = (__u32)b->len,
		    .repeat = REPEAT);
	uint32_t best = UINT32_MAX;
	int i;

	for (i = 0; i < 3; i++) {
		if (bpf_prog_test_run_opts(dp_prog_fd(fx.live), &opts))
			return UINT32_MAX;
		if (opts.duration < best)
			best = opts.duration;
	}
	return best;
}

static void test_xdp_perf_paths(void)
{
	uint32_t gen, max_ns = 120, cached, quiet, full;
	struct bm_verdict_record rec;
	const char *env = getenv("BM_PERF_MAX_NS");
	struct bm_tables t;
	struct pb b;

	if (env && *env)
		max_ns = (uint32_t)strtoul(env, NULL, 10);
	CU_ASSERT_EQUAL_FATAL(big_tables(&t), 0);
	CU_ASSERT_EQUAL_FATAL(dp_install(fx.live, &t, &gen), 0);
	tables_release(&t);
	pb_init(&b);
	pb_eth(&b, PB_ETH_IP);
	pb_ipv4(&b, 6, 0x0a000000 + 4242, 0x0a000000 + 4243);
	pb_tcp(&b, 5555, 80);
	pb_payload(&b, 20);
	CU_ASSERT_EQUAL(dp_configure(fx.live, BM_CFG_F_FLOW_CACHE | BM_CFG_F_EVENTS, 64), 0);
	CU_ASSERT_EQUAL(dp_test_run(fx.live, b.d, b.len, &rec), 0);
	CU_ASSERT_EQUAL(rec.xdp_action, XDP_PASS);
	cached = ns_per_packet(&b);
	CU_ASSERT_EQUAL(dp_configure(fx.live, BM_CFG_F_FLOW_CACHE, 0), 0);
	quiet = ns_per_packet(&b);
	CU_ASSERT_EQUAL(dp_configure(fx.live, 0, 0), 0);
	full = ns_per_packet(&b);
	fprintf(stderr,
		"  ns/packet, %d entries: cached allow %u, cached without events %u, "
		"full evaluation %u\n",
		NR_ENTRIES, cached, quiet, full);
	CU_ASSERT_TRUE(cached <= max_ns);
}

static const struct bm_test_case cases[] = {
	{"test_xdp_perf_paths", test_xdp_perf_paths},
	{NULL, NULL},
};

int bm_test_register(void)
{
	bm_test_require_root();
	return bm_test_add_suite("xdp_perf", suite_init, suite_clean, cases);
}
