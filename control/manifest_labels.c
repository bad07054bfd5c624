// SPDX-License-Identifier: GPL-2.0-only
/* Labels, label selectors and object metadata of manifests. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "manifest_priv.h"

/* See manifest_priv.h. */
void mf_labels_release(struct pm_labels *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->items[i].key);
		free(l->items[i].value);
	}
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

/* See manifest_priv.h. */
int mf_labels_set(struct mf_ctx *c, struct pm_labels *l, const char *key, const char *value)
{
	char *v = mf_strdup(c, value);
	struct pm_label *slot;
	size_t i;
	int cmp = 1;

	if (!v)
		return -ENOMEM;
	for (i = 0; i < l->n && (cmp = strcmp(l->items[i].key, key)) < 0; i++)
		;
	if (i < l->n && !cmp) {
		free(l->items[i].value);
		l->items[i].value = v;
		return 0;
	}
	if (!mf_append(c, &l->items, &l->n, sizeof(*slot))) {
		free(v);
		return -ENOMEM;
	}
	memmove(&l->items[i + 1], &l->items[i], (l->n - 1 - i) * sizeof(*slot));
	l->items[i].value = v;
	l->items[i].key = mf_strdup(c, key);
	return l->items[i].key ? 0 : -ENOMEM;
}

/* One key: value of a labels map; a null value reads as "" (as Kubernetes does). */
static int check_label(struct mf_ctx *c, const struct mf_node *map, const char *key,
		       const char **value)
{
	const char *why = mf_qualified_name_error(key);
	struct mf_node v = mf_member(c, map, key);
	size_t mark = mf_enter_subscript(c, key);
	struct yj_pos kpos = map->pos;
	int err = 0;

	*value = "";
	yj_key_pos(c->ys, map->v, key, &kpos);
	if (why)
		err = mf_error(c, kpos, "invalid label key \"%s\": %s", key, why);
	if (v.v && mf_node_string(c, &v, value))
		err = -EINVAL;
	else if ((why = mf_label_value_error(*value)))
		err = mf_error(c, v.pos, "invalid label value \"%s\": %s", *value, why);
	mf_leave(c, mark);
	return err;
}

/* See manifest_priv.h. The node is the labels map itself (absent: no labels). */
int mf_parse_labels(struct mf_ctx *c, const struct mf_node *n, struct pm_labels *out)
{
	const char *key, *value = NULL;
	json_t *v;
	int err = 0;

	if (!n->v)
		return 0;
	if (mf_want_object(c, n))
		return -EINVAL;
	json_object_foreach (n->v, key, v) {
		value = NULL;
		if (check_label(c, n, key, &value))
			err = -EINVAL;
		else if (out && mf_labels_set(c, out, key, value))
			return -ENOMEM;
	}
	return err;
}

static const struct {
	const char *name;
	enum pm_sel_op op;
	bool has_values;
} operators[] = {
	{"In", PM_OP_IN, true},
	{"NotIn", PM_OP_NOT_IN, true},
	{"Exists", PM_OP_EXISTS, false},
	{"DoesNotExist", PM_OP_DOES_NOT_EXIST, false},
};

static int parse_operator(struct mf_ctx *c, const struct mf_node *expr, struct pm_sel_expr *out,
			  bool *has_values)
{
	const char *op;
	size_t i;
	int err;

	err = mf_get_string(c, expr, "operator", true, &op);
	if (err || !op)
		return err ? err : -EINVAL;
	for (i = 0; i < sizeof(operators) / sizeof(operators[0]); i++) {
		if (!strcmp(operators[i].name, op)) {
			out->op = operators[i].op;
			*has_values = operators[i].has_values;
			return 0;
		}
	}
	return mf_error_at(c, expr, "operator",
			   "unsupported operator \"%s\" (In, NotIn, Exists, DoesNotExist)", op);
}

static int parse_values(struct mf_ctx *c, const struct mf_node *n, struct pm_sel_expr *out)
{
	struct mf_node v;
	const char *s, *why;
	char **slot;
	size_t i, mark;
	int err = 0;

	if (mf_want_array(c, n))
		return -EINVAL;
	for (i = 0; i < json_array_size(n->v); i++) {
		v = mf_element(c, n, i);
		mark = mf_enter_index(c, i);
		if (mf_node_string(c, &v, &s))
			err = -EINVAL;
		else if ((why = mf_label_value_error(s)))
			err = mf_error(c, v.pos, "invalid label value \"%s\": %s", s, why);
		else if ((slot = mf_append(c, &out->values, &out->n_values, sizeof(*slot))))
			*slot = mf_strdup(c, s);
		mf_leave(c, mark);
	}
	return err;
}

static int parse_expr(struct mf_ctx *c, const struct mf_node *n, struct pm_sel_expr *out)
{
	static const char *const known[] = {"key", "operator", "values", NULL};
	struct mf_node values = mf_member(c, n, "values");
	bool has_values = false;
	const char *key, *why;
	int err = 0, op_err;
	size_t mark;

	if (mf_want_object(c, n))
		return -EINVAL;
	mf_check_fields(c, n, known, NULL);
	if (mf_get_string(c, n, "key", true, &key) || !key)
		err = -EINVAL;
	else if ((why = mf_qualified_name_error(key)))
		err = mf_error_at(c, n, "key", "invalid label key \"%s\": %s", key, why);
	else
		out->key = mf_strdup(c, key);
	op_err = parse_operator(c, n, out, &has_values);
	mark = mf_enter_key(c, "values");
	if (values.v && parse_values(c, &values, out))
		err = -EINVAL;
	else if (!op_err && has_values && !out->n_values)
		err = mf_error(c, values.pos, "must be specified when operator is In or NotIn");
	else if (!op_err && !has_values && out->n_values)
		err = mf_error(c, values.pos,
			       "may not be specified when operator is Exists or DoesNotExist");
	mf_leave(c, mark);
	return err ? err : op_err;
}

static int parse_exprs(struct mf_ctx *c, const struct mf_node *n, struct pm_selector *out)
{
	struct pm_sel_expr *e;
	struct mf_node item;
	size_t i, mark;
	int err = 0;

	if (mf_want_array(c, n))
		return -EINVAL;
	for (i = 0; i < json_array_size(n->v); i++) {
		item = mf_element(c, n, i);
		e = mf_append(c, &out->exprs, &out->n_exprs, sizeof(*e));
		if (!e)
			return -ENOMEM;
		mark = mf_enter_index(c, i);
		if (parse_expr(c, &item, e))
			err = -EINVAL;
		mf_leave(c, mark);
	}
	return err;
}

/* See manifest_priv.h. An absent (or null) selector stays !is_present. */
int mf_parse_selector(struct mf_ctx *c, const struct mf_node *n, struct pm_selector *out)
{
	static const char *const known[] = {"matchLabels", "matchExpressions", NULL};
	struct mf_node labels = mf_member(c, n, "matchLabels");
	struct mf_node exprs = mf_member(c, n, "matchExpressions");
	size_t mark;
	int err = 0;

	if (!n->v)
		return 0;
	if (mf_want_object(c, n))
		return -EINVAL;
	out->is_present = true;
	mf_check_fields(c, n, known, NULL);
	mark = mf_enter_key(c, "matchLabels");
	if (mf_parse_labels(c, &labels, &out->match_labels))
		err = -EINVAL;
	mf_leave(c, mark);
	mark = mf_enter_key(c, "matchExpressions");
	if (exprs.v && parse_exprs(c, &exprs, out))
		err = -EINVAL;
	mf_leave(c, mark);
	return err;
}

static int parse_name(struct mf_ctx *c, const struct mf_node *meta, bool has_ns,
		      struct mf_meta *out)
{
	const char *why;

	if (mf_get_string(c, meta, "name", true, &out->name) || !out->name)
		return -EINVAL;
	out->name_pos = mf_member(c, meta, "name").pos;
	why = has_ns ? mf_dns_subdomain_error(out->name) : mf_dns_label_error(out->name);
	if (why)
		return mf_error_at(c, meta, "name", "invalid name \"%s\": %s", out->name, why);
	return 0;
}

static int parse_namespace(struct mf_ctx *c, const struct mf_node *meta, bool has_ns,
			   struct mf_meta *out)
{
	const char *why;

	if (mf_get_string(c, meta, "namespace", false, &out->ns))
		return -EINVAL;
	if (!has_ns) {
		if (out->ns)
			mf_warn_at(c, meta, "namespace", "ignored: the kind is not namespaced");
		out->ns = NULL;
		return 0;
	}
	if (!out->ns)
		out->ns = "default";
	else if ((why = mf_dns_label_error(out->ns)))
		return mf_error_at(c, meta, "namespace", "invalid namespace \"%s\": %s", out->ns,
				   why);
	return 0;
}

/* See manifest_priv.h. */
int mf_parse_meta(struct mf_ctx *c, const struct mf_node *doc, bool has_ns, struct mf_meta *out,
		  struct pm_labels *labels)
{
	static const char *const known[] = {"name", "namespace", "labels", "annotations", NULL};
	static const char *const ignored[] = {
		"uid",
		"resourceVersion",
		"generation",
		"creationTimestamp",
		"managedFields",
		"ownerReferences",
		"finalizers",
		"generateName",
		"deletionTimestamp",
		"deletionGracePeriodSeconds",
		"selfLink",
		NULL,
	};
	struct mf_node meta = mf_member(c, doc, "metadata");
	size_t lab_mark, mark = mf_enter_key(c, "metadata");
	struct mf_node lab;
	int err = 0;

	memset(out, 0, sizeof(*out));
	out->name_pos = doc->pos;
	if (!meta.v) {
		err = mf_error(c, meta.pos, "required field is missing");
		goto out;
	}
	if (mf_want_object(c, &meta)) {
		err = -EINVAL;
		goto out;
	}
	mf_check_fields(c, &meta, known, ignored);
	if (parse_name(c, &meta, has_ns, out))
		err = -EINVAL;
	if (parse_namespace(c, &meta, has_ns, out))
		err = -EINVAL;
	lab = mf_member(c, &meta, "labels");
	lab_mark = mf_enter_key(c, "labels");
	if (mf_parse_labels(c, &lab, labels))
		err = -EINVAL;
	mf_leave(c, lab_mark);
out:
	mf_leave(c, mark);
	return err;
}
