// SPDX-License-Identifier: GPL-2.0-only
/*
 * Kubernetes workload manifests into the workload model: one input at a time
 * into a staging model, checked for duplicates, then moved into the caller's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workload_priv.h"

#define DEFAULT_TRUST_DOMAIN "cluster.local"

struct wl_ctx {
	struct mf_ctx mf; /* first: parsers take &w->mf */
	const struct wl_load_opts *opts;
	struct wl_model *st; /* staging */
	struct wl_object *obj; /* being parsed */
};

static struct wl_ctx *to_wl(struct mf_ctx *c)
{
	return (struct wl_ctx *)c;
}

static const char *trust_domain(const struct wl_ctx *w)
{
	return w->opts && w->opts->trust_domain ? w->opts->trust_domain : DEFAULT_TRUST_DOMAIN;
}

/* FNV-1a 64 of s, as 10 hex digits: stable names for pod template generations. */
static void hash_json(const json_t *v, char out[11])
{
	char *s = json_dumps(v, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
	uint64_t h = 0xcbf29ce484222325ULL;
	const char *p;

	for (p = s ? s : ""; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
	snprintf(out, 11, "%010llx", (unsigned long long)(h & 0xffffffffffULL));
	free(s);
}

static int parse_template_labels(struct mf_ctx *c, const struct mf_node *t)
{
	static const char *const known[] = {"labels", "annotations", NULL};
	static const char *const ignored[] = {"name", "namespace", "creationTimestamp", NULL};
	struct mf_node meta = mf_member(c, t, "metadata"), labels;
	size_t mark = mf_enter_key(c, "metadata"), lmark;
	int err = 0;

	if (meta.v && !mf_want_object(c, &meta)) {
		mf_check_fields(c, &meta, known, ignored);
		labels = mf_member(c, &meta, "labels");
		lmark = mf_enter_key(c, "labels");
		err = mf_parse_labels(c, &labels, &to_wl(c)->obj->pod.labels);
		mf_leave(c, lmark);
	}
	mf_leave(c, mark);
	if (wl_parse_annotations(c, &meta, &to_wl(c)->obj->pod))
		err = -EINVAL;
	return err;
}

static int parse_template(struct mf_ctx *c, const struct mf_node *spec)
{
	static const char *const known[] = {"metadata", "spec", NULL};
	struct wl_object *o = to_wl(c)->obj;
	struct mf_node t = mf_member(c, spec, "template"), pspec;
	size_t mark = mf_enter_key(c, "template"), smark;
	int err = 0;

	if (!t.v) {
		err = mf_error(c, t.pos, "required field is missing");
		goto out;
	}
	if (mf_want_object(c, &t)) {
		err = -EINVAL;
		goto out;
	}
	mf_check_fields(c, &t, known, NULL);
	err = parse_template_labels(c, &t);
	pspec = mf_member(c, &t, "spec");
	smark = mf_enter_key(c, "spec");
	if (!pspec.v)
		err = mf_error(c, pspec.pos, "required field is missing");
	else if (wl_parse_pod_spec(c, &pspec, o->ns, trust_domain(to_wl(c)), &o->pod))
		err = -EINVAL;
	mf_leave(c, smark);
	hash_json(t.v, o->pod.template_hash);
out:
	mf_leave(c, mark);
	return err;
}

static int parse_percent(struct mf_ctx *c, const struct mf_node *ru, const char *key,
			 struct wl_int_or_percent *out)
{
	struct mf_node n = mf_member(c, ru, key);
	unsigned int pct;
	const char *s;
	long long v;
	int used = 0;

	if (!n.v)
		return 0;
	if (!json_is_string(n.v)) {
		if (wl_get_int(c, ru, key, 0, 1000000, &v))
			return -EINVAL;
		out->value = (uint32_t)v;
		out->is_percent = false;
		return 0;
	}
	s = json_string_value(n.v);
	if (sscanf(s, "%u%%%n", &pct, &used) != 1 || s[used] || pct > 100)
		return mf_error_at(c, ru, key, "must be an integer or a percentage, not \"%s\"", s);
	out->value = pct;
	out->is_percent = true;
	return 0;
}

static void set_recreate(struct wl_object *o)
{
	o->max_surge = (struct wl_int_or_percent){0, false};
	o->max_unavailable = (struct wl_int_or_percent){100, true};
}

static int parse_strategy(struct mf_ctx *c, const struct mf_node *spec)
{
	static const char *const known[] = {"type", "rollingUpdate", NULL};
	static const char *const ru_known[] = {"maxSurge", "maxUnavailable", NULL};
	struct wl_object *o = to_wl(c)->obj;
	struct mf_node s = mf_member(c, spec, "strategy"), ru;
	size_t mark = mf_enter_key(c, "strategy"), m2;
	const char *type = NULL;
	int err = 0;

	o->max_surge = (struct wl_int_or_percent){25, true};
	o->max_unavailable = (struct wl_int_or_percent){25, true};
	if (!s.v || mf_want_object(c, &s))
		goto out;
	mf_check_fields(c, &s, known, NULL);
	if (mf_get_string(c, &s, "type", false, &type))
		err = -EINVAL;
	else if (type && !strcmp(type, "Recreate"))
		set_recreate(o);
	else if (type && strcmp(type, "RollingUpdate"))
		err = mf_error_at(c, &s, "type", "must be RollingUpdate or Recreate");
	ru = mf_member(c, &s, "rollingUpdate");
	m2 = mf_enter_key(c, "rollingUpdate");
	if (ru.v && !mf_want_object(c, &ru)) {
		mf_check_fields(c, &ru, ru_known, NULL);
		err |= parse_percent(c, &ru, "maxSurge", &o->max_surge) |
		       parse_percent(c, &ru, "maxUnavailable", &o->max_unavailable);
	}
	mf_leave(c, m2);
	if (!err && !o->max_surge.value && !o->max_unavailable.value)
		err = mf_error(c, s.pos, "maxSurge and maxUnavailable must not both be 0");
out:
	mf_leave(c, mark);
	return err ? -EINVAL : 0;
}

/* The selector must be present and select the template's labels (as Kubernetes requires). */
static int parse_workload_selector(struct mf_ctx *c, const struct mf_node *spec)
{
	struct wl_object *o = to_wl(c)->obj;
	struct mf_node sel = mf_member(c, spec, "selector");
	size_t mark = mf_enter_key(c, "selector");
	int err = 0;

	if (!sel.v)
		err = mf_error(c, sel.pos, "required field is missing");
	else if (mf_parse_selector(c, &sel, &o->selector))
		err = -EINVAL;
	else if (!pm_selector_matches(&o->selector, &o->pod.labels))
		err = mf_error(c, sel.pos, "does not select the pod template's labels");
	mf_leave(c, mark);
	return err;
}

static int parse_controller(struct mf_ctx *c, const struct mf_node *spec)
{
	static const char *const dep_known[] = {"replicas", "selector", "template", "strategy",
						NULL};
	static const char *const sts_known[] = {"replicas", "selector", "template", "serviceName",
						NULL};
	static const char *const ds_known[] = {"selector", "template", NULL};
	static const char *const ignored[] = {"minReadySeconds", "revisionHistoryLimit",
					      "progressDeadlineSeconds", "podManagementPolicy",
					      NULL};
	struct wl_object *o = to_wl(c)->obj;
	long long replicas = 1;
	int err;

	mf_check_fields(c, spec,
			o->kind == WL_DEPLOYMENT    ? dep_known
			: o->kind == WL_STATEFULSET ? sts_known
						    : ds_known,
			ignored);
	err = parse_template(c, spec);
	if (!err)
		err = parse_workload_selector(c, spec);
	if (o->kind != WL_DAEMONSET && wl_get_int(c, spec, "replicas", 0, 100000, &replicas))
		err = -EINVAL;
	o->replicas = o->kind == WL_DAEMONSET ? 0 : (uint32_t)replicas;
	if (o->kind == WL_DEPLOYMENT && parse_strategy(c, spec))
		err = -EINVAL;
	return err;
}

static int parse_pod(struct mf_ctx *c, const struct mf_node *spec)
{
	struct wl_object *o = to_wl(c)->obj;
	size_t i;
	int err;

	o->replicas = 1;
	err = wl_parse_pod_spec(c, spec, o->ns, trust_domain(to_wl(c)), &o->pod);
	for (i = 0; !err && i < o->labels.n; i++)
		err = mf_labels_set(c, &o->pod.labels, o->labels.items[i].key,
				    o->labels.items[i].value);
	hash_json(spec->v, o->pod.template_hash);
	return err;
}

static int parse_svc_port(struct mf_ctx *c, const struct mf_node *item, void *arg)
{
	static const char *const known[] = {"name", "port", "targetPort", "protocol", NULL};
	struct wl_object *o = arg;
	struct wl_port *p = mf_append(c, &o->svc_ports, &o->n_svc_ports, sizeof(*p));
	struct mf_node tp;
	const char *name = NULL;
	long long port = 0, target = 0;
	int err;

	if (!p || mf_want_object(c, item))
		return -EINVAL;
	mf_check_fields(c, item, known, NULL);
	if (!mf_member(c, item, "port").v)
		return mf_error_at(c, item, "port", "required field is missing");
	tp = mf_member(c, item, "targetPort");
	err = wl_get_int(c, item, "port", 1, 65535, &port) |
	      mf_get_string(c, item, "name", false, &name);
	if (tp.v && json_is_string(tp.v) && !strspn(json_string_value(tp.v), "0123456789"))
		return mf_error_at(c, item, "targetPort", "named target ports are not supported");
	err |= wl_get_int(c, item, "targetPort", 1, 65535, &target) |
	       wl_parse_protocol(c, item, &p->protocol);
	p->port = (uint16_t)port;
	p->target_port = target ? (uint16_t)target : (uint16_t)port;
	p->name = name ? mf_strdup(c, name) : NULL;
	return err ? -EINVAL : 0;
}

static int parse_service(struct mf_ctx *c, const struct mf_node *spec)
{
	static const char *const known[] = {"selector", "ports", "type", NULL};
	static const char *const ignored[] = {"clusterIP",  "clusterIPs",     "sessionAffinity",
					      "ipFamilies", "ipFamilyPolicy", NULL};
	struct wl_object *o = to_wl(c)->obj;
	const char *type = NULL;
	int err;

	mf_check_fields(c, spec, known, ignored);
	err = wl_get_string_map(c, spec, "selector", &o->svc_selector) |
	      wl_each(c, spec, "ports", parse_svc_port, o);
	if (mf_get_string(c, spec, "type", false, &type))
		err = -EINVAL;
	else if (type && strcmp(type, "ClusterIP"))
		mf_warn_at(c, spec, "type", "unsupported service type %s (treated as ClusterIP)",
			   type);
	return err ? -EINVAL : 0;
}

static int parse_config_map(struct mf_ctx *c, const struct mf_node *doc)
{
	static const char *const known[] = {"apiVersion", "kind", "metadata", "data", NULL};
	static const char *const ignored[] = {"immutable", NULL};

	mf_check_fields(c, doc, known, ignored);
	return wl_get_string_map(c, doc, "data", &to_wl(c)->obj->data);
}

static int parse_service_account(struct mf_ctx *c, const struct mf_node *doc)
{
	static const char *const known[] = {"apiVersion", "kind", "metadata", NULL};
	static const char *const ignored[] = {"automountServiceAccountToken", "secrets",
					      "imagePullSecrets", NULL};

	mf_check_fields(c, doc, known, ignored);
	return 0;
}

static int parse_node(struct mf_ctx *c, const struct mf_node *doc)
{
	return wl_parse_node(c, doc, to_wl(c)->obj);
}

static const struct wl_kind_entry {
	const char *api_version;
	const char *kind;
	enum wl_kind wl;
	int (*parse_spec)(struct mf_ctx *c, const struct mf_node *spec); /* NULL: whole doc */
	int (*parse_doc)(struct mf_ctx *c, const struct mf_node *doc);
} wl_kinds[] = {
	{"v1", "Pod", WL_POD, parse_pod, NULL},
	{"apps/v1", "Deployment", WL_DEPLOYMENT, parse_controller, NULL},
	{"apps/v1", "StatefulSet", WL_STATEFULSET, parse_controller, NULL},
	{"apps/v1", "DaemonSet", WL_DAEMONSET, parse_controller, NULL},
	{"v1", "Service", WL_SERVICE, parse_service, NULL},
	{"v1", "ServiceAccount", WL_SERVICE_ACCOUNT, NULL, parse_service_account},
	{"v1", "ConfigMap", WL_CONFIG_MAP, NULL, parse_config_map},
	{"v1", "Node", WL_NODE, NULL, parse_node},
};

/* Kinds that manifest.c (the policy model) loads; wl_load() skips them. */
static const char *const policy_kinds[] = {
	"NetworkPolicy", "NetworkPolicyList", "MeshPolicy", "Endpoint",
	"Namespace",	 "NamespaceList",     NULL};

static const struct wl_kind_entry *find_kind(const char *kind)
{
	size_t i;

	for (i = 0; i < sizeof(wl_kinds) / sizeof(wl_kinds[0]); i++) {
		if (!strcmp(wl_kinds[i].kind, kind))
			return &wl_kinds[i];
	}
	return NULL;
}

static bool is_policy_kind(const char *kind)
{
	const char *const *k;

	for (k = policy_kinds; *k; k++) {
		if (!strcmp(*k, kind))
			return true;
	}
	return false;
}

/* See workload_model.h. */
bool wl_kind_is_workload(const char *kind)
{
	return find_kind(kind) != NULL;
}

static int parse_object(struct mf_ctx *c, const struct mf_node *doc, const struct wl_kind_entry *k)
{
	static const char *const known[] = {"apiVersion", "kind", "metadata", "spec", NULL};
	static const char *const ignored[] = {"status", NULL};
	struct wl_ctx *w = to_wl(c);
	struct wl_object *o = mf_append(c, &w->st->objs, &w->st->n_objs, sizeof(*o));
	struct mf_node spec = mf_member(c, doc, "spec"), md = mf_member(c, doc, "metadata");
	struct mf_meta meta;
	size_t mark;
	int err;

	if (!o)
		return -ENOMEM;
	w->obj = o;
	o->kind = k->wl;
	err = mf_parse_meta(c, doc, k->wl != WL_NODE, &meta, &o->labels);
	o->pos = mf_src_pos(c, meta.name_pos);
	if (err || !meta.name)
		return -EINVAL;
	o->ns = mf_strdup(c, meta.ns ? meta.ns : "");
	o->name = mf_strdup(c, meta.name);
	if (!o->ns || !o->name)
		return -ENOMEM;
	if (wl_parse_annotations(c, &md, &o->pod))
		return -EINVAL;
	if (k->parse_doc)
		return k->parse_doc(c, doc);
	mf_check_fields(c, doc, known, ignored);
	if (!spec.v)
		return mf_error_at(c, doc, "spec", "required field is missing");
	mark = mf_enter_key(c, "spec");
	err = mf_want_object(c, &spec) ? -EINVAL : k->parse_spec(c, &spec);
	mf_leave(c, mark);
	return err;
}

static int load_item(struct mf_ctx *c, const struct mf_node *item, void *arg);

static int load_document(struct mf_ctx *c, const struct mf_node *doc)
{
	const struct wl_kind_entry *k;
	const char *kind, *api;

	if (!doc->v || json_is_null(doc->v))
		return 0;
	if (!json_is_object(doc->v))
		return mf_error(c, doc->pos,
				"a manifest must be a mapping with apiVersion and kind");
	if ((mf_get_string(c, doc, "kind", true, &kind) |
	     mf_get_string(c, doc, "apiVersion", true, &api)) ||
	    !kind || !api)
		return -EINVAL;
	if (!strcmp(kind, "List") ||
	    (!find_kind(kind) && strstr(kind, "List") && !is_policy_kind(kind)))
		return wl_each(c, doc, "items", load_item, NULL);
	if (is_policy_kind(kind))
		return 0;
	k = find_kind(kind);
	if (!k) {
		mf_warn_at(c, doc, "kind", "unsupported kind %s (ignored)", kind);
		return 0;
	}
	if (strcmp(k->api_version, api))
		return mf_error_at(c, doc, "apiVersion",
				   "unsupported apiVersion %s for kind %s (want %s)", api, kind,
				   k->api_version);
	return parse_object(c, doc, k);
}

static int load_item(struct mf_ctx *c, const struct mf_node *item, void *arg)
{
	(void)arg;
	return load_document(c, item);
}

static void load_stream(struct mf_ctx *c, const struct yj_stream *ys)
{
	struct mf_node doc;
	size_t i;

	c->ys = ys;
	for (i = 0; i < yj_stream_n_docs(ys); i++) {
		memset(&doc, 0, sizeof(doc));
		doc.v = yj_stream_doc(ys, i);
		yj_doc_pos(ys, i, &doc.pos);
		mf_leave(c, 0);
		load_document(c, &doc);
	}
	c->ys = NULL;
}

/* Under --strict every warning of this load becomes an error. */
static void promote_warnings(struct mf_ctx *c, size_t first)
{
	struct manifest_diag *d = c->diag;
	struct manifest_msg *msg;
	const char *w;
	size_t i;

	for (i = first; i < d->n; i++) {
		msg = &d->msgs[i];
		if (msg->severity != MANIFEST_WARNING)
			continue;
		msg->severity = MANIFEST_ERROR;
		d->n_warnings--;
		d->n_errors++;
		c->n_errors++;
		w = msg->text ? strstr(msg->text, "warning: ") : NULL;
		if (w) /* "file:l:c: warning: x" -> "file:l:c: x" */
			memmove((char *)w, w + 9, strlen(w + 9) + 1);
	}
}

/* Duplicates within the staging model or against m are errors. */
static void check_duplicates(struct mf_ctx *c, const struct wl_model *m, const struct wl_model *st)
{
	const struct wl_object *o, *other;
	struct yj_pos pos;
	size_t i, j;

	for (i = 0; i < st->n_objs; i++) {
		o = &st->objs[i];
		other = wl_model_find(m, o->kind, o->ns, o->name);
		for (j = 0; !other && j < i; j++)
			if (st->objs[j].kind == o->kind && !strcmp(st->objs[j].ns, o->ns) &&
			    !strcmp(st->objs[j].name, o->name))
				other = &st->objs[j];
		if (!other)
			continue;
		pos = (struct yj_pos){o->pos.line, o->pos.column};
		mf_report(c, MANIFEST_ERROR, pos, "metadata.name",
			  "duplicate %s %s/%s (also at %s:%u)", wl_kind_name(o->kind), o->ns,
			  o->name, other->pos.file ? other->pos.file : "?", other->pos.line);
	}
}

/* Move everything staged into m. Returns 0 or -ENOMEM (m unchanged). */
static int commit(struct wl_model *m, struct wl_model *st)
{
	size_t n_objs = m->n_objs + st->n_objs, n_files = m->n_files + st->n_files;
	struct wl_object *objs = realloc(m->objs, (n_objs ? n_objs : 1) * sizeof(*objs));
	char **files;

	if (!objs)
		return -ENOMEM;
	m->objs = objs;
	files = realloc(m->files, (n_files ? n_files : 1) * sizeof(*files));
	if (!files)
		return -ENOMEM;
	m->files = files;
	if (st->n_objs)
		memcpy(m->objs + m->n_objs, st->objs, st->n_objs * sizeof(*objs));
	if (st->n_files)
		memcpy(m->files + m->n_files, st->files, st->n_files * sizeof(*files));
	m->n_objs = n_objs;
	m->n_files = n_files;
	st->n_objs = st->n_files = 0;
	return 0;
}

static int intern_file(struct wl_ctx *w, const char *name)
{
	char **slot = mf_append(&w->mf, &w->st->files, &w->st->n_files, sizeof(*slot));

	if (!slot)
		return -ENOMEM;
	*slot = mf_strdup(&w->mf, name);
	w->mf.file = name;
	w->mf.file_interned = *slot;
	return *slot ? 0 : -ENOMEM;
}

/* See workload_model.h. */
int wl_load(struct wl_model *m, const char *name, const char *buf, size_t len,
	    const struct wl_load_opts *opts, struct manifest_diag *diag)
{
	struct wl_ctx w = {.mf.diag = diag, .opts = opts};
	size_t first = diag->n;
	struct yj_stream *ys = NULL;
	struct yj_error yerr;
	int err;

	w.st = wl_model_new();
	if (!w.st)
		return -ENOMEM;
	err = intern_file(&w, name);
	if (err)
		goto out;
	err = buf ? yj_load_buffer(name, buf, len, &ys, &yerr) : yj_load_file(name, &ys, &yerr);
	if (err) {
		mf_report(&w.mf, MANIFEST_ERROR, yerr.pos, "", "%s", yerr.text);
		goto out;
	}
	load_stream(&w.mf, ys);
	check_duplicates(&w.mf, m, w.st);
	if (opts && opts->is_strict)
		promote_warnings(&w.mf, first);
	err = w.mf.oom ? w.mf.oom : w.mf.n_errors ? -EINVAL : commit(m, w.st);
out:
	yj_stream_free(ys);
	wl_model_free(w.st);
	return err;
}
