// SPDX-License-Identifier: GPL-2.0-only
/* The in-memory policy model: lifetime, selector matching, address helpers. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <abi/types.h>

#include "policy_model.h"

/* See policy_model.h. */
struct pm_model *pm_model_new(void)
{
	struct pm_model *m = calloc(1, sizeof(*m));

	if (!m)
		errno = ENOMEM;
	return m;
}

static void labels_release(struct pm_labels *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->items[i].key);
		free(l->items[i].value);
	}
	free(l->items);
}

static void selector_release(struct pm_selector *s)
{
	size_t i, j;

	labels_release(&s->match_labels);
	free(s->label_ids);
	for (i = 0; i < s->n_exprs; i++) {
		for (j = 0; j < s->exprs[i].n_values; j++)
			free(s->exprs[i].values[j]);
		free(s->exprs[i].values);
		free(s->exprs[i].key);
	}
	free(s->exprs);
}

static void rules_release(struct pm_rule *rules, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < rules[i].n_peers; j++) {
			selector_release(&rules[i].peers[j].pod_selector);
			selector_release(&rules[i].peers[j].ns_selector);
			free(rules[i].peers[j].ip_block.except);
		}
		free(rules[i].peers);
		for (j = 0; j < rules[i].n_ports; j++)
			free(rules[i].ports[j].port_name);
		free(rules[i].ports);
	}
	free(rules);
}

static void policy_release(struct pm_policy *p)
{
	free(p->name);
	free(p->ns);
	selector_release(&p->pod_selector);
	rules_release(p->ingress, p->n_ingress);
	rules_release(p->egress, p->n_egress);
}

static void endpoint_release(struct pm_endpoint *e)
{
	size_t i;

	free(e->name);
	free(e->ns);
	labels_release(&e->labels);
	free(e->label_ids);
	free(e->identity_uri);
	free(e->addrs);
	for (i = 0; i < e->n_ports; i++)
		free(e->ports[i].name);
	free(e->ports);
	free(e->node_name);
}

/* See policy_model.h. */
void pm_model_free(struct pm_model *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->n_namespaces; i++) {
		free(m->namespaces[i].name);
		labels_release(&m->namespaces[i].labels);
		free(m->namespaces[i].label_ids);
	}
	free(m->namespaces);
	for (i = 0; i < m->n_endpoints; i++)
		endpoint_release(&m->endpoints[i]);
	free(m->endpoints);
	for (i = 0; i < m->n_policies; i++)
		policy_release(&m->policies[i]);
	free(m->policies);
	free(m->rules);
	for (i = 0; i < m->n_files; i++)
		free(m->files[i]);
	free(m->files);
	pm_strtab_free(m->strs);
	free(m);
}

static bool intern_str(struct pm_model *m, const char *s, uint32_t *id)
{
	if (!*id && s)
		*id = pm_strtab_intern(m->strs, s);
	return *id || !s;
}

static bool intern_labels(struct pm_model *m, const struct pm_labels *l, uint32_t **ids)
{
	size_t i;

	if (*ids || !l->n)
		return true;
	*ids = calloc(2 * l->n, sizeof(**ids));
	if (!*ids)
		return false;
	for (i = 0; i < l->n; i++) {
		if (!intern_str(m, l->items[i].key, &(*ids)[2 * i]) ||
		    !intern_str(m, l->items[i].value, &(*ids)[2 * i + 1])) {
			free(*ids);
			*ids = NULL;
			return false;
		}
	}
	return true;
}

static uint64_t sig_mix(uint64_t h, uint64_t x)
{
	h = (h ^ x) * 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 32);
}

static uint64_t sig_str(uint64_t h, const char *s)
{
	for (; s && *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return sig_mix(h, 0xff);
}

/* Equal selectors (absent ones, matchLabels ids, expressions), equal sig. */
static uint64_t selector_sig(const struct pm_selector *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i, j;

	if (!s->is_present)
		return sig_mix(h, 1);
	for (i = 0; i < 2 * s->match_labels.n; i++)
		h = sig_mix(h, s->label_ids[i]);
	for (i = 0; i < s->n_exprs; i++) {
		h = sig_mix(sig_str(h, s->exprs[i].key), s->exprs[i].op);
		for (j = 0; j < s->exprs[i].n_values; j++)
			h = sig_str(h, s->exprs[i].values[j]);
	}
	return sig_mix(h, s->match_labels.n << 16 | s->n_exprs);
}

/* A selector whose label_ids are set keeps its sig (0: not computed yet). */
static bool intern_selector(struct pm_model *m, struct pm_selector *s)
{
	bool is_new = !s->label_ids;

	if (!intern_labels(m, &s->match_labels, &s->label_ids))
		return false;
	if (is_new || !s->sig)
		s->sig = selector_sig(s);
	return true;
}

static bool intern_rules(struct pm_model *m, struct pm_rule *rules, size_t n)
{
	bool ok = true;
	size_t i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < rules[i].n_ports; j++)
			ok &= intern_str(m, rules[i].ports[j].port_name,
					 &rules[i].ports[j].port_name_id);
		for (j = 0; j < rules[i].n_peers; j++) {
			ok &= intern_selector(m, &rules[i].peers[j].pod_selector);
			ok &= intern_selector(m, &rules[i].peers[j].ns_selector);
		}
	}
	return ok;
}

/* See policy_model.h. */
int pm_model_intern(struct pm_model *m)
{
	struct pm_policy *p;
	bool ok = true;
	size_t i, j;

	if (m->is_interned)
		return 0;
	if (!m->strs) {
		m->strs = pm_strtab_new();
		if (!m->strs)
			return -ENOMEM;
	}
	for (i = 0; i < m->n_namespaces; i++) {
		ok &= intern_str(m, m->namespaces[i].name, &m->namespaces[i].name_id);
		ok &= intern_labels(m, &m->namespaces[i].labels, &m->namespaces[i].label_ids);
	}
	for (i = 0; i < m->n_endpoints; i++) {
		ok &= intern_str(m, m->endpoints[i].ns, &m->endpoints[i].ns_id);
		ok &= intern_labels(m, &m->endpoints[i].labels, &m->endpoints[i].label_ids);
		for (j = 0; j < m->endpoints[i].n_ports; j++)
			ok &= intern_str(m, m->endpoints[i].ports[j].name,
					 &m->endpoints[i].ports[j].name_id);
	}
	for (i = 0; i < m->n_policies; i++) {
		p = &m->policies[i];
		ok &= intern_str(m, p->ns, &p->ns_id);
		ok &= intern_selector(m, &p->pod_selector);
		ok &= intern_rules(m, p->ingress, p->n_ingress);
		ok &= intern_rules(m, p->egress, p->n_egress);
	}
	m->is_interned = ok;
	return ok ? 0 : -ENOMEM;
}

/* See policy_model.h. */
int pm_model_intern_into(struct pm_model *st, struct pm_model *m)
{
	int err;

	if (st->strs)
		return -EINVAL;
	if (!m->strs) {
		m->strs = pm_strtab_new();
		if (!m->strs)
			return -ENOMEM;
	}
	st->strs = m->strs; /* borrowed for the walk */
	st->is_interned = false;
	err = pm_model_intern(st);
	st->strs = NULL;
	st->is_interned = false;
	return err;
}

/* See policy_model.h. */
void pm_model_changed(struct pm_model *m)
{
	m->is_interned = false;
}

/* See policy_model.h. */
uint32_t pm_model_str_id(struct pm_model *m, const char *s)
{
	if (!m->strs) {
		m->strs = pm_strtab_new();
		if (!m->strs)
			return 0;
	}
	return pm_strtab_intern(m->strs, s);
}

/* See policy_model.h. Linear: label sets are small, and it stays correct on unsorted input. */
const char *pm_labels_get(const struct pm_labels *labels, const char *key)
{
	size_t i;

	for (i = 0; i < labels->n; i++) {
		if (!strcmp(labels->items[i].key, key))
			return labels->items[i].value;
	}
	return NULL;
}

static bool value_listed(const struct pm_sel_expr *e, const char *value)
{
	size_t i;

	for (i = 0; i < e->n_values; i++) {
		if (!strcmp(e->values[i], value))
			return true;
	}
	return false;
}

/* Kubernetes semantics: NotIn and DoesNotExist match when the key is absent. */
static bool expr_matches(const struct pm_sel_expr *e, const struct pm_labels *labels)
{
	const char *v = pm_labels_get(labels, e->key);

	switch (e->op) {
	case PM_OP_IN:
		return v && value_listed(e, v);
	case PM_OP_NOT_IN:
		return !v || !value_listed(e, v);
	case PM_OP_EXISTS:
		return v != NULL;
	case PM_OP_DOES_NOT_EXIST:
		return v == NULL;
	}
	return false;
}

/* See policy_model.h. */
bool pm_selector_matches(const struct pm_selector *sel, const struct pm_labels *labels)
{
	const char *v;
	size_t i;

	if (!sel->is_present)
		return false;
	for (i = 0; i < sel->match_labels.n; i++) {
		v = pm_labels_get(labels, sel->match_labels.items[i].key);
		if (!v || strcmp(v, sel->match_labels.items[i].value))
			return false;
	}
	for (i = 0; i < sel->n_exprs; i++) {
		if (!expr_matches(&sel->exprs[i], labels))
			return false;
	}
	return true;
}

/* See policy_model.h. */
const struct pm_namespace *pm_model_namespace(const struct pm_model *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->n_namespaces; i++) {
		if (!strcmp(m->namespaces[i].name, name))
			return &m->namespaces[i];
	}
	return NULL;
}

static unsigned int family_bits(uint8_t family)
{
	return family == BM_FAMILY_IPV4 ? 32 : 128;
}

/* Do the first bits bits of a and b agree? */
static bool prefix_equal(const uint8_t *a, const uint8_t *b, unsigned int bits)
{
	unsigned int whole = bits / 8, rest = bits % 8;
	uint8_t mask;

	if (memcmp(a, b, whole))
		return false;
	if (!rest)
		return true;
	mask = (uint8_t)(0xff << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

/* See policy_model.h. */
bool pm_addr_in_prefix(const struct pm_addr *addr, const struct pm_addr *p)
{
	if (addr->family != p->family || p->prefixlen > family_bits(p->family))
		return false;
	return prefix_equal(addr->addr, p->addr, p->prefixlen);
}

static void mask_host_bits(struct pm_addr *a)
{
	unsigned int i;

	for (i = 0; i < 16; i++) {
		if (i * 8 >= a->prefixlen)
			a->addr[i] = 0;
		else if (i * 8 + 8 > a->prefixlen)
			a->addr[i] &= (uint8_t)(0xff << (8 - (a->prefixlen - i * 8)));
	}
}

static int parse_prefixlen(const char *text, unsigned int max, uint8_t *out)
{
	unsigned long v;
	char *end;

	/* strtoul would accept a sign or leading blanks: digits only */
	if (*text < '0' || *text > '9' || strlen(text) > 3)
		return -EINVAL;
	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = (uint8_t)v;
	return 0;
}

/* See policy_model.h. */
int pm_addr_parse(const char *text, struct pm_addr *out)
{
	char buf[INET6_ADDRSTRLEN + 8];
	struct pm_addr a = {0};
	char *slash;

	if (!text || strlen(text) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, text);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET, buf, a.addr) == 1)
		a.family = BM_FAMILY_IPV4;
	else if (inet_pton(AF_INET6, buf, a.addr) == 1)
		a.family = BM_FAMILY_IPV6;
	else
		return -EINVAL;
	a.prefixlen = (uint8_t)family_bits(a.family);
	if (slash && parse_prefixlen(slash + 1, family_bits(a.family), &a.prefixlen))
		return -EINVAL;
	mask_host_bits(&a);
	*out = a;
	return 0;
}

/* See policy_model.h. Never fails: an unknown family formats as "?". */
const char *pm_addr_format(const struct pm_addr *a, char *buf, size_t len)
{
	char text[INET6_ADDRSTRLEN];
	int af = a->family == BM_FAMILY_IPV4 ? AF_INET : AF_INET6;

	if (!len)
		return buf;
	if ((a->family != BM_FAMILY_IPV4 && a->family != BM_FAMILY_IPV6) ||
	    !inet_ntop(af, a->addr, text, sizeof(text))) {
		snprintf(buf, len, "?");
		return buf;
	}
	if (a->prefixlen == family_bits(a->family))
		snprintf(buf, len, "%s", text);
	else
		snprintf(buf, len, "%s/%u", text, a->prefixlen);
	return buf;
}
