// SPDX-License-Identifier: GPL-2.0-only
/* Empty or count an inner map: batch operations, else a bounded key walk. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "dp_inner.h"

#define BATCH_ENTRIES 1024
#define MAX_KEY_SIZE 256

/* The kernel has no batch operation for this map type (LPM tries). */
static bool is_unsupported(int err)
{
	return err == -EINVAL || err == -ENOTSUP || err == -EOPNOTSUPP || err == -524;
}

/*
 * Walk the map in batches, deleting what is read when is_delete. Returns the
 * number of entries seen or -errno (-EOPNOTSUPP: no batch operations).
 */
static long batch_walk(int fd, __u32 key_size, __u32 value_size, bool is_delete)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u64 token = 0; /* hash maps: a bucket index (32 bits) */
	void *keys, *values;
	bool is_first = true;
	long n = 0;
	__u32 count;
	int err;

	keys = malloc((size_t)BATCH_ENTRIES * key_size);
	values = malloc((size_t)BATCH_ENTRIES * value_size);
	err = keys && values ? 0 : -ENOMEM;
	while (!err) {
		count = BATCH_ENTRIES;
		if (is_delete)
			err = bpf_map_lookup_and_delete_batch(fd, is_first ? NULL : &token, &token,
							      keys, values, &count, &opts);
		else
			err = bpf_map_lookup_batch(fd, is_first ? NULL : &token, &token, keys,
						   values, &count, &opts);
		is_first = false;
		n += count;
	}
	free(keys);
	free(values);
	if (err == -ENOENT) /* the end of the map */
		return n;
	return is_unsupported(err) ? -EOPNOTSUPP : err;
}

/* See dp_inner.h. */
int dp_inner_clear(int fd, __u32 key_size, __u32 value_size, __u32 max_entries)
{
	char key[MAX_KEY_SIZE];
	long err;
	__u32 i;

	err = batch_walk(fd, key_size, value_size, true);
	if (err != -EOPNOTSUPP)
		return err < 0 ? (int)err : 0;
	if (key_size > sizeof(key))
		return -EINVAL;
	/* Each round deletes the first key; the map holds at most max_entries. */
	for (i = 0; i <= max_entries; i++) {
		if (bpf_map_get_next_key(fd, NULL, key))
			return errno == ENOENT ? 0 : -errno;
		if (bpf_map_delete_elem(fd, key) && errno != ENOENT)
			return -errno;
	}
	return -EBUSY;
}

/* See dp_inner.h. */
long dp_inner_count(int fd)
{
	char key[MAX_KEY_SIZE], next[MAX_KEY_SIZE];
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	long n;

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	n = batch_walk(fd, info.key_size, info.value_size, false);
	if (n != -EOPNOTSUPP)
		return n;
	if (info.key_size > sizeof(key))
		return -EINVAL;
	for (n = 0; n <= (long)info.max_entries; n++) {
		if (bpf_map_get_next_key(fd, n ? key : NULL, next))
			return errno == ENOENT ? n : -errno;
		memcpy(key, next, info.key_size);
	}
	return n;
}
