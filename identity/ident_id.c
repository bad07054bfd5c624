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

/* See ident_id.h. */
int ident_numeric_id(const char *spiffe_id, uint32_t *out)
{
	static const unsigned char key[] = "bpfmesh-id-v1";
	unsigned char digest[32];
	uint32_t id;

	if (!ident_spiffe_id_valid(spiffe_id))
		return -EINVAL;
	if (sodium_init() < 0)
		return -EIO;
	if (crypto_generichash(digest, sizeof(digest), (const unsigned char *)spiffe_id,
			       strlen(spiffe_id), key, sizeof(key) - 1))
		return -EIO;
	id = (uint32_t)digest[0] | (uint32_t)digest[1] << 8 | (uint32_t)digest[2] << 16 |
	     (uint32_t)digest[3] << 24;
	if (id < BM_ID_FIRST_WORKLOAD)
		id += BM_ID_FIRST_WORKLOAD;
	*out = id;
	return 0;
}
