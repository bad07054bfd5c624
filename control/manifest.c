// SPDX-License-Identifier: GPL-2.0-only
/*
 * Manifest loading: read every input into a staging model, check what only
 * the whole set can show (duplicates, overlapping addresses), then move the
 * staging model into the caller's in one step that cannot fail.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "manifest_priv.h"

static int load_document(struct mf_ctx *c, const struct mf_node *doc);

static int load_network_policy(struct mf_ctx *c, const struct mf_node *doc)
{
	return mf_load_policy(c, doc, PM_KIND_NETWORK_POLICY);
}

static int load_mesh_policy(struct mf_ctx *c, const struct mf_node *doc)
{
	return mf_load_policy(c, doc, PM_KIND_MESH_POLICY);
}

static int load_list(struct mf_ctx *c, const struct mf_node *doc)
{
	struct mf_node items = mf_member(c, doc, "items"), item;
	size_t i, mark = mf_enter_key(c, "items"), imark;
	int err = 0;

	if (!items.v)
		err = mf_error(c, items.pos, "required field is missing");
	else if (mf_want_array(c, &items))
		err = -EINVAL;
	for (i = 0; i < json_array_size(items.v); i++) {
		item = mf_element(c, &items, i);
		imark = mf_enter_index(c, i);
		if (load_document(c, &item))
			err = -EINVAL;
		mf_leave(c, imark);
	}
	mf_leave(c, mark);
	return err;
}

static const struct kind_entry {
	const char *api_version;
	const char *kind;
	int (*load)(struct mf_ctx *c, const struct mf_node *doc);
} kinds[] = {
	{"bpfmesh.io/v1", "Endpoint", mf_load_endpoint},
	{"bpfmesh.io/v1", "MeshPolicy", load_mesh_policy},
	{"networking.k8s.io/v1", "NetworkPolicy", load_network_policy},
	{"networking.k8s.io/v1", "NetworkPolicyList", load_list},
	{"v1", "Namespace", mf_load_namespace},
	{"v1", "NamespaceList", load_list},
	{"v1", "List", load_list},
};

static const struct kind_entry *find_kind(const char *kind)
{
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (!strcmp(kinds[i].kind, kind))
			return &kinds[i];
	}
	return NULL;
}

static int check_header(struct mf_ctx *c, const struct mf_node *doc, const struct kind_entry **out)
{
	static const char *const known[] = {"apiVersion", "kind", "metadata", "spec", NULL};
	static const char *const list_known[] = {"apiVersion", "kind", "metadata", "items", NULL};
	static const char *const ignored[] = {"status", NULL};
	const char *kind, *api;
	int err = 0;

	*out = NULL;
	if (mf_get_string(c, doc, "kind", true, &kind))
		err = -EINVAL;
	if (mf_get_string(c, doc, "apiVersion", true, &api))
		err = -EINVAL;
	if (err || !kind || !api)
		return -EINVAL;
	*out = find_kind(kind);
	if (!*out) {
		mf_warn_at(c, doc, "kind", "unsupported kind %s (ignored)", kind);
		return 0;
	}
	if (strcmp((*out)->api_version, api)) {
		err = mf_error_at(c, doc, "apiVersion",
				  "unsupported apiVersion %s for kind %s "
				  "(want %s)",
				  api, kind, (*out)->api_version);
		*out = NULL;
		return err;
	}
	mf_check_fields(c, doc, (*out)->load == load_list ? list_known : known, ignored);
	return 0;
}

static int load_document(struct mf_ctx *c, const struct mf_node *doc)
{
	const struct kind_entry *k;

	if (!doc->v || json_is_null(doc->v)) /* an empty document, as after a trailing --- */
		return 0;
	if (!json_is_object(doc->v))
		return mf_error(c, doc->pos,
				"a manifest must be a mapping with apiVersion and "
				"kind, not %s",
				json_is_array(doc->v) ? "a list" : "a scalar");
	if (check_header(c, doc, &k))
		return -EINVAL;
	return k ? k->load(c, doc) : 0;
}

static void load_stream(struct mf_ctx *c, const struct yj_stream *ys)
{
	struct mf_node doc = {0};
	size_t i;

	c->ys = ys;
	for (i = 0; i < yj_stream_n_docs(ys); i++) {
		doc.v = yj_stream_doc(ys, i);
		memset(&doc.pos, 0, sizeof(doc.pos));
		yj_doc_pos(ys, i, &doc.pos);
		mf_leave(c, 0);
		load_document(c, &doc);
	}
	c->ys = NULL;
}

/* Intern name in the staging model; positions of its objects point at the copy. */
static int intern_file(struct mf_ctx *c, const char *name)
{
	char **slot = mf_append(c, &c->st->files, &c->st->n_files, sizeof(*slot));

	if (!slot)
		return -ENOMEM;
	*slot = mf_strdup(c, name);
	if (!*slot)
		return -ENOMEM;
	c->file = name;
	c->file_interned = *slot;
	return 0;
}

/* Parse one input (buf NULL: the file name) into the staging model. */
static int load_input(struct mf_ctx *c, const char *name, const char *buf, size_t len)
{
	struct yj_stream *ys = NULL;
	struct yj_error yerr;
	int err;

	err = intern_file(c, name);
	if (err)
		return err;
	err = buf ? yj_load_buffer_flags(name, buf, len, c->yj_flags, &ys, &yerr)
		  : yj_load_file(name, &ys, &yerr);
	if (err) {
		mf_report(c, MANIFEST_ERROR, yerr.pos, "", "%s", yerr.text);
		return err;
	}
	load_stream(c, ys);
	yj_stream_free(ys);
	return 0;
}

static void log_diag(const struct manifest_diag *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		pr_warn("%s", d->msgs[i].text ? d->msgs[i].text : "(out of memory)");
}

struct input {
	const char *name;
	const char *buf; /* NULL: read the file name */
	size_t len;
};

/*
 * One pass over the inputs. A fast pass (YJ_FAST_JSON: large JSON buffers
 * parsed without positions) commits only when it has nothing to report:
 * otherwise it returns -EAGAIN with m untouched, and the caller loads again
 * with positions, so every message names its line and column.
 */
static int load_pass(struct pm_model *m, const struct input *in, size_t n, const char *local_node,
		     struct manifest_diag *diag, unsigned int yj_flags)
{
	struct mf_ctx c = {.diag = diag, .local_node = local_node, .yj_flags = yj_flags};
	int err = 0, ret;
	size_t i;

	c.st = pm_model_new();
	if (!c.st)
		return -ENOMEM;
	for (i = 0; i < n && !c.oom; i++) {
		ret = load_input(&c, in[i].name, in[i].buf, in[i].len);
		if (ret && ret != -EINVAL && !err)
			err = ret;
	}
	if (!err && !c.n_errors && !c.oom)
		mf_check_set(&c, m);
	if ((yj_flags & YJ_FAST_JSON) && diag->n_errors + diag->n_warnings) {
		err = -EAGAIN;
		goto out;
	}
	if (!err && !c.n_errors && !c.oom)
		err = mf_commit(&c, m);
	if (!err)
		err = c.oom ? c.oom : c.n_errors ? -EINVAL : 0;
	/* anything of m not yet interned (mf_commit() interned what it added) */
	if (!err)
		err = pm_model_intern(m);
out:
	pm_model_free(c.st);
	return err;
}

/* Everything behind both public entry points. */
static int load_inputs(struct pm_model *m, const struct input *in, size_t n, const char *local_node,
		       struct manifest_diag *diag)
{
	struct manifest_diag own, quiet;
	bool is_buffers = true;
	int err = -EAGAIN;
	size_t i;

	for (i = 0; i < n; i++)
		is_buffers = is_buffers && in[i].buf;
	if (is_buffers) {
		manifest_diag_init(&quiet);
		err = load_pass(m, in, n, local_node, &quiet, YJ_FAST_JSON);
		manifest_diag_release(&quiet);
	}
	if (err != -EAGAIN)
		return err;
	manifest_diag_init(&own);
	err = load_pass(m, in, n, local_node, diag ? diag : &own, 0);
	if (!diag)
		log_diag(&own);
	manifest_diag_release(&own);
	return err;
}

/* See manifest.h. */
int manifest_load_files(struct pm_model *m, const char *const *paths, size_t n,
			const char *local_node, struct manifest_diag *diag)
{
	struct input *in = calloc(n ? n : 1, sizeof(*in));
	size_t i;
	int err;

	if (!in)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		in[i].name = paths[i];
	err = load_inputs(m, in, n, local_node, diag);
	free(in);
	return err;
}

/* See manifest.h. */
int manifest_load_buffer(struct pm_model *m, const char *name, const char *buf, size_t len,
			 const char *local_node, struct manifest_diag *diag)
{
	struct input in = {.name = name ? name : "<buffer>", .buf = buf ? buf : "", .len = len};

	if (!buf)
		in.len = 0;
	return load_inputs(m, &in, 1, local_node, diag);
}

/* See manifest.h. */
void manifest_diag_init(struct manifest_diag *d)
{
	memset(d, 0, sizeof(*d));
}

/* See manifest.h. */
void manifest_diag_release(struct manifest_diag *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < d->n; i++) {
		free(d->msgs[i].file);
		free(d->msgs[i].path);
		free(d->msgs[i].message);
		free(d->msgs[i].text);
	}
	free(d->msgs);
	manifest_diag_init(d);
}

/* See manifest.h. */
const struct manifest_msg *manifest_diag_first_error(const struct manifest_diag *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		if (d->msgs[i].severity == MANIFEST_ERROR)
			return &d->msgs[i];
	}
	return NULL;
}

/* See manifest.h. */
void manifest_diag_print(const struct manifest_diag *d, FILE *fp)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		fprintf(fp, "%s\n", d->msgs[i].text ? d->msgs[i].text : "(out of memory)");
}
