// SPDX-License-Identifier: GPL-2.0-only
/* Identity documents, trust anchors and revocation lists.
 * ctest-labels: unit identity
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bm_test.h"
#include "ident_cert.h"
#include "ident_crl.h"
#include "ident_issue.h"
#include "ident_trust.h"
#include "test_ident_fixture.h"

static struct fx_domain fx;

static int suite_init(void)
{
	return fx_domain_init(&fx, "example.org");
}

static int suite_clean(void)
{
	fx_domain_wipe(&fx);
	return 0;
}

static int encode(const struct ident_doc *d, uint8_t *buf, size_t *len)
{
	return ident_doc_encode(d, buf, IDENT_DOC_MAX_LEN, len);
}

static void test_ident_cert_round_trip(void)
{
	uint8_t buf[IDENT_DOC_MAX_LEN], again[IDENT_DOC_MAX_LEN], sk[64];
	struct ident_doc doc, back;
	size_t len, len2;

	CU_ASSERT_EQUAL_FATAL(fx_issue(&fx, "default", "web", 0, 3600, &doc, sk), 0);
	CU_ASSERT_EQUAL_FATAL(encode(&doc, buf, &len), 0);
	CU_ASSERT_EQUAL(len, 8 + 2 * (IDENT_CERT_FIXED_LEN + 64) + strlen(doc.certs[0].subject) +
				     strlen(doc.certs[1].subject));
	CU_ASSERT_EQUAL_FATAL(ident_doc_decode(buf, len, &back), 0);
	CU_ASSERT_EQUAL(back.n_certs, 2);
	CU_ASSERT_STRING_EQUAL(back.certs[0].subject, "spiffe://example.org/ns/default/sa/web");
	CU_ASSERT_STRING_EQUAL(back.certs[1].subject, "spiffe://example.org/bpfmesh/node/node-a");
	CU_ASSERT_EQUAL(back.certs[0].serial, doc.certs[0].serial);
	CU_ASSERT_EQUAL(back.certs[0].not_after - back.certs[0].not_before, 3600);
	CU_ASSERT_EQUAL_FATAL(encode(&back, again, &len2), 0);
	CU_ASSERT_EQUAL(len, len2);
	CU_ASSERT_EQUAL(memcmp(buf, again, len), 0);
	CU_ASSERT_EQUAL(ident_doc_verify(&back, &fx.trust, NULL, fx.now, 60, NULL), 0);
	CU_ASSERT_EQUAL(memcmp(back.certs[0].public_key, sk + 32, 32), 0);
}

static void test_ident_cert_decode_strict(void)
{
	uint8_t buf[IDENT_DOC_MAX_LEN + 1], sk[64];
	struct ident_doc doc, back;
	size_t len, i;

	CU_ASSERT_EQUAL_FATAL(fx_issue(&fx, "default", "web", 0, 3600, &doc, sk), 0);
	CU_ASSERT_EQUAL_FATAL(encode(&doc, buf, &len), 0);
	for (i = 0; i < len; i++)
		CU_ASSERT_EQUAL(ident_doc_decode(buf, i, &back), -EBADMSG);
	buf[len] = 0;
	CU_ASSERT_EQUAL(ident_doc_decode(buf, len + 1, &back), -EBADMSG);
	buf[4] = 2; /* unknown format version */
	CU_ASSERT_EQUAL(ident_doc_decode(buf, len, &back), -EBADMSG);
	buf[4] = 1;
	buf[5] = 3; /* chain too long */
	CU_ASSERT_EQUAL(ident_doc_decode(buf, len, &back), -EBADMSG);
	buf[5] = 2;
	buf[8] = 7; /* unknown kind */
	CU_ASSERT_EQUAL(ident_doc_decode(buf, len, &back), -EBADMSG);
	buf[8] = IDENT_KIND_WORKLOAD;
	buf[9] = 1; /* reserved byte */
	CU_ASSERT_EQUAL(ident_doc_decode(buf, len, &back), -EBADMSG);
	buf[9] = 0;
	buf[8 + IDENT_CERT_FIXED_LEN + 2] = 'X'; /* "spXffe://": not a SPIFFE ID */
	CU_ASSERT_EQUAL(ident_doc_decode(buf, len, &back), -EBADMSG);
}

/* Flip every bit of the encoding: each result must fail decode or verify. */
static void test_ident_cert_tampered_fields(void)
{
	uint8_t buf[IDENT_DOC_MAX_LEN], sk[64];
	struct ident_doc doc, back;
	size_t len, i;
	int bit, bad = 0;

	CU_ASSERT_EQUAL_FATAL(fx_issue(&fx, "default", "web", 0, 3600, &doc, sk), 0);
	CU_ASSERT_EQUAL_FATAL(encode(&doc, buf, &len), 0);
	for (i = 0; i < len; i++) {
		for (bit = 0; bit < 8; bit++) {
			buf[i] ^= (uint8_t)(1 << bit);
			if (!ident_doc_decode(buf, len, &back) &&
			    !ident_doc_verify(&back, &fx.trust, NULL, fx.now, 60, NULL))
				bad++;
			buf[i] ^= (uint8_t)(1 << bit);
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
	/* a tampered expiry with intact structure is a signature failure */
	doc.certs[0].not_after += 86400;
	CU_ASSERT_EQUAL(ident_doc_verify(&doc, &fx.trust, NULL, fx.now, 60, NULL), -EKEYREJECTED);
	doc.certs[0].not_after -= 86400;
	strcpy(doc.certs[0].subject, "spiffe://example.org/ns/default/sa/admin");
	CU_ASSERT_EQUAL(ident_doc_verify(&doc, &fx.trust, NULL, fx.now, 60, NULL), -EKEYREJECTED);
}

static void test_ident_cert_wrong_issuer(void)
{
	struct ident_doc doc, other_doc;
	struct fx_domain other;
	uint8_t sk[64];

	CU_ASSERT_EQUAL_FATAL(fx_domain_init(&other, "example.org"), 0);
	CU_ASSERT_EQUAL_FATAL(fx_issue(&other, "default", "web", 0, 3600, &other_doc, sk), 0);
	/* same domain name, another root key */
	CU_ASSERT_EQUAL(ident_doc_verify(&other_doc, &fx.trust, NULL, fx.now, 60, NULL), -ENOKEY);
	/* our workload with a node certificate from elsewhere */
	CU_ASSERT_EQUAL_FATAL(fx_issue(&fx, "default", "web", 0, 3600, &doc, sk), 0);
	doc.certs[1] = other.node.certs[0];
	CU_ASSERT_EQUAL(ident_doc_verify(&doc, &fx.trust, NULL, fx.now, 60, NULL), -ENOKEY);
	/* a root-signed node claiming to be the issuer without the right key */
	CU_ASSERT_EQUAL_FATAL(fx_issue(&fx, "default", "web", 0, 3600, &doc, sk), 0);
	memcpy(doc.certs[0].issuer_key, other.node.certs[0].public_key, 32);
	CU_ASSERT_EQUAL(ident_doc_verify(&doc, &fx.trust, NULL, fx.now, 60, NULL), -ENOKEY);
	/* a workload may not issue: workload <- workload */
	CU_ASSERT_EQUAL_FATAL(fx_issue(&fx, "default", "web", 0, 3600, &doc, sk), 0);
	doc.certs[1].kind = IDENT_KIND_WORKLOAD;
	CU_ASSERT_EQUAL(ident_doc_verify(&doc, &fx.trust, NULL, fx.now, 60, NULL), -EPROTO);
	fx_domain_wipe(&other);
}

static void test_ident_cert_foreign_domain(void)
{
	struct ident_doc doc;
	uint8_t sk[64];

	CU_ASSERT_EQUAL_FATAL(ident_issue_workload(&fx.node, fx.node_sk,
						   "spiffe://evil.org/ns/default/sa/web", fx.now,
						   3600, &doc, sk),
			      0);
	CU_ASSERT_EQUAL(ident_doc_verify(&doc, &fx.trust, NULL, fx.now, 60, NULL), -EXDEV);
	/* a domain that only starts with ours */
	CU_ASSERT_EQUAL_FATAL(ident_issue_workload(&fx.node, fx.node_sk,
						   "spiffe://example.org.evil/ns/a/sa/b", fx.now,
						   3600, &doc, sk),
			      0);
	CU_ASSERT_EQUAL(ident_doc_verify(&doc, &fx.trust, NULL, fx.now, 60, NULL), -EXDEV);
}

static void test_ident_cert_validity_window(void)
{
	struct ident_doc doc;
	uint8_t sk[64];

	CU_ASSERT_EQUAL_FATAL(fx_issue(&fx, "default", "web", 0, 3600, &doc, sk), 0);
	/* not yet valid, beyond the skew allowance and just inside it */
	CU_ASSERT_EQUAL(ident_doc_verify(&doc, &fx.trust, NULL, fx.now - 61, 60, NULL), -ETIME);
	CU_ASSERT_EQUAL(ident_doc_verify(&doc, &fx.trust, NULL, fx.now - 60, 60, NULL), 0);
	/* expired: not_after is exclusive, skew widens it */
	CU_ASSERT_EQUAL(ident_doc_verify(&doc, &fx.trust, NULL, fx.now + 3600, 0, NULL),
			-EKEYEXPIRED);
	CU_ASSERT_EQUAL(ident_doc_verify(&doc, &fx.trust, NULL, fx.now + 3659, 60, NULL), 0);
	CU_ASSERT_EQUAL(ident_doc_verify(&doc, &fx.trust, NULL, fx.now + 3660, 60, NULL),
			-EKEYEXPIRED);
	/* the node certificate expires (day from now - 1 h): whole chain is invalid */
	CU_ASSERT_EQUAL_FATAL(fx_issue(&fx, "default", "web", 0, 7 * 86400, &doc, sk), 0);
	CU_ASSERT_EQUAL(doc.certs[0].not_after, doc.certs[1].not_after); /* cut to the node */
	CU_ASSERT_EQUAL(ident_doc_verify(&doc, &fx.trust, NULL, fx.now + 86400, 0, NULL),
			-EKEYEXPIRED);
	CU_ASSERT_STRING_EQUAL(ident_verify_reason(-EKEYEXPIRED), "expired");
}

static void test_ident_cert_revoked(void)
{
	struct ident_doc doc, doc2;
	struct ident_crl crl;
	uint8_t sk[64];

	ident_crl_init(&crl);
	CU_ASSERT_EQUAL_FATAL(fx_issue(&fx, "default", "web", 0, 3600, &doc, sk), 0);
	CU_ASSERT_EQUAL_FATAL(fx_issue(&fx, "default", "db", 0, 3600, &doc2, sk), 0);
	CU_ASSERT_EQUAL(ident_crl_add(&crl, doc.certs[0].serial), 0);
	CU_ASSERT_EQUAL(ident_doc_verify(&doc, &fx.trust, &crl, fx.now, 60, NULL), -EKEYREVOKED);
	CU_ASSERT_EQUAL(ident_doc_verify(&doc2, &fx.trust, &crl, fx.now, 60, NULL), 0);
	/* revoking the node cuts off every workload it issued */
	CU_ASSERT_EQUAL(ident_crl_add(&crl, fx.node.certs[0].serial), 0);
	CU_ASSERT_EQUAL(ident_doc_verify(&doc2, &fx.trust, &crl, fx.now, 60, NULL), -EKEYREVOKED);
	ident_crl_release(&crl);
}

static void test_ident_cert_vcache(void)
{
	struct ident_vcache *cache = calloc(1, sizeof(*cache));
	struct ident_doc doc;
	uint8_t sk[64];

	CU_ASSERT_PTR_NOT_NULL_FATAL(cache);
	CU_ASSERT_EQUAL_FATAL(fx_issue(&fx, "default", "web", 0, 3600, &doc, sk), 0);
	CU_ASSERT_EQUAL(ident_doc_verify(&doc, &fx.trust, NULL, fx.now, 60, cache), 0);
	CU_ASSERT_EQUAL(cache->misses, 2);
	CU_ASSERT_EQUAL(ident_doc_verify(&doc, &fx.trust, NULL, fx.now, 60, cache), 0);
	CU_ASSERT_EQUAL(cache->hits, 2);
	/* the cache never vouches for a changed certificate, or skips time checks */
	doc.certs[0].serial ^= 1;
	CU_ASSERT_EQUAL(ident_doc_verify(&doc, &fx.trust, NULL, fx.now, 60, cache), -EKEYREJECTED);
	doc.certs[0].serial ^= 1;
	CU_ASSERT_EQUAL(ident_doc_verify(&doc, &fx.trust, NULL, fx.now + 7200, 60, cache),
			-EKEYEXPIRED);
	free(cache);
}

static void test_ident_cert_crl_round_trip(void)
{
	struct ident_crl crl, back;
	size_t len;
	uint8_t *buf;
	uint64_t i;

	ident_crl_init(&crl);
	ident_crl_init(&back);
	crl.version = 7;
	crl.issued_at = fx.now;
	for (i = 1000; i > 0; i--)
		CU_ASSERT_EQUAL(ident_crl_add(&crl, i * 0x9e3779b97f4a7c15ULL), 0);
	CU_ASSERT_EQUAL(ident_crl_add(&crl, 0x9e3779b97f4a7c15ULL), 0); /* duplicate: no-op */
	CU_ASSERT_EQUAL(crl.n, 1000);
	CU_ASSERT_EQUAL_FATAL(ident_crl_sign(&crl, fx.root_sk, &buf, &len), 0);
	CU_ASSERT_EQUAL(len, 28 + 8000 + 64);
	CU_ASSERT_EQUAL_FATAL(ident_crl_decode(buf, len, &fx.trust, &back), 0);
	CU_ASSERT_EQUAL(back.version, 7);
	CU_ASSERT_EQUAL(back.n, 1000);
	CU_ASSERT_TRUE(ident_crl_contains(&back, 500 * 0x9e3779b97f4a7c15ULL));
	CU_ASSERT_FALSE(ident_crl_contains(&back, 12345));
	buf[40] ^= 1; /* a serial */
	CU_ASSERT_EQUAL(ident_crl_decode(buf, len, &fx.trust, &back), -EKEYREJECTED);
	buf[40] ^= 1;
	CU_ASSERT_EQUAL(ident_crl_decode(buf, len - 1, &fx.trust, &back), -EBADMSG);
	free(buf);
	/* signed by someone else */
	CU_ASSERT_EQUAL_FATAL(ident_crl_sign(&crl, fx.node_sk, &buf, &len), 0);
	CU_ASSERT_EQUAL(ident_crl_decode(buf, len, &fx.trust, &back), -EKEYREJECTED);
	free(buf);
	ident_crl_release(&crl);
	ident_crl_release(&back);
}

static void test_ident_cert_crl_rollback(void)
{
	struct ident_crl held, in;

	ident_crl_init(&held);
	ident_crl_init(&in);
	in.version = 3;
	CU_ASSERT_EQUAL(ident_crl_add(&in, 77), 0);
	CU_ASSERT_EQUAL(ident_crl_adopt(&held, &in), 0);
	CU_ASSERT_EQUAL(held.version, 3);
	CU_ASSERT_TRUE(ident_crl_contains(&held, 77));
	CU_ASSERT_EQUAL(in.n, 0);
	/* a replayed older list (without the revocation) is refused */
	in.version = 2;
	CU_ASSERT_EQUAL(ident_crl_adopt(&held, &in), -ESTALE);
	in.version = 3;
	CU_ASSERT_EQUAL(ident_crl_adopt(&held, &in), -ESTALE);
	CU_ASSERT_TRUE(ident_crl_contains(&held, 77));
	ident_crl_release(&held);
}

static void test_ident_cert_trust_bundle(void)
{
	uint8_t buf[IDENT_TRUST_MAX_LEN];
	struct ident_trust back;
	size_t len;

	len = ident_trust_encode(&fx.trust, buf);
	CU_ASSERT_EQUAL(len, 8 + 32 + strlen("example.org"));
	CU_ASSERT_EQUAL_FATAL(ident_trust_decode(buf, len, &back), 0);
	CU_ASSERT_STRING_EQUAL(back.domain, "example.org");
	CU_ASSERT_EQUAL(memcmp(back.root_key, fx.root_pk, 32), 0);
	CU_ASSERT_EQUAL(ident_trust_decode(buf, len - 1, &back), -EBADMSG);
	CU_ASSERT_TRUE(ident_trust_owns(&fx.trust, "spiffe://example.org/ns/a/sa/b"));
	CU_ASSERT_FALSE(ident_trust_owns(&fx.trust, "spiffe://example.orgx/ns/a/sa/b"));
	CU_ASSERT_FALSE(ident_domain_valid("Example.org"));
}

static void test_ident_cert_durations(void)
{
	int64_t s;

	CU_ASSERT_EQUAL(ident_parse_duration("1h", &s), 0);
	CU_ASSERT_EQUAL(s, 3600);
	CU_ASSERT_EQUAL(ident_parse_duration("90s", &s), 0);
	CU_ASSERT_EQUAL(s, 90);
	CU_ASSERT_EQUAL(ident_parse_duration("15m", &s), 0);
	CU_ASSERT_EQUAL(s, 900);
	CU_ASSERT_EQUAL(ident_parse_duration("30d", &s), 0);
	CU_ASSERT_EQUAL(s, 30 * 86400);
	CU_ASSERT_EQUAL(ident_parse_duration("120", &s), 0);
	CU_ASSERT_EQUAL(s, 120);
	CU_ASSERT_EQUAL(ident_parse_duration("0", &s), -EINVAL);
	CU_ASSERT_EQUAL(ident_parse_duration("-1h", &s), -EINVAL);
	CU_ASSERT_EQUAL(ident_parse_duration("1hh", &s), -EINVAL);
	CU_ASSERT_EQUAL(ident_parse_duration("1w", &s), -EINVAL);
	CU_ASSERT_EQUAL(ident_parse_duration("99999999999999999999", &s), -EINVAL);
}

int bm_test_register(void)
{
	static const struct bm_test_case cases[] = {
		{"round_trip", test_ident_cert_round_trip},
		{"decode_strict", test_ident_cert_decode_strict},
		{"tampered_fields", test_ident_cert_tampered_fields},
		{"wrong_issuer", test_ident_cert_wrong_issuer},
		{"foreign_domain", test_ident_cert_foreign_domain},
		{"validity_window", test_ident_cert_validity_window},
		{"revoked", test_ident_cert_revoked},
		{"vcache", test_ident_cert_vcache},
		{"crl_round_trip", test_ident_cert_crl_round_trip},
		{"crl_rollback", test_ident_cert_crl_rollback},
		{"trust_bundle", test_ident_cert_trust_bundle},
		{"durations", test_ident_cert_durations},
		{NULL, NULL},
	};

	return bm_test_add_suite("ident_cert", suite_init, suite_clean, cases);
}
