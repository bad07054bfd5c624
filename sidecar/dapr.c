// SPDX-License-Identifier: GPL-2.0-only
/* Dapr HTTP API v1.0, state building block; see dapr.h and docs/sidecar.md. */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dapr.h"

#define MAX_ITEMS 1024 /* items in one save, bulk get or transaction */

/* One parsed save/delete item; pointers into the request's JSON. */
struct item {
	struct store_write w;
	char *value_json; /* owned: the serialized value */
};

/* Fill resp with Dapr's error JSON. */
void dapr_error(struct http_response *resp, int status, const char *code, const char *fmt, ...)
{
	char msg[512];
	json_t *o;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	resp->status = status;
	free(resp->body);
	resp->body = NULL;
	resp->body_len = 0;
	o = json_pack("{s:s,s:s}", "errorCode", code, "message", msg);
	if (o)
		resp->body = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (resp->body) {
		resp->body_len = strlen(resp->body);
		resp->content_type = "application/json";
	}
}

static void reply_json(struct http_response *resp, int status, json_t *o)
{
	resp->body = json_dumps(o, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(o);
	if (!resp->body) {
		dapr_error(resp, 500, "ERR_INTERNAL", "out of memory");
		return;
	}
	resp->status = status;
	resp->body_len = strlen(resp->body);
	resp->content_type = "application/json";
}

static struct store *find_store(struct dapr_api *api, const char *name)
{
	unsigned int i;

	for (i = 0; i < api->nr_stores; i++)
		if (!strcmp(api->stores[i].name, name))
			return &api->stores[i];
	return NULL;
}

/* Map a store error to Dapr's status for an operation whose code is code. */
static void store_error(struct http_response *resp, int err, const char *code, const char *key)
{
	switch (err) {
	case -EINVAL:
		dapr_error(resp, 400, code, "invalid etag for key %s", key);
		break;
	case -ECANCELED:
		dapr_error(resp, 409, code, "possible etag mismatch for key %s", key);
		break;
	case -ENAMETOOLONG:
		dapr_error(resp, 400, code, "key too long: %.64s", key);
		break;
	case -E2BIG:
		dapr_error(resp, 413, code,
			   "transaction larger than 900 KiB (the bus's message limit)");
		break;
	case -ETIMEDOUT:
	case -ENOTCONN:
		dapr_error(resp, 503, code, "state store unavailable for key %s: %s", key,
			   strerror(-err));
		break;
	default:
		dapr_error(resp, 500, code, "key %s: %s", key, strerror(-err));
	}
}

/* Strip optional quotes (W/"x" and "x" are sent by some clients). */
static const char *etag_text(const char *v, char *buf, size_t size)
{
	size_t n;

	if (!v)
		return NULL;
	if (!strncmp(v, "W/", 2))
		v += 2;
	n = strlen(v);
	if (n >= 2 && v[0] == '"' && v[n - 1] == '"' && n - 2 < size) {
		memcpy(buf, v + 1, n - 2);
		buf[n - 2] = '\0';
		return buf;
	}
	return v;
}

/* options.concurrency / options.consistency, both optional. */
static int parse_options(json_t *opts, struct store_write *w)
{
	const char *conc = NULL, *cons = NULL;
	json_error_t e;

	if (!opts || json_is_null(opts))
		return 0;
	if (json_unpack_ex(opts, &e, 0, "{s?s,s?s}", "concurrency", &conc, "consistency", &cons))
		return -EINVAL;
	if (conc && strcmp(conc, "first-write") && strcmp(conc, "last-write"))
		return -EINVAL;
	if (cons && strcmp(cons, "strong") && strcmp(cons, "eventual"))
		return -EINVAL;
	w->is_first_write = conc && !strcmp(conc, "first-write");
	w->is_strong = cons && !strcmp(cons, "strong");
	return 0;
}

/*
 * One state item {"key", "value", "etag", "options", "metadata"}; value is
 * required unless is_delete. Returns 0 or -EINVAL with why set.
 */
static int parse_item(json_t *o, bool is_delete, struct item *it, const char **why)
{
	json_t *value = NULL, *opts = NULL, *meta = NULL;
	const char *etag = NULL;
	json_error_t e;

	memset(it, 0, sizeof(*it));
	if (json_unpack_ex(o, &e, 0, "{s:s,s?o,s?s,s?o,s?o}", "key", &it->w.key, "value", &value,
			   "etag", &etag, "options", &opts, "metadata", &meta) ||
	    !*it->w.key) {
		*why = "each item needs a non-empty string key";
		return -EINVAL;
	}
	if (parse_options(opts, &it->w)) {
		*why = "bad options (concurrency: first-write|last-write, consistency: "
		       "strong|eventual)";
		return -EINVAL;
	}
	it->w.etag = etag;
	if (etag && *etag && store_etag_parse(etag, &(unsigned long long){0})) {
		*why = "etag must be a decimal revision";
		return -EINVAL;
	}
	if (is_delete)
		return 0;
	it->value_json = json_dumps(value ? value : json_null(), JSON_COMPACT | JSON_ENCODE_ANY);
	if (!it->value_json) {
		*why = "value cannot be encoded";
		return -EINVAL;
	}
	it->w.value = it->value_json;
	it->w.len = strlen(it->value_json);
	if (it->w.len > STORE_VALUE_MAX) {
		*why = "value larger than 900 KiB (the bus's message limit)";
		return -E2BIG;
	}
	return 0;
}

static void free_items(struct item *items, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(items[i].value_json);
	free(items);
}

static json_t *parse_body(const struct http_request *req, struct http_response *resp)
{
	json_error_t e;
	json_t *root;

	root = json_loadb(req->body ? req->body : "", req->content_length, 0, &e);
	if (!root)
		dapr_error(resp, 400, "ERR_MALFORMED_REQUEST",
			   "body is not JSON: line %d column %d: %s", e.line, e.column, e.text);
	return root;
}

/* Apply validated items in order; the first failure ends the request. */
static void apply_items(struct store *st, struct item *items, size_t n, const char *code,
			struct http_response *resp)
{
	size_t i;
	int err;

	for (i = 0; i < n; i++) {
		err = st->ops->write(st->impl, &items[i].w, NULL);
		if (err == -ENOENT && !items[i].w.value)
			err = 0;
		if (err) {
			store_error(resp, err, code, items[i].w.key);
			return;
		}
	}
	resp->status = 204;
}

/* POST /v1.0/state/{store}: [{key, value, etag?, options?}, ...] */
static void state_save(struct store *st, const struct http_request *req, struct http_response *resp)
{
	const char *why = NULL;
	struct item *items;
	json_t *root, *o;
	size_t i, n;
	int err;

	root = parse_body(req, resp);
	if (!root)
		return;
	n = json_is_array(root) ? json_array_size(root) : 0;
	if (!json_is_array(root) || n > MAX_ITEMS) {
		dapr_error(resp, 400, "ERR_MALFORMED_REQUEST",
			   "body must be an array of at most %d state items", MAX_ITEMS);
		goto out;
	}
	items = calloc(n ? n : 1, sizeof(*items));
	if (!items) {
		dapr_error(resp, 500, "ERR_STATE_SAVE", "out of memory");
		goto out;
	}
	json_array_foreach (root, i, o) {
		err = parse_item(o, false, &items[i], &why);
		if (err) {
			dapr_error(resp, err == -E2BIG ? 413 : 400, "ERR_MALFORMED_REQUEST",
				   "item %zu: %s", i, why);
			free_items(items, i + 1);
			goto out;
		}
	}
	apply_items(st, items, n, "ERR_STATE_SAVE", resp);
	free_items(items, n);
out:
	json_decref(root);
}

static bool query_is(const struct http_request *req, const char *name, const char *want)
{
	char v[32];

	return http_query_param(req, name, v, sizeof(v)) && !strcmp(v, want);
}

/* A query option that, when present, must be one of two values. */
static bool query_ok(const struct http_request *req, const char *name, const char *a, const char *b)
{
	char v[32];

	if (!http_query_param(req, name, v, sizeof(v)))
		return !strstr(req->query, name);
	return !strcmp(v, a) || !strcmp(v, b);
}

/* GET /v1.0/state/{store}/{key} */
static void state_get(struct store *st, const char *key, const struct http_request *req,
		      struct http_response *resp)
{
	size_t len = 0;
	char *val = NULL;
	int err;

	if (!query_ok(req, "consistency", "strong", "eventual")) {
		dapr_error(resp, 400, "ERR_MALFORMED_REQUEST",
			   "consistency must be strong|eventual");
		return;
	}
	/* A strong store's reads are linearizable unless the request opts out. */
	err = st->ops->get(st->impl, key, !query_is(req, "consistency", "eventual"), &val, &len,
			   resp->etag);
	if (err == -ENOENT) {
		resp->status = 204;
		resp->etag[0] = '\0';
		return;
	}
	if (err) {
		resp->etag[0] = '\0';
		store_error(resp, err, "ERR_STATE_GET", key);
		return;
	}
	resp->status = 200;
	resp->body = val;
	resp->body_len = len;
	resp->content_type = "application/json";
}

/* DELETE /v1.0/state/{store}/{key}, If-Match: etag */
static void state_delete(struct store *st, const char *key, const struct http_request *req,
			 struct http_response *resp)
{
	struct store_write w = {.key = key};
	char etag[STORE_ETAG_MAX + 2];
	int err;

	if (!query_ok(req, "concurrency", "first-write", "last-write") ||
	    !query_ok(req, "consistency", "strong", "eventual")) {
		dapr_error(resp, 400, "ERR_MALFORMED_REQUEST", "bad concurrency or consistency");
		return;
	}
	w.etag = etag_text(http_header(req, "If-Match"), etag, sizeof(etag));
	w.is_strong = query_is(req, "consistency", "strong");
	w.is_first_write = query_is(req, "concurrency", "first-write");
	if (w.etag && *w.etag && store_etag_parse(w.etag, &(unsigned long long){0})) {
		dapr_error(resp, 400, "ERR_STATE_DELETE", "etag must be a decimal revision");
		return;
	}
	err = st->ops->write(st->impl, &w, NULL);
	if (err && err != -ENOENT) {
		store_error(resp, err, "ERR_STATE_DELETE", key);
		return;
	}
	resp->status = 204;
}

static json_t *bulk_one(struct store *st, const char *key)
{
	char etag[STORE_ETAG_MAX];
	json_t *o, *data;
	char *val = NULL;
	size_t len = 0;
	int err;

	o = json_pack("{s:s}", "key", key);
	err = st->ops->get(st->impl, key, true, &val, &len, etag);
	if (!o || err == -ENOENT)
		return o;
	if (err) {
		json_object_set_new(o, "error", json_string(strerror(-err)));
		return o;
	}
	data = json_loadb(val, len, JSON_DECODE_ANY, NULL);
	if (!data)
		data = json_stringn(val, len);
	json_object_set_new(o, "data", data);
	json_object_set_new(o, "etag", json_string(etag));
	free(val);
	return o;
}

/* POST /v1.0/state/{store}/bulk: {"keys": [...], "parallelism": n} */
static void state_bulk(struct store *st, const struct http_request *req, struct http_response *resp)
{
	json_t *root, *keys = NULL, *k, *out;
	json_error_t e;
	size_t i;

	root = parse_body(req, resp);
	if (!root)
		return;
	if (json_unpack_ex(root, &e, 0, "{s:o}", "keys", &keys) || !json_is_array(keys) ||
	    json_array_size(keys) > MAX_ITEMS)
		goto bad;
	json_array_foreach (keys, i, k) {
		if (!json_is_string(k) || !json_string_length(k))
			goto bad;
	}
	out = json_array();
	json_array_foreach (keys, i, k)
		json_array_append_new(out, bulk_one(st, json_string_value(k)));
	reply_json(resp, 200, out);
	json_decref(root);
	return;
bad:
	dapr_error(resp, 400, "ERR_MALFORMED_REQUEST",
		   "body must be {\"keys\": [non-empty strings, at most %d]}", MAX_ITEMS);
	json_decref(root);
}

static int parse_operation(json_t *op, struct item *it, const char **why)
{
	json_t *request = NULL;
	const char *kind = NULL;
	json_error_t e;
	bool is_delete;

	if (json_unpack_ex(op, &e, 0, "{s:s,s:o}", "operation", &kind, "request", &request)) {
		*why = "each operation needs \"operation\" and \"request\"";
		return -EINVAL;
	}
	is_delete = !strcmp(kind, "delete");
	if (!is_delete && strcmp(kind, "upsert")) {
		*why = "operation must be upsert or delete";
		return -EINVAL;
	}
	return parse_item(request, is_delete, it, why);
}

/* Apply a validated transaction: atomically when the store can. */
static void apply_txn(struct store *st, struct item *items, size_t n, struct http_response *resp)
{
	struct store_write *ws;
	size_t i, bad = 0;
	int err;

	if (!st->ops->txn) {
		apply_items(st, items, n, "ERR_STATE_TRANSACTION", resp);
		return;
	}
	ws = calloc(n ? n : 1, sizeof(*ws));
	if (!ws) {
		dapr_error(resp, 500, "ERR_STATE_TRANSACTION", "out of memory");
		return;
	}
	for (i = 0; i < n; i++)
		ws[i] = items[i].w;
	err = st->ops->txn(st->impl, ws, n, &bad);
	if (err)
		store_error(resp, err, "ERR_STATE_TRANSACTION", n ? ws[bad < n ? bad : 0].key : "");
	else
		resp->status = 204;
	free(ws);
}

/* POST /v1.0/state/{store}/transaction: {"operations": [...], "metadata": {}} */
static void state_transaction(struct store *st, const struct http_request *req,
			      struct http_response *resp)
{
	json_t *root, *ops = NULL, *op;
	const char *why = NULL;
	struct item *items;
	json_error_t e;
	size_t i, n;
	int err;

	root = parse_body(req, resp);
	if (!root)
		return;
	if (json_unpack_ex(root, &e, 0, "{s:o}", "operations", &ops) || !json_is_array(ops) ||
	    json_array_size(ops) > MAX_ITEMS) {
		dapr_error(resp, 400, "ERR_MALFORMED_REQUEST",
			   "body must be {\"operations\": [at most %d]}", MAX_ITEMS);
		goto out;
	}
	n = json_array_size(ops);
	items = calloc(n ? n : 1, sizeof(*items));
	if (!items) {
		dapr_error(resp, 500, "ERR_STATE_TRANSACTION", "out of memory");
		goto out;
	}
	json_array_foreach (ops, i, op) {
		err = parse_operation(op, &items[i], &why);
		if (err) {
			dapr_error(resp, err == -E2BIG ? 413 : 400, "ERR_MALFORMED_REQUEST",
				   "operation %zu: %s", i, why);
			free_items(items, i + 1);
			goto out;
		}
	}
	apply_txn(st, items, n, resp);
	free_items(items, n);
out:
	json_decref(root);
}

/*
 * The identity in use (it changes on reload) into metadata's "extended":
 * identity (SPIFFE id), identitySerial (16 hex digits), identityNotAfter
 * (unix seconds), all strings as Dapr's extended metadata is.
 */
static void add_identity(struct dapr_api *api, json_t *ext)
{
	char subject[300], buf[32];
	uint64_t serial;
	int64_t not_after;

	if (!api->ids || !ext ||
	    !sc_idhold_describe(api->ids, subject, sizeof(subject), &serial, &not_after))
		return;
	json_object_set_new(ext, "identity", json_string(subject));
	snprintf(buf, sizeof(buf), "%016llx", (unsigned long long)serial);
	json_object_set_new(ext, "identitySerial", json_string(buf));
	snprintf(buf, sizeof(buf), "%lld", (long long)not_after);
	json_object_set_new(ext, "identityNotAfter", json_string(buf));
}

static void metadata(struct dapr_api *api, struct http_response *resp)
{
	json_t *comps = json_array(), *o, *ps;
	unsigned int i;

	for (i = 0; i < api->nr_stores; i++)
		json_array_append_new(comps, json_pack("{s:s,s:s,s:s,s:[s,s]}", "name",
						       api->stores[i].name, "type", "state.bpfmesh",
						       "version", "v1", "capabilities", "ETAG",
						       "TRANSACTIONAL"));
	if (api->pubsub) {
		ps = pubsub_components(api->pubsub);
		json_array_extend(comps, ps);
		json_decref(ps);
	}
	o = json_pack("{s:s,s:s,s:o,s:o,s:{s:s,s:s}}", "id", api->app_id, "runtimeVersion",
		      "bpfmesh-0.1", "components", comps, "subscriptions",
		      api->pubsub ? pubsub_subscriptions(api->pubsub) : json_array(), "extended",
		      "consistency", api->consistency, "daprRuntimeVersion", "1.0-compatible");
	if (o)
		add_identity(api, json_object_get(o, "extended"));
	if (!o) {
		dapr_error(resp, 500, "ERR_METADATA_GET", "out of memory");
		return;
	}
	reply_json(resp, 200, o);
}

static bool is_method(const struct http_request *req, const char *m)
{
	return !strcmp(req->method, m);
}

/* /v1.0/state/{store}[/{key}|/bulk|/transaction] */
static void state_route(struct dapr_api *api, const char *rest, const struct http_request *req,
			struct http_response *resp)
{
	const char *slash = strchr(rest, '/'), *sub;
	char name[64];
	struct store *st;
	size_t n = slash ? (size_t)(slash - rest) : strlen(rest);

	if (!n || n >= sizeof(name)) {
		dapr_error(resp, 400, "ERR_STATE_STORE_NOT_FOUND", "state store name missing");
		return;
	}
	memcpy(name, rest, n);
	name[n] = '\0';
	st = find_store(api, name);
	if (!st) {
		dapr_error(resp, 400, "ERR_STATE_STORE_NOT_FOUND", "state store %s is not found",
			   name);
		return;
	}
	sub = slash ? slash + 1 : NULL;
	if (!sub || !*sub) {
		if (!is_method(req, "POST"))
			goto not_allowed;
		state_save(st, req, resp);
	} else if (is_method(req, "POST") && !strcmp(sub, "bulk")) {
		state_bulk(st, req, resp);
	} else if (is_method(req, "POST") && !strcmp(sub, "transaction")) {
		state_transaction(st, req, resp);
	} else if (is_method(req, "GET")) {
		state_get(st, sub, req, resp);
	} else if (is_method(req, "DELETE")) {
		state_delete(st, sub, req, resp);
	} else {
		goto not_allowed;
	}
	return;
not_allowed:
	dapr_error(resp, 405, "ERR_METHOD_NOT_ALLOWED", "%s not allowed on %s", req->method,
		   req->path);
	snprintf(resp->extra_headers, sizeof(resp->extra_headers), "Allow: %s\r\n",
		 !sub || !*sub ? "POST" : "GET, DELETE, POST");
}

/* POST /v1.0/publish/{pubsub}/{topic} */
static void publish_route(struct dapr_api *api, const char *rest, const struct http_request *req,
			  struct http_response *resp)
{
	const char *slash = strchr(rest, '/');
	char name[64];
	size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
	int err;

	if (!is_method(req, "POST")) {
		dapr_error(resp, 405, "ERR_METHOD_NOT_ALLOWED", "use POST");
		return;
	}
	if (!slash || !slash[1] || !n || n >= sizeof(name)) {
		dapr_error(resp, 404, "ERR_TOPIC_NAME_EMPTY", "topic is empty");
		return;
	}
	memcpy(name, rest, n);
	name[n] = '\0';
	err = api->pubsub ? pubsub_publish(api->pubsub, name, slash + 1, req->body ? req->body : "",
					   req->content_length, http_header(req, "Content-Type"))
			  : -ENOENT;
	if (err == -ENOENT)
		dapr_error(resp, 404, "ERR_PUBSUB_NOT_FOUND", "pubsub %s is not found", name);
	else if (err == -EINVAL)
		dapr_error(resp, 400, "ERR_PUBSUB_CLOUD_EVENTS_SER", "bad topic or cloudevent");
	else if (err)
		dapr_error(resp, 503, "ERR_PUBSUB_PUBLISH_MESSAGE", "publish: %s", strerror(-err));
	else
		resp->status = 204;
}

/* The local API's handler; see dapr.h. */
void dapr_handle(void *ctx, const struct http_request *req, struct http_response *resp)
{
	struct dapr_api *api = ctx;
	const char *p = req->path;

	if (!strncmp(p, "/v1.0/state/", 12)) {
		state_route(api, p + 12, req, resp);
	} else if (!strncmp(p, "/v1.0/publish/", 14)) {
		publish_route(api, p + 14, req, resp);
	} else if (!strncmp(p, "/v1.0/invoke/", 13)) {
		invoke_call(api->invoke, p + 13, req, resp);
	} else if (!strcmp(p, "/v1.0/healthz") || !strcmp(p, "/v1.0/healthz/outbound")) {
		if (is_method(req, "GET") || is_method(req, "HEAD"))
			resp->status = 204;
		else
			dapr_error(resp, 405, "ERR_METHOD_NOT_ALLOWED", "use GET");
	} else if (!strcmp(p, "/v1.0/metadata")) {
		if (is_method(req, "GET"))
			metadata(api, resp);
		else
			dapr_error(resp, 405, "ERR_METHOD_NOT_ALLOWED", "use GET");
	} else {
		dapr_error(resp, 404, "ERR_NOT_FOUND", "no route for %s %s", req->method, p);
	}
}
