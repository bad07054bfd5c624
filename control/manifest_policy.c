// SPDX-License-Identifier: GPL-2.0-only
/*
 * NetworkPolicy (networking.k8s.io/v1) and MeshPolicy (bpfmesh.io/v1) specs,
 * validated as the Kubernetes API server validates NetworkPolicy.
 */
#include <errno.h>
#include <string.h>

#include <abi/types.h>

#include "manifest_priv.h"

static int parse_protocol(struct mf_ctx *c, const struct mf_node *port, uint8_t *proto)
{
	static const struct {
		const char *name;
		uint8_t proto;
	} protos[] = {{"TCP", BM_PROTO_TCP}, {"UDP", BM_PROTO_UDP}, {"SCTP", BM_PROTO_SCTP}};
	const char *s;
	size_t i;

	*proto = BM_PROTO_TCP;
	if (mf_get_string(c, port, "protocol", false, &s))
		return -EINVAL;
	if (!s)
		return 0;
	for (i = 0; i < sizeof(protos) / sizeof(protos[0]); i++) {
		if (!strcmp(s, protos[i].name)) {
			*proto = protos[i].proto;
			return 0;
		}
	}
	return mf_error_at(c, port, "protocol", "unsupported protocol \"%s\" (TCP, UDP or SCTP)",
			   s);
}

/* A port number, quoted or not: 1..65535. */
static int port_number(struct mf_ctx *c, const struct mf_node *n, uint16_t *out)
{
	long long v;

	if (mf_node_int(c, n, &v))
		return -EINVAL;
	if (v < 1 || v > 65535)
		return mf_error(c, n->pos, "must be between 1 and 65535, inclusive (got %lld)", v);
	*out = (uint16_t)v;
	return 0;
}

/* port: an integer, a quoted integer, or an IANA service name. */
static int parse_port_value(struct mf_ctx *c, const struct mf_node *n, struct pm_port *out)
{
	const char *s = json_string_value(n->v);
	const char *why;

	if (!s || (*s && strspn(s, "0123456789") == strlen(s))) {
		if (port_number(c, n, &out->port))
			return -EINVAL;
		out->has_port = true;
		return 0;
	}
	if (mf_node_string(c, n, &s))
		return -EINVAL;
	if ((why = mf_port_name_error(s)))
		return mf_error(c, n->pos, "invalid port name \"%s\": %s", s, why);
	out->port_name = mf_strdup(c, s);
	out->has_port = true;
	return 0;
}

static int parse_end_port(struct mf_ctx *c, const struct mf_node *n, struct pm_port *out,
			  bool is_port_ok)
{
	uint16_t end = 0; /* set by port_number(); gcc -O2 cannot see it */

	if (port_number(c, n, &end))
		return -EINVAL;
	if (!is_port_ok)
		return 0;
	if (!out->has_port)
		return mf_error(c, n->pos, "requires port to be set");
	if (out->port_name)
		return mf_error(c, n->pos, "may not be used with a named port (\"%s\")",
				out->port_name);
	if (end < out->port)
		return mf_error(c, n->pos, "must be >= port (%u)", out->port);
	out->end_port = end;
	return 0;
}

static int parse_port(struct mf_ctx *c, const struct mf_node *n, struct pm_port *out)
{
	static const char *const known[] = {"protocol", "port", "endPort", NULL};
	struct mf_node port = mf_member(c, n, "port");
	struct mf_node end = mf_member(c, n, "endPort");
	int err = 0, port_err = 0;
	size_t mark;

	if (mf_want_object(c, n))
		return -EINVAL;
	mf_check_fields(c, n, known, NULL);
	if (parse_protocol(c, n, &out->proto))
		err = -EINVAL;
	mark = mf_enter_key(c, "port");
	if (port.v)
		port_err = parse_port_value(c, &port, out);
	mf_leave(c, mark);
	mark = mf_enter_key(c, "endPort");
	if (end.v && parse_end_port(c, &end, out, !port_err))
		err = -EINVAL;
	mf_leave(c, mark);
	return err ? err : port_err;
}

static int parse_cidr(struct mf_ctx *c, const struct mf_node *n, struct pm_addr *out)
{
	const char *s;

	if (mf_node_string(c, n, &s))
		return -EINVAL;
	/* Kubernetes wants CIDR notation here: a bare address is not a CIDR */
	if (!strchr(s, '/') || pm_addr_parse(s, out))
		return mf_error(c, n->pos, "invalid CIDR \"%s\"", s);
	return 0;
}

static int parse_except(struct mf_ctx *c, const struct mf_node *n, struct pm_ip_block *b)
{
	char cidr[64];
	struct pm_addr *e;
	struct mf_node item;
	size_t i, mark;
	int err = 0;

	if (mf_want_array(c, n))
		return -EINVAL;
	pm_addr_format(&b->cidr, cidr, sizeof(cidr));
	for (i = 0; i < json_array_size(n->v); i++) {
		item = mf_element(c, n, i);
		mark = mf_enter_index(c, i);
		e = mf_append(c, &b->except, &b->n_except, sizeof(*e));
		if (!e || parse_cidr(c, &item, e))
			err = -EINVAL;
		else if (b->cidr.family &&
			 (e->prefixlen <= b->cidr.prefixlen || !pm_addr_in_prefix(e, &b->cidr)))
			err = mf_error(c, item.pos, "must be a strict subset of cidr %s", cidr);
		mf_leave(c, mark);
	}
	return err;
}

static int parse_ip_block(struct mf_ctx *c, const struct mf_node *n, struct pm_ip_block *out)
{
	static const char *const known[] = {"cidr", "except", NULL};
	struct mf_node cidr = mf_member(c, n, "cidr");
	struct mf_node except = mf_member(c, n, "except");
	size_t mark;
	int err = 0;

	if (mf_want_object(c, n))
		return -EINVAL;
	mf_check_fields(c, n, known, NULL);
	mark = mf_enter_key(c, "cidr");
	if (!cidr.v)
		err = mf_error(c, cidr.pos, "required field is missing");
	else
		err = parse_cidr(c, &cidr, &out->cidr);
	mf_leave(c, mark);
	mark = mf_enter_key(c, "except");
	if (except.v && parse_except(c, &except, out))
		err = -EINVAL;
	mf_leave(c, mark);
	return err;
}

static int parse_peer_selector(struct mf_ctx *c, const struct mf_node *peer, const char *key,
			       struct pm_selector *out)
{
	struct mf_node n = mf_member(c, peer, key);
	size_t mark = mf_enter_key(c, key);
	int err = mf_parse_selector(c, &n, out);

	mf_leave(c, mark);
	return err;
}

static int parse_peer(struct mf_ctx *c, const struct mf_node *n, struct pm_peer *out)
{
	static const char *const known[] = {"podSelector", "namespaceSelector", "ipBlock", NULL};
	struct mf_node ip = mf_member(c, n, "ipBlock");
	size_t mark;
	int err = 0;

	if (mf_want_object(c, n))
		return -EINVAL;
	mf_check_fields(c, n, known, NULL);
	if (parse_peer_selector(c, n, "podSelector", &out->pod_selector) ||
	    parse_peer_selector(c, n, "namespaceSelector", &out->ns_selector))
		err = -EINVAL;
	if (ip.v) {
		out->kind = PM_PEER_IP_BLOCK;
		mark = mf_enter_key(c, "ipBlock");
		if (parse_ip_block(c, &ip, &out->ip_block))
			err = -EINVAL;
		mf_leave(c, mark);
	}
	if (ip.v && (out->pod_selector.is_present || out->ns_selector.is_present))
		return mf_error(c, n->pos, "may not specify both ipBlock and another peer");
	if (!ip.v && !out->pod_selector.is_present && !out->ns_selector.is_present)
		return mf_error(c, n->pos,
				"must specify a peer (podSelector, namespaceSelector or ipBlock)");
	return err;
}

/* Each element of the list n through parse, appended to *arr. */
static int parse_list(struct mf_ctx *c, const struct mf_node *n, void *arr, size_t *count,
		      size_t size, int (*parse)(struct mf_ctx *, const struct mf_node *, void *))
{
	struct mf_node item;
	size_t i, mark;
	void *slot;
	int err = 0;

	if (!n->v)
		return 0;
	if (mf_want_array(c, n))
		return -EINVAL;
	for (i = 0; i < json_array_size(n->v); i++) {
		item = mf_element(c, n, i);
		slot = mf_append(c, arr, count, size);
		if (!slot)
			return -ENOMEM;
		mark = mf_enter_index(c, i);
		if (parse(c, &item, slot))
			err = -EINVAL;
		mf_leave(c, mark);
	}
	return err;
}

static int parse_peer_cb(struct mf_ctx *c, const struct mf_node *n, void *out)
{
	return parse_peer(c, n, out);
}

static int parse_port_cb(struct mf_ctx *c, const struct mf_node *n, void *out)
{
	return parse_port(c, n, out);
}

static int parse_rule(struct mf_ctx *c, const struct mf_node *n, struct pm_rule *out,
		      const char *peers_key)
{
	const char *const known[] = {peers_key, "ports", NULL};
	struct mf_node peers = mf_member(c, n, peers_key);
	struct mf_node ports = mf_member(c, n, "ports");
	size_t mark;
	int err = 0;

	out->pos = mf_src_pos(c, n->pos);
	if (mf_want_object(c, n))
		return -EINVAL;
	mf_check_fields(c, n, known, NULL);
	mark = mf_enter_key(c, peers_key);
	if (parse_list(c, &peers, &out->peers, &out->n_peers, sizeof(*out->peers), parse_peer_cb))
		err = -EINVAL;
	mf_leave(c, mark);
	mark = mf_enter_key(c, "ports");
	if (parse_list(c, &ports, &out->ports, &out->n_ports, sizeof(*out->ports), parse_port_cb))
		err = -EINVAL;
	mf_leave(c, mark);
	return err;
}

static int parse_ingress_cb(struct mf_ctx *c, const struct mf_node *n, void *out)
{
	return parse_rule(c, n, out, "from");
}

static int parse_egress_cb(struct mf_ctx *c, const struct mf_node *n, void *out)
{
	return parse_rule(c, n, out, "to");
}

static int parse_policy_types(struct mf_ctx *c, const struct mf_node *n, struct pm_policy *p,
			      bool *is_set)
{
	struct mf_node item;
	const char *s;
	size_t i, mark;
	int err = 0;

	*is_set = false;
	if (!n->v)
		return 0;
	if (mf_want_array(c, n))
		return -EINVAL;
	if (json_array_size(n->v) > 2)
		return mf_error(c, n->pos, "may not specify more than two policyTypes");
	for (i = 0; i < json_array_size(n->v); i++) {
		item = mf_element(c, n, i);
		mark = mf_enter_index(c, i);
		if (mf_node_string(c, &item, &s))
			err = -EINVAL;
		else if (!strcmp(s, "Ingress"))
			p->has_ingress = true;
		else if (!strcmp(s, "Egress"))
			p->has_egress = true;
		else
			err = mf_error(c, item.pos,
				       "unsupported policy type \"%s\" (Ingress, Egress)", s);
		mf_leave(c, mark);
	}
	*is_set = json_array_size(n->v) > 0;
	return err;
}

static int parse_authentication(struct mf_ctx *c, const struct mf_node *spec, struct pm_policy *p)
{
	const char *s;

	if (mf_get_string(c, spec, "authentication", false, &s))
		return -EINVAL;
	if (!s || !strcmp(s, "none"))
		return 0;
	if (!strcmp(s, "required")) {
		p->auth_required = true;
		return 0;
	}
	return mf_error_at(c, spec, "authentication",
			   "unsupported authentication \"%s\" (required or none)", s);
}

/* One field of the spec, under its path. */
static int parse_spec_field(struct mf_ctx *c, const struct mf_node *spec, const char *key,
			    struct pm_policy *p, bool *types_set)
{
	struct mf_node n = mf_member(c, spec, key);
	size_t mark = mf_enter_key(c, key);
	int err = 0;

	if (!strcmp(key, "podSelector")) {
		err = mf_parse_selector(c, &n, &p->pod_selector);
		p->pod_selector.is_present = true; /* absent: {}, every pod of the namespace */
	} else if (!strcmp(key, "policyTypes")) {
		err = parse_policy_types(c, &n, p, types_set);
	} else if (!strcmp(key, "ingress")) {
		err = parse_list(c, &n, &p->ingress, &p->n_ingress, sizeof(*p->ingress),
				 parse_ingress_cb);
	} else if (!strcmp(key, "egress")) {
		err = parse_list(c, &n, &p->egress, &p->n_egress, sizeof(*p->egress),
				 parse_egress_cb);
	}
	mf_leave(c, mark);
	return err;
}

static int parse_spec(struct mf_ctx *c, const struct mf_node *spec, struct pm_policy *p)
{
	static const char *const fields[] = {"podSelector", "policyTypes", "ingress", "egress",
					     NULL};
	static const char *const mesh_known[] = {"podSelector", "policyTypes",	  "ingress",
						 "egress",	"authentication", NULL};
	bool is_mesh = p->kind == PM_KIND_MESH_POLICY;
	bool types_set = false;
	size_t i;
	int err = 0;

	mf_check_fields(c, spec, is_mesh ? mesh_known : fields, NULL);
	for (i = 0; fields[i]; i++) {
		if (parse_spec_field(c, spec, fields[i], p, &types_set))
			err = -EINVAL;
	}
	if (is_mesh && parse_authentication(c, spec, p))
		err = -EINVAL;
	/* Kubernetes defaulting: Ingress always, Egress when there are egress rules */
	if (!types_set) {
		p->has_ingress = true;
		p->has_egress = p->n_egress > 0;
	}
	return err;
}

/* See manifest_priv.h. */
int mf_load_policy(struct mf_ctx *c, const struct mf_node *doc, enum pm_policy_kind kind)
{
	struct pm_policy *p = mf_append(c, &c->st->policies, &c->st->n_policies, sizeof(*p));
	struct mf_node spec = mf_member(c, doc, "spec");
	struct mf_meta meta;
	size_t mark;
	int err = 0;

	if (!p)
		return -ENOMEM;
	p->kind = kind;
	p->pos = mf_src_pos(c, doc->pos);
	if (mf_parse_meta(c, doc, true, &meta, NULL))
		err = -EINVAL;
	if (meta.name) {
		p->name = mf_strdup(c, meta.name);
		p->ns = mf_strdup(c, meta.ns);
	}
	p->pod_selector.is_present = true;
	if (!spec.v) { /* no spec: every pod of the namespace, ingress denied */
		p->has_ingress = true;
		return err;
	}
	mark = mf_enter_key(c, "spec");
	if (mf_want_object(c, &spec) || parse_spec(c, &spec, p))
		err = -EINVAL;
	mf_leave(c, mark);
	return err;
}
