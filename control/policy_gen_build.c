// SPDX-License-Identifier: GPL-2.0-only
/* Hand-built policy models for tests (see policy_gen.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy_gen.h"

static void *grow(void *arr, size_t n, size_t size)
{
	char *p = realloc(arr, (n + 1) * size);

	if (p)
		memset(p + n * size, 0, size);
	return p;
}

static int cmp_label(const void *a, const void *b)
{
	return strcmp(((const struct pm_label *)a)->key, ((const struct pm_label *)b)->key);
}

/* "k=v,k2=v2" into sorted labels. */
static int parse_labels(const char *text, struct pm_labels *l)
{
	char *copy = strdup(text), *tok, *save = NULL, *eq;
	struct pm_label *items;
	int err = -ENOMEM;

	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		eq = strchr(tok, '=');
		if (!eq) {
			err = -EINVAL;
			goto out;
		}
		*eq = '\0';
		items = grow(l->items, l->n, sizeof(*items));
		if (!items)
			goto out;
		l->items = items;
		items[l->n].key = strdup(tok);
		items[l->n].value = strdup(eq + 1);
		l->n++;
		if (!items[l->n - 1].key || !items[l->n - 1].value)
			goto out;
	}
	if (l->n > 1)
		qsort(l->items, l->n, sizeof(*l->items), cmp_label);
	err = 0;
out:
	free(copy);
	return err;
}

static int parse_selector(const char *text, struct pm_selector *s)
{
	if (!text)
		return 0;
	s->is_present = true;
	return parse_labels(text, &s->match_labels);
}

/* See policy_gen.h. */
int policy_gen_add_namespace(struct pm_model *m, const char *name, const char *labels)
{
	struct pm_namespace *ns = grow(m->namespaces, m->n_namespaces, sizeof(*ns));

	if (!ns)
		return -ENOMEM;
	m->namespaces = ns;
	pm_model_changed(m);
	ns = &m->namespaces[m->n_namespaces++];
	ns->is_declared = true;
	ns->name = strdup(name);
	if (!ns->name)
		return -ENOMEM;
	return parse_labels(labels ? labels : "", &ns->labels);
}

static int parse_addrs(const char *text, struct pm_endpoint *e)
{
	char *copy = strdup(text), *tok, *save = NULL;
	struct pm_addr *a;
	int err = -ENOMEM;

	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		a = grow(e->addrs, e->n_addrs, sizeof(*a));
		if (!a)
			goto out;
		e->addrs = a;
		err = pm_addr_parse(tok, &e->addrs[e->n_addrs++]);
		if (err)
			goto out;
	}
	err = 0;
out:
	free(copy);
	return err;
}

/* See policy_gen.h. Returns the endpoint's index. */
int policy_gen_add_endpoint(struct pm_model *m, const char *ns, const char *name,
			    const char *labels, const char *addrs, bool is_local, uint32_t sec_id)
{
	struct pm_endpoint *e = grow(m->endpoints, m->n_endpoints, sizeof(*e));
	int err;

	if (!e)
		return -ENOMEM;
	m->endpoints = e;
	pm_model_changed(m);
	e = &m->endpoints[m->n_endpoints++];
	e->is_local = is_local;
	e->sec_id = sec_id;
	e->ns = strdup(ns);
	e->name = strdup(name);
	if (!e->ns || !e->name)
		return -ENOMEM;
	err = parse_labels(labels ? labels : "", &e->labels);
	if (!err)
		err = parse_addrs(addrs, e);
	return err ? err : (int)(m->n_endpoints - 1);
}

/* See policy_gen.h. */
int policy_gen_add_named_port(struct pm_model *m, size_t ep, const char *name, uint8_t proto,
			      uint16_t port)
{
	struct pm_endpoint *e = &m->endpoints[ep];
	struct pm_named_port *np = grow(e->ports, e->n_ports, sizeof(*np));

	if (!np)
		return -ENOMEM;
	pm_model_changed(m);
	e->ports = np;
	np = &e->ports[e->n_ports++];
	np->proto = proto;
	np->port = port;
	np->name = strdup(name);
	return np->name ? 0 : -ENOMEM;
}

/* See policy_gen.h. */
int policy_gen_add_policy(struct pm_model *m, const char *ns, const char *name,
			  const char *pod_selector, bool has_ingress, bool has_egress,
			  bool is_auth_required)
{
	struct pm_policy *p = grow(m->policies, m->n_policies, sizeof(*p));
	int err;

	if (!p)
		return -ENOMEM;
	m->policies = p;
	pm_model_changed(m);
	p = &m->policies[m->n_policies++];
	p->kind = is_auth_required ? PM_KIND_MESH_POLICY : PM_KIND_NETWORK_POLICY;
	p->auth_required = is_auth_required;
	p->has_ingress = has_ingress;
	p->has_egress = has_egress;
	p->ns = strdup(ns);
	p->name = strdup(name);
	if (!p->ns || !p->name)
		return -ENOMEM;
	err = parse_selector(pod_selector ? pod_selector : "", &p->pod_selector);
	return err ? err : (int)(m->n_policies - 1);
}

/* See policy_gen.h. */
struct pm_rule *policy_gen_add_rule(struct pm_model *m, size_t policy, uint8_t dir)
{
	struct pm_policy *p = &m->policies[policy];
	struct pm_rule **rules = dir == BM_DIR_INGRESS ? &p->ingress : &p->egress;
	size_t *n = dir == BM_DIR_INGRESS ? &p->n_ingress : &p->n_egress;
	struct pm_rule *r = grow(*rules, *n, sizeof(*r));

	if (!r)
		return NULL;
	pm_model_changed(m);
	*rules = r;
	return &r[(*n)++];
}

static struct pm_peer *new_peer(struct pm_rule *r)
{
	struct pm_peer *p = grow(r->peers, r->n_peers, sizeof(*p));

	if (!p)
		return NULL;
	r->peers = p;
	return &p[r->n_peers++];
}

/* See policy_gen.h. */
int policy_gen_add_peer(struct pm_rule *r, const char *ns_selector, const char *pod_selector)
{
	struct pm_peer *p = new_peer(r);
	int err;

	if (!p)
		return -ENOMEM;
	p->kind = PM_PEER_SELECTORS;
	err = parse_selector(ns_selector, &p->ns_selector);
	return err ? err : parse_selector(pod_selector, &p->pod_selector);
}

/* See policy_gen.h. */
int policy_gen_add_ip_block(struct pm_rule *r, const char *cidr, const char *excepts)
{
	struct pm_peer *p = new_peer(r);
	struct pm_endpoint tmp = {0};
	int err;

	if (!p)
		return -ENOMEM;
	p->kind = PM_PEER_IP_BLOCK;
	err = pm_addr_parse(cidr, &p->ip_block.cidr);
	if (err || !excepts)
		return err;
	err = parse_addrs(excepts, &tmp);
	p->ip_block.except = tmp.addrs;
	p->ip_block.n_except = tmp.n_addrs;
	return err;
}

/* See policy_gen.h. */
int policy_gen_add_port(struct pm_rule *r, uint8_t proto, const char *port)
{
	struct pm_port *pt = grow(r->ports, r->n_ports, sizeof(*pt));
	unsigned long lo, hi;
	char *end;

	if (!pt)
		return -ENOMEM;
	r->ports = pt;
	pt = &pt[r->n_ports++];
	pt->proto = proto;
	if (!port)
		return 0;
	pt->has_port = true;
	lo = strtoul(port, &end, 10);
	if (end == port) {
		pt->port_name = strdup(port);
		return pt->port_name ? 0 : -ENOMEM;
	}
	hi = *end == '-' ? strtoul(end + 1, &end, 10) : 0;
	if (*end || lo > 65535 || hi > 65535)
		return -EINVAL;
	pt->port = (uint16_t)lo;
	pt->end_port = (uint16_t)hi;
	return 0;
}

/* See policy_gen.h. */
int policy_gen_add_expr(struct pm_rule *r, bool is_ns, const char *key, enum pm_sel_op op,
			const char *values)
{
	struct pm_peer *p = r->n_peers ? &r->peers[r->n_peers - 1] : NULL;
	struct pm_selector *s;
	struct pm_sel_expr *e;
	char *copy, *tok, *save = NULL, **v;
	int err = -ENOMEM;

	if (!p)
		return -EINVAL;
	s = is_ns ? &p->ns_selector : &p->pod_selector;
	e = grow(s->exprs, s->n_exprs, sizeof(*e));
	if (!e)
		return -ENOMEM;
	s->is_present = true;
	s->exprs = e;
	e = &e[s->n_exprs++];
	e->op = op;
	e->key = strdup(key);
	copy = strdup(values ? values : "");
	if (!e->key || !copy)
		goto out;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		v = grow(e->values, e->n_values, sizeof(*v));
		if (!v)
			goto out;
		e->values = v;
		v[e->n_values] = strdup(tok);
		if (!v[e->n_values++])
			goto out;
	}
	err = 0;
out:
	free(copy);
	return err;
}

static int cmp_policy(const void *a, const void *b)
{
	const struct pm_policy *x = a, *y = b;
	int r = strcmp(x->ns, y->ns);

	return r ? r : strcmp(x->name, y->name);
}

static void number(struct pm_model *m, size_t pi, uint8_t dir, struct pm_rule *rules, size_t n)
{
	size_t j;

	for (j = 0; j < n; j++) {
		rules[j].rule_id = (uint32_t)m->n_rules;
		m->rules[m->n_rules++] = (struct pm_rule_ref){(uint32_t)pi, dir, (uint32_t)j};
	}
}

/* See policy_gen.h. */
int policy_gen_finish(struct pm_model *m)
{
	size_t i, total = 1;
	struct pm_policy *p;

	if (m->n_policies > 1)
		qsort(m->policies, m->n_policies, sizeof(*m->policies), cmp_policy);
	for (i = 0; i < m->n_policies; i++)
		total += m->policies[i].n_ingress + m->policies[i].n_egress;
	free(m->rules);
	m->rules = calloc(total, sizeof(*m->rules));
	if (!m->rules)
		return -ENOMEM;
	m->n_rules = 1;
	for (i = 0; i < m->n_policies; i++) {
		p = &m->policies[i];
		number(m, i, BM_DIR_INGRESS, p->ingress, p->n_ingress);
		number(m, i, BM_DIR_EGRESS, p->egress, p->n_egress);
	}
	pm_model_changed(m);
	return pm_model_intern(m);
}
