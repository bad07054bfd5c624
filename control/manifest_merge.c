// SPDX-License-Identifier: GPL-2.0-only
/*
 * The checks that need every object at once, and the move of the staging
 * model into the caller's model: allocate everything first, then move
 * without any step that can fail, so an error leaves the model untouched.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <abi/types.h>

#include "manifest_priv.h"

#define NS_NAME_LABEL "kubernetes.io/metadata.name"

enum obj_kind {
	OBJ_NAMESPACE,
	OBJ_ENDPOINT,
	OBJ_NETWORK_POLICY,
	OBJ_MESH_POLICY,
};

static const char *const obj_kind_names[] = {"Namespace", "Endpoint", "NetworkPolicy",
					     "MeshPolicy"};

struct obj_ref {
	enum obj_kind kind;
	const char *ns; /* "" for namespaces */
	const char *name;
	const struct pm_src_pos *pos;
	bool is_new;
};

struct addr_ref {
	const struct pm_addr *addr;
	const struct pm_endpoint *ep;
	bool is_new;
};

static int cmp_obj_key(const struct obj_ref *x, const struct obj_ref *y)
{
	int d = (int)x->kind - (int)y->kind;

	if (!d)
		d = strcmp(x->ns, y->ns);
	if (!d)
		d = strcmp(x->name, y->name);
	return d;
}

/* By kind, namespace and name; objects already in the model first. */
static int cmp_obj(const void *a, const void *b)
{
	const struct obj_ref *x = a, *y = b;
	int d = cmp_obj_key(x, y);

	return d ? d : (int)x->is_new - (int)y->is_new;
}

static void format_pos(const struct pm_src_pos *pos, char *buf, size_t len)
{
	snprintf(buf, len, "%s:%u:%u", pos->file ? pos->file : "?", pos->line, pos->column);
}

/* Report an error at pos, a position in any file of this load. */
static void report_at(struct mf_ctx *c, const struct pm_src_pos *pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void report_at(struct mf_ctx *c, const struct pm_src_pos *pos, const char *fmt, ...)
{
	struct yj_pos p = {pos->line, pos->column};
	const char *file = c->file;
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->file = pos->file ? pos->file : "?";
	mf_report(c, MANIFEST_ERROR, p, "", "%s", msg);
	c->file = file;
}

static void add_objs(struct obj_ref *refs, size_t *n, const struct pm_model *m, bool is_new)
{
	size_t i;

	for (i = 0; i < m->n_namespaces; i++) {
		if (m->namespaces[i].is_declared)
			refs[(*n)++] = (struct obj_ref){OBJ_NAMESPACE, "", m->namespaces[i].name,
							&m->namespaces[i].pos, is_new};
	}
	for (i = 0; i < m->n_endpoints; i++)
		refs[(*n)++] = (struct obj_ref){OBJ_ENDPOINT, m->endpoints[i].ns,
						m->endpoints[i].name, &m->endpoints[i].pos, is_new};
	for (i = 0; i < m->n_policies; i++)
		refs[(*n)++] = (struct obj_ref){
			m->policies[i].kind == PM_KIND_MESH_POLICY ? OBJ_MESH_POLICY
								   : OBJ_NETWORK_POLICY,
			m->policies[i].ns, m->policies[i].name, &m->policies[i].pos, is_new};
}

static void check_duplicates(struct mf_ctx *c, const struct pm_model *m)
{
	size_t n = 0, i,
	       total = m->n_namespaces + m->n_endpoints + m->n_policies + c->st->n_namespaces +
		       c->st->n_endpoints + c->st->n_policies;
	struct obj_ref *refs = calloc(total + 1, sizeof(*refs));
	char where[300];

	if (!refs) {
		c->oom = -ENOMEM;
		return;
	}
	add_objs(refs, &n, m, false);
	add_objs(refs, &n, c->st, true);
	if (n > 1)
		qsort(refs, n, sizeof(*refs), cmp_obj);
	for (i = 1; i < n; i++) {
		if (!refs[i].is_new || cmp_obj_key(&refs[i - 1], &refs[i]))
			continue;
		format_pos(refs[i - 1].pos, where, sizeof(where));
		report_at(c, refs[i].pos, "duplicate %s %s%s%s (first defined at %s)",
			  obj_kind_names[refs[i].kind], refs[i].ns, *refs[i].ns ? "/" : "",
			  refs[i].name, where);
	}
	free(refs);
}

/* By family, then address, then shorter prefix first: a prefix precedes what it contains. */
static int cmp_addr(const void *a, const void *b)
{
	const struct addr_ref *x = a, *y = b;
	int d = (int)x->addr->family - (int)y->addr->family;

	if (!d)
		d = memcmp(x->addr->addr, y->addr->addr, sizeof(x->addr->addr));
	if (!d)
		d = (int)x->addr->prefixlen - (int)y->addr->prefixlen;
	return d;
}

static void add_addrs(struct addr_ref *refs, size_t *n, const struct pm_model *m, bool is_new)
{
	size_t i, j;

	for (i = 0; i < m->n_endpoints; i++) {
		for (j = 0; j < m->endpoints[i].n_addrs; j++)
			refs[(*n)++] = (struct addr_ref){&m->endpoints[i].addrs[j],
							 &m->endpoints[i], is_new};
	}
}

static size_t count_addrs(const struct pm_model *m)
{
	size_t i, n = 0;

	for (i = 0; i < m->n_endpoints; i++)
		n += m->endpoints[i].n_addrs;
	return n;
}

static void report_overlap(struct mf_ctx *c, const struct addr_ref *outer,
			   const struct addr_ref *inner)
{
	const struct addr_ref *at = inner->is_new ? inner : outer;
	const struct addr_ref *other = at == inner ? outer : inner;
	char a[64], b[64], where[300];

	pm_addr_format(at->addr, a, sizeof(a));
	pm_addr_format(other->addr, b, sizeof(b));
	if (at->ep == other->ep) {
		report_at(c, &at->ep->pos, "addresses %s and %s of endpoint %s/%s overlap", a, b,
			  at->ep->ns, at->ep->name);
		return;
	}
	format_pos(&other->ep->pos, where, sizeof(where));
	report_at(c, &at->ep->pos,
		  "address %s of endpoint %s/%s overlaps %s of endpoint %s/%s (defined at %s)", a,
		  at->ep->ns, at->ep->name, b, other->ep->ns, other->ep->name, where);
}

/*
 * Prefixes are nested or disjoint, so after sorting, an address overlaps an
 * earlier one exactly when it lies inside the last prefix not itself nested.
 */
static void check_overlaps(struct mf_ctx *c, const struct pm_model *m)
{
	size_t n = 0, i, total = count_addrs(m) + count_addrs(c->st);
	struct addr_ref *refs = calloc(total + 1, sizeof(*refs));
	const struct addr_ref *open = NULL;

	if (!refs) {
		c->oom = -ENOMEM;
		return;
	}
	add_addrs(refs, &n, m, false);
	add_addrs(refs, &n, c->st, true);
	if (n > 1)
		qsort(refs, n, sizeof(*refs), cmp_addr);
	for (i = 0; i < n; i++) {
		if (!open || !pm_addr_in_prefix(refs[i].addr, open->addr)) {
			open = &refs[i];
			continue;
		}
		if (open->is_new || refs[i].is_new)
			report_overlap(c, open, &refs[i]);
	}
	free(refs);
}

struct id_ref {
	const struct pm_endpoint *ep;
	bool is_new;
};

static int cmp_id(const void *a, const void *b)
{
	const struct id_ref *x = a, *y = b;

	if (x->ep->sec_id != y->ep->sec_id)
		return x->ep->sec_id < y->ep->sec_id ? -1 : 1;
	return strcmp(x->ep->identity_uri, y->ep->identity_uri);
}

/*
 * Replicas share an identity and so a sec_id; two different SPIFFE IDs
 * folding to one 32-bit sec_id would let policy confuse them: refuse.
 */
static void check_id_collisions(struct mf_ctx *c, const struct pm_model *m)
{
	size_t n = 0, i, total = m->n_endpoints + c->st->n_endpoints;
	struct id_ref *refs = calloc(total + 1, sizeof(*refs));
	const struct id_ref *x, *y;
	char where[300];

	if (!refs) {
		c->oom = -ENOMEM;
		return;
	}
	for (i = 0; i < m->n_endpoints; i++)
		refs[n++] = (struct id_ref){&m->endpoints[i], false};
	for (i = 0; i < c->st->n_endpoints; i++)
		refs[n++] = (struct id_ref){&c->st->endpoints[i], true};
	if (n > 1)
		qsort(refs, n, sizeof(*refs), cmp_id);
	for (i = 1; i < n; i++) {
		x = &refs[i - 1];
		y = &refs[i];
		if (x->ep->sec_id != y->ep->sec_id || !cmp_id(x, y) || (!x->is_new && !y->is_new))
			continue;
		if (!y->is_new)
			x = &refs[i], y = &refs[i - 1];
		format_pos(&x->ep->pos, where, sizeof(where));
		report_at(c, &y->ep->pos,
			  "identity %s of endpoint %s/%s has the same numeric identity %u as %s of "
			  "endpoint %s/%s (defined at %s)",
			  y->ep->identity_uri, y->ep->ns, y->ep->name, y->ep->sec_id,
			  x->ep->identity_uri, x->ep->ns, x->ep->name, where);
	}
	free(refs);
}

/* See manifest_priv.h. */
void mf_check_set(struct mf_ctx *c, const struct pm_model *m)
{
	check_duplicates(c, m);
	check_overlaps(c, m);
	check_id_collisions(c, m);
}

static bool ns_known(const struct pm_model *m, const struct pm_model *st, const char *name)
{
	return pm_model_namespace(m, name) || pm_model_namespace(st, name);
}

/* Namespaces only referenced by an endpoint or policy of this load, undeclared. */
static int add_referenced(struct mf_ctx *c, const struct pm_model *m, const char *name)
{
	struct pm_namespace *ns;

	if (ns_known(m, c->st, name))
		return 0;
	ns = mf_append(c, &c->st->namespaces, &c->st->n_namespaces, sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	ns->name = mf_strdup(c, name);
	if (!ns->name)
		return -ENOMEM;
	return mf_labels_set(c, &ns->labels, NS_NAME_LABEL, name);
}

static int add_referenced_all(struct mf_ctx *c, const struct pm_model *m)
{
	size_t i;
	int err = 0;

	for (i = 0; !err && i < c->st->n_endpoints; i++)
		err = add_referenced(c, m, c->st->endpoints[i].ns);
	for (i = 0; !err && i < c->st->n_policies; i++)
		err = add_referenced(c, m, c->st->policies[i].ns);
	return err;
}

static size_t count_rules(const struct pm_model *m)
{
	size_t i, n = 0;

	for (i = 0; i < m->n_policies; i++)
		n += m->policies[i].n_ingress + m->policies[i].n_egress;
	return n;
}

/* Grow *arr to hold n elements; the content and the model's counts are unchanged. */
static int reserve(void *arr_p, size_t n, size_t size)
{
	void **arr = arr_p;
	void *grown = realloc(*arr, (n ? n : 1) * size);

	if (!grown)
		return -ENOMEM;
	*arr = grown;
	return 0;
}

static int reserve_all(struct pm_model *m, const struct pm_model *st)
{
	if (reserve(&m->namespaces, m->n_namespaces + st->n_namespaces, sizeof(*m->namespaces)) ||
	    reserve(&m->endpoints, m->n_endpoints + st->n_endpoints, sizeof(*m->endpoints)) ||
	    reserve(&m->policies, m->n_policies + st->n_policies, sizeof(*m->policies)) ||
	    reserve(&m->files, m->n_files + st->n_files, sizeof(*m->files)) ||
	    reserve(&m->rules, count_rules(m) + count_rules(st) + 1, sizeof(*m->rules)))
		return -ENOMEM;
	return 0;
}

static void move_namespaces(struct pm_model *m, struct pm_model *st)
{
	struct pm_namespace *have, *ns;
	struct pm_labels swap;
	uint32_t *ids;
	size_t i;

	for (i = 0; i < st->n_namespaces; i++) {
		ns = &st->namespaces[i];
		have = (struct pm_namespace *)pm_model_namespace(m, ns->name);
		if (!have) {
			m->namespaces[m->n_namespaces++] = *ns;
			memset(ns, 0, sizeof(*ns));
		} else if (ns->is_declared && !have->is_declared) {
			/* declared now, referenced before: the staging copy frees the old labels */
			swap = have->labels;
			have->labels = ns->labels;
			ns->labels = swap;
			/* the ids go with their labels (interned into m's table) */
			ids = have->label_ids;
			have->label_ids = ns->label_ids;
			ns->label_ids = ids;
			have->is_declared = true;
			have->pos = ns->pos;
		}
	}
}

static int cmp_policy(const void *a, const void *b)
{
	const struct pm_policy *x = a, *y = b;
	int d = strcmp(x->ns, y->ns);

	if (!d)
		d = strcmp(x->name, y->name);
	return d ? d : (int)x->kind - (int)y->kind;
}

static void number_rules(struct pm_model *m)
{
	struct pm_policy *p;
	uint32_t id = 1, pi;
	size_t r;

	memset(&m->rules[0], 0, sizeof(m->rules[0]));
	for (pi = 0; pi < m->n_policies; pi++) {
		p = &m->policies[pi];
		for (r = 0; r < p->n_ingress; r++, id++) {
			p->ingress[r].rule_id = id;
			m->rules[id] = (struct pm_rule_ref){pi, BM_DIR_INGRESS, (uint32_t)r};
		}
		for (r = 0; r < p->n_egress; r++, id++) {
			p->egress[r].rule_id = id;
			m->rules[id] = (struct pm_rule_ref){pi, BM_DIR_EGRESS, (uint32_t)r};
		}
	}
	m->n_rules = id;
}

/* Append the *n_src elements of src to dst (room reserved); returns the new count. */
static size_t move(void *dst, size_t n_dst, const void *src, size_t *n_src, size_t size)
{
	if (*n_src)
		memcpy((char *)dst + n_dst * size, src, *n_src * size);
	n_dst += *n_src;
	*n_src = 0;
	return n_dst;
}

/* See manifest_priv.h. */
int mf_commit(struct mf_ctx *c, struct pm_model *m)
{
	struct pm_model *st = c->st;
	bool is_interned;

	if (add_referenced_all(c, m) || reserve_all(m, st))
		return -ENOMEM;
	/* interned now, into m's table: a load costs what it adds, not the model */
	if (pm_model_intern_into(st, m))
		return -ENOMEM;
	/* an empty m holds only what arrives interned */
	is_interned = m->is_interned || (!m->n_namespaces && !m->n_endpoints && !m->n_policies);
	/* nothing below can fail */
	move_namespaces(m, st);
	m->n_endpoints = move(m->endpoints, m->n_endpoints, st->endpoints, &st->n_endpoints,
			      sizeof(*m->endpoints));
	m->n_policies = move(m->policies, m->n_policies, st->policies, &st->n_policies,
			     sizeof(*m->policies));
	m->n_files = move(m->files, m->n_files, st->files, &st->n_files, sizeof(*m->files));
	if (m->n_policies > 1)
		qsort(m->policies, m->n_policies, sizeof(*m->policies), cmp_policy);
	number_rules(m);
	m->is_interned = is_interned;
	return 0;
}
