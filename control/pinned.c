// SPDX-License-Identifier: GPL-2.0-only
/* Reaching the pinned maps without loading the program. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dp_inner.h"
#include "log.h"
#include "pinned.h"

/* See pinned.h. */
int pinned_map_fd(const char *pin_dir, const char *name)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", pin_dir, name);
	fd = bpf_obj_get(path);
	if (fd < 0) {
		fd = -errno;
		if (fd == -ENOENT)
			pr_warn("%s is not pinned: run 'bpfmesh policy load' or 'bpfmesh attach' "
				"first (or pass the right --pin-dir)",
				path);
		else
			pr_warn("open %s: %s", path, strerror(errno));
	}
	return fd;
}

/* See pinned.h. */
int pinned_percpu_sum(int fd, uint32_t key, uint64_t *sum, size_t n_u64)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *vals;
	size_t i;
	int cpu, err = 0;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	vals = calloc((size_t)ncpu * n_u64, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &key, vals)) {
		err = -errno;
		goto out;
	}
	memset(sum, 0, n_u64 * sizeof(*sum));
	for (cpu = 0; cpu < ncpu; cpu++) {
		for (i = 0; i < n_u64; i++)
			sum[i] += vals[(size_t)cpu * n_u64 + i];
	}
out:
	free(vals);
	return err;
}

/* See pinned.h. Inner maps are refilled in place and have room to spare: count. */
long pinned_inner_entries(int outer_fd, uint32_t slot)
{
	__u32 id;
	long n;
	int fd;

	if (bpf_map_lookup_elem(outer_fd, &slot, &id))
		return errno == ENOENT ? 0 : -errno;
	fd = bpf_map_get_fd_by_id(id);
	if (fd < 0)
		return -errno;
	n = dp_inner_count(fd);
	close(fd);
	return n;
}
