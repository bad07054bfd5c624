// SPDX-License-Identifier: GPL-2.0-only
/*
 * The atomic policy swap (bpf/abi/config.h): build one generation of inner
 * maps, place them in the inactive slot of every outer map, then publish the
 * new generation with one 32-bit store. Each generation's inner maps are
 * immutable once published, so they are sized exactly to their contents.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "dataplane_priv.h"
#include "log.h"

struct inner_spec {
	enum bpf_map_type type;
	__u32 flags;
	const char *name;
};

/* Must match the inner templates in bpf/maps.h exactly (type and flags). */
static const struct inner_spec inner_specs[TABLES_NR] = {
	[TABLES_HOST4] = {BPF_MAP_TYPE_HASH, 0, "bm_host4"},
	[TABLES_HOST6] = {BPF_MAP_TYPE_HASH, 0, "bm_host6"},
	[TABLES_CIDR4] = {BPF_MAP_TYPE_LPM_TRIE, BPF_F_NO_PREALLOC, "bm_cidr4"},
	[TABLES_CIDR6] = {BPF_MAP_TYPE_LPM_TRIE, BPF_F_NO_PREALLOC, "bm_cidr6"},
	[TABLES_POLICY] = {BPF_MAP_TYPE_HASH, 0, "bm_policy"},
	[TABLES_PORTS] = {BPF_MAP_TYPE_HASH, 0, "bm_ports"},
};

static int fill_one_by_one(int fd, const struct bm_tables *t, enum tables_kind kind)
{
	size_t i;

	for (i = 0; i < t->maps[kind].n; i++) {
		if (bpf_map_update_elem(fd, tables_key(t, kind, i), tables_value(t, kind, i),
					BPF_NOEXIST))
			return -errno;
	}
	return 0;
}

static int fill_inner(int fd, const struct bm_tables *t, enum tables_kind kind)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_NOEXIST);
	__u32 count = (__u32)t->maps[kind].n;
	int err;

	if (count == 0)
		return 0;
	err = bpf_map_update_batch(fd, t->maps[kind].keys, t->maps[kind].values, &count, &opts);
	/* LPM tries have no batch operations on some kernels: fall back. */
	if (err == -EINVAL || err == -ENOTSUP || err == -EOPNOTSUPP || err == -524)
		return fill_one_by_one(fd, t, kind);
	return err;
}

static int create_inner(const struct bm_tables *t, enum tables_kind kind)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = inner_specs[kind].flags);
	__u32 max_entries = t->maps[kind].n ? (__u32)t->maps[kind].n : 1;
	int fd, err;

	fd = bpf_map_create(inner_specs[kind].type, inner_specs[kind].name,
			    (__u32)t->maps[kind].key_size, (__u32)t->maps[kind].value_size,
			    max_entries, &opts);
	if (fd < 0) {
		err = -errno;
		pr_warn("create map %s (%u entries): %s", inner_specs[kind].name, max_entries,
			strerror(errno));
		return err;
	}
	err = fill_inner(fd, t, kind);
	if (err) {
		pr_warn("fill map %s: %s", inner_specs[kind].name, strerror(-err));
		close(fd);
		return err;
	}
	return fd;
}

static void close_fds(int *fds, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
	}
}

/*
 * Wait until no program still runs with a generation read before our store:
 * replacing an element of a map-in-map makes the kernel wait an RCU grace
 * period, and XDP programs run inside RCU read-side sections.
 */
static int wait_grace_period(struct dataplane *dp, __u32 slot, int inner_fd)
{
	int outer = dp_map_fd(dp, BM_MAP_PORTS);

	if (bpf_map_update_elem(outer, &slot, &inner_fd, BPF_ANY))
		return -errno;
	return 0;
}

/* See dataplane.h. */
int dp_install(struct dataplane *dp, const struct bm_tables *t, uint32_t *generation)
{
	volatile struct bm_config *cfg = dp_config(dp);
	int fds[TABLES_NR];
	__u32 cur, next, slot;
	int k, err = 0, outer;

	for (k = 0; k < TABLES_NR; k++)
		fds[k] = -1;
	cur = __atomic_load_n(&cfg->generation, __ATOMIC_ACQUIRE);
	next = cur + 1 ? cur + 1 : 2; /* 0 means "nothing loaded": skip it, keep parity */
	slot = next & 1;
	for (k = 0; k < TABLES_NR; k++) {
		fds[k] = create_inner(t, (enum tables_kind)k);
		if (fds[k] < 0) {
			err = fds[k];
			goto out;
		}
	}
	for (k = 0; k < TABLES_NR; k++) {
		outer = dp_map_fd(dp, tables_map_name((enum tables_kind)k));
		if (outer < 0 || bpf_map_update_elem(outer, &slot, &fds[k], BPF_ANY)) {
			err = outer < 0 ? outer : -errno;
			pr_warn("install %s slot %u: %s", tables_map_name((enum tables_kind)k),
				slot, strerror(-err));
			goto out;
		}
	}
	__atomic_store_n(&cfg->generation, next, __ATOMIC_RELEASE);
	err = wait_grace_period(dp, slot, fds[TABLES_PORTS]);
	if (err)
		goto out;
	*generation = next;
	pr_info("installed policy generation %u in slot %u", next, slot);
out:
	close_fds(fds, TABLES_NR);
	return err;
}
