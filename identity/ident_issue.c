// SPDX-License-Identifier: GPL-2.0-only
/* Issuing node and workload documents. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ident_id.h"
#include "ident_issue.h"

static int print_id(char *out, size_t cap, const char *fmt, const char *a, const char *b,
		    const char *c)
{
	int n = snprintf(out, cap, fmt, a, b, c);

	if (n < 0 || (size_t)n >= cap || n > IDENT_SUBJECT_MAX)
		return -ENAMETOOLONG;
	return ident_spiffe_id_valid(out) ? 0 : -EINVAL;
}

/* See ident_issue.h. */
int ident_workload_spiffe_id(const char *domain, const char *ns, const char *sa, char *out,
			     size_t cap)
{
	if (!*ns || !*sa || strchr(ns, '/') || strchr(sa, '/'))
		return -EINVAL;
	return print_id(out, cap, "spiffe://%s/ns/%s/sa/%s", domain, ns, sa);
}

/* See ident_issue.h. */
int ident_node_spiffe_id(const char *domain, const char *node, char *out, size_t cap)
{
	if (!*node || strchr(node, '/'))
		return -EINVAL;
	return print_id(out, cap, "spiffe://%s/bpfmesh/node/%s%s", domain, node, "");
}

/* Fill the unsigned part of a certificate with a fresh key pair. */
static int new_cert(struct ident_cert *c, uint32_t kind, const char *subject, int64_t nb,
		    int64_t na, uint8_t *sk_out)
{
	if (strlen(subject) > IDENT_SUBJECT_MAX || nb >= na)
		return -EINVAL;
	memset(c, 0, sizeof(*c));
	c->kind = kind;
	c->serial = ident_new_serial();
	c->not_before = nb;
	c->not_after = na;
	strcpy(c->subject, subject);
	crypto_sign_keypair(c->public_key, sk_out);
	return 0;
}

/* See ident_issue.h. */
int ident_issue_node(const struct ident_trust *t, const uint8_t *root_sk, const char *node,
		     int64_t now, int64_t ttl_s, struct ident_doc *out, uint8_t *sk_out)
{
	char id[IDENT_SUBJECT_MAX + 1];
	int ret;

	if (ttl_s <= 0 || sodium_init() < 0)
		return -EINVAL;
	ret = ident_node_spiffe_id(t->domain, node, id, sizeof(id));
	if (ret)
		return ret;
	memset(out, 0, sizeof(*out));
	out->n_certs = 1;
	ret = new_cert(&out->certs[0], IDENT_KIND_NODE, id, now, now + ttl_s, sk_out);
	if (!ret)
		ret = ident_cert_sign(&out->certs[0], root_sk);
	if (ret)
		sodium_memzero(sk_out, crypto_sign_SECRETKEYBYTES);
	return ret;
}

/* See ident_issue.h. */
int ident_issue_workload(const struct ident_doc *node_doc, const uint8_t *node_sk,
			 const char *spiffe_id, int64_t now, int64_t ttl_s, struct ident_doc *out,
			 uint8_t *sk_out)
{
	const struct ident_cert *node = &node_doc->certs[0];
	int64_t na = now + ttl_s;
	int ret;

	if (ttl_s <= 0 || node_doc->n_certs != 1 || node->kind != IDENT_KIND_NODE ||
	    sodium_init() < 0)
		return -EINVAL;
	if (na > node->not_after)
		na = node->not_after;
	if (na <= now)
		return -EKEYEXPIRED;
	memset(out, 0, sizeof(*out));
	out->n_certs = 2;
	out->certs[1] = *node;
	ret = new_cert(&out->certs[0], IDENT_KIND_WORKLOAD, spiffe_id, now, na, sk_out);
	if (!ret)
		ret = ident_cert_sign(&out->certs[0], node_sk);
	if (ret)
		sodium_memzero(sk_out, crypto_sign_SECRETKEYBYTES);
	return ret;
}

/* See ident_issue.h. */
int ident_parse_duration(const char *text, int64_t *seconds)
{
	unsigned long long v;
	int64_t unit = 1;
	char *end;

	if (!text || *text < '0' || *text > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || !v)
		return -EINVAL;
	if (*end == 'm')
		unit = 60;
	else if (*end == 'h')
		unit = 3600;
	else if (*end == 'd')
		unit = 86400;
	else if (*end && *end != 's')
		return -EINVAL;
	if (*end && end[1])
		return -EINVAL;
	if (v > (unsigned long long)(INT64_MAX / 4) / (unsigned long long)unit)
		return -EINVAL;
	*seconds = (int64_t)v * unit;
	return 0;
}
