// SPDX-License-Identifier: GPL-2.0-only
/*
 * The bpfmesh-workloads and bpfmesh-claims buckets in the agent: values are
 * checked as a whole (schema 1, one object whose namespace, kind and name
 * give the key) and kept per key; the workload model is rebuilt from them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_priv.h"
#include "log.h"
#include "sched_topic.h"
#include "workload_model.h"

static void reject(struct agent *a, const struct agent_ev *ev, const char *why)
{
	a->n_rejected++;
	pr_warn("bus: rejected %s %s revision %llu: %s; nothing applied",
		ev->bucket == BUS_BUCKET_CLAIMS ? "claim" : "workload", ev->key,
		(unsigned long long)ev->rev, why);
}

/* The body as a schema-1 object, or NULL with why. */
static json_t *body(const char *data, size_t len, char *why, size_t why_len)
{
	json_error_t jerr;
	json_t *j = json_loadb(data, len, 0, &jerr), *schema;

	if (!j) {
		snprintf(why, why_len, "malformed JSON at line %d column %d: %s", jerr.line,
			 jerr.column, jerr.text);
		return NULL;
	}
	schema = json_object_get(j, "schema");
	if (!json_is_object(j) || !json_is_integer(schema))
		snprintf(why, why_len, "no integer \"schema\" field");
	else if (json_integer_value(schema) != BUS_SCHEMA)
		snprintf(why, why_len, "schema version %lld unsupported (this agent speaks %d)",
			 (long long)json_integer_value(schema), BUS_SCHEMA);
	else
		return j;
	json_decref(j);
	return NULL;
}

/*
 * Load one object's text into m; key must be the object's bucket key
 * (sched_object_key(): a placement request under its topic) or, when
 * store_key is given, may also be its NAMESPACE.KIND.NAME; store_key (room
 * for AGENT_WL_KEY_MAX) then gets the bucket key.
 */
static int load_object(struct wl_model *m, const char *key, const char *text,
		       const char *trust_domain, char *store_key, char *why, size_t why_len)
{
	char logical[AGENT_WL_KEY_MAX];
	struct wl_load_opts opts = {.trust_domain = trust_domain};
	const struct manifest_msg *first;
	struct manifest_diag diag;
	const struct wl_object *o;
	size_t before = m->n_objs;
	char want[AGENT_WL_KEY_MAX], name[300];
	int err;

	snprintf(name, sizeof(name), "bus/workload/%s", key);
	manifest_diag_init(&diag);
	err = wl_load(m, name, text, strlen(text), &opts, &diag);
	first = manifest_diag_first_error(&diag);
	if (err)
		snprintf(why, why_len, "%s", first && first->text ? first->text : strerror(-err));
	manifest_diag_release(&diag);
	if (err)
		return err;
	if (m->n_objs != before + 1) {
		snprintf(why, why_len, "the source must hold exactly one workload object, not %zu",
			 m->n_objs - before);
		return -EINVAL;
	}
	o = &m->objs[before];
	if (o->kind == WL_NODE) {
		snprintf(why, why_len, "Node objects are not workloads");
		return -EINVAL;
	}
	snprintf(logical, sizeof(logical), "%s.%s.%s", o->ns, wl_kind_name(o->kind), o->name);
	if (sched_object_key(o, want, sizeof(want)) < 0) {
		snprintf(why, why_len, "key of %s too long", logical);
		return -EINVAL;
	}
	if (strcmp(want, key) && (!store_key || strcmp(logical, key))) {
		snprintf(why, why_len, "key must be %s (its object's%s)", want,
			 strcmp(want, logical) ? " placement topic, namespace, kind and name"
					       : " namespace, kind and name");
		return -EINVAL;
	}
	if (store_key)
		snprintf(store_key, AGENT_WL_KEY_MAX, "%s", want);
	return 0;
}

/* The one source's data of a workload value; NULL with why. */
static const char *source_data(const json_t *j, char *why, size_t why_len)
{
	const json_t *srcs = json_object_get(j, "sources"), *s = json_array_get(srcs, 0);

	if (!json_is_array(srcs) || json_array_size(srcs) != 1 ||
	    !json_is_string(json_object_get(s, "data"))) {
		snprintf(why, why_len, "\"sources\" must be one {name, data} object");
		return NULL;
	}
	return json_string_value(json_object_get(s, "data"));
}

/* See agent_sched.h. */
int agent_workload_check(const char *key, const char *data, size_t len, const char *trust_domain,
			 char *store_key, char *why, size_t why_len)
{
	struct wl_model *m;
	const char *text;
	json_t *j;
	int err = -EINVAL;

	j = body(data, len, why, why_len);
	if (!j)
		return -EINVAL;
	text = source_data(j, why, why_len);
	m = text ? wl_model_new() : NULL;
	if (m)
		err = load_object(m, key, text, trust_domain, store_key, why, why_len);
	else if (text)
		snprintf(why, why_len, "out of memory");
	wl_model_free(m);
	json_decref(j);
	return err;
}

static void apply_workload(struct agent *a, const struct agent_ev *ev)
{
	struct agent_item it = {0}, *old = agent_items_find(&a->workloads, ev->key);
	char why[512];
	json_t *j;

	if (old && ev->rev <= old->rev)
		return;
	if (ev->is_delete) {
		if (old) {
			agent_items_remove(&a->workloads, ev->key);
			a->sched.is_dirty = true;
			pr_info("bus: workload %s deleted (revision %llu)", ev->key,
				(unsigned long long)ev->rev);
		}
		return;
	}
	if (agent_workload_check(ev->key, ev->data, ev->len, a->cfg->trust_domain, NULL, why,
				 sizeof(why)))
		return reject(a, ev, why);
	j = json_loadb(ev->data, ev->len, 0, NULL);
	it.doc = j ? strdup(source_data(j, why, sizeof(why))) : NULL;
	json_decref(j);
	it.key = strdup(ev->key);
	it.rev = ev->rev;
	if (!it.key || !it.doc || agent_items_put(&a->workloads, &it)) {
		free(it.key);
		free(it.doc);
		return reject(a, ev, "out of memory");
	}
	a->sched.is_dirty = true;
	pr_info("bus: workload %s updated (revision %llu)", ev->key, (unsigned long long)ev->rev);
}

static struct agent_claim *claim_get(struct agent_sched *s, const char *key, bool is_create)
{
	struct agent_claim *c;
	size_t i;

	for (i = 0; i < s->n_claims; i++)
		if (!strcmp(s->claims[i].key, key))
			return &s->claims[i];
	if (!is_create || strlen(key) >= sizeof(c->key))
		return NULL;
	c = realloc(s->claims, (s->n_claims + 1) * sizeof(*c));
	if (!c)
		return NULL;
	s->claims = c;
	c = &s->claims[s->n_claims++];
	memset(c, 0, sizeof(*c));
	snprintf(c->key, sizeof(c->key), "%s", key);
	return c;
}

static void apply_claim(struct agent *a, const struct agent_ev *ev)
{
	struct agent_claim *c;
	const json_t *node;
	char why[256];
	json_t *j = NULL;

	if (strncmp(ev->key, "sts.", 4))
		return reject(a, ev, "claim keys are sts.NAMESPACE.NAME.ORDINAL");
	if (!ev->is_delete) {
		j = body(ev->data, ev->len, why, sizeof(why));
		if (!j)
			return reject(a, ev, why);
		node = json_object_get(j, "node");
		if (!json_is_string(node) || json_string_length(node) >= sizeof(c->holder)) {
			json_decref(j);
			return reject(a, ev, "needs \"node\": the holder's name, \"\" when free");
		}
	}
	c = claim_get(&a->sched, ev->key, true);
	if (c && ev->rev > c->rev) {
		snprintf(c->holder, sizeof(c->holder), "%s",
			 j ? json_string_value(json_object_get(j, "node")) : "");
		c->rev = ev->rev;
		c->seen_ms = agent_now_ms();
		pr_debug("bus: claim %s: holder '%s' revision %llu", c->key, c->holder,
			 (unsigned long long)c->rev);
	}
	json_decref(j);
}

/* See agent_sched.h. */
void agent_sched_apply(struct agent *a, const struct agent_ev *ev)
{
	if (ev->bucket == BUS_BUCKET_WORKLOADS)
		apply_workload(a, ev);
	else
		apply_claim(a, ev);
}

/* See agent_sched.h. */
int agent_workloads_model(const struct agent *a, struct wl_model **out)
{
	struct wl_model *m = wl_model_new();
	char why[512];
	size_t i;

	if (!m)
		return -ENOMEM;
	/* Each value was checked on arrival; one that no longer loads is left out. */
	for (i = 0; i < a->workloads.n; i++)
		if (load_object(m, a->workloads.v[i].key, a->workloads.v[i].doc,
				a->cfg->trust_domain, NULL, why, sizeof(why)) == -ENOMEM) {
			wl_model_free(m);
			return -ENOMEM;
		}
	*out = m;
	return 0;
}
