// SPDX-License-Identifier: GPL-2.0-only
/*
 * The reference evaluator: judges one tuple directly on the policy model,
 * step by step as policy_eval.h numbers them. Deliberately naive (linear
 * scans over endpoints and policies): it is the specification the compiled
 * tables are checked against, so it favours being obviously right.
 */
#include <errno.h>
#include <string.h>

#include "policy_eval.h"

/* What one direction of a tuple concluded. */
struct dir_verdict {
	bool does_apply; /* the subject is isolated for this direction */
	bool is_allowed;
	bool is_auth;
	uint32_t rule_id; /* deciding rule, 0 when none allows */
};

/* The judged tuple with both ends resolved (step 1). */
struct ends {
	const struct pe_tuple *t;
	uint8_t proto; /* BM_PROTO_* */
	const struct pm_endpoint *src;
	const struct pm_endpoint *dst;
};

/* See policy_eval.h. */
uint8_t pe_policy_proto(uint8_t wire_proto)
{
	switch (wire_proto) {
	case BM_PROTO_ICMP:
	case BM_PROTO_TCP:
	case BM_PROTO_UDP:
	case BM_PROTO_ICMPV6:
	case BM_PROTO_SCTP:
		return wire_proto;
	default:
		return BM_PROTO_OTHER;
	}
}

static bool addr_in(const uint8_t *addr, uint8_t family, const struct pm_addr *p)
{
	unsigned int full = p->prefixlen / 8, rest = p->prefixlen % 8;
	uint8_t mask;

	if (p->family != family)
		return false;
	if (memcmp(addr, p->addr, full))
		return false;
	if (!rest)
		return true;
	mask = (uint8_t)(0xff00 >> rest);
	return (addr[full] & mask) == p->addr[full];
}

static const struct pm_endpoint *resolve(const struct pm_model *m, const uint8_t *addr,
					 uint8_t family)
{
	size_t i, j;

	for (i = 0; i < m->n_endpoints; i++) {
		for (j = 0; j < m->endpoints[i].n_addrs; j++) {
			if (addr_in(addr, family, &m->endpoints[i].addrs[j]))
				return &m->endpoints[i];
		}
	}
	return NULL;
}

static bool policy_selects(const struct pm_policy *p, const struct pm_endpoint *ep)
{
	return ep && !strcmp(p->ns, ep->ns) && pm_selector_matches(&p->pod_selector, &ep->labels);
}

static bool ns_matches(const struct pm_model *m, const struct pm_selector *sel, const char *ns)
{
	const struct pm_namespace *n = pm_model_namespace(m, ns);
	struct pm_labels none = {0};

	return pm_selector_matches(sel, n ? &n->labels : &none);
}

static bool peer_matches(const struct pm_model *m, const struct pm_policy *p,
			 const struct pm_peer *peer, const uint8_t *addr, uint8_t family,
			 const struct pm_endpoint *ep)
{
	size_t i;

	if (peer->kind == PM_PEER_IP_BLOCK) {
		if (!addr_in(addr, family, &peer->ip_block.cidr))
			return false;
		for (i = 0; i < peer->ip_block.n_except; i++) {
			if (addr_in(addr, family, &peer->ip_block.except[i]))
				return false;
		}
		return true;
	}
	if (!ep)
		return false;
	if (!peer->ns_selector.is_present)
		return !strcmp(ep->ns, p->ns) &&
		       pm_selector_matches(&peer->pod_selector, &ep->labels);
	if (!ns_matches(m, &peer->ns_selector, ep->ns))
		return false;
	return !peer->pod_selector.is_present ||
	       pm_selector_matches(&peer->pod_selector, &ep->labels);
}

static bool named_port_matches(const struct pm_port *port, const struct pm_endpoint *dst,
			       uint16_t dport)
{
	size_t i;

	if (!dst)
		return false;
	for (i = 0; i < dst->n_ports; i++) {
		if (dst->ports[i].proto == port->proto && dst->ports[i].port == dport &&
		    !strcmp(dst->ports[i].name, port->port_name))
			return true;
	}
	return false;
}

/* Step 4, protocol and port: named ports resolve against the destination. */
static bool port_matches(const struct pm_port *port, const struct ends *e)
{
	uint16_t dport = e->t->dport;

	if (port->proto != e->proto)
		return false;
	if (!port->has_port)
		return true;
	if (port->port_name)
		return named_port_matches(port, e->dst, dport);
	if (port->end_port)
		return dport >= port->port && dport <= port->end_port;
	return dport == port->port;
}

static bool rule_allows(const struct pm_model *m, const struct pm_policy *p,
			const struct pm_rule *r, const struct ends *e, int dir)
{
	const struct pm_endpoint *peer = dir == BM_DIR_INGRESS ? e->src : e->dst;
	const uint8_t *addr = dir == BM_DIR_INGRESS ? e->t->saddr : e->t->daddr;
	bool is_peer_ok = r->n_peers == 0;
	bool is_port_ok = r->n_ports == 0;
	size_t i;

	for (i = 0; i < r->n_peers && !is_peer_ok; i++)
		is_peer_ok = peer_matches(m, p, &r->peers[i], addr, e->t->family, peer);
	for (i = 0; i < r->n_ports && !is_port_ok; i++)
		is_port_ok = port_matches(&r->ports[i], e);
	return is_peer_ok && is_port_ok;
}

/* Step 5: an authenticating rule beats any other, then the lowest rule_id. */
static void consider(struct dir_verdict *v, uint32_t rule_id, bool is_auth)
{
	if (v->is_allowed && v->is_auth && !is_auth)
		return;
	if (v->is_allowed && v->is_auth == is_auth && v->rule_id < rule_id)
		return;
	v->is_allowed = true;
	v->is_auth = is_auth;
	v->rule_id = rule_id;
}

/* Steps 3-5 for one direction: dir's subject is dst for ingress, src for egress. */
static void judge_dir(const struct pm_model *m, const struct ends *e, int dir,
		      struct dir_verdict *v)
{
	const struct pm_endpoint *subject = dir == BM_DIR_INGRESS ? e->dst : e->src;
	const struct pm_policy *p;
	const struct pm_rule *rules;
	size_t i, j, n;

	memset(v, 0, sizeof(*v));
	for (i = 0; i < m->n_policies; i++) {
		p = &m->policies[i];
		if (!(dir == BM_DIR_INGRESS ? p->has_ingress : p->has_egress))
			continue;
		if (!policy_selects(p, subject))
			continue;
		v->does_apply = true;
		rules = dir == BM_DIR_INGRESS ? p->ingress : p->egress;
		n = dir == BM_DIR_INGRESS ? p->n_ingress : p->n_egress;
		for (j = 0; j < n; j++) {
			if (rule_allows(m, p, &rules[j], e, dir))
				consider(v, rules[j].rule_id, p->auth_required);
		}
	}
}

/* Step 6: the pair's authentication state. */
static void judge_auth(const struct pe_auth *auth, struct pe_result *out)
{
	size_t i;

	out->verdict = BM_VERDICT_DENY;
	out->reason = BM_REASON_DENY_AUTH_MISSING;
	for (i = 0; auth && i < auth->n; i++) {
		if (auth->keys[i].src_id != out->src_id || auth->keys[i].dst_id != out->dst_id)
			continue;
		if (auth->values[i].expires_boot_ns > auth->now_boot_ns) {
			out->verdict = BM_VERDICT_ALLOW_AUTH;
			out->reason = BM_REASON_ALLOW_AUTH;
		} else {
			out->reason = BM_REASON_DENY_AUTH_EXPIRED;
		}
		return;
	}
}

static void set_verdict(struct pe_result *out, uint8_t verdict, uint8_t reason)
{
	out->verdict = verdict;
	out->reason = reason;
}

/* Steps 4-7 from the two directions' conclusions. */
static void decide(const struct dir_verdict *in, const struct dir_verdict *eg,
		   const struct pe_auth *auth, struct pe_result *out)
{
	if (in->does_apply && !in->is_allowed) {
		set_verdict(out, BM_VERDICT_DENY, BM_REASON_DENY_INGRESS);
		return;
	}
	if (eg->does_apply && !eg->is_allowed) {
		set_verdict(out, BM_VERDICT_DENY, BM_REASON_DENY_EGRESS);
		return;
	}
	out->rule_id = in->does_apply ? in->rule_id : eg->rule_id;
	out->is_auth_required = (in->does_apply && in->is_auth) || (eg->does_apply && eg->is_auth);
	if (out->is_auth_required)
		judge_auth(auth, out);
	else
		set_verdict(out, BM_VERDICT_ALLOW, BM_REASON_ALLOW_POLICY);
}

/*
 * See policy_eval.h. Deny verdicts for want of a rule carry rule_id 0 and
 * is_auth_required false; authentication verdicts carry the deciding rule.
 * Reads the model only; cannot fail but for an unknown family (-EINVAL).
 */
int policy_eval(const struct pm_model *m, const struct pe_tuple *t, const struct pe_auth *auth,
		struct pe_result *out)
{
	struct dir_verdict in, eg;
	struct ends e = {.t = t};

	memset(out, 0, sizeof(*out));
	if (t->family != BM_FAMILY_IPV4 && t->family != BM_FAMILY_IPV6)
		return -EINVAL;
	e.proto = pe_policy_proto(t->proto);
	e.src = resolve(m, t->saddr, t->family);
	e.dst = resolve(m, t->daddr, t->family);
	out->src_id = e.src ? e.src->sec_id : BM_ID_WORLD;
	out->dst_id = e.dst ? e.dst->sec_id : BM_ID_WORLD;
	if (!(e.src && e.src->is_local) && !(e.dst && e.dst->is_local)) {
		set_verdict(out, BM_VERDICT_ALLOW, BM_REASON_ALLOW_NOT_ENDPOINT);
		return 0;
	}
	judge_dir(m, &e, BM_DIR_INGRESS, &in);
	judge_dir(m, &e, BM_DIR_EGRESS, &eg);
	if (!in.does_apply && !eg.does_apply) {
		set_verdict(out, BM_VERDICT_ALLOW, BM_REASON_ALLOW_NOT_ISOLATED);
		return 0;
	}
	decide(&in, &eg, auth, out);
	return 0;
}
