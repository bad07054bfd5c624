// SPDX-License-Identifier: GPL-2.0-only
/* Manifest validation context: field paths, messages and typed accessors. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest_priv.h"

/* Append a formatted segment to the path, truncating; returns the old length. */
static size_t push(struct mf_ctx *c, const char *fmt, const char *a, const char *b)
{
	size_t mark = c->path_len;
	int len = snprintf(c->path + mark, sizeof(c->path) - mark, fmt, a, b);

	if (len > 0)
		c->path_len = mark + (size_t)len < sizeof(c->path) ? mark + (size_t)len
								   : sizeof(c->path) - 1;
	return mark;
}

/* See manifest_priv.h. */
size_t mf_enter_key(struct mf_ctx *c, const char *key)
{
	return push(c, "%s%s", c->path_len ? "." : "", key);
}

/* See manifest_priv.h. */
size_t mf_enter_index(struct mf_ctx *c, size_t index)
{
	char num[24];

	snprintf(num, sizeof(num), "%zu", index);
	return push(c, "[%s%s]", num, "");
}

/* See manifest_priv.h. */
size_t mf_enter_subscript(struct mf_ctx *c, const char *key)
{
	return push(c, "[%s%s]", key, "");
}

/* See manifest_priv.h. */
void mf_leave(struct mf_ctx *c, size_t mark)
{
	c->path_len = mark;
	c->path[mark] = '\0';
}

static char *format_text(const struct manifest_msg *msg)
{
	const char *sev = msg->severity == MANIFEST_WARNING ? "warning: " : "";
	char *text = NULL;
	int ret;

	if (msg->line)
		ret = asprintf(&text, "%s:%u:%u: %s%s%s%s", msg->file, msg->line, msg->column, sev,
			       msg->path, *msg->path ? ": " : "", msg->message);
	else
		ret = asprintf(&text, "%s: %s%s%s%s", msg->file, sev, msg->path,
			       *msg->path ? ": " : "", msg->message);
	return ret < 0 ? NULL : text;
}

static void vreport(struct mf_ctx *c, enum manifest_severity sev, struct yj_pos pos,
		    const char *path, const char *fmt, va_list ap)
{
	struct manifest_diag *d = c->diag;
	struct manifest_msg *msg;

	if (sev == MANIFEST_ERROR) {
		c->n_errors++;
		d->n_errors++;
	} else {
		d->n_warnings++;
	}
	if (d->n >= MANIFEST_DIAG_MAX)
		return;
	msg = mf_append(c, &d->msgs, &d->n, sizeof(*msg));
	if (!msg)
		return;
	msg->severity = sev;
	msg->line = pos.line;
	msg->column = pos.column;
	msg->file = strdup(c->file);
	msg->path = strdup(path ? path : c->path);
	if (vasprintf(&msg->message, fmt, ap) < 0)
		msg->message = NULL;
	if (msg->file && msg->path && msg->message)
		msg->text = format_text(msg);
	if (!msg->text)
		c->oom = -ENOMEM;
}

/* See manifest_priv.h. */
void mf_report(struct mf_ctx *c, enum manifest_severity sev, struct yj_pos pos, const char *path,
	       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(c, sev, pos, path, fmt, ap);
	va_end(ap);
}

/* See manifest_priv.h. */
int mf_error(struct mf_ctx *c, struct yj_pos pos, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(c, MANIFEST_ERROR, pos, NULL, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* See manifest_priv.h. */
void mf_warn(struct mf_ctx *c, struct yj_pos pos, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(c, MANIFEST_WARNING, pos, NULL, fmt, ap);
	va_end(ap);
}

static void vreport_at(struct mf_ctx *c, enum manifest_severity sev, const struct mf_node *obj,
		       const char *key, const char *fmt, va_list ap)
{
	struct yj_pos pos = obj->pos;
	size_t mark = mf_enter_key(c, key);

	yj_member_pos(c->ys, obj->v, key, &pos);
	vreport(c, sev, pos, NULL, fmt, ap);
	mf_leave(c, mark);
}

/* See manifest_priv.h. */
int mf_error_at(struct mf_ctx *c, const struct mf_node *obj, const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport_at(c, MANIFEST_ERROR, obj, key, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* See manifest_priv.h. */
void mf_warn_at(struct mf_ctx *c, const struct mf_node *obj, const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport_at(c, MANIFEST_WARNING, obj, key, fmt, ap);
	va_end(ap);
}

/* See manifest_priv.h. */
struct mf_node mf_member(const struct mf_ctx *c, const struct mf_node *obj, const char *key)
{
	struct mf_node n = {.pos = obj->pos};

	n.v = json_object_get(obj->v, key);
	if (n.v && json_is_null(n.v))
		n.v = NULL;
	if (n.v)
		yj_member_pos(c->ys, obj->v, key, &n.pos);
	return n;
}

/* See manifest_priv.h. */
struct mf_node mf_element(const struct mf_ctx *c, const struct mf_node *arr, size_t i)
{
	struct mf_node n = {.pos = arr->pos};

	n.v = json_array_get(arr->v, i);
	yj_index_pos(c->ys, arr->v, i, &n.pos);
	return n;
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "a mapping";
	case JSON_ARRAY:
		return "a list";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

/* See manifest_priv.h. */
int mf_want_object(struct mf_ctx *c, const struct mf_node *n)
{
	if (json_is_object(n->v))
		return 0;
	return mf_error(c, n->pos, "must be a mapping, not %s", type_name(n->v));
}

/* See manifest_priv.h. */
int mf_want_array(struct mf_ctx *c, const struct mf_node *n)
{
	if (json_is_array(n->v))
		return 0;
	return mf_error(c, n->pos, "must be a list, not %s", type_name(n->v));
}

static bool listed(const char *const *names, const char *name)
{
	for (; names && *names; names++) {
		if (!strcmp(*names, name))
			return true;
	}
	return false;
}

/* See manifest_priv.h. */
void mf_check_fields(struct mf_ctx *c, const struct mf_node *obj, const char *const *known,
		     const char *const *ignored)
{
	struct yj_pos pos;
	const char *key;
	json_t *v;
	size_t mark;

	json_object_foreach (obj->v, key, v) {
		if (listed(known, key) || listed(ignored, key))
			continue;
		if (!yj_key_pos(c->ys, obj->v, key, &pos))
			pos = obj->pos;
		mark = mf_enter_key(c, key);
		mf_warn(c, pos, "unknown field");
		mf_leave(c, mark);
	}
}

/* See manifest_priv.h. */
int mf_node_string(struct mf_ctx *c, const struct mf_node *n, const char **out)
{
	const char *s;

	if (json_is_integer(n->v) || json_is_real(n->v) || json_is_boolean(n->v))
		return mf_error(c, n->pos, "must be a string, not %s (quote it)", type_name(n->v));
	if (!json_is_string(n->v))
		return mf_error(c, n->pos, "must be a string, not %s", type_name(n->v));
	s = json_string_value(n->v);
	if (strlen(s) != json_string_length(n->v))
		return mf_error(c, n->pos, "must not contain NUL characters");
	*out = s;
	return 0;
}

/* See manifest_priv.h. */
int mf_get_string(struct mf_ctx *c, const struct mf_node *obj, const char *key, bool is_required,
		  const char **out)
{
	struct mf_node n = mf_member(c, obj, key);
	size_t mark = mf_enter_key(c, key);
	int err = 0;

	*out = NULL;
	if (n.v)
		err = mf_node_string(c, &n, out);
	else if (is_required)
		err = mf_error(c, n.pos, "required field is missing");
	mf_leave(c, mark);
	return err;
}

/* See manifest_priv.h. */
int mf_node_int(struct mf_ctx *c, const struct mf_node *n, long long *out)
{
	const char *s = json_string_value(n->v);
	long long v;
	char *end;

	if (json_is_integer(n->v)) {
		*out = json_integer_value(n->v);
		return 0;
	}
	if (!s || !*s || strspn(s, "0123456789") != strlen(s))
		return mf_error(c, n->pos, "must be an integer, not %s", type_name(n->v));
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return mf_error(c, n->pos, "integer out of range");
	mf_warn(c, n->pos, "quoted number \"%s\" taken as the integer %lld", s, v);
	*out = v;
	return 0;
}

/* See manifest_priv.h. */
char *mf_strdup(struct mf_ctx *c, const char *s)
{
	char *d = strdup(s);

	if (!d)
		c->oom = -ENOMEM;
	return d;
}

/*
 * See manifest_priv.h. The capacity is implicit, the next power of two at or
 * above *n, so the array only grows when *n reaches one: linear total copying.
 */
void *mf_append(struct mf_ctx *c, void *arr_p, size_t *n, size_t size)
{
	void **arr = arr_p;
	size_t cap = *n ? *n * 2 : 1;
	char *grown = *arr;

	if (!*n || !(*n & (*n - 1))) {
		grown = cap > SIZE_MAX / size ? NULL : realloc(*arr, cap * size);
		if (!grown) {
			c->oom = -ENOMEM;
			return NULL;
		}
		*arr = grown;
	}
	memset(grown + *n * size, 0, size);
	return grown + (*n)++ * size;
}

/* See manifest_priv.h. */
struct pm_src_pos mf_src_pos(const struct mf_ctx *c, struct yj_pos pos)
{
	struct pm_src_pos p = {.file = c->file_interned, .line = pos.line, .column = pos.column};

	return p;
}
