// SPDX-License-Identifier: GPL-2.0-only
/* The Prometheus text exposition (format 0.0.4) of the agent and its maps. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include <abi/abi.h>

#include "agent_metrics.h"
#include "id_names.h"
#include "names.h"
#include "pinned.h"
#include "tables.h"

struct pair_row {
	struct bm_pair_key key;
	uint64_t v[2 * BM_VERDICT_MAX]; /* packets[3], bytes[3] */
};

/* See agent_metrics.h. */
void agent_metrics_escape(FILE *out, const char *text)
{
	for (; *text; text++) {
		if (*text == '\\')
			fputs("\\\\", out);
		else if (*text == '"')
			fputs("\\\"", out);
		else if (*text == '\n')
			fputs("\\n", out);
		else
			fputc(*text, out);
	}
}

static void family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample_u64(FILE *out, const char *name, uint64_t v)
{
	fprintf(out, "%s %" PRIu64 "\n", name, v);
}

static void one_u64(FILE *out, const char *name, const char *type, const char *help, uint64_t v)
{
	family(out, name, type, help);
	sample_u64(out, name, v);
}

/* Read every known pair and the overflow slot 0 (key 0 -> 0); *n rows. */
static struct pair_row *read_pairs(const char *pin_dir, size_t *n)
{
	int slots_fd = pinned_map_fd(pin_dir, BM_MAP_PAIR_SLOTS);
	int stats_fd = pinned_map_fd(pin_dir, BM_MAP_PAIR_STATS);
	struct bm_pair_key key, next;
	struct pair_row *rows = NULL;
	void *prev = NULL;
	__u32 slot;

	*n = 0;
	if (slots_fd < 0 || stats_fd < 0)
		goto out;
	rows = calloc(BM_PAIR_SLOTS + 1, sizeof(*rows));
	if (!rows)
		goto out;
	/* Row 0 is always the overflow slot; it stays zero if it cannot be read. */
	pinned_percpu_sum(stats_fd, 0, rows[0].v, 2 * BM_VERDICT_MAX);
	*n = 1;
	while (*n <= BM_PAIR_SLOTS && !bpf_map_get_next_key(slots_fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(slots_fd, &key, &slot) || !slot ||
		    pinned_percpu_sum(stats_fd, slot, rows[*n].v, 2 * BM_VERDICT_MAX))
			continue;
		rows[(*n)++].key = key;
	}
out:
	if (slots_fd >= 0)
		close(slots_fd);
	if (stats_fd >= 0)
		close(stats_fd);
	return rows;
}

static void pair_labels(FILE *out, const struct pair_row *r, const struct id_names *names,
			int verdict, bool is_overflow)
{
	if (is_overflow) {
		fprintf(out,
			"{src_id=\"\",src=\"overflow\",dst_id=\"\",dst=\"overflow\",verdict=\"%"
			"s\"}",
			names_verdict((uint32_t)verdict));
		return;
	}
	fprintf(out, "{src_id=\"%u\",src=\"", r->key.src_id);
	agent_metrics_escape(out, id_names_get(names, r->key.src_id));
	fprintf(out, "\",dst_id=\"%u\",dst=\"", r->key.dst_id);
	agent_metrics_escape(out, id_names_get(names, r->key.dst_id));
	fprintf(out, "\",verdict=\"%s\"}", names_verdict((uint32_t)verdict));
}

static void pair_family(FILE *out, const struct pair_row *rows, size_t n,
			const struct id_names *names, bool is_bytes)
{
	const char *name =
		is_bytes ? "bpfmesh_verdict_bytes_total" : "bpfmesh_verdict_packets_total";
	size_t i;
	int v;

	family(out, name, "counter",
	       is_bytes ? "Bytes seen by the data plane per identity pair and verdict."
			: "Packets seen by the data plane per identity pair and verdict.");
	for (i = 0; i < n; i++) {
		for (v = 0; v < BM_VERDICT_MAX; v++) {
			if (!rows[i].v[v])
				continue;
			fputs(name, out);
			pair_labels(out, &rows[i], names, v, i == 0);
			fprintf(out, " %" PRIu64 "\n",
				rows[i].v[(is_bytes ? BM_VERDICT_MAX : 0) + v]);
		}
	}
}

static void pairs(FILE *out, const char *pin_dir, const char *state_dir)
{
	struct id_names *names = id_names_load(state_dir);
	struct pair_row *rows;
	size_t n;

	rows = read_pairs(pin_dir, &n);
	pair_family(out, rows, n, names, false);
	pair_family(out, rows, n, names, true);
	free(rows);
	id_names_free(names);
}

static void reasons(FILE *out, const char *pin_dir)
{
	int fd = pinned_map_fd(pin_dir, BM_MAP_REASONS);
	uint64_t sum[2];
	uint32_t r;

	family(out, "bpfmesh_reason_packets_total", "counter",
	       "Packets per verdict reason (docs/dataplane.md).");
	for (r = 0; fd >= 0 && r < BM_REASON_MAX; r++) {
		if (!pinned_percpu_sum(fd, r, sum, 2) && sum[0])
			fprintf(out, "bpfmesh_reason_packets_total{reason=\"%s\"} %" PRIu64 "\n",
				names_reason(r), sum[0]);
	}
	if (fd >= 0)
		close(fd);
}

static long count_entries(int fd, size_t key_size)
{
	char key[64], next[64];
	void *prev = NULL;
	long n = 0;

	if (key_size > sizeof(key))
		return 0;
	while (!bpf_map_get_next_key(fd, prev, next) && n < BM_AUTH_MAX) {
		memcpy(key, next, key_size);
		prev = key;
		n++;
	}
	return n;
}

static void map_fill(FILE *out, const char *pin_dir, uint32_t generation)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	long n;
	int k, fd;

	family(out, "bpfmesh_map_entries", "gauge",
	       "Entries in each policy table of the enforced generation, and in bm_auth.");
	for (k = 0; k < TABLES_NR; k++) {
		fd = pinned_map_fd(pin_dir, tables_map_name((enum tables_kind)k));
		if (fd < 0)
			continue;
		n = pinned_inner_entries(fd, BM_GEN_SLOT(generation));
		close(fd);
		if (n >= 0)
			fprintf(out, "bpfmesh_map_entries{map=\"%s\"} %ld\n",
				tables_map_name((enum tables_kind)k), n);
	}
	fd = pinned_map_fd(pin_dir, BM_MAP_AUTH);
	memset(&info, 0, sizeof(info));
	if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len))
		fprintf(out, "bpfmesh_map_entries{map=\"%s\"} %ld\n", BM_MAP_AUTH,
			count_entries(fd, info.key_size));
	if (fd >= 0)
		close(fd);
}

static void bus(FILE *out, const struct agent_metrics_snapshot *s, uint64_t now_ms)
{
	one_u64(out, "bpfmesh_bus_connected", "gauge", "1 while the NATS connection is up.",
		s->is_connected);
	one_u64(out, "bpfmesh_bus_reconnects_total", "counter",
		"Connections to the bus after the first one.",
		s->bus_connects ? s->bus_connects - 1 : 0);
	family(out, "bpfmesh_bus_last_message_seconds", "gauge",
	       "Seconds since the last message from the bus (heartbeats arrive every "
	       "--heartbeat-ms).");
	if (s->last_bus_msg_ms)
		fprintf(out, "bpfmesh_bus_last_message_seconds %.3f\n",
			(double)(now_ms - s->last_bus_msg_ms) / 1000.0);
	family(out, "bpfmesh_bus_lag_seconds", "gauge",
	       "Time from publishing this node's last heartbeat to receiving it back and "
	       "dequeuing it.");
	if (s->bus_lag_us)
		fprintf(out, "bpfmesh_bus_lag_seconds %.3f\n", (double)(s->bus_lag_us - 1) / 1e6);
	one_u64(out, "bpfmesh_bus_rejected_messages_total", "counter",
		"Bus messages rejected (bad schema or content).", s->rejected);
	one_u64(out, "bpfmesh_peers_alive", "gauge", "Peers with a recent heartbeat.",
		s->peers_alive);
	one_u64(out, "bpfmesh_peers_known", "gauge", "Peers ever heard of.", s->peers_known);
}

static void policy(FILE *out, const struct agent_metrics_snapshot *s)
{
	one_u64(out, "bpfmesh_ready", "gauge", "1 once the buckets are replayed and installed.",
		s->is_ready);
	one_u64(out, "bpfmesh_policy_revision", "gauge",
		"Policy revision the kernel enforces (KV revision).", s->applied_rev);
	one_u64(out, "bpfmesh_policy_latest_revision", "gauge",
		"Newest policy revision accepted from the bus.", s->policy_rev);
	one_u64(out, "bpfmesh_generation", "gauge", "Data plane table generation.", s->generation);
	one_u64(out, "bpfmesh_installs_total", "counter", "Table installs (atomic swaps).",
		s->installs);
	family(out, "bpfmesh_install_last_seconds", "gauge",
	       "Duration of the last build, compile and install.");
	fprintf(out, "bpfmesh_install_last_seconds %.6f\n", s->last_install_ms / 1000.0);
	one_u64(out, "bpfmesh_bus_endpoints", "gauge", "Endpoints from the bus.", s->bus_endpoints);
	one_u64(out, "bpfmesh_revoked_identities", "gauge", "Identities revoked on the bus.",
		s->revoked);
}

static void agent_counters(FILE *out, const struct agent_metrics_snapshot *s)
{
	one_u64(out, "bpfmesh_handshakes_total", "counter",
		"Mutual authentication handshakes completed by the agent.", s->handshakes);
	one_u64(out, "bpfmesh_handshake_failures_total", "counter",
		"Mutual authentication handshakes that failed.", s->handshake_failures);
	family(out, "bpfmesh_sched_decisions_total", "counter",
	       "Scheduler decisions carried out on this node.");
	fprintf(out, "bpfmesh_sched_decisions_total{decision=\"start\"} %" PRIu64 "\n",
		s->sched_starts);
	fprintf(out, "bpfmesh_sched_decisions_total{decision=\"stop\"} %" PRIu64 "\n",
		s->sched_stops);
	fprintf(out, "bpfmesh_sched_decisions_total{decision=\"claim\"} %" PRIu64 "\n",
		s->sched_claims);
	fprintf(out, "bpfmesh_sched_decisions_total{decision=\"place\"} %" PRIu64 "\n",
		s->sched_placements);
	one_u64(out, "bpfmesh_flow_events_published_total", "counter",
		"Flow events published on bpfmesh.v1.flow.NODE.", s->flows.published);
	one_u64(out, "bpfmesh_flow_events_dropped_total", "counter",
		"Flow events read but not published (rate limit, bus away).", s->flows.dropped);
}

static uint32_t read_generation(const char *pin_dir)
{
	struct bm_config cfg = {0};
	__u32 zero = 0;
	int fd;

	fd = pinned_map_fd(pin_dir, BM_MAP_CONFIG);
	if (fd < 0)
		return 0;
	if (bpf_map_lookup_elem(fd, &zero, &cfg))
		cfg.generation = 0;
	close(fd);
	return cfg.generation;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* See agent_metrics.h. */
int agent_metrics_render(FILE *out, const struct agent_metrics_snapshot *s, const char *node,
			 const char *pin_dir, const char *state_dir)
{
	family(out, "bpfmesh_agent_info", "gauge", "The agent's node name.");
	fputs("bpfmesh_agent_info{node=\"", out);
	agent_metrics_escape(out, node);
	fputs("\"} 1\n", out);
	policy(out, s);
	bus(out, s, mono_ms());
	agent_counters(out, s);
	pairs(out, pin_dir, state_dir);
	reasons(out, pin_dir);
	map_fill(out, pin_dir, read_generation(pin_dir));
	return ferror(out) ? -EIO : 0;
}
