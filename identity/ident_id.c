// SPDX-License-Identifier: GPL-2.0-only
/* Numeric data-plane identities derived from SPIFFE IDs. */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include <abi/types.h>

#include "ident_id.h"

#define SPIFFE_SCHEME "spiffe://"
#define SPIFFE_MAX_LEN 2048

static int is_trust_domain_char(int c)
{
	return islower(c) || isdigit(c) || c == '.' || c == '-' || c == '_';
}

static int is_path_char(int c)
{
	return isalnum(c) || c == '.' || c == '-' || c == '_' || c == '/';
}

/* See ident_id.h. Follows the SPIFFE ID specification's character rules. */
int ident_spiffe_id_valid(const char *text)
{
	const char *p, *td;
	size_t len;

	if (!text)
		return 0;
	len = strlen(text);
	if (len > SPIFFE_MAX_LEN || strncmp(text, SPIFFE_SCHEME, strlen(SPIFFE_SCHEME)))
		return 0;
	td = text + strlen(SPIFFE_SCHEME);
	for (p = td; *p && *p != '/'; p++) {
		if (!is_trust_domain_char((unsigned char)*p))
			return 0;
	}
	if (p == td)
		return 0;
	for (; *p; p++) {
		if (!is_path_char((unsigned char)*p))
			return 0;
		/* empty segments, trailing slash, "." and ".." segments are invalid */
		if (*p == '/' && (p[1] == '/' || p[1] == '\0'))
			return 0;
		if (*p == '/' && p[1] == '.' && (p[2] == '/' || p[2] == '\0'))
			return 0;
		if (*p == '/' && p[1] == '.' && p[2] == '.' && (p[3] == '/' || p[3] == '\0'))
			return 0;
	}
	return 1;
}

/* Fold a BLAKE2b digest to 32 bits outside the reserved range. */
static uint32_t fold_id(const unsigned char *digest)
{
	uint32_t id;

	id = (uint32_t)digest[0] | (uint32_t)digest[1] << 8 | (uint32_t)digest[2] << 16 |
	     (uint32_t)digest[3] << 24;
	if (id < BM_ID_FIRST_WORKLOAD)
		id += BM_ID_FIRST_WORKLOAD;
	return id;
}

/* See ident_id.h. */
int ident_numeric_id_probe(const char *spiffe_id, uint32_t k, uint32_t *out)
{
	static const unsigned char key[] = "bpfmesh-id-v1";
	crypto_generichash_state st;
	unsigned char digest[32];
	unsigned char suffix[5];

	if (!ident_spiffe_id_valid(spiffe_id))
		return -EINVAL;
	if (sodium_init() < 0)
		return -EIO;
	if (crypto_generichash_init(&st, key, sizeof(key) - 1, sizeof(digest)))
		return -EIO;
	crypto_generichash_update(&st, (const unsigned char *)spiffe_id, strlen(spiffe_id));
	/* probe 0 hashes the bare ID; probe k > 0 appends NUL and k (little endian) */
	if (k) {
		suffix[0] = 0;
		suffix[1] = (unsigned char)k;
		suffix[2] = (unsigned char)(k >> 8);
		suffix[3] = (unsigned char)(k >> 16);
		suffix[4] = (unsigned char)(k >> 24);
		crypto_generichash_update(&st, suffix, sizeof(suffix));
	}
	crypto_generichash_final(&st, digest, sizeof(digest));
	*out = fold_id(digest);
	return 0;
}

/* See ident_id.h. */
int ident_numeric_id(const char *spiffe_id, uint32_t *out)
{
	return ident_numeric_id_probe(spiffe_id, 0, out);
}
