// SPDX-License-Identifier: GPL-2.0-only
/*
 * Socket requests of `bpfmesh apply`, `delete` and `get`: workload objects
 * go to the bpfmesh-workloads bucket (checked first, all of them, as every
 * receiver will check them), NetworkPolicy/MeshPolicy objects are merged by
 * name into the policy sources and published as the next revision.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_priv.h"
#include "agent_sched_priv.h"
#include "log.h"
#include "workload_model.h"

static json_t *fail(const char *fmt, const char *arg, const char *arg2)
{
	char msg[1024];

	snprintf(msg, sizeof(msg), fmt, arg, arg2);
	return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

/* The value stored for one workload object. */
static json_t *workload_value(const struct agent *a, const json_t *w)
{
	return json_pack("{s:i, s:s, s:[{s:O, s:O}]}", "schema", BUS_SCHEMA, "node", a->cfg->node,
			 "sources", "name", json_object_get(w, "name"), "data",
			 json_object_get(w, "data"));
}

static bool is_named(const json_t *arr, const char *name, const char *field)
{
	const json_t *v;
	size_t i;

	json_array_foreach (arr, i, v) {
		if (field)
			v = json_object_get(v, field);
		if (json_is_string(v) && !strcmp(json_string_value(v), name))
			return true;
	}
	return false;
}

/*
 * The current policy sources without those named in drop (strings) or
 * put (objects with "name"), plus put. NULL when nothing is left to drop.
 */
static json_t *merged_policy(const struct agent *a, const json_t *put, const json_t *drop)
{
	json_t *out = json_array();
	const json_t *p;
	size_t i;

	for (i = 0; out && i < a->policy.n; i++) {
		if (is_named(drop, a->policy.items[i].name, NULL) ||
		    is_named(put, a->policy.items[i].name, "name"))
			continue;
		json_array_append_new(out, json_pack("{s:s, s:s%}", "name", a->policy.items[i].name,
						     "data", a->policy.items[i].data,
						     a->policy.items[i].len));
	}
	json_array_foreach (put, i, p)
		json_array_append(out, (json_t *)p);
	/* A revision always has a source: an empty policy is one empty file. */
	if (out && !json_array_size(out))
		json_array_append_new(out, json_pack("{s:s, s:s}", "name", "apply/empty.yaml",
						     "data", "# no policy objects\n"));
	return out;
}

/* Publish the merged policy through the ordinary policy path (checked there). */
static json_t *publish_policy(struct agent *a, json_t *sources, uint64_t *rev)
{
	json_t *req = json_pack("{s:s, s:o}", "op", "policy-publish", "sources", sources), *reply;

	if (!req)
		return fail("%s%s", "out of memory", "");
	reply = agent_handle(a, req);
	json_decref(req);
	if (json_is_true(json_object_get(reply, "ok"))) {
		*rev = (uint64_t)json_integer_value(json_object_get(reply, "revision"));
		json_decref(reply);
		return NULL;
	}
	return reply;
}

static json_t *result(const char *what, const char *outcome)
{
	return json_pack("{s:s, s:s}", "object", what, "result", outcome);
}

/* The name to show for a requested item: its "display", else its field. */
static const char *shown(const json_t *item, const char *field)
{
	const char *d = json_string_value(json_object_get(item, "display"));

	return d ? d
	       : json_is_string(json_object_get(item, field))
		       ? json_string_value(json_object_get(item, field))
		       : "?";
}

/*
 * Put one checked object under its bucket key store, unless it is there
 * unchanged; drop the keys an earlier version of it had under another
 * topic. Adds its result. 0 or -errno.
 */
static int put_workload(struct agent *a, const json_t *w, const char *store, json_t *results)
{
	const char *key = json_string_value(json_object_get(w, "key")),
		   *data = json_string_value(json_object_get(w, "data"));
	char **olds = NULL, *cur = NULL, *text;
	bool is_same = false;
	size_t i, n_olds = 0;
	json_t *val;
	int err;

	err = agent_wl_find(a, key, &olds, &n_olds);
	for (i = 0; !err && i < n_olds; i++) {
		if (strcmp(olds[i], store))
			continue;
		err = agent_wl_data(a, store, &cur);
		is_same = !err && cur && !strcmp(cur, data);
		err = err == -ENOENT ? 0 : err;
	}
	free(cur);
	if (!err && is_same && n_olds == 1) {
		bus_kv_keys_free(olds, n_olds);
		return json_array_append_new(results, result(shown(w, "key"), "unchanged")) ? -ENOMEM
											    : 0;
	}
	val = err ? NULL : workload_value(a, w);
	text = val ? json_dumps(val, JSON_COMPACT) : NULL;
	json_decref(val);
	if (!err)
		err = text ? bus_kv_put(a->bus, BUS_BUCKET_WORKLOADS, store, text, strlen(text), NULL)
			   : -ENOMEM;
	free(text);
	/* the new version is in place: its old topic's copy goes */
	for (i = 0; !err && i < n_olds; i++)
		if (strcmp(olds[i], store))
			err = bus_kv_put(a->bus, BUS_BUCKET_WORKLOADS, olds[i], NULL, 0, NULL);
	if (!err && json_array_append_new(results,
					  result(shown(w, "key"), n_olds ? "configured" : "created")))
		err = -ENOMEM;
	bus_kv_keys_free(olds, n_olds);
	return err;
}

static json_t *wl_apply(struct agent *a, const json_t *req)
{
	const json_t *wls = json_object_get(req, "workloads"),
		     *pol = json_object_get(req, "policy");
	json_t *results = json_array(), *val, *w, *err_reply;
	char (*store)[AGENT_WL_KEY_MAX] = NULL;
	const char *key, *data;
	char why[768], *text;
	uint64_t rev = 0;
	size_t i;
	int err;

	if ((wls && !json_is_array(wls)) || (pol && !json_is_array(pol)) || !results)
		return fail("%s%s", "wl-apply needs arrays workloads and policy", "");
	store = calloc(json_array_size(wls) + 1, sizeof(*store));
	if (!store) {
		json_decref(results);
		return fail("%s%s", "out of memory", "");
	}
	/* Check everything before anything is published. */
	json_array_foreach (wls, i, w) {
		key = json_string_value(json_object_get(w, "key"));
		data = json_string_value(json_object_get(w, "data"));
		if (!key || !data || !json_is_string(json_object_get(w, "name")) ||
		    !bus_is_valid_key(key)) {
			free(store);
			json_decref(results);
			return fail("%s%s", "each workload needs a valid key, a name and data", "");
		}
		val = workload_value(a, w);
		text = val ? json_dumps(val, JSON_COMPACT) : NULL;
		json_decref(val);
		err = text ? agent_workload_check(key, text, strlen(text), a->cfg->trust_domain,
						  store[i], why, sizeof(why))
			   : -ENOMEM;
		free(text);
		if (err) {
			free(store);
			json_decref(results);
			return fail("rejected, nothing applied: %s: %s", key,
				    err == -ENOMEM ? "out of memory" : why);
		}
	}
	if (json_array_size(pol)) {
		err_reply = publish_policy(a, merged_policy(a, pol, NULL), &rev);
		if (err_reply) {
			free(store);
			json_decref(results);
			return err_reply;
		}
		json_array_foreach (pol, i, w)
			json_array_append_new(results, result(shown(w, "name"), "published"));
	}
	json_array_foreach (wls, i, w) {
		err = put_workload(a, w, store[i], results);
		if (err) {
			free(store);
			json_decref(results);
			return fail("bus: %s (objects before %s were published)", strerror(-err),
				    json_string_value(json_object_get(w, "key")));
		}
	}
	free(store);
	return json_pack("{s:b, s:o, s:I}", "ok", 1, "results", results, "revision",
			 (json_int_t)rev);
}

static bool policy_has(const struct agent *a, const char *name)
{
	size_t i;

	for (i = 0; i < a->policy.n; i++)
		if (!strcmp(a->policy.items[i].name, name))
			return true;
	return false;
}

static json_t *wl_delete(struct agent *a, const json_t *req)
{
	const json_t *wls = json_object_get(req, "workloads"),
		     *pol = json_object_get(req, "policy");
	json_t *results = json_array(), *names = json_array(), *err_reply, *w;
	size_t i, k, n_keys, n_found = 0;
	uint64_t rev = 0;
	const char *key;
	char **keys;
	bool is_found;
	int err;

	if ((wls && !json_is_array(wls)) || (pol && !json_is_array(pol)) || !results || !names) {
		json_decref(results);
		json_decref(names);
		return fail("%s%s", "wl-delete needs arrays workloads and policy", "");
	}
	json_array_foreach (pol, i, w) {
		key = json_string_value(json_object_get(w, "name"));
		is_found = key && policy_has(a, key);
		n_found += is_found;
		if (is_found)
			json_array_append(names, json_object_get(w, "name"));
		json_array_append_new(results,
				      result(shown(w, "name"), is_found ? "deleted" : "not found"));
	}
	if (n_found) {
		err_reply = publish_policy(a, merged_policy(a, NULL, names), &rev);
		if (err_reply) {
			json_decref(results);
			json_decref(names);
			return err_reply;
		}
	}
	json_decref(names);
	json_array_foreach (wls, i, w) {
		key = json_string_value(json_object_get(w, "key"));
		keys = NULL;
		n_keys = 0;
		err = key && bus_is_valid_key(key) ? agent_wl_find(a, key, &keys, &n_keys) : 0;
		for (k = 0; !err && k < n_keys; k++)
			err = bus_kv_put(a->bus, BUS_BUCKET_WORKLOADS, keys[k], NULL, 0, NULL);
		bus_kv_keys_free(keys, n_keys);
		if (err) {
			json_decref(results);
			return fail("bus: %s (deleting %s)", strerror(-err), key);
		}
		json_array_append_new(results,
				      result(shown(w, "key"), n_keys ? "deleted" : "not found"));
	}
	return json_pack("{s:b, s:o, s:I}", "ok", 1, "results", results, "revision",
			 (json_int_t)rev);
}

static size_t placed_on(const struct agent_sched *s, const char *node)
{
	size_t i, n = 0;

	for (i = 0; i < s->n_reps; i++)
		n += !strcmp(s->reps[i].node, node);
	return n;
}

static json_t *get_nodes(struct agent *a)
{
	json_t *view = agent_view_json(a), *e;
	size_t i;

	if (!view)
		return fail("%s%s", "out of memory", "");
	json_array_foreach (view, i, e) {
		const char *name = json_string_value(json_object_get(e, "name"));

		json_object_set_new(e, "alive", json_true());
		json_object_set_new(e, "self", json_boolean(!strcmp(name, a->cfg->node)));
		json_object_set_new(e, "replicas",
				    json_integer((json_int_t)placed_on(&a->sched, name)));
	}
	for (i = 0; i < a->n_peers; i++)
		if (!a->peers[i].is_alive)
			json_array_append_new(view,
					      json_pack("{s:s, s:b, s:b}", "name", a->peers[i].name,
							"alive", 0, "self", 0));
	return json_pack("{s:b, s:s, s:o}", "ok", 1, "node", a->cfg->node, "nodes", view);
}

static int by_key_field(const void *x, const void *y)
{
	return strcmp(json_string_value(json_object_get(*(json_t *const *)x, "key")),
		      json_string_value(json_object_get(*(json_t *const *)y, "key")));
}

/* Sort an array of objects by their "key" member, in place. */
static json_t *sorted(json_t *arr)
{
	size_t i, n = json_array_size(arr);
	json_t **v = calloc(n + 1, sizeof(*v)), *out;

	if (!v)
		return arr;
	for (i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(arr, i));
	if (n > 1)
		qsort(v, n, sizeof(*v), by_key_field);
	out = json_array();
	for (i = 0; out && i < n; i++)
		json_array_append_new(out, v[i]);
	if (!out)
		for (i = 0; i < n; i++)
			json_decref(v[i]);
	free(v);
	json_decref(arr);
	return out;
}

static const char *holder_of(const struct agent_sched *s, const char *rep_key, char *buf,
			     size_t len)
{
	size_t i;
	char *p;

	snprintf(buf, len, "sts.%s", rep_key);
	for (p = buf; *p; p++)
		if (*p == '/')
			*p = '.';
	for (i = 0; i < s->n_claims; i++)
		if (!strcmp(s->claims[i].key, buf))
			return s->claims[i].holder;
	return "";
}

static json_t *local_pods(const struct agent_sched *s, const struct wl_object *o)
{
	json_t *arr = json_array();
	size_t i, j;

	for (i = 0; arr && i < s->n_local; i++) {
		if (s->local[i].pid <= 0 || strcmp(s->local[i].ns, o->ns))
			continue;
		for (j = 0; j < s->n_reps; j++)
			if (s->reps[j].obj == o && !strcmp(s->reps[j].key, s->local[i].key))
				json_array_append_new(arr, json_pack("{s:s, s:s, s:i}", "pod",
								     s->local[i].pod, "address",
								     s->local[i].address, "pid",
								     s->local[i].pid));
	}
	return arr;
}

static json_t *get_workloads(struct agent *a)
{
	const struct agent_sched *s = &a->sched;
	json_t *objs = json_array(), *pl, *item;
	const struct wl_object *o;
	char key[400], buf[256];
	size_t i, j;

	for (i = 0; objs && s->model && i < s->model->n_objs; i++) {
		o = &s->model->objs[i];
		pl = json_array();
		for (j = 0; pl && j < s->n_reps; j++) {
			if (s->reps[j].obj != o)
				continue;
			item = json_pack("{s:s, s:s, s:s}", "key", s->reps[j].key, "pod",
					 s->reps[j].pod, "node", s->reps[j].node);
			if (item && s->reps[j].is_sts)
				json_object_set_new(item, "holder",
						    json_string(holder_of(s, s->reps[j].key, buf,
									  sizeof(buf))));
			json_array_append_new(pl, item);
		}
		snprintf(key, sizeof(key), "%s.%s.%s", o->ns, wl_kind_name(o->kind), o->name);
		json_array_append_new(
			objs, json_pack("{s:s, s:s, s:s, s:s, s:i, s:s?, s:s, s:o, s:o}", "key",
					key, "namespace", o->ns, "kind", wl_kind_name(o->kind),
					"name", o->name, "replicas", (int)o->replicas, "identity",
					o->pod.identity, "template", o->pod.template_hash,
					"placement", sorted(pl), "running_here", local_pods(s, o)));
	}
	return json_pack("{s:b, s:s, s:o}", "ok", 1, "node", a->cfg->node, "workloads",
			 sorted(objs));
}

static json_t *get_endpoints(struct agent *a)
{
	json_t *arr = json_array(), *doc, *meta, *spec;
	size_t i;

	for (i = 0; arr && i < a->endpoints.n; i++) {
		doc = json_loads(a->endpoints.v[i].doc, 0, NULL);
		meta = json_object_get(doc, "metadata");
		spec = json_object_get(doc, "spec");
		json_array_append_new(
			arr, json_pack("{s:s, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:I}",
				       "key", a->endpoints.v[i].key, "namespace",
				       json_object_get(meta, "namespace"), "name",
				       json_object_get(meta, "name"), "identity",
				       json_object_get(spec, "identity"), "addresses",
				       json_object_get(spec, "addresses"), "ports",
				       json_object_get(spec, "ports"), "node",
				       json_object_get(spec, "nodeName"), "labels",
				       json_object_get(meta, "labels"), "revision",
				       (json_int_t)a->endpoints.v[i].rev));
		json_decref(doc);
	}
	return json_pack("{s:b, s:s, s:o}", "ok", 1, "node", a->cfg->node, "endpoints",
			 sorted(arr));
}

/* See agent_sched.h. */
json_t *agent_sched_handle(struct agent *a, const char *op, const json_t *req)
{
	if (!strcmp(op, "wl-apply"))
		return wl_apply(a, req);
	if (!strcmp(op, "wl-delete"))
		return wl_delete(a, req);
	if (!strcmp(op, "get-nodes"))
		return get_nodes(a);
	if (!strcmp(op, "get-workloads"))
		return get_workloads(a);
	if (!strcmp(op, "get-endpoints"))
		return get_endpoints(a);
	return NULL;
}
