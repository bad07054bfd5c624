// SPDX-License-Identifier: GPL-2.0-only
/*
 * Requests on the agent's socket: status, and the writes the CLI makes
 * through the agent (policy, endpoints, revocations; raw messages for tests).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_priv.h"
#include "dataplane.h"
#include "ident_id.h"
#include "log.h"
#include "pinned.h"
#include "policy_compile.h"
#include "tables.h"

static json_t *fail(const char *fmt, const char *arg)
{
	char msg[512];

	snprintf(msg, sizeof(msg), fmt, arg);
	return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

static json_t *map_fill(struct agent *a)
{
	json_t *obj = json_object();
	long n;
	int k, fd;

	for (k = 0; a->dp && k < TABLES_NR; k++) {
		fd = dp_map_fd(a->dp, tables_map_name((enum tables_kind)k));
		if (fd < 0)
			continue;
		n = pinned_inner_entries(fd, BM_GEN_SLOT(a->generation));
		json_object_set_new(obj, tables_map_name((enum tables_kind)k), json_integer(n));
	}
	return obj;
}

static json_t *peers(struct agent *a)
{
	uint64_t now = agent_now_ms();
	json_t *arr = json_array();
	size_t i;

	for (i = 0; i < a->n_peers; i++)
		json_array_append_new(
			arr, json_pack("{s:s, s:b, s:b, s:I, s:I, s:O?}", "node", a->peers[i].name,
				       "alive", a->peers[i].is_alive, "ready", a->peers[i].is_ready,
				       "revision", (json_int_t)a->peers[i].revision, "last_seen_ms",
				       (json_int_t)(now - a->peers[i].last_ms), "capacity",
				       a->peers[i].capacity));
	return arr;
}

static json_t *status(struct agent *a)
{
	return json_pack("{s:b, s:s, s:{s:s, s:b}, s:b, s:I, s:I, s:i, s:s?, s:I, s:I, s:I, s:I, "
			 "s:f, s:o, s:o}",
			 "ok", 1, "node", a->cfg->node, "bus", "urls", bus_urls(a->bus),
			 "connected", bus_is_connected(a->bus), "ready", a->is_ready, "revision",
			 (json_int_t)a->applied_rev, "latest_revision", (json_int_t)a->policy_rev,
			 "generation", (int)a->generation, "policy_origin", a->policy_origin,
			 "bus_endpoints", (json_int_t)a->endpoints.n, "revoked",
			 (json_int_t)a->revoked.n, "rejected", (json_int_t)a->n_rejected,
			 "installs", (json_int_t)a->n_installs, "last_install_ms",
			 a->last_install_ms, "peers", peers(a), "maps", map_fill(a));
}

static json_t *put(struct agent *a, enum bus_bucket bucket, const char *key, json_t *body)
{
	uint64_t rev = 0;
	char *text;
	int err;

	if (!body)
		return fail("%s", "out of memory");
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (!text)
		return fail("%s", "out of memory");
	err = bus_kv_put(a->bus, bucket, key, text, strlen(text), &rev);
	free(text);
	if (err)
		return fail("bus: %s", err == -ENOTCONN ? "not connected" : strerror(-err));
	return json_pack("{s:b, s:I}", "ok", 1, "revision", (json_int_t)rev);
}

/* Validate the sources as the receivers will (parse and compile), then publish. */
static json_t *publish_policy(struct agent *a, const json_t *req)
{
	struct compile_report rep = {0};
	const json_t *srcs = json_object_get(req, "sources"), *s;
	struct policy_sources cand = {0};
	struct pm_model *m = NULL;
	struct bm_tables t;
	char why[512] = "";
	uint64_t rev = 0;
	size_t i;
	int err;

	if (!json_is_array(srcs) || !json_array_size(srcs))
		return fail("%s", "no sources");
	cand.items = calloc(json_array_size(srcs), sizeof(*cand.items));
	if (!cand.items)
		return fail("%s", "out of memory");
	json_array_foreach (srcs, i, s) {
		cand.items[i].name = (char *)json_string_value(json_object_get(s, "name"));
		cand.items[i].data = (char *)json_string_value(json_object_get(s, "data"));
		cand.items[i].len = json_string_length(json_object_get(s, "data"));
		cand.n++;
		if (!cand.items[i].name || !cand.items[i].data)
			break;
	}
	err = cand.n == json_array_size(srcs) && cand.items[cand.n - 1].data ? 0 : -EINVAL;
	if (!err)
		err = agent_build_model(a, &cand, &m, why, sizeof(why));
	free(cand.items);
	tables_init(&t);
	if (!err && (err = policy_compile(m, &t, &rep)))
		snprintf(why, sizeof(why), "compile: %s",
			 rep.error[0] ? rep.error : strerror(-err));
	tables_release(&t);
	pm_model_free(m);
	if (err)
		return fail("policy rejected, nothing published: %s", why[0] ? why : "bad sources");
	err = agent_policy_put(a, srcs, &rev);
	if (err)
		return fail("bus: %s", err == -ENOTCONN ? "not connected" : strerror(-err));
	return json_pack("{s:b, s:I}", "ok", 1, "revision", (json_int_t)rev);
}

static json_t *put_endpoint(struct agent *a, const json_t *req)
{
	const json_t *ep = json_object_get(req, "endpoint");
	const char *ns = json_string_value(json_object_get(ep, "namespace"));
	const char *name = json_string_value(json_object_get(ep, "name"));
	json_t *body;
	char key[300];

	if (!ns || !name)
		return fail("%s", "endpoint needs namespace and name");
	snprintf(key, sizeof(key), "%s.%s", ns, name);
	body = json_deep_copy(ep);
	if (body)
		json_object_set_new(body, "schema", json_integer(BUS_SCHEMA));
	return put(a, BUS_BUCKET_ENDPOINTS, key, body);
}

static json_t *delete_key(struct agent *a, enum bus_bucket bucket, const char *key)
{
	int err = bus_kv_put(a->bus, bucket, key, NULL, 0, NULL);

	if (err)
		return fail("bus: %s", strerror(-err));
	return json_pack("{s:b}", "ok", 1);
}

static json_t *revocation(struct agent *a, const json_t *req, bool is_undo)
{
	const char *uri = json_string_value(json_object_get(req, "identity"));
	json_int_t n = json_integer_value(json_object_get(req, "id"));
	uint32_t id = 0;
	char key[32];

	if (uri && ident_numeric_id(uri, &id))
		return fail("'%s' is not a SPIFFE ID", uri);
	if (!uri && (n <= 0 || n > UINT32_MAX))
		return fail("%s", "revoke needs identity (SPIFFE ID) or id");
	if (!uri)
		id = (uint32_t)n;
	snprintf(key, sizeof(key), "id.%u", id);
	if (is_undo)
		return delete_key(a, BUS_BUCKET_REVOKED, key);
	if (uri)
		return put(a, BUS_BUCKET_REVOKED, key,
			   json_pack("{s:i, s:s, s:s}", "schema", BUS_SCHEMA, "identity", uri,
				     "node", a->cfg->node));
	return put(
		a, BUS_BUCKET_REVOKED, key,
		json_pack("{s:i, s:I, s:s}", "schema", BUS_SCHEMA, "id", n, "node", a->cfg->node));
}

/* Tests and operators: put raw bytes into a bucket or on a subject, unchecked. */
static json_t *raw(struct agent *a, const json_t *req)
{
	const char *bucket = json_string_value(json_object_get(req, "bucket"));
	const char *key = json_string_value(json_object_get(req, "key"));
	const char *data = json_string_value(json_object_get(req, "data"));
	size_t len = json_string_length(json_object_get(req, "data"));
	uint64_t rev = 0;
	int i, err;

	if (!key || !data)
		return fail("%s", "raw needs key (or subject) and data");
	if (!bucket) {
		if (strncmp(key, "bpfmesh.", 8))
			return fail("%s", "raw subjects must start with bpfmesh.");
		err = bus_publish(a->bus, key, data, len);
		return err ? fail("bus: %s", strerror(-err)) : json_pack("{s:b}", "ok", 1);
	}
	for (i = 0; i < BUS_BUCKET_ALL; i++)
		if (!strcmp(bucket, bus_bucket_name((enum bus_bucket)i)))
			break;
	if (i == BUS_BUCKET_ALL)
		return fail("unknown bucket '%s'", bucket);
	err = bus_kv_put(a->bus, (enum bus_bucket)i, key, data, len, &rev);
	if (err)
		return fail("bus: %s", strerror(-err));
	return json_pack("{s:b, s:I}", "ok", 1, "revision", (json_int_t)rev);
}

/* bpfmesh auth serve|connect on this node tells how a handshake ended (metrics). */
static json_t *handshake_report(struct agent *a, const json_t *req)
{
	const json_t *ok = json_object_get(req, "ok");

	if (!json_is_boolean(ok))
		return fail("%s", "handshake-report needs ok true|false");
	if (json_is_true(ok))
		a->n_handshakes++;
	else
		a->n_handshake_failures++;
	return json_pack("{s:b}", "ok", 1);
}

/* See agent_priv.h. */
json_t *agent_handle(struct agent *a, const json_t *req)
{
	const char *op = json_string_value(json_object_get(req, "op"));
	const json_t *ep;
	json_t *reply;

	if (!op)
		return fail("%s", "request without op");
	pr_debug("agent: socket request %s", op);
	reply = agent_sched_handle(a, op, req);
	if (reply)
		return reply;
	if (!strcmp(op, "status")) {
		reply = status(a);
		json_object_set_new(reply, "mode", json_string(a->mode)); /* bpf or rootless */
		return reply;
	}
	if (!strcmp(op, "policy-publish"))
		return publish_policy(a, req);
	if (!strcmp(op, "endpoint-put"))
		return put_endpoint(a, req);
	if (!strcmp(op, "endpoint-delete")) {
		ep = json_object_get(req, "key");
		if (!json_is_string(ep))
			return fail("%s", "endpoint-delete needs key NAMESPACE.NAME");
		return delete_key(a, BUS_BUCKET_ENDPOINTS, json_string_value(ep));
	}
	if (!strcmp(op, "revoke"))
		return revocation(a, req, false);
	if (!strcmp(op, "unrevoke"))
		return revocation(a, req, true);
	if (!strcmp(op, "raw"))
		return raw(a, req);
	if (!strcmp(op, "handshake-report"))
		return handshake_report(a, req);
	return fail("unknown op '%s'", op);
}
