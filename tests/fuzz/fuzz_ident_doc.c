// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: the identity document decoder. Properties: decoding never
 * crashes or overreads; whatever decodes re-encodes to the same bytes; chain
 * verification of anything decoded never crashes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_fixture.h"
#include "ident_cert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fuzz_fixture fx;
static struct ident_vcache cache;
static int is_ready;

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
	if (ident_doc_decode(data, size, &d))
		return 0;
	if (ident_doc_encode(&d, again, sizeof(again), &len) || len != size ||
	    memcmp(again, data, size))
		abort(); /* decode accepted bytes it cannot reproduce */
	ident_doc_verify(&d, &fx.trust, NULL, FUZZ_NOW, IDENT_DEFAULT_SKEW_S, NULL);
	ident_doc_verify(&d, &fx.trust, NULL, FUZZ_NOW, IDENT_DEFAULT_SKEW_S, &cache);
	return 0;
}
