/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The fixed trust domain the fuzz targets and the seed generator share: the
 * root key comes from a constant seed, so checked-in seed documents verify
 * and the fuzzer reaches the signature checks. Test-only keys.
 */
#ifndef BM_FUZZ_FIXTURE_H
#define BM_FUZZ_FIXTURE_H

#include <string.h>

#include <sodium.h>

#include "ident_cert.h"
#include "ident_issue.h"
#include "ident_trust.h"

#define FUZZ_DOMAIN "fuzz.example"
#define FUZZ_NOW 1800000000LL /* fixed verification time */
#define FUZZ_NOT_BEFORE 1700000000LL

struct fuzz_party {
	uint8_t doc[IDENT_DOC_MAX_LEN];
	size_t doc_len;
	uint8_t sk[crypto_sign_SECRETKEYBYTES];
};

struct fuzz_fixture {
	struct ident_trust trust;
	uint8_t root_sk[crypto_sign_SECRETKEYBYTES];
	struct ident_doc node;
	uint8_t node_sk[crypto_sign_SECRETKEYBYTES];
	struct fuzz_party client, server;
};

static inline int fuzz_party_init(struct fuzz_fixture *f, const char *sa, struct fuzz_party *p)
{
	char id[IDENT_SUBJECT_MAX + 1];
	struct ident_doc d;

	if (ident_workload_spiffe_id(FUZZ_DOMAIN, "fuzz", sa, id, sizeof(id)) ||
	    ident_issue_workload(&f->node, f->node_sk, id, FUZZ_NOT_BEFORE, 400000000, &d, p->sk))
		return -1;
	return ident_doc_encode(&d, p->doc, sizeof(p->doc), &p->doc_len);
}

/* Build the fixture. Returns 0 or -1. */
static inline int fuzz_fixture_init(struct fuzz_fixture *f)
{
	uint8_t seed[crypto_sign_SEEDBYTES], pk[crypto_sign_PUBLICKEYBYTES];

	memset(f, 0, sizeof(*f));
	if (sodium_init() < 0)
		return -1;
	memset(seed, 0x5a, sizeof(seed));
	crypto_sign_seed_keypair(pk, f->root_sk, seed);
	if (ident_trust_init(&f->trust, FUZZ_DOMAIN, pk) ||
	    ident_issue_node(&f->trust, f->root_sk, "fuzz-node", FUZZ_NOT_BEFORE, 500000000,
			     &f->node, f->node_sk))
		return -1;
	if (fuzz_party_init(f, "client", &f->client) || fuzz_party_init(f, "server", &f->server))
		return -1;
	return 0;
}

#endif /* BM_FUZZ_FIXTURE_H */
