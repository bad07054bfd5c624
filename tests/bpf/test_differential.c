// SPDX-License-Identifier: GPL-2.0-only
/*
 * Differential test: generated policies (policy_gen.h) compiled and
 * installed, generated tuples turned into frames with random header
 * decorations (VLAN tags, IPv4 options, IPv6 extension headers, TCP
 * options, fragments, ND, truncation), and for every frame the dry-run
 * verdict record of bm_xdp_ingress must equal ref_packet_verdict() on the
 * model: verdict, reason, rule, both identities. tables_eval() is checked
 * along (ref_packet_verdict_tables()) to tell compiler faults from data
 * plane faults. Every frame also meets a random anti-spoofing guard on the
 * test run's ingress interface (loopback): none, one that lists its source,
 * or one that does not (ref_packet_verdict_guarded()), while guards on
 * other interfaces must change nothing. Failures print the seed and frame
 * number.
 * BM_DIFF_SEEDS / BM_DIFF_PACKETS override the sizes (default 25 x 4000).
 * ctest-labels: bpf dataplane
 */
#include <errno.h>
#include <inttypes.h>

#include "bm_test.h"
#include "guard.h"
#include "policy_compile.h"
#include "policy_gen.h"
#include "ref_packet.h"
#include "xdp_fixture.h"

static struct xfx fx;
static unsigned long reason_hist[BM_REASON_MAX];

static int suite_init(void)
{
	return xfx_open(&fx) ? -1 : 0;
}

static int suite_clean(void)
{
	xfx_close(&fx);
	return 0;
}

static uint32_t env_u32(const char *name, uint32_t def)
{
	const char *s = getenv(name);
	unsigned long v;
	char *end;

	if (!s || !*s)
		return def;
	v = strtoul(s, &end, 10);
	return (*end || v == 0 || v > 10000000) ? def : (uint32_t)v;
}

static bool chance(struct policy_gen_rng *rng, uint32_t pct)
{
	return policy_gen_below(rng, 100) < pct;
}

static void l3_v4(struct pb *b, struct policy_gen_rng *rng, const struct pe_tuple *t, int frag_kind)
{
	uint32_t s, d;
	uint16_t frag = 0;
	unsigned int ihl = chance(rng, 20) ? 5 + policy_gen_below(rng, 11) : 5;

	s = (uint32_t)t->saddr[0] << 24 | (uint32_t)t->saddr[1] << 16 | t->saddr[2] << 8 |
	    t->saddr[3];
	d = (uint32_t)t->daddr[0] << 24 | (uint32_t)t->daddr[1] << 16 | t->daddr[2] << 8 |
	    t->daddr[3];
	if (frag_kind == 1)
		frag = 0x2000;
	else if (frag_kind == 2)
		frag = (uint16_t)(1 + policy_gen_below(rng, 0x1ffe)) |
		       (chance(rng, 50) ? 0x2000 : 0);
	pb_ipv4_ex(b, t->proto, s, d, ihl, frag, (uint16_t)policy_gen_next(rng));
}

static void l3_v6(struct pb *b, struct policy_gen_rng *rng, const struct pe_tuple *t, int frag_kind)
{
	static const uint8_t ext[] = {0, 43, 60, 51};
	uint8_t chain[6];
	unsigned int n = chance(rng, 40) ? 1 + policy_gen_below(rng, 3) : 0, i;

	for (i = 0; i < n; i++)
		chain[i] = ext[policy_gen_below(rng, 4)];
	if (frag_kind || chance(rng, 5))
		chain[n++] = 44;
	pb_ipv6(b, n ? chain[0] : t->proto, t->saddr, t->daddr);
	for (i = 0; i < n; i++) {
		uint8_t next = i + 1 < n ? chain[i + 1] : t->proto;

		if (chain[i] == 44)
			pb_ipv6_frag(
				b, next,
				frag_kind == 2 ? (uint16_t)(1 + policy_gen_below(rng, 8000)) : 0,
				frag_kind != 0 && chance(rng, 80), (uint32_t)policy_gen_next(rng));
		else if (chain[i] == 51)
			pb_ipv6_ah(b, next, (uint8_t)(1 + policy_gen_below(rng, 4)));
		else
			pb_ipv6_opts(b, next, (uint8_t)policy_gen_below(rng, 3));
	}
}

static void l4(struct pb *b, struct policy_gen_rng *rng, const struct pe_tuple *t)
{
	bool v6 = t->family == BM_FAMILY_IPV6;
	uint8_t type;

	switch (t->proto) {
	case BM_PROTO_TCP:
		pb_tcp_ex(b, t->sport, t->dport,
			  chance(rng, 20) ? 5 + policy_gen_below(rng, 11) : 5);
		break;
	case BM_PROTO_UDP:
		pb_udp(b, t->sport, t->dport);
		break;
	case BM_PROTO_SCTP:
		pb_sctp(b, t->sport, t->dport);
		break;
	case BM_PROTO_ICMP:
	case BM_PROTO_ICMPV6:
		if (chance(rng, 60))
			type = v6 ? 128 : 8;
		else if (v6 && chance(rng, 30))
			type = (uint8_t)(133 + policy_gen_below(rng, 5));
		else
			type = (uint8_t)policy_gen_below(rng, 256);
		pb_icmp(b, type, 0, (uint16_t)policy_gen_next(rng));
		break;
	default:
		break;
	}
}

/* A frame for t with random decorations; frag_kind 0 none, 1 first, 2 later. */
static void build(struct pb *b, struct policy_gen_rng *rng, const struct pe_tuple *t)
{
	int frag_kind = chance(rng, 8) ? 1 + (int)policy_gen_below(rng, 2) : 0;
	unsigned int tags = chance(rng, 25) ? 1 + policy_gen_below(rng, 2) : 0, i;
	uint16_t ip = t->family == BM_FAMILY_IPV4 ? PB_ETH_IP : PB_ETH_IPV6;

	pb_init(b);
	pb_eth(b, tags ? PB_ETH_8021Q : ip);
	for (i = 0; i < tags; i++)
		pb_vlan(b, i + 1 < tags ? PB_ETH_8021Q : ip);
	if (t->family == BM_FAMILY_IPV4)
		l3_v4(b, rng, t, frag_kind);
	else
		l3_v6(b, rng, t, frag_kind);
	if (frag_kind != 2)
		l4(b, rng, t);
	pb_payload(b, policy_gen_below(rng, 64));
	if (chance(rng, 3)) {
		if (chance(rng, 50))
			pb_cut_frame(b, 14 + policy_gen_below(rng, (uint32_t)b->len - 14));
		else
			pb_cut_datagram(b, 14 + policy_gen_below(rng, (uint32_t)b->len - 14));
	}
}

/* Auth entries: generated pairs, one per key, well clear of now either way. */
static int seed_auth(struct policy_gen_rng *rng, const struct pm_model *m, struct pe_auth *auth,
		     struct bm_auth_key **keys, struct bm_auth_value **values)
{
	int fd = dp_map_fd(fx.live, BM_MAP_AUTH);
	uint64_t now = xfx_boot_ns();
	struct bm_auth_key k, next;
	size_t i, j, n = 0;
	int err;

	while (!bpf_map_get_next_key(fd, NULL, &k))
		bpf_map_delete_elem(fd, &k);
	(void)next;
	err = policy_gen_auth(rng, m, 40, now, keys, values);
	if (err)
		return err;
	for (i = 0; i < 40; i++) {
		for (j = 0; j < n; j++) {
			if (!memcmp(&(*keys)[j], &(*keys)[i], sizeof(k)))
				break;
		}
		if (j < n)
			continue;
		(*keys)[n] = (*keys)[i];
		(*values)[n] = (*values)[i];
		(*values)[n].expires_boot_ns = (*values)[i].expires_boot_ns > now
						       ? now + 3600ull * 1000000000ull
						       : now - 1000000000ull;
		if (bpf_map_update_elem(fd, &(*keys)[n], &(*values)[n], BPF_ANY))
			return -errno;
		n++;
	}
	auth->keys = *keys;
	auth->values = *values;
	auth->n = n;
	auth->now_boot_ns = xfx_boot_ns();
	return 0;
}

/* BPF_PROG_TEST_RUN without a context runs on the namespace's loopback. */
#define DIFF_TEST_IFINDEX 1

static void guard_addr(struct bm_addr *a, uint8_t family, const uint8_t *addr)
{
	memset(a, 0, sizeof(*a));
	a->family = family;
	memcpy(a->addr, addr, family == BM_FAMILY_IPV4 ? 4 : 16);
}

/*
 * Give the test interface a random guard for a frame from tu: none (40 %),
 * one listing tu's source among decoys (30 %), or only decoys (30 %; often
 * none of tu's family). Returns the guard installed, or NULL.
 */
static const struct bm_ifguard *pick_guard(struct policy_gen_rng *rng, const struct pm_model *m,
					   const struct pe_tuple *tu, struct bm_ifguard *g)
{
	uint32_t k = policy_gen_below(rng, 10), nd = policy_gen_below(rng, 4), i;
	struct bm_addr addrs[8];
	struct pe_tuple decoy;
	size_t n = 0;
	int err;

	if (k < 4) {
		err = dp_guard_del(fx.live, DIFF_TEST_IFINDEX);
		CU_ASSERT_TRUE(err == 0 || err == -ENOENT);
		return NULL;
	}
	if (k < 7)
		guard_addr(&addrs[n++], tu->family, tu->saddr);
	for (i = 0; i < nd; i++) {
		policy_gen_tuple(rng, m, &decoy);
		guard_addr(&addrs[n++], decoy.family, chance(rng, 50) ? decoy.saddr : decoy.daddr);
	}
	if (guard_build(addrs, n, g))
		n = 1; /* too many of one family: keep the first only */
	CU_ASSERT_EQUAL_FATAL(dp_guard_set(fx.live, DIFF_TEST_IFINDEX, addrs, n), 0);
	CU_ASSERT_EQUAL_FATAL(guard_build(addrs, n, g), 0);
	return g;
}

/* Guards on interfaces the test runs never enter: they must change nothing. */
static void guard_others(struct policy_gen_rng *rng, const struct pm_model *m)
{
	struct bm_addr a;
	struct pe_tuple tu;
	int ifindex;

	for (ifindex = 2; ifindex <= 5; ifindex++) {
		policy_gen_tuple(rng, m, &tu);
		guard_addr(&a, tu.family, tu.saddr);
		CU_ASSERT_EQUAL(dp_guard_set(fx.live, ifindex, &a, ifindex & 1), 0);
	}
}

static bool same(const struct bm_verdict_record *rec, const struct pe_result *r)
{
	return rec->verdict == r->verdict && rec->reason == r->reason &&
	       rec->rule_id == r->rule_id && rec->src_id == r->src_id && rec->dst_id == r->dst_id;
}

static void report(uint64_t seed, uint32_t i, const struct pb *b,
		   const struct bm_verdict_record *rec, const struct pe_result *mr,
		   const struct pe_result *tr)
{
	size_t k;

	fprintf(stderr,
		"  seed %" PRIu64 " frame %u: bpf %u/%u rule %u ids %u->%u | model %u/%u rule %u "
		"ids %u->%u | tables %u/%u rule %u\n  frame:",
		seed, i, rec->verdict, rec->reason, rec->rule_id, rec->src_id, rec->dst_id,
		mr->verdict, mr->reason, mr->rule_id, mr->src_id, mr->dst_id, tr->verdict,
		tr->reason, tr->rule_id);
	for (k = 0; k < b->len; k++)
		fprintf(stderr, " %02x", b->d[k]);
	fprintf(stderr, "\n");
}

/* One model: compile, install, judge n frames. Returns mismatches against the model. */
static unsigned int run_seed(uint64_t seed, uint32_t n, unsigned long *runs)
{
	struct bm_auth_value *values = NULL;
	struct bm_auth_key *keys = NULL;
	struct policy_gen_params p;
	struct bm_verdict_record rec;
	const struct bm_ifguard *guard;
	struct pe_result mr, tr;
	struct policy_gen_rng rng;
	struct pm_model *m = NULL;
	struct bm_ifguard g;
	struct pe_auth auth;
	unsigned int bad = 0;
	struct bm_tables t;
	struct pe_tuple tu;
	uint32_t gen, i;
	struct pb b;

	tables_init(&t);
	policy_gen_defaults(&p);
	policy_gen_seed(&rng, seed);
	CU_ASSERT_EQUAL_FATAL(policy_gen_model(seed, &p, &m), 0);
	if (policy_compile(m, &t, NULL)) {
		pm_model_free(m);
		return 0; /* e.g. -E2BIG: not this test's subject */
	}
	CU_ASSERT_EQUAL_FATAL(dp_install(fx.live, &t, &gen), 0);
	fx.generation = gen;
	CU_ASSERT_EQUAL_FATAL(seed_auth(&rng, m, &auth, &keys, &values), 0);
	guard_others(&rng, m);
	for (i = 0; i < n; i++) {
		policy_gen_tuple(&rng, m, &tu);
		build(&b, &rng, &tu);
		guard = pick_guard(&rng, m, &tu, &g);
		if (dp_test_run(fx.dry, b.d, b.len, &rec)) {
			bad++;
			continue;
		}
		(*runs)++;
		reason_hist[rec.reason % BM_REASON_MAX]++;
		CU_ASSERT_EQUAL(ref_packet_verdict_guarded(m, guard, b.d, b.len, &auth, NULL, &mr),
				0);
		CU_ASSERT_EQUAL(
			ref_packet_verdict_tables_guarded(&t, guard, b.d, b.len, &auth, NULL, &tr),
			0);
		if (!same(&rec, &mr) || !same(&rec, &tr)) {
			if (bad < 5)
				report(seed, i, &b, &rec, &mr, &tr);
			bad += !same(&rec, &mr);
		}
	}
	dp_guard_del(fx.live, DIFF_TEST_IFINDEX);
	free(keys);
	free(values);
	tables_release(&t);
	pm_model_free(m);
	return bad;
}

static void test_differential_bpf_vs_reference(void)
{
	uint32_t seeds = env_u32("BM_DIFF_SEEDS", 25), per = env_u32("BM_DIFF_PACKETS", 4000);
	unsigned long runs = 0;
	unsigned int bad = 0;
	uint64_t s;

	for (s = 1; s <= seeds; s++)
		bad += run_seed(s, per, &runs);
	fprintf(stderr, "  %lu frames judged, %u mismatches; by reason:", runs, bad);
	for (s = 0; s < BM_REASON_MAX; s++) {
		if (reason_hist[s])
			fprintf(stderr, " %u:%lu", (unsigned int)s, reason_hist[s]);
	}
	fprintf(stderr, "\n");
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_TRUE(runs >= (unsigned long)seeds * per * 9 / 10);
	CU_ASSERT_TRUE(reason_hist[BM_REASON_DENY_SPOOFED] > runs / 20);
}

/*
 * Fragment sequences through the live instance (flow cache off, so that it
 * keeps no state but bm_frags): a first fragment, then a later one of the
 * same datagram or of an unseen one; the XDP action must follow
 * ref_packet_verdict() with a ref_frag_state.
 */
static unsigned int run_frag_seed(uint64_t seed, uint32_t n, unsigned long *runs)
{
	struct bm_auth_value *values = NULL;
	struct bm_auth_key *keys = NULL;
	struct bm_verdict_record rec;
	struct policy_gen_params p;
	struct ref_frag_state frags;
	struct policy_gen_rng rng;
	struct pm_model *m = NULL;
	struct pe_result mr;
	struct pe_auth auth;
	unsigned int bad = 0;
	struct bm_tables t;
	struct pe_tuple tu;
	struct pb b;
	uint32_t gen, i;
	int k;

	tables_init(&t);
	ref_frag_state_init(&frags);
	policy_gen_defaults(&p);
	policy_gen_seed(&rng, seed);
	CU_ASSERT_EQUAL_FATAL(policy_gen_model(seed, &p, &m), 0);
	if (policy_compile(m, &t, NULL)) {
		pm_model_free(m);
		return 0;
	}
	CU_ASSERT_EQUAL_FATAL(dp_install(fx.live, &t, &gen), 0);
	CU_ASSERT_EQUAL_FATAL(seed_auth(&rng, m, &auth, &keys, &values), 0);
	for (i = 0; i < n; i++) {
		uint16_t id = (uint16_t)policy_gen_next(&rng);

		do
			policy_gen_tuple(&rng, m, &tu);
		while (tu.family != BM_FAMILY_IPV4);
		for (k = 0; k < 2; k++) {
			uint32_t s = (uint32_t)tu.saddr[0] << 24 | (uint32_t)tu.saddr[1] << 16 |
				     tu.saddr[2] << 8 | tu.saddr[3];
			uint32_t d = (uint32_t)tu.daddr[0] << 24 | (uint32_t)tu.daddr[1] << 16 |
				     tu.daddr[2] << 8 | tu.daddr[3];

			if (k == 0 && chance(&rng, 20))
				continue; /* sometimes the first fragment never comes */
			pb_init(&b);
			pb_eth(&b, PB_ETH_IP);
			pb_ipv4_ex(&b, tu.proto, s, d, 5, k ? 0x0010 : 0x2000, id);
			if (k == 0)
				l4(&b, &rng, &tu);
			pb_payload(&b, 24);
			if (dp_test_run(fx.live, b.d, b.len, &rec)) {
				bad++;
				continue;
			}
			(*runs)++;
			CU_ASSERT_EQUAL(ref_packet_verdict(m, b.d, b.len, &auth, &frags, &mr), 0);
			if ((rec.xdp_action == XDP_DROP) != (mr.verdict == BM_VERDICT_DENY)) {
				if (bad < 5)
					fprintf(stderr,
						"  seed %" PRIu64
						" frag %u/%d: action %u, ref %u/%u\n",
						seed, i, k, rec.xdp_action, mr.verdict, mr.reason);
				bad++;
			}
		}
	}
	free(keys);
	free(values);
	ref_frag_state_release(&frags);
	tables_release(&t);
	pm_model_free(m);
	return bad;
}

static void test_differential_fragments(void)
{
	uint32_t seeds = env_u32("BM_DIFF_SEEDS", 25);
	unsigned long runs = 0;
	unsigned int bad = 0;
	uint64_t s;

	CU_ASSERT_EQUAL_FATAL(dp_configure(fx.live, 0, 0), 0);
	for (s = 1; s <= seeds; s++)
		bad += run_frag_seed(1000 + s, 500, &runs);
	fprintf(stderr, "  %lu fragments judged, %u mismatches\n", runs, bad);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_TRUE(runs > 0);
}

static const struct bm_test_case cases[] = {
	{"test_differential_bpf_vs_reference", test_differential_bpf_vs_reference},
	{"test_differential_fragments", test_differential_fragments},
	{NULL, NULL},
};

int bm_test_register(void)
{
	bm_test_require_root();
	return bm_test_add_suite("differential", suite_init, suite_clean, cases);
}
