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
	free(m);
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
