/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Flow events as JSON (docs/topics.md, "Flow events"): one bm_flow_event
 * from the ring buffer becomes one flat JSON object with both identities
 * (numeric, SPIFFE name, namespace when known) and the 5-tuple; filters
 * and the human one-line form work on that object, so `bpfmesh observe`
 * treats events from the local ring buffer and from the bus alike.
 */
#ifndef BM_FLOW_JSON_H
#define BM_FLOW_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include <abi/abi.h>

#include "id_names.h"

#define FLOW_SUBJECT_PREFIX "bpfmesh.v1.flow." /* + node name */

/* What `observe` selects; NULL / false members match anything. */
struct flow_filter {
	const char *identity; /* either end: numeric identity or SPIFFE ID */
	const char *from; /* source end */
	const char *to; /* destination end */
	const char *ns; /* either end's namespace */
	const char *verdict; /* verdict ("allow", "allow-auth", "deny") or reason name */
	const char *node;
	unsigned int port; /* either end's port */
	bool has_port;
};

/*
 * Nanoseconds to add to a CLOCK_BOOTTIME stamp (bm_flow_event.ts_boot_ns)
 * to get CLOCK_REALTIME. Cannot fail.
 */
int64_t flow_json_boot_to_real_ns(void);

/*
 * The JSON object of event e seen on node (may be NULL: omitted), names
 * from names (may be NULL: numbers only), wall time from boot_to_real_ns.
 * Returns a new reference, or NULL when out of memory.
 */
json_t *flow_json_event(const struct bm_flow_event *e, const char *node,
			const struct id_names *names, int64_t boot_to_real_ns);

/*
 * The namespace of a SPIFFE ID of the form spiffe://TD/ns/NS/..., copied
 * into buf; false (buf empty) when it has none or it does not fit.
 */
bool flow_json_namespace(const char *spiffe, char *buf, size_t len);

/* Does event ev (from flow_json_event) pass every member of f? */
bool flow_filter_match(const struct flow_filter *f, const json_t *ev);

/* Print ev as one human line ("TIME NODE VERDICT REASON SRC -> DST PROTO"). */
void flow_json_print_line(FILE *out, const json_t *ev);

#endif /* BM_FLOW_JSON_H */
