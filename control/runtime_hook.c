// SPDX-License-Identifier: GPL-2.0-only
/*
 * The data plane on a replica's host-side veth: bm_xdp_ingress (policy at
 * the point where the replica's packets enter the node) and the
 * anti-spoofing guard (only the replica's address may be the source of what
 * enters on its veth; dp_guard_set()).
 */
#include <errno.h>
#include <string.h>

#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "dataplane.h"
#include "guard.h"
#include "log.h"
#include "runtime_priv.h"

/*
 * The data plane at rt->pin_dir, opened on first use (listing replicas
 * needs none). Returns 0 or -errno (logged).
 */
int rt_dp(struct rt *rt)
{
	int err;

	if (rt->dp)
		return 0;
	err = dp_open(rt->pin_dir, false, &rt->dp);
	if (err) {
		pr_warn("runtime: open data plane at %s: %s", rt->pin_dir, strerror(-err));
		rt->dp = NULL;
		return err;
	}
	rt->owns_dp = true;
	return 0;
}

/* Admit only r's address as a source on its host veth. Returns 0 or -errno (logged). */
static int guard(struct rt *rt, struct rt_replica *r)
{
	struct bm_addr addr;
	int err;

	err = guard_addr_parse(r->info.address, &addr);
	if (!err)
		err = dp_guard_set(rt->dp, r->info.host_ifindex, &addr, 1);
	if (err) {
		pr_warn("replica %s: anti-spoofing guard on %s: %s", r->info.key,
			r->info.host_ifname, strerror(-err));
		return err;
	}
	r->info.is_guarded = true;
	r->guard_ifindex = r->info.host_ifindex;
	return 0;
}

/*
 * Attach the data plane's own loaded bm_xdp_ingress to ifindex, native mode
 * first, generic as fallback. The host veth belongs to the replica alone, so
 * it needs no libxdp dispatcher; attaching the loaded program is a netlink
 * call, where dp_attach() loads and verifies a new instance (and a
 * dispatcher) each time: 0.8 s on a loaded machine, per replica start.
 * dp_is_attached() and dp_detach() recognise such a single program.
 */
static int attach_loaded(struct rt *rt, int ifindex)
{
	int fd = dp_prog_fd(rt->dp), err;

	if (fd < 0)
		return fd;
	err = bpf_xdp_attach(ifindex, fd, XDP_FLAGS_UPDATE_IF_NOEXIST | XDP_FLAGS_DRV_MODE, NULL);
	if (err)
		err = bpf_xdp_attach(ifindex, fd, XDP_FLAGS_UPDATE_IF_NOEXIST | XDP_FLAGS_SKB_MODE,
				     NULL);
	return err;
}

/*
 * Attach XDP (native, else generic) to r's host veth when a data plane is
 * configured and it is not attached yet, and set its anti-spoofing guard.
 * Returns 0 or -errno (logged).
 */
int rt_hook(struct rt *rt, struct rt_replica *r)
{
	int ifindex = r->info.host_ifindex;
	int err = 0;

	if ((!rt->pin_dir && !rt->dp) || !ifindex)
		return 0;
	err = rt_dp(rt);
	if (err)
		return err;
	if (!dp_is_attached(ifindex, NULL)) {
		err = attach_loaded(rt, ifindex);
		if (err) {
			pr_warn("replica %s: attach xdp to %s: %s", r->info.key,
				r->info.host_ifname, strerror(-err));
			return err;
		}
	}
	r->info.is_xdp_attached = true;
	return guard(rt, r);
}

/* Drop the anti-spoofing guard of ifindex. Returns 0 or -errno. */
int rt_guard_del(struct rt *rt, int ifindex)
{
	int err;

	err = rt_dp(rt);
	if (!err)
		err = dp_guard_del(rt->dp, ifindex);
	return err == -ENOENT ? 0 : err;
}
