// SPDX-License-Identifier: GPL-2.0-only
/*
 * YAML to jansson through libfyaml's event API: the document API does not
 * expose where a mapping or sequence starts, the events do.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfyaml.h>

#include "yaml_json.h"

/* Alias expansion may not make a document bigger than this (billion laughs). */
#define MAX_EXPANDED_NODES (1u << 20)
#define MAX_DEPTH 256

enum pos_kind {
	POS_VALUE,
	POS_KEY,
	POS_INDEX,
};

struct pos_entry {
	const void *node; /* NULL: free slot */
	char *key;
	size_t index;
	enum pos_kind kind;
	struct yj_pos pos;
};

struct pos_table {
	struct pos_entry *slots;
	size_t cap; /* power of two */
	size_t n;
};

struct yj_doc {
	json_t *root;
	struct yj_pos pos;
};

struct yj_stream {
	struct yj_doc *docs;
	size_t n_docs;
	struct pos_table pos;
	bool is_without_pos; /* loaded by the YJ_FAST_JSON path */
};

struct anchor {
	char *name;
	json_t *value;
	size_t n_nodes; /* expanded size */
};

/* One open mapping or sequence. */
struct frame {
	json_t *node;
	char *anchor;
	char *key; /* mapping: the key waiting for its value */
	struct yj_pos key_pos;
	bool is_merge_key;
	json_t **merges; /* mappings to merge in at the end, first wins */
	size_t n_merges;
	size_t n_nodes;
	struct yj_pos pos;
};

struct builder {
	struct yj_stream *s;
	struct frame stack[MAX_DEPTH];
	int depth;
	struct anchor *anchors;
	size_t n_anchors;
	struct yj_error *err;
};

static uint64_t hash_str(const char *p)
{
	uint64_t h = 1469598103934665603ull;

	for (; p && *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	return h;
}

static size_t slot_of(const struct pos_table *t, const void *node, const char *key, size_t index,
		      enum pos_kind kind)
{
	uint64_t h = ((uintptr_t)node * 0x9e3779b97f4a7c15ull) ^ hash_str(key) ^
		     (index * 0xc2b2ae3d27d4eb4full) ^ kind;
	size_t i = (size_t)(h ^ (h >> 29)) & (t->cap - 1);
	const struct pos_entry *e;

	for (;; i = (i + 1) & (t->cap - 1)) {
		e = &t->slots[i];
		if (!e->node)
			return i;
		if (e->node == node && e->kind == kind && e->index == index &&
		    (!key || !strcmp(e->key, key)))
			return i;
	}
}

static int table_grow(struct pos_table *t)
{
	struct pos_table bigger = {.cap = t->cap ? t->cap * 2 : 256};
	size_t i, j;

	bigger.slots = calloc(bigger.cap, sizeof(*bigger.slots));
	if (!bigger.slots)
		return -ENOMEM;
	for (i = 0; i < t->cap; i++) {
		if (!t->slots[i].node)
			continue;
		j = slot_of(&bigger, t->slots[i].node, t->slots[i].key, t->slots[i].index,
			    t->slots[i].kind);
		bigger.slots[j] = t->slots[i];
	}
	bigger.n = t->n;
	free(t->slots);
	*t = bigger;
	return 0;
}

/* Record (or overwrite) one position. key is copied. */
static int table_put(struct pos_table *t, const void *node, const char *key, size_t index,
		     enum pos_kind kind, struct yj_pos pos)
{
	struct pos_entry *e;
	int err;

	if (2 * (t->n + 1) > t->cap) {
		err = table_grow(t);
		if (err)
			return err;
	}
	e = &t->slots[slot_of(t, node, key, index, kind)];
	if (!e->node) {
		e->key = key ? strdup(key) : NULL;
		if (key && !e->key)
			return -ENOMEM;
		e->node = node;
		e->index = index;
		e->kind = kind;
		t->n++;
	}
	e->pos = pos;
	return 0;
}

static bool table_get(const struct pos_table *t, const void *node, const char *key, size_t index,
		      enum pos_kind kind, struct yj_pos *out)
{
	const struct pos_entry *e;

	if (!t->cap || !node)
		return false;
	e = &t->slots[slot_of(t, node, key, index, kind)];
	if (!e->node)
		return false;
	*out = e->pos;
	return true;
}

static void table_release(struct pos_table *t)
{
	size_t i;

	for (i = 0; i < t->cap; i++)
		free(t->slots[i].key);
	free(t->slots);
}

static struct yj_pos token_pos(struct fy_token *t)
{
	const struct fy_mark *m = t ? fy_token_start_mark(t) : NULL;
	struct yj_pos p = {0};

	if (m) {
		p.line = (unsigned int)m->line + 1;
		p.column = (unsigned int)m->column + 1;
	}
	return p;
}

/* libfyaml marks a quoted scalar after its opening quote; point at the quote. */
static struct yj_pos scalar_pos(struct fy_event *e)
{
	enum fy_scalar_style style = fy_token_scalar_style(e->scalar.value);
	struct yj_pos p = token_pos(e->scalar.value);

	if ((style == FYSS_SINGLE_QUOTED || style == FYSS_DOUBLE_QUOTED) && p.column > 1)
		p.column--;
	return p;
}

static int fail(struct builder *b, struct yj_pos pos, const char *msg, const char *arg)
{
	if (b->err && !b->err->text[0]) {
		b->err->pos = pos;
		snprintf(b->err->text, sizeof(b->err->text), "%s%s%s", msg, arg ? ": " : "",
			 arg ? arg : "");
	}
	return -EINVAL;
}

static bool is_null_text(const char *s)
{
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	       !strcmp(s, "NULL");
}

/* The YAML 1.2 core schema integer forms; false if s is not one or overflows. */
static bool parse_int(const char *s, json_int_t *out)
{
	const char *digits = s;
	long long v;
	char *end;
	int base = 10;

	if (!strncmp(s, "0x", 2) || !strncmp(s, "0o", 2)) {
		base = s[1] == 'x' ? 16 : 8;
		digits = s + 2;
	} else if (*s == '-' || *s == '+') {
		digits = s + 1;
	}
	/* strtoll skips blanks and takes a sign or "0x" itself: check the form first */
	if (!*digits || strspn(digits, base == 16  ? "0123456789abcdefABCDEF"
				       : base == 8 ? "01234567"
						   : "0123456789") != strlen(digits))
		return false;
	errno = 0;
	v = strtoll(base == 10 ? s : digits, &end, base);
	if (errno || *end)
		return false;
	*out = (json_int_t)v;
	return true;
}

static bool parse_float(const char *s, double *out)
{
	const char *p = s + (*s == '-' || *s == '+');
	size_t lead = strspn(p, "0123456789"), frac = 0;
	char *end;

	p += lead;
	if (*p == '.') {
		frac = strspn(p + 1, "0123456789");
		p += 1 + frac;
	}
	if (!lead && !frac)
		return false;
	if (*p == 'e' || *p == 'E') {
		p++;
		p += (*p == '-' || *p == '+');
		if (!strspn(p, "0123456789"))
			return false;
		p += strspn(p, "0123456789");
	}
	if (*p)
		return false;
	errno = 0;
	*out = strtod(s, &end);
	return !errno && !*end;
}

/* A plain scalar's JSON value under the core schema. New reference or NULL. */
static json_t *plain_value(const char *s, size_t len)
{
	json_int_t i;
	double d;

	if (strlen(s) != len) /* embedded NUL: keep it a string so it is rejected later */
		return json_stringn(s, len);
	if (is_null_text(s))
		return json_null();
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
		return json_true();
	if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
		return json_false();
	if (parse_int(s, &i))
		return json_integer(i);
	if (parse_float(s, &d))
		return json_real(d);
	return json_stringn(s, len);
}

static json_t *scalar_value(struct fy_event *e)
{
	const char *tag = e->scalar.tag ? fy_token_get_text0(e->scalar.tag) : NULL;
	const char *text;
	size_t len = 0;

	text = fy_token_get_text(e->scalar.value, &len);
	if (!text)
		return NULL;
	if (tag && !strcmp(tag, "tag:yaml.org,2002:str"))
		return json_stringn(text, len);
	if (fy_token_scalar_style(e->scalar.value) != FYSS_PLAIN && !tag)
		return json_stringn(text, len);
	/* plain, or a quoted scalar explicitly tagged !!int, !!bool, ... */
	return plain_value(fy_token_get_text0(e->scalar.value), len);
}

static struct anchor *anchor_find(struct builder *b, const char *name)
{
	size_t i;

	/* the newest definition wins: YAML allows redefining an anchor */
	for (i = b->n_anchors; i-- > 0;) {
		if (!strcmp(b->anchors[i].name, name))
			return &b->anchors[i];
	}
	return NULL;
}

static void anchors_release(struct builder *b)
{
	size_t i;

	for (i = 0; i < b->n_anchors; i++) {
		free(b->anchors[i].name);
		json_decref(b->anchors[i].value);
	}
	free(b->anchors);
	b->anchors = NULL;
	b->n_anchors = 0;
}

static int anchor_add(struct builder *b, const char *name, json_t *v, size_t n_nodes)
{
	struct anchor *a = realloc(b->anchors, (b->n_anchors + 1) * sizeof(*a));

	if (!a)
		return -ENOMEM;
	b->anchors = a;
	a = &b->anchors[b->n_anchors];
	a->name = strdup(name);
	if (!a->name)
		return -ENOMEM;
	a->value = json_incref(v);
	a->n_nodes = n_nodes;
	b->n_anchors++;
	return 0;
}

/* Queue the value of a "<<" key: a mapping or a sequence of mappings. */
static int queue_merge(struct builder *b, struct frame *f, json_t *v, struct yj_pos pos)
{
	size_t i, n = json_is_array(v) ? json_array_size(v) : 1;
	json_t **m;

	for (i = 0; i < n; i++) {
		if (!json_is_object(json_is_array(v) ? json_array_get(v, i) : v))
			return fail(b, pos,
				    "merge key value must be a mapping or a list of mappings",
				    NULL);
	}
	m = realloc(f->merges, (f->n_merges + n) * sizeof(*m));
	if (!m)
		return -ENOMEM;
	f->merges = m;
	for (i = 0; i < n; i++)
		m[f->n_merges++] = json_incref(json_is_array(v) ? json_array_get(v, i) : v);
	return 0;
}

/* Keys present in the mapping itself win over merged ones; earlier merges win over later. */
static int apply_merges(struct builder *b, struct frame *f)
{
	struct yj_pos kpos, vpos;
	const char *key;
	json_t *v;
	size_t i;
	int err;

	for (i = 0; i < f->n_merges; i++) {
		json_object_foreach (f->merges[i], key, v) {
			if (json_object_get(f->node, key))
				continue;
			if (json_object_set(f->node, key, v))
				return -ENOMEM;
			if (!table_get(&b->s->pos, f->merges[i], key, 0, POS_VALUE, &vpos))
				vpos = f->pos;
			if (!table_get(&b->s->pos, f->merges[i], key, 0, POS_KEY, &kpos))
				kpos = vpos;
			err = table_put(&b->s->pos, f->node, key, 0, POS_VALUE, vpos);
			if (!err)
				err = table_put(&b->s->pos, f->node, key, 0, POS_KEY, kpos);
			if (err)
				return err;
		}
	}
	return 0;
}

static int doc_add(struct builder *b, json_t *v, struct yj_pos pos)
{
	struct yj_doc *d = realloc(b->s->docs, (b->s->n_docs + 1) * sizeof(*d));

	if (!d) {
		json_decref(v);
		return -ENOMEM;
	}
	b->s->docs = d;
	d[b->s->n_docs].root = v;
	d[b->s->n_docs].pos = pos;
	b->s->n_docs++;
	return 0;
}

/* Hand a finished value (a new reference, consumed) to the open collection. */
static int attach(struct builder *b, json_t *v, struct yj_pos pos, size_t n_nodes)
{
	struct frame *f = b->depth ? &b->stack[b->depth - 1] : NULL;
	int err = 0;

	if (!f)
		return doc_add(b, v, pos);
	f->n_nodes += n_nodes;
	if (json_is_array(f->node)) {
		err = table_put(&b->s->pos, f->node, NULL, json_array_size(f->node), POS_INDEX,
				pos);
		if (!err && json_array_append_new(f->node, v))
			return -ENOMEM;
		if (err)
			json_decref(v);
		return err;
	}
	if (!f->key) {
		json_decref(v);
		return fail(b, pos, "only scalar mapping keys are supported", NULL);
	}
	if (f->is_merge_key)
		err = queue_merge(b, f, v, pos);
	else if (json_object_get(f->node, f->key))
		err = fail(b, f->key_pos, "duplicate mapping key", f->key);
	else
		err = table_put(&b->s->pos, f->node, f->key, 0, POS_VALUE, pos);
	if (!err && !f->is_merge_key)
		err = table_put(&b->s->pos, f->node, f->key, 0, POS_KEY, f->key_pos);
	if (!err && !f->is_merge_key && json_object_set(f->node, f->key, v))
		err = -ENOMEM;
	json_decref(v);
	free(f->key);
	f->key = NULL;
	return err;
}

/* A document that is a single scalar (an empty document is a null). */
static int doc_add_scalar(struct builder *b, struct fy_event *e)
{
	struct yj_pos pos = scalar_pos(e);
	json_t *v = scalar_value(e);

	if (!v)
		return fail(b, pos, "invalid scalar (not UTF-8?)", NULL);
	return doc_add(b, v, pos);
}

static bool wants_key(const struct builder *b)
{
	const struct frame *f = b->depth ? &b->stack[b->depth - 1] : NULL;

	return f && json_is_object(f->node) && !f->key;
}

static int on_scalar(struct builder *b, struct fy_event *e)
{
	struct yj_pos pos = scalar_pos(e);
	struct frame *f = &b->stack[b->depth - 1];
	const char *text;
	json_t *v;

	if (wants_key(b)) {
		text = fy_token_get_text0(e->scalar.value);
		if (!text)
			return -ENOMEM;
		f->key = strdup(text);
		if (!f->key)
			return -ENOMEM;
		f->key_pos = pos;
		f->is_merge_key =
			!strcmp(text, "<<") && fy_token_scalar_style(e->scalar.value) == FYSS_PLAIN;
		return 0;
	}
	v = scalar_value(e);
	if (!v)
		return fail(b, pos, "invalid scalar (not UTF-8?)", NULL);
	if (e->scalar.anchor && anchor_add(b, fy_token_get_text0(e->scalar.anchor), v, 1)) {
		json_decref(v);
		return -ENOMEM;
	}
	return attach(b, v, pos, 1);
}

static int on_alias(struct builder *b, struct fy_event *e)
{
	struct yj_pos pos = token_pos(e->alias.anchor);
	const char *name = fy_token_get_text0(e->alias.anchor);
	struct anchor *a = name ? anchor_find(b, name) : NULL;

	if (wants_key(b))
		return fail(b, pos, "aliases as mapping keys are not supported", NULL);
	if (!a)
		return fail(b, pos, "unknown or unfinished anchor", name);
	return attach(b, json_incref(a->value), pos, a->n_nodes);
}

static int on_start(struct builder *b, struct fy_event *e)
{
	bool is_map = e->type == FYET_MAPPING_START;
	struct fy_token *anchor = is_map ? e->mapping_start.anchor : e->sequence_start.anchor;
	struct fy_token *start =
		is_map ? e->mapping_start.mapping_start : e->sequence_start.sequence_start;
	struct frame *f;

	if (wants_key(b))
		return fail(b, token_pos(start), "only scalar mapping keys are supported", NULL);
	if (b->depth == MAX_DEPTH)
		return fail(b, token_pos(start), "nesting too deep", NULL);
	f = &b->stack[b->depth];
	memset(f, 0, sizeof(*f));
	f->pos = token_pos(start);
	if (!f->pos.line && b->depth && b->stack[b->depth - 1].key)
		f->pos = b->stack[b->depth - 1].key_pos;
	f->node = is_map ? json_object() : json_array();
	if (!f->node)
		return -ENOMEM;
	b->depth++;
	if (anchor) {
		f->anchor = strdup(fy_token_get_text0(anchor));
		if (!f->anchor)
			return -ENOMEM;
	}
	return 0;
}

static void frame_release(struct frame *f)
{
	size_t i;

	for (i = 0; i < f->n_merges; i++)
		json_decref(f->merges[i]);
	free(f->merges);
	free(f->anchor);
	free(f->key);
	json_decref(f->node);
}

static int on_end(struct builder *b)
{
	struct frame f = b->stack[b->depth - 1];
	int err;

	b->depth--;
	err = apply_merges(b, &f);
	f.n_nodes += 1;
	if (!err && f.n_nodes > MAX_EXPANDED_NODES)
		err = fail(b, f.pos, "document too large after alias expansion", NULL);
	if (!err && f.anchor)
		err = anchor_add(b, f.anchor, f.node, f.n_nodes);
	if (!err)
		err = attach(b, json_incref(f.node), f.pos, f.n_nodes);
	frame_release(&f);
	return err;
}

static int on_event(struct builder *b, struct fy_event *e)
{
	switch (e->type) {
	case FYET_DOCUMENT_START:
		anchors_release(b);
		return 0;
	case FYET_MAPPING_START:
	case FYET_SEQUENCE_START:
		return on_start(b, e);
	case FYET_MAPPING_END:
	case FYET_SEQUENCE_END:
		return on_end(b);
	case FYET_SCALAR:
		if (!b->depth) /* a document that is one scalar */
			return doc_add_scalar(b, e);
		return on_scalar(b, e);
	case FYET_ALIAS:
		return b->depth ? on_alias(b, e)
				: fail(b, token_pos(e->alias.anchor), "alias as a whole document",
				       NULL);
	default:
		return 0;
	}
}

static void diag_discard(struct fy_diag *diag, void *user, const char *buf, size_t len)
{
	(void)diag;
	(void)user;
	(void)buf;
	(void)len;
}

/* libfyaml's own message and position for a syntax error. */
static void syntax_error(struct fy_diag *diag, struct yj_error *err)
{
	struct fy_diag_error *de;
	void *it = NULL;

	if (!err || err->text[0])
		return;
	de = fy_diag_errors_iterate(diag, &it);
	if (!de) {
		snprintf(err->text, sizeof(err->text), "malformed YAML");
		return;
	}
	err->pos.line = de->line > 0 ? (unsigned int)de->line : 0;
	err->pos.column = de->column > 0 ? (unsigned int)de->column : 0;
	snprintf(err->text, sizeof(err->text), "%s", de->msg ? de->msg : "malformed YAML");
}

static int run_parser(struct fy_parser *p, struct fy_diag *diag, struct builder *b)
{
	struct fy_event *e;
	int err = 0;

	while (!err && (e = fy_parser_parse(p))) {
		err = on_event(b, e);
		fy_parser_event_free(p, e);
	}
	if (!err && fy_parser_get_stream_error(p)) {
		syntax_error(diag, b->err);
		err = -EINVAL;
	}
	while (b->depth)
		frame_release(&b->stack[--b->depth]);
	anchors_release(b);
	return err;
}

static struct fy_diag *quiet_diag(void)
{
	struct fy_diag_cfg cfg;
	struct fy_diag *diag;

	fy_diag_cfg_default(&cfg);
	cfg.fp = NULL;
	cfg.output_fn = diag_discard;
	diag = fy_diag_create(&cfg);
	if (diag)
		fy_diag_set_collect_errors(diag, true);
	return diag;
}

static bool is_json_name(const char *name)
{
	size_t len = name ? strlen(name) : 0;

	return len >= 5 && !strcmp(name + len - 5, ".json");
}

/* Parse len bytes of buf. */
static int load(const char *name, const char *buf, size_t len, struct yj_stream **out,
		struct yj_error *err)
{
	struct fy_parse_cfg cfg = {.flags = FYPCF_QUIET | FYPCF_COLLECT_DIAG};
	struct builder b = {.err = err};
	struct fy_parser *p = NULL;
	int ret = -ENOMEM;

	if (err)
		memset(err, 0, sizeof(*err));
	if (is_json_name(name))
		cfg.flags |= FYPCF_JSON_FORCE;
	cfg.diag = quiet_diag();
	b.s = calloc(1, sizeof(*b.s));
	if (!cfg.diag || !b.s)
		goto out;
	p = fy_parser_create(&cfg);
	if (!p)
		goto out;
	if (fy_parser_set_string(p, buf, len))
		goto out;
	ret = run_parser(p, cfg.diag, &b);
	if (!ret) {
		*out = b.s;
		b.s = NULL;
	}
out:
	fy_parser_destroy(p);
	fy_diag_destroy(cfg.diag);
	yj_stream_free(b.s);
	return ret;
}

/* Length of the valid UTF-8 sequence at p (n bytes left), 0 if invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	/* overlong forms, UTF-16 surrogates, beyond U+10FFFF */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/*
 * libfyaml 0.7 can loop forever on some invalid UTF-8 (in directives), and
 * YAML must be Unicode anyway: check the whole input first.
 */
static int check_utf8(const char *buf, size_t len, struct yj_error *err)
{
	const unsigned char *p = (const unsigned char *)buf;
	struct yj_pos pos = {1, 1};
	size_t i = 0, step;

	while (i < len) {
		step = utf8_len(p + i, len - i);
		if (!step) {
			if (err) {
				err->pos = pos;
				snprintf(err->text, sizeof(err->text),
					 "invalid UTF-8 (byte 0x%02x); manifests must be UTF-8",
					 p[i]);
			}
			return -EINVAL;
		}
		if (p[i] == '\n')
			pos.line++, pos.column = 0;
		pos.column++;
		i += step;
	}
	return 0;
}

#define MAX_INPUT_BYTES (64u << 20)

/* Read all of fp into a NUL-terminated buffer the caller frees. */
static int read_all(FILE *fp, char **out, size_t *len)
{
	size_t cap = 65536, n = 0, got;
	char *buf = malloc(cap), *grown;

	while (buf) {
		got = fread(buf + n, 1, cap - n - 1, fp);
		n += got;
		if (n < cap - 1)
			break;
		grown = cap >= MAX_INPUT_BYTES ? NULL : realloc(buf, cap * 2);
		if (!grown) {
			free(buf);
			return cap >= MAX_INPUT_BYTES ? -EFBIG : -ENOMEM;
		}
		buf = grown;
		cap *= 2;
	}
	if (!buf)
		return -ENOMEM;
	if (ferror(fp)) {
		free(buf);
		return -EIO;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

static void set_errno_text(struct yj_error *err, const char *what, int ret)
{
	if (!err)
		return;
	memset(err, 0, sizeof(*err));
	snprintf(err->text, sizeof(err->text), "%s: %s", what, strerror(-ret));
}

/* See yaml_json.h. */
int yj_load_file(const char *path, struct yj_stream **out, struct yj_error *err)
{
	bool is_stdin = !strcmp(path, "-");
	FILE *fp = is_stdin ? stdin : fopen(path, "r");
	size_t len = 0;
	char *buf;
	int ret;

	if (!fp) {
		ret = -errno;
		set_errno_text(err, "open", ret);
		return ret;
	}
	ret = read_all(fp, &buf, &len);
	if (!is_stdin)
		fclose(fp);
	if (ret) {
		set_errno_text(err, "read", ret);
		return ret;
	}
	ret = yj_load_buffer(path, buf, len, out, err);
	free(buf);
	return ret;
}

/* Deeper than the YAML path allows (which would refuse it)? Bounded by jansson's own limit. */
static bool is_too_deep(const json_t *v, int depth)
{
	const json_t *child;
	const char *key;
	size_t i;

	if ((json_is_object(v) || json_is_array(v)) && depth > MAX_DEPTH)
		return true;
	if (json_is_object(v)) {
		json_object_foreach ((json_t *)v, key, child)
			if (is_too_deep(child, depth + 1))
				return true;
	} else if (json_is_array(v)) {
		json_array_foreach (v, i, child)
			if (is_too_deep(child, depth + 1))
				return true;
	}
	return false;
}

/* The YJ_FAST_JSON path: one JSON container through jansson, or NULL (use the YAML path). */
static struct yj_stream *load_fast_json(const char *buf, size_t len)
{
	struct yj_stream *s;
	json_error_t jerr;
	size_t i = 0;
	json_t *root;

	while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r'))
		i++;
	if (i == len || (buf[i] != '{' && buf[i] != '['))
		return NULL;
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (s)
		s->docs = calloc(1, sizeof(*s->docs));
	if (!s || !s->docs || is_too_deep(root, 1)) {
		json_decref(root);
		yj_stream_free(s);
		return NULL;
	}
	s->docs[0].root = root;
	s->n_docs = 1;
	s->is_without_pos = true;
	return s;
}

/* See yaml_json.h. */
int yj_load_buffer_flags(const char *name, const char *buf, size_t len, unsigned int flags,
			 struct yj_stream **out, struct yj_error *err)
{
	int ret;

	if (err)
		memset(err, 0, sizeof(*err));
	if (!buf)
		len = 0;
	ret = check_utf8(buf, len, err);
	if (ret)
		return ret;
	if (flags & YJ_FAST_JSON) {
		*out = load_fast_json(buf, len);
		if (*out)
			return 0;
	}
	return load(name, buf ? buf : "", len, out, err);
}

/* See yaml_json.h. */
int yj_load_buffer(const char *name, const char *buf, size_t len, struct yj_stream **out,
		   struct yj_error *err)
{
	return yj_load_buffer_flags(name, buf, len, 0, out, err);
}

/* See yaml_json.h. */
bool yj_stream_has_positions(const struct yj_stream *s)
{
	return !s->is_without_pos;
}

/* See yaml_json.h. */
void yj_stream_free(struct yj_stream *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n_docs; i++)
		json_decref(s->docs[i].root);
	free(s->docs);
	table_release(&s->pos);
	free(s);
}

/* See yaml_json.h. */
size_t yj_stream_n_docs(const struct yj_stream *s)
{
	return s->n_docs;
}

/* See yaml_json.h. */
json_t *yj_stream_doc(const struct yj_stream *s, size_t i)
{
	return i < s->n_docs ? s->docs[i].root : NULL;
}

/* See yaml_json.h. */
bool yj_doc_pos(const struct yj_stream *s, size_t i, struct yj_pos *out)
{
	if (i >= s->n_docs || !s->docs[i].pos.line)
		return false;
	*out = s->docs[i].pos;
	return true;
}

/* See yaml_json.h. */
bool yj_member_pos(const struct yj_stream *s, const json_t *obj, const char *key,
		   struct yj_pos *out)
{
	return key && table_get(&s->pos, obj, key, 0, POS_VALUE, out);
}

/* See yaml_json.h. */
bool yj_key_pos(const struct yj_stream *s, const json_t *obj, const char *key, struct yj_pos *out)
{
	return key && table_get(&s->pos, obj, key, 0, POS_KEY, out);
}

/* See yaml_json.h. */
bool yj_index_pos(const struct yj_stream *s, const json_t *arr, size_t index, struct yj_pos *out)
{
	return table_get(&s->pos, arr, NULL, index, POS_INDEX, out);
}
