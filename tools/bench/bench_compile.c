// SPDX-License-Identifier: GPL-2.0-only
/*
 * Policy compiler benchmark: generate a model with policy_gen, compile it,
 * print the time and the report. Usage:
 *   bench_compile [endpoints [policies [namespaces [seed [rounds]]]]]
 * The model follows policy_gen_scale_defaults(); policies carry about 1.35
 * rules each, so 75000 policies are about 100k rules. With rounds > 1 the
 * model is compiled that many times and the best and median are printed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy_compile.h"
#include "policy_gen.h"

static double clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_s(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

static int parse_arg(int argc, char **argv, int i, unsigned long def, unsigned long *out)
{
	char *end;

	*out = def;
	if (argc <= i)
		return 0;
	errno = 0;
	*out = strtoul(argv[i], &end, 10);
	if (errno || *end || end == argv[i]) {
		fprintf(stderr, "bad number: %s\n", argv[i]);
		return -EINVAL;
	}
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	unsigned long n_ep, n_pol, n_ns, seed, rounds, r;
	double ms[64];
	struct compile_report rep;
	struct policy_gen_params p;
	struct pm_model *m;
	struct bm_tables tb;
	double t0, t1, cpu;
	int err;

	if (parse_arg(argc, argv, 1, 10000, &n_ep) ||
	    parse_arg(argc, argv, 2, n_ep * 3 / 4, &n_pol) ||
	    parse_arg(argc, argv, 3, n_ep / 100 + 1, &n_ns) || parse_arg(argc, argv, 4, 1, &seed) ||
	    parse_arg(argc, argv, 5, 1, &rounds))
		return 2;
	if (!rounds || rounds > 64) {
		fprintf(stderr, "rounds: 1 to 64\n");
		return 2;
	}
	policy_gen_scale_defaults(&p, (uint32_t)n_ep);
	p.n_policies = (uint32_t)n_pol;
	p.n_namespaces = (uint32_t)n_ns;
	t0 = now_s();
	err = policy_gen_model(seed, &p, &m);
	if (err) {
		fprintf(stderr, "generate: %s\n", strerror(-err));
		return 1;
	}
	t1 = now_s();
	tables_init(&tb);
	cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID);
	err = policy_compile(m, &tb, &rep);
	cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - cpu;
	printf("endpoints %lu policies %lu rules %zu namespaces %lu: generate %.3f s, "
	       "compile %.3f s (cpu %.3f s)\n",
	       n_ep, n_pol, m->n_rules - 1, n_ns, t1 - t0, now_s() - t1, cpu);
	if (err) {
		fprintf(stderr, "compile: %s\n", rep.error);
		return 1;
	}
	printf("classes %u regions %u selectors %u ipblocks %u spilled %u any-proto %u",
	       rep.nr_classes, rep.nr_regions, rep.nr_selectors, rep.nr_ip_blocks, rep.nr_spilled,
	       rep.nr_any_proto);
	printf(" warnings %u\n", rep.nr_warnings);
	printf("entries host4 %zu host6 %zu cidr4 %zu cidr6 %zu policy %zu ports %zu ranges %zu\n",
	       rep.entries[TABLES_HOST4], rep.entries[TABLES_HOST6], rep.entries[TABLES_CIDR4],
	       rep.entries[TABLES_CIDR6], rep.entries[TABLES_POLICY], rep.entries[TABLES_PORTS],
	       rep.entries[TABLES_RANGES]);
	for (r = 0; r < rounds - 1 && !err; r++) {
		tables_release(&tb);
		tables_init(&tb);
		t0 = now_s();
		err = policy_compile(m, &tb, &rep);
		ms[r] = (now_s() - t0) * 1e3;
	}
	if (rounds > 1 && !err) {
		qsort(ms, rounds - 1, sizeof(ms[0]), cmp_double);
		printf("compile again x%lu: best %.1f ms, median %.1f ms\n", rounds - 1, ms[0],
		       ms[(rounds - 1) / 2]);
	}
	tables_release(&tb);
	pm_model_free(m);
	return 0;
}
