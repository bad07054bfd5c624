/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A throwaway trust domain for the identity tests: root key, trust anchor,
 * one enrolled node and helpers to issue workloads. Header-only so every
 * test_ident_*.c binary stays one file plus cunit_main.c.
 */
#ifndef BM_TEST_IDENT_FIXTURE_H
#define BM_TEST_IDENT_FIXTURE_H

#include <string.h>
#include <time.h>

#include <sodium.h>

#include "ident_cert.h"
#include "ident_issue.h"
#include "ident_trust.h"

struct fx_domain {
	struct ident_trust trust;
	uint8_t root_pk[crypto_sign_PUBLICKEYBYTES];
	uint8_t root_sk[crypto_sign_SECRETKEYBYTES];
	struct ident_doc node;
	uint8_t node_sk[crypto_sign_SECRETKEYBYTES];
	int64_t now;
};

/* A new domain named name with one node "node-a" valid for a day around now. */
static inline int fx_domain_init(struct fx_domain *fx, const char *name)
{
	memset(fx, 0, sizeof(*fx));
	if (sodium_init() < 0)
		return -1;
	fx->now = (int64_t)time(NULL);
	crypto_sign_keypair(fx->root_pk, fx->root_sk);
	if (ident_trust_init(&fx->trust, name, fx->root_pk))
		return -1;
	return ident_issue_node(&fx->trust, fx->root_sk, "node-a", fx->now - 3600, 86400, &fx->node,
				fx->node_sk);
}

/* Issue spiffe://DOMAIN/ns/NS/sa/SA valid [now + nb_off, + ttl). */
static inline int fx_issue(struct fx_domain *fx, const char *ns, const char *sa, int64_t nb_off,
			   int64_t ttl, struct ident_doc *doc, uint8_t *sk)
{
	char id[IDENT_SUBJECT_MAX + 1];
	int ret;

	ret = ident_workload_spiffe_id(fx->trust.domain, ns, sa, id, sizeof(id));
	if (!ret)
		ret = ident_issue_workload(&fx->node, fx->node_sk, id, fx->now + nb_off, ttl, doc,
					   sk);
	return ret;
}

static inline void fx_domain_wipe(struct fx_domain *fx)
{
	sodium_memzero(fx, sizeof(*fx));
}

#endif /* BM_TEST_IDENT_FIXTURE_H */
