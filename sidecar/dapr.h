/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The Dapr HTTP API v1.0 subset the sidecar serves: state (save, get,
 * delete, bulk, transaction), publish, healthz and metadata. docs/sidecar.md lists
 * what is covered. Errors use Dapr's shape {"errorCode": ..., "message": ...}.
 */
#ifndef BM_SC_DAPR_H
#define BM_SC_DAPR_H

#include "http.h"
#include "idhold.h"
#include "invoke.h"
#include "pubsub.h"
#include "store.h"

struct dapr_api {
	struct store *stores;
	unsigned int nr_stores;
	const char *app_id;
	const char *consistency; /* the workload's mode, for metadata */
	struct pubsub *pubsub; /* may be NULL */
	struct invoke *invoke; /* NULL: no identity, invocation answered 501 */
	struct sc_idhold *ids; /* the replica's identity, for metadata; NULL: none */
};

/* The http_handler_fn of the local API; ctx is a struct dapr_api. Cannot fail. */
void dapr_handle(void *ctx, const struct http_request *req, struct http_response *resp);

/*
 * Fill resp with Dapr's error JSON. Cannot fail (falls back to a bodiless
 * status when out of memory).
 */
void dapr_error(struct http_response *resp, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif /* BM_SC_DAPR_H */
