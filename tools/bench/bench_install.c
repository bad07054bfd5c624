// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_install: time to compile and load a policy generation with batch
 * map updates and the atomic generational swap (dp_install()).
 *
 *  synthetic   the hand-built tables of benchlib.h with --entries policy
 *              entries: building them in memory, then dp_install();
 *  compiled    random models from policy_gen_model(), --models
 *              SPEC[,SPEC...]: "E" is a realistic cluster of E endpoints
 *              (policy_gen_scale_defaults(): about one rule per endpoint),
 *              "E:P" a small dense model (policy_gen_defaults(), E
 *              endpoints, P policies, many overlapping selectors); each
 *              policy_compile(), then dp_install() of its output. Models
 *              of 20000 endpoints or more run at most 3 rounds.
 *  swap        one userland update of an outer map slot, the fixed cost
 *              dp_install() pays once per outer map;
 * Each is run --rounds times; the best and the median are printed. The
 * process runs on CPU 1 alone, or with --cpus 2 on CPUs 0 and 1 (the
 * compiler then uses a second thread for large models, and the install's
 * per-table threads spread too). Lines
 * "@install <what> <entries> <phase> <best_ms> <median_ms>" are for run.sh.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "benchlib.h"
#include "dataplane.h"
#include "log.h"
#include "policy_compile.h"
#include "policy_gen.h"

#define MAX_ROUNDS 21
#define MAX_MODELS 8

struct model_size {
	uint32_t endpoints;
	uint32_t policies; /* 0: policy_gen_scale_defaults() for endpoints */
};

struct opts {
	const char *pin_dir;
	struct model_size models[MAX_MODELS];
	int nr_models;
	uint32_t entries;
	uint32_t rounds;
	uint32_t max_rules;
	uint32_t cpus;
	uint64_t seed;
};

static void usage(void)
{
	fprintf(stderr,
		"usage: bench_install --pin-dir DIR [--entries N] [--rounds N]\n"
		"                     [--models E|E:P[,...]] [--max-rules N] [--cpus 1|2]\n");
}

static int parse_models(char *s, struct opts *o)
{
	char *tok, *save = NULL, *colon;

	o->nr_models = 0;
	for (tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		colon = strchr(tok, ':');
		if (o->nr_models == MAX_MODELS)
			return -EINVAL;
		o->models[o->nr_models].policies = 0;
		if (colon) {
			*colon = '\0';
			if (bench_parse_u32(colon + 1, 1, 200000,
					    &o->models[o->nr_models].policies))
				return -EINVAL;
		}
		if (bench_parse_u32(tok, 1, 200000, &o->models[o->nr_models].endpoints))
			return -EINVAL;
		o->nr_models++;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	int i, err = 0;

	*o = (struct opts){
		.entries = 100000,
		.rounds = 5,
		.max_rules = 4,
		.cpus = 1,
		.seed = 1,
		.models = {{300, 100}},
		.nr_models = 1,
	};
	for (i = 1; i < argc && !err; i++) {
		if (i + 1 >= argc)
			return -EINVAL;
		if (!strcmp(argv[i], "--pin-dir"))
			o->pin_dir = argv[++i];
		else if (!strcmp(argv[i], "--entries"))
			err = bench_parse_u32(argv[++i], 1, 4000000, &o->entries);
		else if (!strcmp(argv[i], "--rounds"))
			err = bench_parse_u32(argv[++i], 1, MAX_ROUNDS, &o->rounds);
		else if (!strcmp(argv[i], "--models"))
			err = parse_models(argv[++i], o);
		else if (!strcmp(argv[i], "--max-rules"))
			err = bench_parse_u32(argv[++i], 1, 64, &o->max_rules);
		else if (!strcmp(argv[i], "--cpus"))
			err = bench_parse_u32(argv[++i], 1, 2, &o->cpus);
		else
			return -EINVAL;
	}
	return err || !o->pin_dir ? -EINVAL : 0;
}

static double ms_since(uint64_t t0)
{
	return (double)(bench_now_ns() - t0) / 1e6;
}

static void report(const char *what, size_t entries, const char *phase, double *ms, uint32_t n)
{
	double med = bench_median(ms, n);

	printf("  %-10s %8zu entries  %-8s %8.1f ms best, %8.1f ms median\n", what, entries, phase,
	       ms[0], med);
	printf("@install %s %zu %s %.1f %.1f\n", what, entries, phase, ms[0], med);
}

static size_t total_entries(const struct bm_tables *t)
{
	size_t n = 0;
	int k;

	for (k = 0; k < TABLES_NR; k++)
		n += t->maps[k].n;
	return n;
}

static int bench_synthetic(struct dataplane *dp, const struct opts *o)
{
	double build_ms[MAX_ROUNDS], load_ms[MAX_ROUNDS];
	struct bench_policy p;
	struct bm_tables t;
	uint64_t t0;
	uint32_t r, gen;
	int err = 0;

	bench_policy_size(o->entries, &p);
	for (r = 0; r < o->rounds && !err; r++) {
		tables_init(&t);
		t0 = bench_now_ns();
		err = bench_tables_build(&p, &t);
		build_ms[r] = ms_since(t0);
		t0 = bench_now_ns();
		if (!err)
			err = dp_install(dp, &t, &gen);
		load_ms[r] = ms_since(t0);
		tables_release(&t);
	}
	if (err) {
		fprintf(stderr, "synthetic install: %s\n", strerror(-err));
		return err;
	}
	printf("synthetic policy: %u policy entries, %u hosts, %u cidrs\n", p.n_entries, p.n_hosts,
	       BENCH_NR_CIDRS);
	report("synthetic", p.n_entries, "build", build_ms, o->rounds);
	report("synthetic", p.n_entries, "install", load_ms, o->rounds);
	return 0;
}

/*
 * The fixed part of a swap: one update of an outer (map-in-map) slot from
 * userland, which the kernel completes only after an RCU grace period so
 * that no program still uses the inner map it replaced. dp_install() does
 * one per outer map. Writes the inactive slot only (programs read the other).
 */
static int bench_outer_update(struct dataplane *dp, const struct opts *o)
{
	double ms[MAX_ROUNDS];
	int outer, inner, err = 0;
	uint32_t r, slot;
	uint64_t t0;

	outer = dp_map_fd(dp, BM_MAP_PORTS);
	inner = bpf_map_create(BPF_MAP_TYPE_HASH, "bm_bench_probe", sizeof(struct bm_port_key),
			       sizeof(struct bm_port_value), 1, NULL);
	if (outer < 0 || inner < 0)
		return outer < 0 ? outer : -errno;
	slot = (dp_generation(dp) + 1) & 1;
	for (r = 0; r < o->rounds && !err; r++) {
		t0 = bench_now_ns();
		if (bpf_map_update_elem(outer, &slot, &inner, BPF_ANY))
			err = -errno;
		ms[r] = ms_since(t0);
	}
	close(inner);
	if (err) {
		fprintf(stderr, "outer map update: %s\n", strerror(-err));
		return err;
	}
	report("swap", 1, "outer-upd", ms, o->rounds);
	return 0;
}

static int generate(const struct opts *o, const struct model_size *ms, struct pm_model **m)
{
	struct policy_gen_params gp;
	int err;

	if (ms->policies) {
		policy_gen_defaults(&gp);
		gp.n_namespaces = 20;
		gp.n_endpoints = ms->endpoints;
		gp.n_policies = ms->policies;
		gp.max_rules = o->max_rules;
		gp.n_label_values = 40;
	} else {
		policy_gen_scale_defaults(&gp, ms->endpoints);
	}
	err = policy_gen_model(o->seed, &gp, m);
	if (err)
		fprintf(stderr, "generate model: %s\n", strerror(-err));
	return err;
}

static void report_model(const struct pm_model *m, const struct compile_report *rep,
			 const struct bm_tables *t, double *compile_ms, double *load_ms,
			 uint32_t rounds)
{
	size_t rules = m->n_rules - 1; /* rules[0] is unused */

	printf("compiled model: %zu endpoints, %zu policies, %zu rules -> %u classes, "
	       "%zu policy entries, %zu map entries in all\n",
	       m->n_endpoints, m->n_policies, rules, rep->nr_classes, t->maps[TABLES_POLICY].n,
	       total_entries(t));
	printf("@model %zu %zu %zu %u %zu %zu\n", m->n_endpoints, m->n_policies, rules,
	       rep->nr_classes, t->maps[TABLES_POLICY].n, total_entries(t));
	report("compiled", rules, "compile", compile_ms, rounds);
	report("compiled", rules, "install", load_ms, rounds);
}

static int bench_compiled(struct dataplane *dp, const struct opts *o, const struct model_size *ms)
{
	double compile_ms[MAX_ROUNDS], load_ms[MAX_ROUNDS];
	struct compile_report rep = {};
	struct pm_model *m = NULL;
	struct bm_tables t;
	uint64_t t0;
	uint32_t r, gen, rounds;
	int err;

	err = generate(o, ms, &m);
	rounds = ms->endpoints >= 20000 && o->rounds > 3 ? 3 : o->rounds;
	for (r = 0; r < rounds && !err; r++) {
		tables_init(&t);
		t0 = bench_now_ns();
		err = policy_compile(m, &t, &rep);
		compile_ms[r] = ms_since(t0);
		if (err) {
			fprintf(stderr, "compile: %s (%s)\n", strerror(-err), rep.error);
			tables_release(&t);
			break;
		}
		t0 = bench_now_ns();
		err = dp_install(dp, &t, &gen);
		load_ms[r] = ms_since(t0);
		if (r + 1 == rounds && !err)
			report_model(m, &rep, &t, compile_ms, load_ms, rounds);
		tables_release(&t);
	}
	pm_model_free(m);
	return err;
}

int main(int argc, char **argv)
{
	struct dataplane *dp = NULL;
	struct opts o;
	int i, err;

	if (parse_args(argc, argv, &o)) {
		usage();
		return 2;
	}
	log_set_level(LOG_LEVEL_WARN);
	log_hook_libbpf();
	if (o.cpus == 1)
		bench_pin_cpu(1);
	else if (bench_pin_cpu_range(0, o.cpus))
		fprintf(stderr, "cannot run on CPUs 0-%u, running where the system puts us\n",
			o.cpus - 1);
	err = dp_open(o.pin_dir, false, &dp);
	if (err) {
		fprintf(stderr, "open data plane under %s: %s\n", o.pin_dir, strerror(-err));
		return 1;
	}
	err = bench_synthetic(dp, &o);
	if (!err)
		err = bench_outer_update(dp, &o);
	for (i = 0; i < o.nr_models && !err; i++)
		err = bench_compiled(dp, &o, &o.models[i]);
	dp_close(dp);
	return err ? 1 : 0;
}
