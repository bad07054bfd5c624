// SPDX-License-Identifier: GPL-2.0-only
/* The anti-spoofing guards of the data plane (bm_ifguard). See dataplane.h. */
#include <errno.h>
#include <string.h>

#include <bpf/bpf.h>

#include "dataplane.h"
#include "guard.h"
#include "log.h"

static int guard_fd(const struct dataplane *dp)
{
	int fd = dp_map_fd(dp, BM_MAP_IFGUARD);

	if (fd < 0)
		pr_warn("data plane has no %s map", BM_MAP_IFGUARD);
	return fd;
}

/* See dataplane.h. */
int dp_guard_set(struct dataplane *dp, int ifindex, const struct bm_addr *addrs, size_t n)
{
	struct bm_ifguard_key key = {0};
	struct bm_ifguard value;
	int fd, err;

	if (ifindex <= 0 || (n && !addrs))
		return -EINVAL;
	err = guard_build(addrs, n, &value);
	if (err) {
		pr_warn("guard for ifindex %d: %s", ifindex,
			err == -E2BIG ? "more addresses of a family than a guard holds"
				      : "an address of an unknown family, or IPv4 with bytes past "
					"the fourth");
		return err;
	}
	fd = guard_fd(dp);
	if (fd < 0)
		return fd;
	key.ifindex = (uint32_t)ifindex;
	/* A hash update swaps the whole element: packets see the old guard or the new. */
	if (bpf_map_update_elem(fd, &key, &value, BPF_ANY)) {
		err = -errno;
		pr_warn("update %s for ifindex %d: %s", BM_MAP_IFGUARD, ifindex, strerror(-err));
		return err;
	}
	return 0;
}

/* See dataplane.h. */
int dp_guard_del(struct dataplane *dp, int ifindex)
{
	struct bm_ifguard_key key = {0};
	int fd;

	if (ifindex <= 0)
		return -EINVAL;
	fd = guard_fd(dp);
	if (fd < 0)
		return fd;
	key.ifindex = (uint32_t)ifindex;
	if (bpf_map_delete_elem(fd, &key))
		return -errno;
	return 0;
}

/* See dataplane.h. */
int dp_guard_get(struct dataplane *dp, int ifindex, struct bm_ifguard *out)
{
	struct bm_ifguard_key key = {0};
	int fd;

	if (ifindex <= 0)
		return -EINVAL;
	fd = guard_fd(dp);
	if (fd < 0)
		return fd;
	key.ifindex = (uint32_t)ifindex;
	if (bpf_map_lookup_elem(fd, &key, out))
		return -errno;
	return 0;
}
