/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent's Prometheus endpoint: a small HTTP/1.1 server thread answering
 * GET /metrics in the text exposition format 0.0.4 (docs/agent.md,
 * "Metrics"). Counters from the pinned maps are read at scrape time; the
 * agent's own state comes from a snapshot the agent thread refreshes with
 * agent_metrics_update(), so the server never touches agent state.
 */
#ifndef BM_AGENT_METRICS_H
#define BM_AGENT_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "agent_flows.h"

struct agent;

/* What the agent thread reports; times are CLOCK_MONOTONIC milliseconds. */
struct agent_metrics_snapshot {
	bool is_connected, is_ready;
	uint64_t bus_connects; /* successful (re)connects */
	uint64_t last_bus_msg_ms; /* 0: none yet */
	uint64_t bus_lag_us; /* own heartbeat round trip; 0: none yet */
	uint64_t policy_rev, applied_rev;
	uint32_t generation;
	uint64_t installs, rejected;
	double last_install_ms;
	uint64_t peers_alive, peers_known, bus_endpoints, revoked;
	uint64_t handshakes, handshake_failures;
	uint64_t sched_starts, sched_stops, sched_claims, sched_placements; /* agent_priv.h */
	struct agent_flows_stats flows;
};

struct agent_metrics_config {
	const char *addr; /* "127.0.0.1:9464", "[::1]:9464", "localhost:9464" */
	bool is_public; /* allow a non-loopback address */
	const char *pin_dir;
	const char *state_dir; /* identity names for labels */
	const char *node;
};

struct agent_metrics;

/*
 * Parse "HOST:PORT" (IPv4 literal, [IPv6 literal] or localhost; PORT 0
 * picks a free one) into ss. A non-loopback host is refused unless
 * is_public. Returns 0 or -EINVAL with the reason in why.
 */
int agent_metrics_parse_addr(const char *text, bool is_public, struct sockaddr_storage *ss,
			     socklen_t *len, char *why, size_t why_len);

/*
 * Bind and start the server thread. Returns 0 and *out (stop with
 * agent_metrics_stop), or -errno (logged).
 */
int agent_metrics_start(const struct agent_metrics_config *cfg, struct agent_metrics **out);

/* Copy the agent's counters for the next scrape (agent thread). NULL-safe on m. */
void agent_metrics_update(struct agent_metrics *m, const struct agent *a);

/* The port the server listens on (useful with port 0). */
unsigned int agent_metrics_port(const struct agent_metrics *m);

/* Stop the thread, close the socket, free. NULL-safe. */
void agent_metrics_stop(struct agent_metrics *m);

/*
 * Write the whole exposition for snapshot s plus the counters of the maps
 * pinned under pin_dir (skipped when not pinned) to out. Returns 0 or -EIO.
 */
int agent_metrics_render(FILE *out, const struct agent_metrics_snapshot *s, const char *node,
			 const char *pin_dir, const char *state_dir);

/* Write text as a label value: backslash, double quote and newline escaped. */
void agent_metrics_escape(FILE *out, const char *text);

#endif /* BM_AGENT_METRICS_H */
