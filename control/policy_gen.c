// SPDX-License-Identifier: GPL-2.0-only
/*
 * Random policy models and tuples (see policy_gen.h). Allocation failures
 * are collected in one flag and reported once at the end: every array is
 * zero-filled before it is counted, so pm_model_free() can release a model
 * that was only partly built.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_gen.h"

#define V4_PLAN_BITS 24 /* 10.0.0.0/8 */
#define CIDR_SIZE 16 /* /28 and /124 endpoints */

static const char *const label_keys[] = {"app", "env", "role", "tier"}; /* sorted */
static const char *const port_names[] = {"dns", "http", "metrics", "web"};
static const uint16_t port_pool[] = {53, 80, 443, 5000, 5005, 8080, 8443, 9090};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

struct gen {
	struct policy_gen_rng rng;
	const struct policy_gen_params *p;
	struct pm_model *m;
	uint32_t counter; /* next free address offset in the plan */
	bool has_failed; /* an allocation failed */
	/* string ids of the vocabulary, interned on first use (0: not yet) */
	uint32_t key_ids[4]; /* label_keys */
	uint32_t *value_ids; /* "v%u" */
	uint32_t *ns_ids; /* "ns%u" */
	uint32_t meta_key_id; /* kubernetes.io/metadata.name */
	uint32_t team_key_id;
	uint32_t team_ids[2]; /* "t%u" */
	uint32_t port_name_ids[4]; /* port_names */
};

/* See policy_gen.h. */
void policy_gen_defaults(struct policy_gen_params *p)
{
	*p = (struct policy_gen_params){
		.n_namespaces = 3,
		.n_endpoints = 40,
		.n_policies = 14,
		.max_rules = 3,
		.max_peers = 3,
		.max_ports = 3,
		.n_label_values = 3,
		.pct_cidr_endpoint = 15,
		.pct_dual_stack = 40,
		.pct_local = 70,
		.pct_mesh = 20,
		.pct_ip_block = 30,
		.pct_named_port = 25,
		.pct_end_port = 25,
		.pct_no_peers = 15,
		.pct_no_ports = 25,
		.pct_broad = 15,
		.pct_ns_peer = 25,
		.pct_external_block = 10,
		.replicas = 1,
	};
}

/* See policy_gen.h. */
void policy_gen_scale_defaults(struct policy_gen_params *p, uint32_t n_endpoints)
{
	policy_gen_defaults(p);
	p->n_endpoints = n_endpoints;
	p->n_policies = n_endpoints * 3 / 4;
	p->n_namespaces = n_endpoints / 100 + 1;
	p->max_rules = 2;
	p->n_label_values = 40;
	p->pct_ip_block = 5;
	p->pct_broad = 0;
	p->pct_no_peers = 2;
	p->pct_ns_peer = 2;
	p->pct_external_block = 90;
	p->pct_named_port = 10;
	p->replicas = 5;
}

/* See policy_gen.h. */
void policy_gen_seed(struct policy_gen_rng *rng, uint64_t seed)
{
	rng->state = seed ^ 0x9e3779b97f4a7c15ULL;
}

/* See policy_gen.h. splitmix64: every seed, including 0, gives a good stream. */
uint64_t policy_gen_next(struct policy_gen_rng *rng)
{
	uint64_t z = (rng->state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* See policy_gen.h. */
uint32_t policy_gen_below(struct policy_gen_rng *rng, uint32_t n)
{
	return n ? (uint32_t)(policy_gen_next(rng) % n) : 0;
}

static uint32_t below(struct gen *g, uint32_t n)
{
	return policy_gen_below(&g->rng, n);
}

static bool chance(struct gen *g, uint32_t pct)
{
	return below(g, 100) < pct;
}

static void *zalloc(struct gen *g, size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (!p)
		g->has_failed = true;
	return p;
}

static char *sprint(struct gen *g, const char *fmt, unsigned int x)
{
	char buf[64], *s;

	snprintf(buf, sizeof(buf), fmt, x);
	s = strdup(buf);
	if (!s)
		g->has_failed = true;
	return s;
}

static char *dup(struct gen *g, const char *text)
{
	char *s = strdup(text);

	if (!s)
		g->has_failed = true;
	return s;
}

/* The string id of s, interned once into *cache: the strings are hot now, not in the compiler. */
static uint32_t vocab_id(struct gen *g, uint32_t *cache, const char *s)
{
	if (!*cache && s) {
		*cache = pm_model_str_id(g->m, s);
		if (!*cache)
			g->has_failed = true;
	}
	return *cache;
}

static int cmp_label(const void *a, const void *b)
{
	return strcmp(((const struct pm_label *)a)->key, ((const struct pm_label *)b)->key);
}

/* Label i of l: key k of the vocabulary, value "v<x>", with their ids. */
static void set_label(struct gen *g, struct pm_labels *l, uint32_t *ids, size_t i, uint32_t k,
		      uint32_t x)
{
	l->items[i].key = dup(g, label_keys[k]);
	l->items[i].value = sprint(g, "v%u", x);
	ids[2 * i] = vocab_id(g, &g->key_ids[k], l->items[i].key);
	ids[2 * i + 1] = vocab_id(g, &g->value_ids[x], l->items[i].value);
}

/* Labels from the key vocabulary, each key with probability pct, and their ids. */
static void gen_labels(struct gen *g, struct pm_labels *l, uint32_t **ids, uint32_t pct)
{
	size_t k;

	l->items = zalloc(g, ARRAY_LEN(label_keys), sizeof(*l->items));
	*ids = zalloc(g, 2 * ARRAY_LEN(label_keys), sizeof(**ids));
	if (!l->items || !*ids)
		return;
	for (k = 0; k < ARRAY_LEN(label_keys); k++) {
		if (!chance(g, pct))
			continue;
		set_label(g, l, *ids, l->n, (uint32_t)k, below(g, g->p->n_label_values));
		l->n++;
	}
}

/* "ns<x>" and its id. */
static char *ns_name(struct gen *g, uint32_t x, uint32_t *id)
{
	char *s = sprint(g, "ns%u", x);

	*id = vocab_id(g, &g->ns_ids[x], s);
	return s;
}

static void set_addr(struct pm_addr *a, uint8_t family, uint32_t offset, uint8_t prefixlen)
{
	memset(a, 0, sizeof(*a));
	a->family = family;
	a->prefixlen = prefixlen;
	if (family == BM_FAMILY_IPV4) {
		a->addr[0] = 10;
		a->addr[1] = (uint8_t)(offset >> 16);
		a->addr[2] = (uint8_t)(offset >> 8);
		a->addr[3] = (uint8_t)offset;
		return;
	}
	a->addr[0] = 0xfd;
	a->addr[13] = (uint8_t)(offset >> 16);
	a->addr[14] = (uint8_t)(offset >> 8);
	a->addr[15] = (uint8_t)offset;
}

static void gen_endpoint_addrs(struct gen *g, struct pm_endpoint *e)
{
	bool is_cidr = chance(g, g->p->pct_cidr_endpoint);
	uint32_t off;

	if (is_cidr)
		g->counter = (g->counter + CIDR_SIZE) & ~(uint32_t)(CIDR_SIZE - 1);
	else
		g->counter += 1 + below(g, 3);
	off = g->counter;
	if (is_cidr)
		g->counter += CIDR_SIZE;
	e->addrs = zalloc(g, 2, sizeof(*e->addrs));
	if (!e->addrs)
		return;
	set_addr(&e->addrs[e->n_addrs++], BM_FAMILY_IPV4, off, is_cidr ? 28 : 32);
	if (chance(g, g->p->pct_dual_stack))
		set_addr(&e->addrs[e->n_addrs++], BM_FAMILY_IPV6, off, is_cidr ? 124 : 128);
}

static void gen_endpoint_ports(struct gen *g, struct pm_endpoint *e)
{
	static const uint8_t protos[] = {BM_PROTO_TCP, BM_PROTO_UDP, BM_PROTO_SCTP};
	size_t k;

	e->ports = zalloc(g, ARRAY_LEN(port_names), sizeof(*e->ports));
	if (!e->ports)
		return;
	for (k = 0; k < ARRAY_LEN(port_names); k++) {
		if (!chance(g, 40))
			continue;
		e->ports[e->n_ports].name = dup(g, port_names[k]);
		e->ports[e->n_ports].name_id =
			vocab_id(g, &g->port_name_ids[k], e->ports[e->n_ports].name);
		e->ports[e->n_ports].proto = protos[below(g, 3)];
		e->ports[e->n_ports].port = port_pool[below(g, ARRAY_LEN(port_pool))];
		e->n_ports++;
	}
}

/* A replica: the namespace and labels of the workload's first endpoint. */
static void copy_workload(struct gen *g, struct pm_endpoint *e, const struct pm_endpoint *from)
{
	size_t k;

	e->ns = dup(g, from->ns);
	e->ns_id = from->ns_id;
	e->labels.items = zalloc(g, from->labels.n, sizeof(*e->labels.items));
	e->label_ids = zalloc(g, 2 * from->labels.n, sizeof(*e->label_ids));
	if (!e->labels.items || !e->label_ids)
		return;
	if (from->label_ids)
		memcpy(e->label_ids, from->label_ids, 2 * from->labels.n * sizeof(*e->label_ids));
	for (k = 0; k < from->labels.n; k++, e->labels.n++) {
		e->labels.items[k].key = dup(g, from->labels.items[k].key);
		e->labels.items[k].value = dup(g, from->labels.items[k].value);
	}
	e->ports = zalloc(g, from->n_ports, sizeof(*e->ports));
	for (k = 0; k < from->n_ports && e->ports; k++, e->n_ports++) {
		e->ports[k] = from->ports[k];
		e->ports[k].name = dup(g, from->ports[k].name);
	}
}

static void gen_endpoint(struct gen *g, uint32_t i)
{
	struct pm_endpoint *e = &g->m->endpoints[i];

	e->name = sprint(g, "pod%u", i);
	e->identity_uri = sprint(g, "spiffe://mesh.test/ns/x/sa/sa%u", i);
	e->sec_id = BM_ID_FIRST_WORKLOAD + i;
	e->is_local = chance(g, g->p->pct_local);
	if (g->p->replicas > 1 && i % g->p->replicas)
		copy_workload(g, e, &g->m->endpoints[i - 1]);
	else
		e->ns = ns_name(g, below(g, g->p->n_namespaces), &e->ns_id);
	if (!(g->p->replicas > 1 && i % g->p->replicas))
		gen_labels(g, &e->labels, &e->label_ids, 60);
	gen_endpoint_addrs(g, e);
	if (!(g->p->replicas > 1 && i % g->p->replicas))
		gen_endpoint_ports(g, e);
}

static void gen_namespace(struct gen *g, uint32_t i)
{
	struct pm_namespace *ns = &g->m->namespaces[i];
	struct pm_labels *l = &ns->labels;

	ns->name = sprint(g, "ns%u", i);
	ns->is_declared = true;
	l->items = zalloc(g, 2, sizeof(*l->items));
	if (!l->items)
		return;
	l->items[0].key = dup(g, "kubernetes.io/metadata.name");
	l->items[0].value = sprint(g, "ns%u", i);
	l->n = 1;
	if (chance(g, 70)) {
		l->items[1].key = dup(g, "team");
		l->items[1].value = sprint(g, "t%u", below(g, 2));
		l->n = 2;
	}
	if (l->n > 1)
		qsort(l->items, l->n, sizeof(*l->items), cmp_label);
}

static void gen_expr(struct gen *g, struct pm_sel_expr *e, const char *key, bool is_ns)
{
	uint32_t k, n;

	e->key = dup(g, key);
	e->op = (enum pm_sel_op)below(g, 4);
	if (e->op == PM_OP_EXISTS || e->op == PM_OP_DOES_NOT_EXIST)
		return;
	n = 1 + below(g, 2);
	e->values = zalloc(g, n, sizeof(*e->values));
	if (!e->values)
		return;
	for (k = 0; k < n; k++) {
		e->values[e->n_values++] = is_ns ? sprint(g, "ns%u", below(g, g->p->n_namespaces))
						 : sprint(g, "v%u", below(g, g->p->n_label_values));
	}
}

/* A pod selector: empty, or at least one match label, maybe an expression. */
static void gen_pod_selector(struct gen *g, struct pm_selector *s)
{
	uint32_t k;

	s->is_present = true;
	if (chance(g, g->p->pct_broad))
		return;
	gen_labels(g, &s->match_labels, &s->label_ids, 30);
	if (!s->match_labels.n && s->match_labels.items && s->label_ids) {
		k = below(g, ARRAY_LEN(label_keys));
		set_label(g, &s->match_labels, s->label_ids, 0, k, below(g, g->p->n_label_values));
		s->match_labels.n = 1;
	}
	if (!chance(g, 30))
		return;
	s->exprs = zalloc(g, 1, sizeof(*s->exprs));
	if (!s->exprs)
		return;
	gen_expr(g, &s->exprs[0], label_keys[below(g, ARRAY_LEN(label_keys))], false);
	s->n_exprs = 1;
}

static void gen_ns_selector(struct gen *g, struct pm_selector *s)
{
	uint32_t r = below(g, 100), x;

	s->is_present = true;
	if (r < 2 * g->p->pct_broad)
		return;
	if (r < 35 + g->p->pct_broad * 2 || !g->p->pct_broad) {
		s->match_labels.items = zalloc(g, 1, sizeof(*s->match_labels.items));
		s->label_ids = zalloc(g, 2, sizeof(*s->label_ids));
		if (!s->match_labels.items || !s->label_ids)
			return;
		s->match_labels.n = 1;
		if (!g->p->pct_broad) {
			/* narrow models: one namespace by name */
			s->match_labels.items[0].key = dup(g, "kubernetes.io/metadata.name");
			s->match_labels.items[0].value =
				ns_name(g, below(g, g->p->n_namespaces), &s->label_ids[1]);
			s->label_ids[0] =
				vocab_id(g, &g->meta_key_id, s->match_labels.items[0].key);
			return;
		}
		s->match_labels.items[0].key = dup(g, "team");
		x = below(g, 2);
		s->match_labels.items[0].value = sprint(g, "t%u", x);
		s->label_ids[0] = vocab_id(g, &g->team_key_id, s->match_labels.items[0].key);
		s->label_ids[1] = vocab_id(g, &g->team_ids[x], s->match_labels.items[0].value);
		return;
	}
	s->exprs = zalloc(g, 1, sizeof(*s->exprs));
	if (!s->exprs)
		return;
	gen_expr(g, &s->exprs[0], "kubernetes.io/metadata.name", true);
	s->n_exprs = 1;
}

static void mask_prefix(struct pm_addr *a)
{
	unsigned int bits = a->family == BM_FAMILY_IPV4 ? 32 : 128, i;

	for (i = a->prefixlen; i < bits; i++)
		a->addr[i / 8] &= (uint8_t) ~(0x80 >> (i % 8));
}

/* A prefix around a random endpoint-ish address of family. */
static void gen_prefix(struct gen *g, struct pm_addr *a, uint8_t family, uint8_t min_len)
{
	uint8_t max = family == BM_FAMILY_IPV4 ? 32 : 128;
	uint8_t len = max - (uint8_t)below(g, 12);

	set_addr(a, family, below(g, g->counter + 32), max);
	if (chance(g, g->p->pct_broad / 3))
		len = (uint8_t)below(g, max + 1);
	if (len < min_len)
		len = min_len;
	a->prefixlen = len;
	mask_prefix(a);
}

/* An except strictly inside the cidr, near the endpoints when the cidr holds them. */
static void gen_except(struct gen *g, const struct pm_addr *cidr, struct pm_addr *x)
{
	uint8_t max = cidr->family == BM_FAMILY_IPV4 ? 32 : 128;
	unsigned int i;

	gen_prefix(g, x, cidr->family, cidr->prefixlen + 1);
	set_addr(x, cidr->family, below(g, g->counter + 32), x->prefixlen);
	for (i = 0; i < cidr->prefixlen; i++) {
		x->addr[i / 8] &= (uint8_t) ~(0x80 >> (i % 8));
		x->addr[i / 8] |= cidr->addr[i / 8] & (0x80 >> (i % 8));
	}
	if (x->prefixlen > max)
		x->prefixlen = max;
	mask_prefix(x);
}

static void gen_ip_block(struct gen *g, struct pm_ip_block *b)
{
	uint8_t family = chance(g, 75) ? BM_FAMILY_IPV4 : BM_FAMILY_IPV6;
	uint8_t max = family == BM_FAMILY_IPV4 ? 32 : 128;
	uint32_t k, n = below(g, 3);

	gen_prefix(g, &b->cidr, family, 0);
	if (chance(g, g->p->pct_external_block)) {
		/* 192.168.x.0/24 or fd01::x:0/120: no endpoint there */
		b->cidr.addr[0] = family == BM_FAMILY_IPV4 ? 192 : 0xfd;
		b->cidr.addr[1] = family == BM_FAMILY_IPV4 ? 168 : 0x01;
		b->cidr.prefixlen = max - 8;
		mask_prefix(&b->cidr);
	}
	if (b->cidr.prefixlen == max)
		return;
	b->except = zalloc(g, n, sizeof(*b->except));
	for (k = 0; k < n && b->except; k++)
		gen_except(g, &b->cidr, &b->except[b->n_except++]);
}

static void gen_peer(struct gen *g, struct pm_peer *peer)
{
	uint32_t r = below(g, 100);

	if (chance(g, g->p->pct_ip_block)) {
		peer->kind = PM_PEER_IP_BLOCK;
		gen_ip_block(g, &peer->ip_block);
		return;
	}
	peer->kind = PM_PEER_SELECTORS;
	if (r < g->p->pct_ns_peer) {
		gen_ns_selector(g, &peer->ns_selector);
		return;
	}
	gen_pod_selector(g, &peer->pod_selector);
	if (r >= (100 + g->p->pct_ns_peer) / 2)
		gen_ns_selector(g, &peer->ns_selector);
}

static void gen_port(struct gen *g, struct pm_port *pt)
{
	static const uint8_t protos[] = {BM_PROTO_TCP, BM_PROTO_TCP, BM_PROTO_TCP,
					 BM_PROTO_UDP, BM_PROTO_UDP, BM_PROTO_SCTP};
	uint32_t k;

	pt->proto = protos[below(g, ARRAY_LEN(protos))];
	if (chance(g, 10))
		return;
	pt->has_port = true;
	if (chance(g, g->p->pct_named_port)) {
		k = below(g, ARRAY_LEN(port_names));
		pt->port_name = dup(g, port_names[k]);
		pt->port_name_id = vocab_id(g, &g->port_name_ids[k], pt->port_name);
		return;
	}
	pt->port = chance(g, 70) ? port_pool[below(g, ARRAY_LEN(port_pool))]
				 : (uint16_t)(1000 + below(g, 200));
	if (chance(g, g->p->pct_end_port))
		pt->end_port = pt->port + (uint16_t)below(g, 64);
}

static void gen_rule(struct gen *g, struct pm_rule *r)
{
	uint32_t n, k;

	n = chance(g, g->p->pct_no_peers) ? 0 : 1 + below(g, g->p->max_peers);
	r->peers = zalloc(g, n, sizeof(*r->peers));
	for (k = 0; k < n && r->peers; k++)
		gen_peer(g, &r->peers[r->n_peers++]);
	n = chance(g, g->p->pct_no_ports) ? 0 : 1 + below(g, g->p->max_ports);
	r->ports = zalloc(g, n, sizeof(*r->ports));
	for (k = 0; k < n && r->ports; k++)
		gen_port(g, &r->ports[r->n_ports++]);
}

static void gen_rules(struct gen *g, struct pm_rule **rules, size_t *n_rules)
{
	uint32_t n = below(g, g->p->max_rules + 1), k;

	*rules = zalloc(g, n, sizeof(**rules));
	for (k = 0; k < n && *rules; k++)
		gen_rule(g, &(*rules)[(*n_rules)++]);
}

static void gen_policy(struct gen *g, uint32_t i)
{
	struct pm_policy *p = &g->m->policies[i];
	uint32_t types = below(g, 100);

	p->kind = chance(g, g->p->pct_mesh) ? PM_KIND_MESH_POLICY : PM_KIND_NETWORK_POLICY;
	p->auth_required = p->kind == PM_KIND_MESH_POLICY;
	p->name = sprint(g, "p%05u", i);
	p->ns = ns_name(g, below(g, g->p->n_namespaces), &p->ns_id);
	gen_pod_selector(g, &p->pod_selector);
	p->has_ingress = types < 80;
	p->has_egress = types >= 45;
	if (p->has_ingress)
		gen_rules(g, &p->ingress, &p->n_ingress);
	if (p->has_egress)
		gen_rules(g, &p->egress, &p->n_egress);
}

/* See policy_gen.h. */
int policy_gen_model(uint64_t seed, const struct policy_gen_params *p, struct pm_model **out)
{
	struct gen g = {.p = p};
	int err = -ENOMEM;
	uint32_t i;

	*out = NULL;
	if (!p->n_namespaces || (uint64_t)p->n_endpoints * (CIDR_SIZE * 2) >= 1U << V4_PLAN_BITS)
		return -EINVAL;
	policy_gen_seed(&g.rng, seed);
	g.m = pm_model_new();
	if (!g.m)
		return -ENOMEM;
	g.m->namespaces = zalloc(&g, p->n_namespaces, sizeof(*g.m->namespaces));
	g.m->endpoints = zalloc(&g, p->n_endpoints, sizeof(*g.m->endpoints));
	g.m->policies = zalloc(&g, p->n_policies, sizeof(*g.m->policies));
	g.value_ids = zalloc(&g, p->n_label_values, sizeof(*g.value_ids));
	g.ns_ids = zalloc(&g, p->n_namespaces, sizeof(*g.ns_ids));
	if (g.has_failed)
		goto err_free;
	for (i = 0; i < p->n_namespaces; i++, g.m->n_namespaces++)
		gen_namespace(&g, i);
	for (i = 0; i < p->n_endpoints; i++, g.m->n_endpoints++)
		gen_endpoint(&g, i);
	for (i = 0; i < p->n_policies; i++, g.m->n_policies++)
		gen_policy(&g, i);
	if (g.has_failed)
		goto err_free;
	err = policy_gen_finish(g.m);
	if (err)
		goto err_free;
	free(g.value_ids);
	free(g.ns_ids);
	*out = g.m;
	return 0;
err_free:
	free(g.value_ids);
	free(g.ns_ids);
	pm_model_free(g.m);
	return err;
}

/* An address of family: an endpoint's, an ipBlock edge, or random. */
static const struct pm_endpoint *pick_endpoint(struct policy_gen_rng *rng, const struct pm_model *m,
					       uint8_t family, uint8_t *addr)
{
	const struct pm_endpoint *e;
	const struct pm_addr *a;
	size_t i;
	uint32_t host;

	if (!m->n_endpoints)
		return NULL;
	e = &m->endpoints[policy_gen_below(rng, (uint32_t)m->n_endpoints)];
	for (i = 0; i < e->n_addrs; i++) {
		a = &e->addrs[i];
		if (a->family != family)
			continue;
		memcpy(addr, a->addr, 16);
		host = policy_gen_below(rng, CIDR_SIZE);
		if (a->prefixlen == (family == BM_FAMILY_IPV4 ? 28 : 124))
			addr[family == BM_FAMILY_IPV4 ? 3 : 15] |= (uint8_t)host;
		return e;
	}
	return NULL;
}

static const struct pm_ip_block *pick_block(struct policy_gen_rng *rng, const struct pm_model *m)
{
	const struct pm_policy *p;
	const struct pm_rule *r;
	const struct pm_peer *peer;
	size_t n;

	if (!m->n_policies)
		return NULL;
	p = &m->policies[policy_gen_below(rng, (uint32_t)m->n_policies)];
	n = p->n_ingress + p->n_egress;
	if (!n)
		return NULL;
	n = policy_gen_below(rng, (uint32_t)n);
	r = n < p->n_ingress ? &p->ingress[n] : &p->egress[n - p->n_ingress];
	if (!r->n_peers)
		return NULL;
	peer = &r->peers[policy_gen_below(rng, (uint32_t)r->n_peers)];
	return peer->kind == PM_PEER_IP_BLOCK ? &peer->ip_block : NULL;
}

/* First or last address of a prefix, nudged by -1, 0 or +1. */
static void edge_of(struct policy_gen_rng *rng, const struct pm_addr *p, uint8_t *addr)
{
	unsigned int bits = p->family == BM_FAMILY_IPV4 ? 32 : 128, i;
	int nudge = (int)policy_gen_below(rng, 3) - 1, at;

	memcpy(addr, p->addr, 16);
	if (policy_gen_below(rng, 2)) {
		for (i = p->prefixlen; i < bits; i++)
			addr[i / 8] |= (uint8_t)(0x80 >> (i % 8));
	}
	at = (int)bits / 8 - 1;
	if (nudge > 0) {
		while (at >= 0 && ++addr[at] == 0)
			at--;
	} else if (nudge < 0) {
		while (at >= 0 && addr[at]-- == 0)
			at--;
	}
}

static const struct pm_endpoint *pick_addr(struct policy_gen_rng *rng, const struct pm_model *m,
					   uint8_t family, uint8_t *addr)
{
	const struct pm_ip_block *b;
	const struct pm_endpoint *e;
	struct pm_addr plan;
	uint32_t r = policy_gen_below(rng, 100), i;

	memset(addr, 0, 16);
	if (r < 65) {
		e = pick_endpoint(rng, m, family, addr);
		if (e)
			return e;
	} else if (r < 80) {
		b = pick_block(rng, m);
		if (b && b->cidr.family == family) {
			i = policy_gen_below(rng, (uint32_t)b->n_except + 1);
			edge_of(rng, i ? &b->except[i - 1] : &b->cidr, addr);
			return NULL;
		}
	} else if (r >= 95) {
		for (i = 0; i < (family == BM_FAMILY_IPV4 ? 4U : 16U); i++)
			addr[i] = (uint8_t)policy_gen_next(rng);
		return NULL;
	}
	set_addr(&plan, family, policy_gen_below(rng, 4096), 0);
	memcpy(addr, plan.addr, 16);
	return NULL;
}

/* A port some rule or the destination names, an edge of one, or random. */
static uint16_t pick_port(struct policy_gen_rng *rng, const struct pm_model *m,
			  const struct pm_endpoint *dst)
{
	uint32_t r = policy_gen_below(rng, 100);
	const struct pm_policy *p;
	const struct pm_rule *rule;
	const struct pm_port *pt;
	size_t n;

	if (r < 25 && dst && dst->n_ports)
		return dst->ports[policy_gen_below(rng, (uint32_t)dst->n_ports)].port;
	if (r < 50)
		return port_pool[policy_gen_below(rng, ARRAY_LEN(port_pool))];
	if (r < 85 && m->n_policies) {
		p = &m->policies[policy_gen_below(rng, (uint32_t)m->n_policies)];
		n = p->n_ingress + p->n_egress;
		if (n) {
			n = policy_gen_below(rng, (uint32_t)n);
			rule = n < p->n_ingress ? &p->ingress[n] : &p->egress[n - p->n_ingress];
			if (rule->n_ports) {
				pt = &rule->ports[policy_gen_below(rng, (uint32_t)rule->n_ports)];
				n = pt->end_port && policy_gen_below(rng, 2) ? pt->end_port
									     : pt->port;
				return (uint16_t)(n + policy_gen_below(rng, 3) - 1);
			}
		}
	}
	return (uint16_t)policy_gen_next(rng);
}

static uint8_t pick_proto(struct policy_gen_rng *rng, uint8_t family)
{
	uint32_t r = policy_gen_below(rng, 100);

	if (r < 40)
		return BM_PROTO_TCP;
	if (r < 60)
		return BM_PROTO_UDP;
	if (r < 72)
		return BM_PROTO_SCTP;
	if (r < 82)
		return family == BM_FAMILY_IPV4 ? BM_PROTO_ICMP : BM_PROTO_ICMPV6;
	if (r < 85)
		return family == BM_FAMILY_IPV4 ? BM_PROTO_ICMPV6 : BM_PROTO_ICMP;
	return policy_gen_below(rng, 2) ? 47 : 50; /* GRE, ESP */
}

/* See policy_gen.h. */
void policy_gen_tuple(struct policy_gen_rng *rng, const struct pm_model *m, struct pe_tuple *out)
{
	const struct pm_endpoint *dst;
	bool has_ports;

	memset(out, 0, sizeof(*out));
	out->family = policy_gen_below(rng, 100) < 70 ? BM_FAMILY_IPV4 : BM_FAMILY_IPV6;
	pick_addr(rng, m, out->family, out->saddr);
	dst = pick_addr(rng, m, out->family, out->daddr);
	out->proto = pick_proto(rng, out->family);
	has_ports = out->proto == BM_PROTO_TCP || out->proto == BM_PROTO_UDP ||
		    out->proto == BM_PROTO_SCTP;
	if (!has_ports)
		return;
	out->sport = (uint16_t)policy_gen_next(rng);
	out->dport = pick_port(rng, m, dst);
}

/* See policy_gen.h. */
int policy_gen_auth(struct policy_gen_rng *rng, const struct pm_model *m, size_t n,
		    uint64_t now_boot_ns, struct bm_auth_key **keys, struct bm_auth_value **values)
{
	uint32_t ne = (uint32_t)m->n_endpoints;
	size_t i;

	*keys = calloc(n ? n : 1, sizeof(**keys));
	*values = calloc(n ? n : 1, sizeof(**values));
	if (!*keys || !*values) {
		free(*keys);
		free(*values);
		*keys = NULL;
		*values = NULL;
		return -ENOMEM;
	}
	for (i = 0; i < n && ne; i++) {
		(*keys)[i].src_id = m->endpoints[policy_gen_below(rng, ne)].sec_id;
		(*keys)[i].dst_id = m->endpoints[policy_gen_below(rng, ne)].sec_id;
		(*values)[i].expires_boot_ns =
			policy_gen_below(rng, 3) ? now_boot_ns + 1 + policy_gen_below(rng, 1000)
						 : now_boot_ns - policy_gen_below(rng, 1000);
		(*values)[i].handshake_id = i + 1;
	}
	return 0;
}
