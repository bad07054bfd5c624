// SPDX-License-Identifier: GPL-2.0-only
/* Pod specs of workload manifests: containers, placement constraints, identity. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "ident_id.h"
#include "ident_issue.h"
#include "workload_priv.h"

/* Fields the runtime has no use for: accepted without a warning. */
static const char *const pod_ignored[] = {"restartPolicy", "terminationGracePeriodSeconds",
					  "dnsPolicy", "schedulerName", NULL};
static const char *const ctr_ignored[] = {"imagePullPolicy", "terminationMessagePath",
					  "terminationMessagePolicy", NULL};

/* See workload_priv.h. */
int wl_each(struct mf_ctx *c, const struct mf_node *obj, const char *key, wl_item_fn fn, void *arg)
{
	struct mf_node n = mf_member(c, obj, key), item;
	size_t i, mark = mf_enter_key(c, key), imark;
	int err = 0;

	if (n.v && mf_want_array(c, &n))
		err = -EINVAL;
	for (i = 0; !err && i < json_array_size(n.v); i++) {
		item = mf_element(c, &n, i);
		imark = mf_enter_index(c, i);
		if (fn(c, &item, arg))
			err = -EINVAL;
		mf_leave(c, imark);
	}
	mf_leave(c, mark);
	return err;
}

/* See workload_priv.h. */
int wl_get_int(struct mf_ctx *c, const struct mf_node *obj, const char *key, long long min,
	       long long max, long long *out)
{
	struct mf_node n = mf_member(c, obj, key);
	size_t mark = mf_enter_key(c, key);
	long long v;
	int err = 0;

	if (n.v && !mf_node_int(c, &n, &v)) {
		if (v < min || v > max)
			err = mf_error(c, n.pos, "must be between %lld and %lld (got %lld)", min,
				       max, v);
		else
			*out = v;
	} else if (n.v) {
		err = -EINVAL;
	}
	mf_leave(c, mark);
	return err;
}

static int add_string(struct mf_ctx *c, const struct mf_node *item, void *arg)
{
	struct {
		char ***v;
		size_t *n;
	} *dst = arg;
	const char *s;
	char **slot;

	if (mf_node_string(c, item, &s))
		return -EINVAL;
	slot = mf_append(c, dst->v, dst->n, sizeof(*slot));
	if (!slot)
		return -ENOMEM;
	*slot = mf_strdup(c, s);
	return 0;
}

/* See workload_priv.h. */
int wl_get_strv(struct mf_ctx *c, const struct mf_node *obj, const char *key, char ***out,
		size_t *n)
{
	struct {
		char ***v;
		size_t *n;
	} dst = {out, n};

	return wl_each(c, obj, key, add_string, &dst);
}

/* See workload_priv.h. */
int wl_get_string_map(struct mf_ctx *c, const struct mf_node *obj, const char *key,
		      struct pm_labels *out)
{
	struct mf_node n = mf_member(c, obj, key), v;
	size_t mark = mf_enter_key(c, key), kmark;
	const char *k, *s;
	json_t *jv;
	int err = 0;

	if (n.v && mf_want_object(c, &n))
		err = -EINVAL;
	json_object_foreach (err ? NULL : n.v, k, jv) {
		v = mf_member(c, &n, k);
		kmark = mf_enter_key(c, k);
		if (!v.v)
			s = "";
		else if (mf_node_string(c, &v, &s))
			err = -EINVAL;
		if (!err && mf_labels_set(c, out, k, s))
			err = -ENOMEM;
		mf_leave(c, kmark);
	}
	mf_leave(c, mark);
	return err;
}

/* See workload_priv.h. */
int wl_parse_quantities(struct mf_ctx *c, const struct mf_node *res, const char *key,
			const char *const *ignored, struct wl_resources *out)
{
	static const char *const known[] = {"cpu", "memory", NULL};
	struct mf_node n = mf_member(c, res, key), q;
	size_t mark = mf_enter_key(c, key), qmark;
	const char *names[] = {"cpu", "memory"}, *s;
	uint64_t *dst[] = {&out->cpu_milli, &out->mem_bytes};
	uint64_t scale[] = {1000, 1};
	char num[32];
	int i, err = 0;

	if (n.v && mf_want_object(c, &n))
		err = -EINVAL;
	for (i = 0; n.v && !err && i < 2; i++) {
		q = mf_member(c, &n, names[i]);
		if (!q.v)
			continue;
		qmark = mf_enter_key(c, names[i]);
		if (json_is_integer(q.v) || json_is_real(q.v)) {
			snprintf(num, sizeof(num), "%.17g", json_number_value(q.v));
			s = num;
		} else if (mf_node_string(c, &q, &s)) {
			s = NULL;
			err = -EINVAL;
		}
		if (s && wl_parse_quantity(s, scale[i], dst[i]))
			err = mf_error(c, q.pos, "invalid quantity \"%s\"", s);
		mf_leave(c, qmark);
	}
	if (n.v && !err)
		mf_check_fields(c, &n, known, ignored);
	mf_leave(c, mark);
	return err;
}

static int parse_resources(struct mf_ctx *c, const struct mf_node *ctr, struct wl_container *out)
{
	static const char *const known[] = {"requests", "limits", NULL};
	struct mf_node n = mf_member(c, ctr, "resources");
	size_t mark = mf_enter_key(c, "resources");
	int err = 0;

	if (n.v && mf_want_object(c, &n))
		err = -EINVAL;
	else if (n.v) {
		mf_check_fields(c, &n, known, NULL);
		err = wl_parse_quantities(c, &n, "requests", NULL, &out->requests) |
		      wl_parse_quantities(c, &n, "limits", NULL, &out->limits);
	}
	/* as in Kubernetes: a limit without a request is also the request */
	if (!out->requests.cpu_milli)
		out->requests.cpu_milli = out->limits.cpu_milli;
	if (!out->requests.mem_bytes)
		out->requests.mem_bytes = out->limits.mem_bytes;
	if (!err && out->limits.cpu_milli && out->requests.cpu_milli > out->limits.cpu_milli)
		err = mf_error(c, n.pos, "requests.cpu must not exceed limits.cpu");
	if (!err && out->limits.mem_bytes && out->requests.mem_bytes > out->limits.mem_bytes)
		err = mf_error(c, n.pos, "requests.memory must not exceed limits.memory");
	mf_leave(c, mark);
	return err ? -EINVAL : 0;
}

static int parse_env_from_ref(struct mf_ctx *c, const struct mf_node *n, struct wl_env *e)
{
	static const char *const known[] = {"configMapKeyRef", NULL};
	static const char *const ref_known[] = {"name", "key", "optional", NULL};
	struct mf_node ref = mf_member(c, n, "configMapKeyRef");
	size_t mark = mf_enter_key(c, "configMapKeyRef");
	const char *name = NULL, *key = NULL;
	int err = 0;

	mf_check_fields(c, n, known, NULL);
	if (!ref.v)
		err = mf_error(c, ref.pos, "required field is missing (the only supported source)");
	else if (mf_want_object(c, &ref))
		err = -EINVAL;
	else {
		mf_check_fields(c, &ref, ref_known, NULL);
		err = mf_get_string(c, &ref, "name", true, &name) |
		      mf_get_string(c, &ref, "key", true, &key);
	}
	mf_leave(c, mark);
	if (err || !name || !key)
		return -EINVAL;
	e->cm_name = mf_strdup(c, name);
	e->cm_key = mf_strdup(c, key);
	return 0;
}

static int parse_env(struct mf_ctx *c, const struct mf_node *item, void *arg)
{
	static const char *const known[] = {"name", "value", "valueFrom", NULL};
	struct wl_container *ctr = arg;
	struct wl_env *e = mf_append(c, &ctr->env, &ctr->n_env, sizeof(*e));
	struct mf_node from = mf_member(c, item, "valueFrom");
	const char *name, *value = NULL;
	size_t mark;
	int err;

	if (!e || mf_want_object(c, item))
		return -EINVAL;
	mf_check_fields(c, item, known, NULL);
	err = mf_get_string(c, item, "name", true, &name) |
	      mf_get_string(c, item, "value", false, &value);
	if (err || !name)
		return -EINVAL;
	e->name = mf_strdup(c, name);
	if (from.v) {
		mark = mf_enter_key(c, "valueFrom");
		err = mf_want_object(c, &from) ? -EINVAL : parse_env_from_ref(c, &from, e);
		mf_leave(c, mark);
		return err;
	}
	e->value = mf_strdup(c, value ? value : "");
	return 0;
}

static int parse_env_from(struct mf_ctx *c, const struct mf_node *item, void *arg)
{
	static const char *const known[] = {"configMapRef", NULL};
	struct wl_container *ctr = arg;
	struct mf_node ref = mf_member(c, item, "configMapRef");
	const char *name = NULL;
	size_t mark;
	char **slot;
	int err;

	if (mf_want_object(c, item))
		return -EINVAL;
	mf_check_fields(c, item, known, NULL);
	if (!ref.v)
		return mf_error_at(c, item, "configMapRef",
				   "required field is missing (the only supported source)");
	mark = mf_enter_key(c, "configMapRef");
	err = mf_want_object(c, &ref) ? -EINVAL : mf_get_string(c, &ref, "name", true, &name);
	mf_leave(c, mark);
	if (err || !name)
		return -EINVAL;
	slot = mf_append(c, &ctr->env_from_cm, &ctr->n_env_from_cm, sizeof(*slot));
	if (!slot)
		return -ENOMEM;
	*slot = mf_strdup(c, name);
	return 0;
}

/* See workload_priv.h. */
int wl_parse_protocol(struct mf_ctx *c, const struct mf_node *n, uint8_t *out)
{
	const char *proto;

	*out = IPPROTO_TCP;
	if (mf_get_string(c, n, "protocol", false, &proto))
		return -EINVAL;
	if (!proto || !strcmp(proto, "TCP"))
		return 0;
	if (!strcmp(proto, "UDP"))
		*out = IPPROTO_UDP;
	else if (!strcmp(proto, "SCTP"))
		*out = IPPROTO_SCTP;
	else
		return mf_error_at(c, n, "protocol",
				   "unsupported protocol \"%s\" (TCP, UDP or SCTP)", proto);
	return 0;
}

static int parse_ctr_port(struct mf_ctx *c, const struct mf_node *item, void *arg)
{
	static const char *const known[] = {"name", "containerPort", "protocol", NULL};
	struct wl_container *ctr = arg;
	struct wl_port *p = mf_append(c, &ctr->ports, &ctr->n_ports, sizeof(*p));
	const char *name = NULL, *why;
	long long port = 0;
	int err;

	if (!p || mf_want_object(c, item))
		return -EINVAL;
	mf_check_fields(c, item, known, NULL);
	if (!mf_member(c, item, "containerPort").v)
		return mf_error_at(c, item, "containerPort", "required field is missing");
	err = wl_get_int(c, item, "containerPort", 1, 65535, &port) |
	      wl_parse_protocol(c, item, &p->protocol) |
	      mf_get_string(c, item, "name", false, &name);
	p->port = p->target_port = (uint16_t)port;
	if (!err && name && (why = mf_port_name_error(name)))
		return mf_error_at(c, item, "name", "invalid port name \"%s\": %s", name, why);
	if (name)
		p->name = mf_strdup(c, name);
	return err ? -EINVAL : 0;
}

static int parse_container(struct mf_ctx *c, const struct mf_node *item, void *arg)
{
	static const char *const known[] = {"name",    "image", "command",   "args", "env",
					    "envFrom", "ports", "resources", NULL};
	struct wl_pod_spec *pod = arg;
	struct wl_container *ctr = mf_append(c, &pod->containers, &pod->n_containers, sizeof(*ctr));
	const char *name, *image, *why;
	int err;

	if (!ctr || mf_want_object(c, item))
		return -EINVAL;
	mf_check_fields(c, item, known, ctr_ignored);
	err = mf_get_string(c, item, "name", true, &name) |
	      mf_get_string(c, item, "image", false, &image);
	if (!err && (why = mf_dns_label_error(name)))
		err = mf_error_at(c, item, "name", "invalid container name \"%s\": %s", name, why);
	if (!err) {
		ctr->name = mf_strdup(c, name);
		ctr->image = image ? mf_strdup(c, image) : NULL;
	}
	err |= wl_get_strv(c, item, "command", &ctr->command, &ctr->n_command);
	err |= wl_get_strv(c, item, "args", &ctr->args, &ctr->n_args);
	err |= wl_each(c, item, "env", parse_env, ctr);
	err |= wl_each(c, item, "envFrom", parse_env_from, ctr);
	err |= wl_each(c, item, "ports", parse_ctr_port, ctr);
	err |= parse_resources(c, item, ctr);
	return err ? -EINVAL : 0;
}

static const struct {
	const char *name;
	enum wl_node_op op;
	int n_values; /* -1: one or more, 0: none, 1: exactly one integer */
} node_ops[] = {
	{"In", WL_NODE_IN, -1},	       {"NotIn", WL_NODE_NOT_IN, -1},
	{"Exists", WL_NODE_EXISTS, 0}, {"DoesNotExist", WL_NODE_DOES_NOT_EXIST, 0},
	{"Gt", WL_NODE_GT, 1},	       {"Lt", WL_NODE_LT, 1},
};

static int parse_node_expr(struct mf_ctx *c, const struct mf_node *item, void *arg)
{
	static const char *const known[] = {"key", "operator", "values", NULL};
	struct wl_node_term *t = arg;
	struct wl_node_expr *e = mf_append(c, &t->exprs, &t->n_exprs, sizeof(*e));
	const char *key, *op;
	size_t i, nops = sizeof(node_ops) / sizeof(node_ops[0]);
	int err;

	if (!e || mf_want_object(c, item))
		return -EINVAL;
	mf_check_fields(c, item, known, NULL);
	err = mf_get_string(c, item, "key", true, &key) |
	      mf_get_string(c, item, "operator", true, &op) |
	      wl_get_strv(c, item, "values", &e->values, &e->n_values);
	if (err || !key || !op)
		return -EINVAL;
	e->key = mf_strdup(c, key);
	for (i = 0; i < nops && strcmp(node_ops[i].name, op); i++)
		;
	if (i == nops)
		return mf_error_at(c, item, "operator",
				   "unsupported operator \"%s\" (In, NotIn, Exists, DoesNotExist, "
				   "Gt, Lt)",
				   op);
	e->op = node_ops[i].op;
	if ((node_ops[i].n_values < 0 && !e->n_values) ||
	    (node_ops[i].n_values >= 0 && e->n_values != (size_t)node_ops[i].n_values))
		return mf_error_at(c, item, "values", "wrong number of values for operator %s", op);
	return 0;
}

static int parse_term(struct mf_ctx *c, const struct mf_node *item, void *arg)
{
	static const char *const known[] = {"matchExpressions", NULL};
	struct wl_pod_spec *pod = arg;
	struct wl_node_term *t = mf_append(c, &pod->terms, &pod->n_terms, sizeof(*t));

	if (!t || mf_want_object(c, item))
		return -EINVAL;
	mf_check_fields(c, item, known, NULL);
	return wl_each(c, item, "matchExpressions", parse_node_expr, t);
}

static int parse_affinity(struct mf_ctx *c, const struct mf_node *spec, struct wl_pod_spec *pod)
{
	static const char *const known[] = {"nodeAffinity", NULL};
	static const char *const na_known[] = {"requiredDuringSchedulingIgnoredDuringExecution",
					       NULL};
	static const char *const req_known[] = {"nodeSelectorTerms", NULL};
	struct mf_node aff = mf_member(c, spec, "affinity"), na, req;
	size_t mark = mf_enter_key(c, "affinity"), m2, m3;
	int err = 0;

	if (!aff.v || mf_want_object(c, &aff))
		goto out;
	mf_check_fields(c, &aff, known, NULL);
	na = mf_member(c, &aff, "nodeAffinity");
	m2 = mf_enter_key(c, "nodeAffinity");
	if (na.v && !mf_want_object(c, &na)) {
		mf_check_fields(c, &na, na_known, NULL);
		req = mf_member(c, &na, "requiredDuringSchedulingIgnoredDuringExecution");
		m3 = mf_enter_key(c, "requiredDuringSchedulingIgnoredDuringExecution");
		if (req.v && !mf_want_object(c, &req)) {
			mf_check_fields(c, &req, req_known, NULL);
			err = wl_each(c, &req, "nodeSelectorTerms", parse_term, pod);
		}
		mf_leave(c, m3);
	}
	mf_leave(c, m2);
out:
	mf_leave(c, mark);
	return err ? -EINVAL : 0;
}

static int parse_toleration(struct mf_ctx *c, const struct mf_node *item, void *arg)
{
	static const char *const known[] = {"key", "operator", "value", "effect", NULL};
	static const char *const ignored[] = {"tolerationSeconds", NULL};
	static const char *const effects[] = {"", "NoSchedule", "PreferNoSchedule", "NoExecute"};
	struct wl_pod_spec *pod = arg;
	struct wl_toleration *t = mf_append(c, &pod->tolerations, &pod->n_tolerations, sizeof(*t));
	const char *key = NULL, *op = NULL, *value = NULL, *effect = NULL;
	int i;

	if (!t || mf_want_object(c, item))
		return -EINVAL;
	mf_check_fields(c, item, known, ignored);
	if (mf_get_string(c, item, "key", false, &key) |
	    mf_get_string(c, item, "operator", false, &op) |
	    mf_get_string(c, item, "value", false, &value) |
	    mf_get_string(c, item, "effect", false, &effect))
		return -EINVAL;
	if (op && strcmp(op, "Equal") && strcmp(op, "Exists"))
		return mf_error_at(c, item, "operator", "must be Equal or Exists, not \"%s\"", op);
	t->is_exists = op && !strcmp(op, "Exists");
	if (!key && !t->is_exists)
		return mf_error_at(c, item, "key", "required unless operator is Exists");
	for (i = 1; effect && *effect && i < 4 && strcmp(effects[i], effect); i++)
		;
	if (effect && *effect && i == 4)
		return mf_error_at(c, item, "effect", "unknown effect \"%s\"", effect);
	t->effect = effect && *effect ? (enum wl_taint_effect)i : WL_EFFECT_ANY;
	t->key = key ? mf_strdup(c, key) : NULL;
	t->value = mf_strdup(c, value ? value : "");
	return 0;
}

static int make_identity(struct mf_ctx *c, const struct mf_node *spec, const char *ns,
			 const char *trust_domain, struct wl_pod_spec *pod)
{
	char id[512];
	int err;

	err = ident_workload_spiffe_id(trust_domain, ns, pod->service_account, id, sizeof(id));
	if (!err)
		err = ident_numeric_id(id, &pod->sec_id);
	if (err)
		return mf_error_at(c, spec, "serviceAccountName", "no identity for %s/%s: %s", ns,
				   pod->service_account, strerror(-err));
	pod->identity = mf_strdup(c, id);
	return 0;
}

/* See workload_priv.h. */
int wl_parse_pod_spec(struct mf_ctx *c, const struct mf_node *n, const char *ns,
		      const char *trust_domain, struct wl_pod_spec *pod)
{
	static const char *const known[] = {"containers",  "nodeSelector",	 "affinity",
					    "tolerations", "serviceAccountName", NULL};
	const char *sa = NULL, *why;
	int err;

	if (mf_want_object(c, n))
		return -EINVAL;
	mf_check_fields(c, n, known, pod_ignored);
	err = wl_each(c, n, "containers", parse_container, pod);
	if (!err && !pod->n_containers)
		err = mf_error_at(c, n, "containers", "must list at least one container");
	err |= wl_get_string_map(c, n, "nodeSelector", &pod->node_selector);
	err |= parse_affinity(c, n, pod);
	err |= wl_each(c, n, "tolerations", parse_toleration, pod);
	if (mf_get_string(c, n, "serviceAccountName", false, &sa))
		err = -EINVAL;
	else if (sa && (why = mf_dns_subdomain_error(sa)))
		err = mf_error_at(c, n, "serviceAccountName", "invalid name \"%s\": %s", sa, why);
	pod->service_account = mf_strdup(c, sa ? sa : "default");
	if (!err && pod->service_account)
		err = make_identity(c, n, ns, trust_domain, pod);
	return err ? -EINVAL : 0;
}
