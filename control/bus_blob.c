// SPDX-License-Identifier: GPL-2.0-only
/* Large values as parts in the bpfmesh-blobs bucket; see bus_blob.h. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "bus_blob.h"

#define ID_BYTES 8
#define HASH_BYTES crypto_generichash_BYTES /* 32: BLAKE2b-256 */

struct blob_desc {
	char id[2 * ID_BYTES + 1];
	size_t parts;
	size_t len;
	char hash[2 * HASH_BYTES + 1];
};

static void hash_hex(const void *data, size_t len, char out[2 * HASH_BYTES + 1])
{
	unsigned char h[HASH_BYTES];

	crypto_generichash(h, sizeof(h), data, len, NULL, 0);
	sodium_bin2hex(out, 2 * HASH_BYTES + 1, h, sizeof(h));
}

static bool is_hex(const char *s, size_t len)
{
	size_t i;

	if (!s || strlen(s) != len)
		return false;
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static int desc_parse(const json_t *j, struct blob_desc *d)
{
	const char *id = json_string_value(json_object_get(j, "id"));
	const char *hash = json_string_value(json_object_get(j, "blake2b"));
	json_int_t parts = json_integer_value(json_object_get(j, "parts"));
	json_int_t len = json_integer_value(json_object_get(j, "len"));

	if (!is_hex(id, 2 * ID_BYTES) || !is_hex(hash, 2 * HASH_BYTES) || len < 0 ||
	    len > BUS_BLOB_MAX || parts != (len + BUS_BLOB_PART - 1) / BUS_BLOB_PART)
		return -EINVAL;
	memcpy(d->id, id, sizeof(d->id));
	memcpy(d->hash, hash, sizeof(d->hash));
	d->parts = (size_t)parts;
	d->len = (size_t)len;
	return 0;
}

static void part_key(const struct blob_desc *d, size_t i, char *key, size_t cap)
{
	snprintf(key, cap, "%s.%zu", d->id, i);
}

static void drop_parts(struct bus *b, const struct blob_desc *d, size_t n)
{
	char key[64];
	size_t i;

	for (i = 0; i < n; i++) {
		part_key(d, i, key, sizeof(key));
		bus_kv_purge(b, BUS_BUCKET_BLOBS, key);
	}
}

/* See bus_blob.h. */
int bus_blob_put(struct bus *b, const void *data, size_t len, json_t **desc)
{
	unsigned char id[ID_BYTES];
	struct blob_desc d = {.len = len};
	size_t i, n;
	char key[64];
	int err = 0;

	if (len > BUS_BLOB_MAX)
		return -EFBIG;
	if (sodium_init() < 0)
		return -EIO;
	randombytes_buf(id, sizeof(id));
	sodium_bin2hex(d.id, sizeof(d.id), id, sizeof(id));
	hash_hex(data, len, d.hash);
	d.parts = (len + BUS_BLOB_PART - 1) / BUS_BLOB_PART;
	for (i = 0; i < d.parts && !err; i++) {
		n = len - i * BUS_BLOB_PART < BUS_BLOB_PART ? len - i * BUS_BLOB_PART
							    : BUS_BLOB_PART;
		part_key(&d, i, key, sizeof(key));
		err = bus_kv_put(b, BUS_BUCKET_BLOBS, key, (const char *)data + i * BUS_BLOB_PART,
				 n, NULL);
	}
	if (!err) {
		*desc = json_pack("{s:s, s:I, s:I, s:s}", "id", d.id, "parts", (json_int_t)d.parts,
				  "len", (json_int_t)d.len, "blake2b", d.hash);
		err = *desc ? 0 : -ENOMEM;
	}
	if (err)
		drop_parts(b, &d, i);
	return err;
}

/* See bus_blob.h. */
int bus_blob_get(struct bus *b, const json_t *desc, char **data, size_t *len)
{
	char key[64], hash[2 * HASH_BYTES + 1], *buf, *part = NULL;
	struct blob_desc d;
	size_t i, off = 0, n;
	int err;

	err = desc_parse(desc, &d);
	if (err)
		return err;
	if (sodium_init() < 0)
		return -EIO;
	buf = malloc(d.len + 1);
	if (!buf)
		return -ENOMEM;
	for (i = 0; i < d.parts && !err; i++) {
		part_key(&d, i, key, sizeof(key));
		err = bus_kv_get(b, BUS_BUCKET_BLOBS, key, &part, &n, NULL);
		if (!err && (n > d.len - off || (i + 1 < d.parts && n != BUS_BLOB_PART)))
			err = -EBADMSG;
		if (!err) {
			memcpy(buf + off, part, n);
			off += n;
		}
		free(part);
		part = NULL;
	}
	if (!err && off != d.len)
		err = -EBADMSG;
	if (!err) {
		hash_hex(buf, d.len, hash);
		if (sodium_memcmp(hash, d.hash, sizeof(hash)))
			err = -EBADMSG;
	}
	if (err) {
		free(buf);
		return err;
	}
	buf[d.len] = '\0';
	*data = buf;
	*len = d.len;
	return 0;
}

/* See bus_blob.h. */
void bus_blob_drop(struct bus *b, const json_t *desc)
{
	struct blob_desc d;

	if (desc && !desc_parse(desc, &d))
		drop_parts(b, &d, d.parts);
}
