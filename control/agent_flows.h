/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent's flow event publisher: a thread that is the one reader of the
 * node's ring buffer (bm_events: every deny, sampled allows) and publishes
 * the events, batched and rate-bounded, on bpfmesh.v1.flow.NODE (schema 1,
 * docs/topics.md). Events over the rate or while the bus is away are
 * counted as dropped and the count travels in the next batch. In rootless
 * mode it follows the forwarder's event file instead (same records).
 */
#ifndef BM_AGENT_FLOWS_H
#define BM_AGENT_FLOWS_H

#include <stdint.h>

struct bus;

#define AGENT_FLOWS_DEFAULT_RATE 1000 /* events per second */
#define AGENT_FLOWS_BATCH 64 /* events per message at most */
#define AGENT_FLOWS_FLUSH_MS 200 /* a partial batch waits at most this long */

struct agent_flows_config {
	const char *pin_dir; /* where bm_events is pinned */
	/*
	 * Rootless mode: follow this file of struct bm_flow_event records (the
	 * forwarder's, docs/rootless.md "Events") instead of the ring buffer;
	 * it may appear later and be rotated; copied. NULL: the ring buffer.
	 */
	const char *events_path;
	const char *state_dir; /* identities.tsv for the names */
	const char *node;
	struct bus *bus; /* thread-safe publishes; must outlive the publisher */
	unsigned int max_rate; /* events per second (burst: one second's worth) */
};

struct agent_flows_stats {
	uint64_t published; /* events sent on the bus */
	uint64_t dropped; /* events read but not sent (rate, bus away, no memory) */
	uint64_t messages; /* batches sent */
};

struct agent_flows;

/*
 * Open the ring buffer (or, with events_path, nothing yet) and start the
 * publisher thread. Returns 0 and *out (stop with agent_flows_stop), or
 * -errno (-ENOENT: no pinned ring buffer).
 */
int agent_flows_start(const struct agent_flows_config *cfg, struct agent_flows **out);

/* Stop the thread (flushing nothing more) and free. NULL-safe. */
void agent_flows_stop(struct agent_flows *f);

/* Counters so far; any thread. Zeroes for NULL. Cannot fail. */
void agent_flows_get_stats(const struct agent_flows *f, struct agent_flows_stats *st);

#endif /* BM_AGENT_FLOWS_H */
