// SPDX-License-Identifier: GPL-2.0-only
/* Key and name encodings shared by the store implementations; see store.h. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

static bool is_plain(unsigned char c)
{
	return isascii(c) && (isalnum(c) || c == '_' || c == '-');
}

/* Escape every byte outside [A-Za-z0-9_-] as =XX; see store.h. */
int store_key_encode(const char *key, char *out, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)key;
	size_t n = 0;

	if (!*key)
		return -EINVAL;
	for (; *p; p++) {
		if (n + (is_plain(*p) ? 1 : 3) >= size)
			return -ENAMETOOLONG;
		if (is_plain(*p)) {
			out[n++] = (char)*p;
			continue;
		}
		out[n++] = '=';
		out[n++] = hex[*p >> 4];
		out[n++] = hex[*p & 15];
	}
	out[n] = '\0';
	return 0;
}

static int unhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Reverse store_key_encode(); see store.h. */
int store_key_decode(const char *enc, char *out, size_t size)
{
	size_t n = 0;
	int hi, lo;

	for (; *enc; enc++) {
		if (n + 1 >= size)
			return -EINVAL;
		if (*enc != '=') {
			if (!is_plain((unsigned char)*enc))
				return -EINVAL;
			out[n++] = *enc;
			continue;
		}
		hi = unhex(enc[1]);
		lo = hi < 0 ? -1 : unhex(enc[2]);
		if (lo < 0 || (hi | lo) == 0)
			return -EINVAL;
		out[n++] = (char)(hi << 4 | lo);
		enc += 2;
	}
	out[n] = '\0';
	return 0;
}

/* Map in to a name JetStream accepts for buckets and streams. */
void store_safe_name(const char *in, char *out, size_t size)
{
	size_t n = 0;

	for (; *in && n + 1 < size; in++)
		out[n++] = is_plain((unsigned char)*in) ? *in : '_';
	out[n] = '\0';
}

/* Decimal 1..2^64-1, nothing else; see store.h. */
int store_etag_parse(const char *etag, unsigned long long *out)
{
	unsigned long long v;
	char *end;

	if (*etag < '1' || *etag > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(etag, &end, 10);
	if (*end || errno)
		return -EINVAL;
	*out = v;
	return 0;
}
