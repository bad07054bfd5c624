// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: the identity document decoder. Properties: decoding never
 * crashes or overreads; whatever decodes re-encodes to the same bytes; chain
 * verification of anything decoded never crashes. The same input also goes
 * through the other identity decoders (revocation list, trust bundle,
 * enrollment request), which share the wire helpers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_fixture.h"
#include "ident_cert.h"
#include "ident_crl.h"
#include "ident_enroll.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fuzz_fixture fx;
static struct ident_vcache cache;
static int is_ready;

static void other_decoders(const uint8_t *data, size_t size)
{
	struct ident_enroll_req req;
	struct ident_trust trust;
	struct ident_crl crl;

	ident_crl_init(&crl);
	if (!ident_crl_decode(data, size, &fx.trust, &crl) && crl.n > 1 &&
	    crl.serials[0] >= crl.serials[1])
		abort(); /* accepted an unsorted list */
	ident_crl_release(&crl);
	ident_trust_decode(data, size, &trust);
	ident_enroll_decode(data, size, &req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t again[IDENT_DOC_MAX_LEN];
	struct ident_doc d;
	size_t len;

	if (!is_ready) {
		if (fuzz_fixture_init(&fx))
			abort();
		is_ready = 1;
	}
	other_decoders(data, size);
	if (ident_doc_decode(data, size, &d))
		return 0;
	if (ident_doc_encode(&d, again, sizeof(again), &len) || len != size ||
	    memcmp(again, data, size))
		abort(); /* decode accepted bytes it cannot reproduce */
	ident_doc_verify(&d, &fx.trust, NULL, FUZZ_NOW, IDENT_DEFAULT_SKEW_S, NULL);
	ident_doc_verify(&d, &fx.trust, NULL, FUZZ_NOW, IDENT_DEFAULT_SKEW_S, &cache);
	return 0;
}
