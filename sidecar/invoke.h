/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Workload-to-workload calls (Dapr service invocation,
 * /v1.0/invoke/{app-id}/method/{path}) between sidecars, over TCP
 * connections that first run the identity handshake (identity/ident_hs.h)
 * with both replicas' documents and are then reused for up to 30 s; the
 * requests and answers travel sealed under its keys (chan.h). The serving sidecar
 * accepts only callers whose document is a workload of its own namespace,
 * and tells its app who called (dapr-caller-app-id, X-Bpfmesh-Peer).
 *
 * Each handshake uses the identity current when it starts (idhold.h): a
 * reloaded document is used from the next connection on.
 *
 * Discovery is over the bus: a serving sidecar answers requests on
 * bm.inv.<namespace>.<app-id> (one queue group per app, so calls spread
 * over its replicas) with the address to dial. docs/sidecar.md, "Service
 * invocation".
 */
#ifndef BM_SC_INVOKE_H
#define BM_SC_INVOKE_H

#include <nats/nats.h>

#include "http.h"
#include "idhold.h"

struct invoke_config {
	struct sc_idhold *ids; /* this replica's identity (swappable); must outlive the invoke */
	natsConnection *nc; /* the bus, for discovery; must outlive the invoke */
	const char *namespace;
	const char *app_id;
	const char *listen; /* "IPv4:PORT" to serve calls on; NULL: call only */
	const char *advertise; /* "HOST:PORT" callers dial; NULL: the listen address */
	unsigned int app_port; /* where served calls go; 0: answered 502 */
};

struct invoke;

/*
 * Start serving (when cfg->listen) and answering discovery. Returns 0 and
 * *out (invoke_stop frees) or -errno (-EINVAL: bad address, no identity).
 */
int invoke_start(const struct invoke_config *cfg, struct invoke **out);

/* The port calls are served on (0 when not serving). */
unsigned int invoke_port(const struct invoke *inv);

/*
 * Handle the local API's /v1.0/invoke/{rest}: find the app, call it, put
 * its answer (or Dapr's error) in resp. Cannot fail.
 */
void invoke_call(struct invoke *inv, const char *rest, const struct http_request *req,
		 struct http_response *resp);

/* Stop serving; waits (bounded) for calls in progress. NULL-safe. */
void invoke_stop(struct invoke *inv);

#endif /* BM_SC_INVOKE_H */
