// SPDX-License-Identifier: GPL-2.0-only
/* bpfmesh status: generation, attachments, map fill and verdict counters. */
#include <errno.h>
#include <stddef.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <jansson.h>

#include <abi/abi.h>

#include "bpffs.h"
#include "cli.h"
#include "dataplane.h"
#include "id_names.h"
#include "names.h"
#include "pinned.h"
#include "rootless_probe.h"
#include "tables.h"

static json_t *attachments(void)
{
	struct if_nameindex *ifs = if_nameindex(), *i;
	json_t *arr = json_array();
	enum dp_mode mode;

	for (i = ifs; i && i->if_index; i++) {
		if (!dp_is_attached((int)i->if_index, &mode))
			continue;
		json_array_append_new(arr,
				      json_pack("{s:s, s:s}", "interface", i->if_name, "mode",
						mode == DP_MODE_NATIVE ? "native" : "generic"));
	}
	if (ifs)
		if_freenameindex(ifs);
	return arr;
}

static json_t *map_fill(const char *pin_dir, uint32_t slot)
{
	json_t *obj = json_object();
	int k, fd;
	long n;

	for (k = 0; k < TABLES_NR; k++) {
		fd = pinned_map_fd(pin_dir, tables_map_name((enum tables_kind)k));
		if (fd < 0)
			continue;
		n = pinned_inner_entries(fd, slot);
		close(fd);
		json_object_set_new(obj, tables_map_name((enum tables_kind)k), json_integer(n));
	}
	return obj;
}

static json_t *reason_counters(const char *pin_dir)
{
	json_t *obj = json_object();
	uint64_t sum[2];
	uint32_t r;
	int fd;

	fd = pinned_map_fd(pin_dir, BM_MAP_REASONS);
	if (fd < 0)
		return obj;
	for (r = 0; r < BM_REASON_MAX; r++) {
		if (pinned_percpu_sum(fd, r, sum, 2) || !sum[0])
			continue;
		json_object_set_new(obj, names_reason(r),
				    json_pack("{s:I, s:I}", "packets", (json_int_t)sum[0], "bytes",
					      (json_int_t)sum[1]));
	}
	close(fd);
	return obj;
}

struct pair_row {
	struct bm_pair_key key;
	uint64_t packets[BM_VERDICT_MAX];
	uint64_t total;
};

static int cmp_pair_rows(const void *a, const void *b)
{
	const struct pair_row *x = a, *y = b;

	return x->total < y->total ? 1 : x->total > y->total ? -1 : 0;
}

/* Up to PAIR_TOP identity pairs with the most packets, with per-verdict counts. */
#define PAIR_TOP 20

static size_t read_pairs(int slots_fd, int stats_fd, struct pair_row *rows, size_t cap)
{
	struct bm_pair_key key, next;
	uint64_t sum[2 * BM_VERDICT_MAX];
	void *prev = NULL;
	size_t n = 0;
	__u32 slot;
	int v;

	while (n < cap && !bpf_map_get_next_key(slots_fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(slots_fd, &key, &slot) ||
		    pinned_percpu_sum(stats_fd, slot, sum, 2 * BM_VERDICT_MAX))
			continue;
		rows[n].key = key;
		rows[n].total = 0;
		for (v = 0; v < BM_VERDICT_MAX; v++) {
			rows[n].packets[v] = sum[v];
			rows[n].total += sum[v];
		}
		n++;
	}
	if (n > 1)
		qsort(rows, n, sizeof(*rows), cmp_pair_rows);
	return n;
}

static json_t *pair_counters(const char *pin_dir, const struct id_names *names)
{
	int slots_fd = pinned_map_fd(pin_dir, BM_MAP_PAIR_SLOTS);
	int stats_fd = pinned_map_fd(pin_dir, BM_MAP_PAIR_STATS);
	json_t *arr = json_array();
	struct pair_row *rows;
	size_t i, n = 0;

	rows = calloc(BM_PAIR_SLOTS, sizeof(*rows));
	if (rows && slots_fd >= 0 && stats_fd >= 0)
		n = read_pairs(slots_fd, stats_fd, rows, BM_PAIR_SLOTS);
	for (i = 0; i < n && i < PAIR_TOP; i++)
		json_array_append_new(
			arr, json_pack("{s:s, s:s, s:I, s:I, s:I}", "src",
				       id_names_get(names, rows[i].key.src_id), "dst",
				       id_names_get(names, rows[i].key.dst_id), "allow",
				       (json_int_t)rows[i].packets[BM_VERDICT_ALLOW], "allow_auth",
				       (json_int_t)rows[i].packets[BM_VERDICT_ALLOW_AUTH], "deny",
				       (json_int_t)rows[i].packets[BM_VERDICT_DENY]));
	free(rows);
	if (slots_fd >= 0)
		close(slots_fd);
	if (stats_fd >= 0)
		close(stats_fd);
	return arr;
}

/* Event settings, and the deny events the per-CPU rate held back. */
static json_t *event_status(const char *pin_dir, const struct bm_config *cfg)
{
	uint64_t sum[sizeof(struct bm_event_budget) / sizeof(uint64_t)] = {0};
	int fd = pinned_map_fd(pin_dir, BM_MAP_EVENT_BUDGET);

	if (fd >= 0) {
		if (pinned_percpu_sum(fd, 0, sum, sizeof(sum) / sizeof(sum[0])))
			memset(sum, 0, sizeof(sum));
		close(fd);
	}
	return json_pack("{s:b, s:I, s:I, s:I}", "enabled", !!(cfg->flags & BM_CFG_F_EVENTS),
			 "allow_sample", (json_int_t)cfg->allow_sample, "deny_rate_per_cpu",
			 (json_int_t)cfg->deny_event_rate, "deny_suppressed",
			 (json_int_t)sum[offsetof(struct bm_event_budget, suppressed) /
					 sizeof(uint64_t)]);
}

/* rootless_describe() says "mode: M (REASON)"; keep "M (REASON)". */
static const char *mode_text(const char *line)
{
	return strncmp(line, "mode: ", 6) ? line : line + 6;
}

static int read_config(const char *pin_dir, struct bm_config *cfg)
{
	__u32 zero = 0;
	int fd, err = 0;

	fd = pinned_map_fd(pin_dir, BM_MAP_CONFIG);
	if (fd < 0)
		return fd;
	if (bpf_map_lookup_elem(fd, &zero, cfg))
		err = -errno;
	close(fd);
	return err;
}

static void print_text(json_t *st)
{
	const char *key;
	json_t *v, *a;
	size_t i;

	printf("mode:           %s\n", json_string_value(json_object_get(st, "mode")));
	printf("pin directory:  %s\n", json_string_value(json_object_get(st, "pin_dir")));
	printf("generation:     %lld%s\n",
	       (long long)json_integer_value(json_object_get(st, "generation")),
	       json_integer_value(json_object_get(st, "generation")) ? "" : " (no policy loaded)");
	printf("attached:      ");
	json_array_foreach (json_object_get(st, "attached"), i, a)
		printf(" %s(%s)", json_string_value(json_object_get(a, "interface")),
		       json_string_value(json_object_get(a, "mode")));
	printf("%s\nmap fill:\n", json_array_size(json_object_get(st, "attached")) ? "" : " none");
	json_object_foreach (json_object_get(st, "maps"), key, v)
		printf("  %-14s %lld\n", key, (long long)json_integer_value(v));
	printf("busiest identity pairs (packets allow / allow-auth / deny):\n");
	json_array_foreach (json_object_get(st, "pairs"), i, a)
		printf("  %s -> %s  %lld / %lld / %lld\n",
		       json_string_value(json_object_get(a, "src")),
		       json_string_value(json_object_get(a, "dst")),
		       (long long)json_integer_value(json_object_get(a, "allow")),
		       (long long)json_integer_value(json_object_get(a, "allow_auth")),
		       (long long)json_integer_value(json_object_get(a, "deny")));
	v = json_object_get(st, "events");
	printf("events:         %s, 1 in %lld allows, deny rate %lld/s per CPU%s, "
	       "%lld deny events suppressed\n",
	       json_is_true(json_object_get(v, "enabled")) ? "on" : "off",
	       (long long)json_integer_value(json_object_get(v, "allow_sample")),
	       (long long)json_integer_value(json_object_get(v, "deny_rate_per_cpu")),
	       json_integer_value(json_object_get(v, "deny_rate_per_cpu")) ? "" : " (no limit)",
	       (long long)json_integer_value(json_object_get(v, "deny_suppressed")));
	printf("verdicts by reason:\n");
	json_object_foreach (json_object_get(st, "reasons"), key, v)
		printf("  %-22s %llu packets\n", key,
		       (unsigned long long)json_integer_value(json_object_get(v, "packets")));
}

/* See cli.h. */
int cmd_status(const struct cli_globals *g, int argc, char **argv)
{
	bool is_json = argc > 1 && !strcmp(argv[1], "--json");
	struct id_names *names;
	struct bm_config cfg;
	json_t *st;

	char mode[512];
	bool is_rootless;

	(void)argv;
	is_rootless = rootless_describe(g->state_dir, mode, sizeof(mode));
	if (read_config(g->pin_dir, &cfg) || bpffs_prepare(g->pin_dir)) {
		/* Without pinned maps the node may still run the rootless path. */
		printf("%s\n", mode);
		return is_rootless ? CLI_EXIT_OK : CLI_EXIT_ERROR;
	}
	names = id_names_load(g->state_dir);
	st = json_pack("{s:s, s:s, s:I, s:I, s:o, s:o, s:o, s:o, s:o}", "mode", mode_text(mode),
		       "pin_dir", g->pin_dir, "generation", (json_int_t)cfg.generation,
		       "abi_version", (json_int_t)cfg.abi_version, "attached", attachments(),
		       "maps", map_fill(g->pin_dir, BM_GEN_SLOT(cfg.generation)), "reasons",
		       reason_counters(g->pin_dir), "pairs", pair_counters(g->pin_dir, names),
		       "events", event_status(g->pin_dir, &cfg));
	id_names_free(names);
	if (!st)
		return CLI_EXIT_ERROR;
	if (is_json) {
		json_dumpf(st, stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		print_text(st);
	}
	json_decref(st);
	return CLI_EXIT_OK;
}
