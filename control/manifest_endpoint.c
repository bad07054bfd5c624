// SPDX-License-Identifier: GPL-2.0-only
/* Endpoint (bpfmesh.io/v1) and Namespace (v1) manifests. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <abi/types.h>

#include "ident_id.h"
#include "manifest_priv.h"

#define NS_NAME_LABEL "kubernetes.io/metadata.name"

/* The usual Kubernetes shape, spiffe://DOMAIN/ns/NS/sa/SA; only a warning if otherwise. */
static void check_identity_shape(struct mf_ctx *c, const struct mf_node *spec, const char *id,
				 const char *ns)
{
	const char *path = strchr(id + strlen("spiffe://"), '/');
	char id_ns[254], sa[254];
	int used = 0;

	if (!path || sscanf(path, "/ns/%253[^/]/sa/%253[^/]%n", id_ns, sa, &used) != 2 ||
	    path[used]) {
		mf_warn_at(c, spec, "identity", "not of the form spiffe://DOMAIN/ns/NS/sa/SA");
		return;
	}
	if (strcmp(id_ns, ns))
		mf_warn_at(c, spec, "identity", "names namespace \"%s\", the endpoint is in \"%s\"",
			   id_ns, ns);
}

static int parse_identity(struct mf_ctx *c, const struct mf_node *spec, struct pm_endpoint *e)
{
	const char *id;
	int err;

	if (mf_get_string(c, spec, "identity", true, &id) || !id)
		return -EINVAL;
	if (!ident_spiffe_id_valid(id))
		return mf_error_at(c, spec, "identity", "invalid SPIFFE ID \"%s\"", id);
	err = ident_numeric_id(id, &e->sec_id);
	if (err)
		return mf_error_at(c, spec, "identity", "cannot derive an identity from \"%s\": %s",
				   id, strerror(-err));
	check_identity_shape(c, spec, id, e->ns ? e->ns : "default");
	e->identity_uri = mf_strdup(c, id);
	return 0;
}

static int parse_address(struct mf_ctx *c, const struct mf_node *n, struct pm_addr *out)
{
	char masked[64];
	const char *s;

	if (mf_node_string(c, n, &s))
		return -EINVAL;
	if (pm_addr_parse(s, out))
		return mf_error(c, n->pos, "invalid address or CIDR \"%s\"", s);
	pm_addr_format(out, masked, sizeof(masked));
	if (strchr(s, '/') && strcmp(masked, s))
		mf_warn(c, n->pos, "host bits of \"%s\" are set; using %s", s, masked);
	return 0;
}

static int parse_addresses(struct mf_ctx *c, const struct mf_node *spec, struct pm_endpoint *e)
{
	struct mf_node n = mf_member(c, spec, "addresses"), item;
	size_t i, mark = mf_enter_key(c, "addresses"), imark;
	struct pm_addr *a;
	int err = 0;

	if (!n.v)
		err = mf_error(c, n.pos, "required field is missing");
	else if (mf_want_array(c, &n))
		err = -EINVAL;
	else if (!json_array_size(n.v))
		err = mf_error(c, n.pos, "must list at least one address");
	for (i = 0; i < json_array_size(n.v); i++) {
		item = mf_element(c, &n, i);
		imark = mf_enter_index(c, i);
		a = mf_append(c, &e->addrs, &e->n_addrs, sizeof(*a));
		if (!a || parse_address(c, &item, a))
			err = -EINVAL;
		mf_leave(c, imark);
	}
	mf_leave(c, mark);
	return err;
}

static bool port_name_taken(const struct pm_endpoint *e, const char *name)
{
	size_t i;

	for (i = 0; i + 1 < e->n_ports; i++) {
		if (*name && !strcmp(e->ports[i].name, name))
			return true;
	}
	return false;
}

/* One {name, port, protocol}, as a container port. name is "" when absent. */
static int parse_named_port(struct mf_ctx *c, const struct mf_node *n, struct pm_endpoint *e)
{
	static const char *const known[] = {"name", "port", "protocol", NULL};
	struct pm_named_port *p = mf_append(c, &e->ports, &e->n_ports, sizeof(*p));
	struct mf_node port = mf_member(c, n, "port");
	const char *name, *proto, *why;
	size_t mark = mf_enter_key(c, "port");
	long long v = 0;
	int err = 0;

	if (!p)
		return -ENOMEM;
	if (!port.v)
		err = mf_error(c, port.pos, "required field is missing");
	else if (mf_node_int(c, &port, &v))
		err = -EINVAL;
	else if (v < 1 || v > 65535)
		err = mf_error(c, port.pos, "must be between 1 and 65535, inclusive (got %lld)", v);
	mf_leave(c, mark);
	p->port = (uint16_t)v;
	p->proto = BM_PROTO_TCP;
	mf_check_fields(c, n, known, NULL);
	if (mf_get_string(c, n, "protocol", false, &proto))
		err = -EINVAL;
	else if (proto && !strcmp(proto, "UDP"))
		p->proto = BM_PROTO_UDP;
	else if (proto && !strcmp(proto, "SCTP"))
		p->proto = BM_PROTO_SCTP;
	else if (proto && strcmp(proto, "TCP"))
		err = mf_error_at(c, n, "protocol",
				  "unsupported protocol \"%s\" (TCP, UDP or SCTP)", proto);
	if (mf_get_string(c, n, "name", false, &name))
		return -EINVAL;
	p->name = mf_strdup(c, name ? name : "");
	if (name && (why = mf_port_name_error(name)))
		return mf_error_at(c, n, "name", "invalid port name \"%s\": %s", name, why);
	if (name && port_name_taken(e, name))
		return mf_error_at(c, n, "name", "duplicate port name \"%s\"", name);
	return err;
}

static int parse_ports(struct mf_ctx *c, const struct mf_node *spec, struct pm_endpoint *e)
{
	struct mf_node n = mf_member(c, spec, "ports"), item;
	size_t i, mark = mf_enter_key(c, "ports"), imark;
	int err = 0;

	if (n.v && mf_want_array(c, &n))
		err = -EINVAL;
	for (i = 0; i < json_array_size(n.v); i++) {
		item = mf_element(c, &n, i);
		imark = mf_enter_index(c, i);
		if (mf_want_object(c, &item) || parse_named_port(c, &item, e))
			err = -EINVAL;
		mf_leave(c, imark);
	}
	mf_leave(c, mark);
	return err;
}

static int parse_node_name(struct mf_ctx *c, const struct mf_node *spec, struct pm_endpoint *e)
{
	const char *node, *why;

	if (mf_get_string(c, spec, "nodeName", false, &node))
		return -EINVAL;
	if (!node) {
		e->is_local = true;
		return 0;
	}
	if ((why = mf_dns_subdomain_error(node)))
		return mf_error_at(c, spec, "nodeName", "invalid node name \"%s\": %s", node, why);
	e->node_name = mf_strdup(c, node);
	e->is_local = c->local_node && !strcmp(node, c->local_node);
	return 0;
}

static int parse_endpoint_spec(struct mf_ctx *c, const struct mf_node *spec, struct pm_endpoint *e)
{
	static const char *const known[] = {"identity", "addresses", "ports", "nodeName", NULL};
	int err = 0;

	if (mf_want_object(c, spec))
		return -EINVAL;
	mf_check_fields(c, spec, known, NULL);
	if (parse_identity(c, spec, e))
		err = -EINVAL;
	if (parse_addresses(c, spec, e))
		err = -EINVAL;
	if (parse_ports(c, spec, e))
		err = -EINVAL;
	if (parse_node_name(c, spec, e))
		err = -EINVAL;
	return err;
}

/* See manifest_priv.h. */
int mf_load_endpoint(struct mf_ctx *c, const struct mf_node *doc)
{
	struct pm_endpoint *e = mf_append(c, &c->st->endpoints, &c->st->n_endpoints, sizeof(*e));
	struct mf_node spec = mf_member(c, doc, "spec");
	struct mf_meta meta;
	size_t mark;
	int err = 0;

	if (!e)
		return -ENOMEM;
	e->pos = mf_src_pos(c, doc->pos);
	if (mf_parse_meta(c, doc, true, &meta, &e->labels))
		err = -EINVAL;
	if (meta.name) {
		e->name = mf_strdup(c, meta.name);
		e->ns = mf_strdup(c, meta.ns);
	}
	mark = mf_enter_key(c, "spec");
	if (!spec.v)
		err = mf_error(c, spec.pos, "required field is missing");
	else if (parse_endpoint_spec(c, &spec, e))
		err = -EINVAL;
	mf_leave(c, mark);
	return err;
}

/* See manifest_priv.h. */
int mf_load_namespace(struct mf_ctx *c, const struct mf_node *doc)
{
	struct pm_namespace *ns =
		mf_append(c, &c->st->namespaces, &c->st->n_namespaces, sizeof(*ns));
	struct mf_meta meta;
	const char *given;
	size_t mark;

	if (!ns)
		return -ENOMEM;
	ns->is_declared = true;
	ns->pos = mf_src_pos(c, doc->pos);
	if (mf_parse_meta(c, doc, false, &meta, &ns->labels) || !meta.name)
		return -EINVAL;
	ns->name = mf_strdup(c, meta.name);
	given = pm_labels_get(&ns->labels, NS_NAME_LABEL);
	if (given && strcmp(given, meta.name)) {
		mark = mf_enter_key(c, "metadata.labels");
		mf_warn(c, meta.name_pos, "label %s is always the namespace name \"%s\"",
			NS_NAME_LABEL, meta.name);
		mf_leave(c, mark);
	}
	return mf_labels_set(c, &ns->labels, NS_NAME_LABEL, meta.name);
}
