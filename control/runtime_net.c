// SPDX-License-Identifier: GPL-2.0-only
/*
 * Replica networking through libnl-route-3: the veth pair (host side in
 * the node's namespace with the gateway address and a /32 route to the
 * replica; eth0 inside with the replica's address and a default route via
 * the gateway), IPv4 forwarding, and the node's routes to peers' pod ranges.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/rtnetlink.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>

#include "log.h"
#include "runtime_priv.h"

/* libnl's -NLE_* as a negative errno (the one place they are converted). */
static int nl_errno(int nlerr)
{
	switch (nlerr < 0 ? -nlerr : nlerr) {
	case 0:
		return 0;
	case NLE_EXIST:
		return -EEXIST;
	case NLE_OBJ_NOTFOUND:
		return -ENOENT;
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_PERM:
		return -EPERM;
	case NLE_NOACCESS:
		return -EACCES;
	case NLE_INVAL:
		return -EINVAL;
	case NLE_BUSY:
		return -EBUSY;
	case NLE_NODEV:
		return -ENODEV;
	case NLE_RANGE:
		return -ERANGE;
	case NLE_OPNOTSUPP:
		return -EOPNOTSUPP;
	case NLE_AF_NOSUPPORT:
		return -EAFNOSUPPORT;
	case NLE_AGAIN:
		return -EAGAIN;
	default:
		return -EIO;
	}
}

static int sock_open(struct nl_sock **out)
{
	struct nl_sock *sk = nl_socket_alloc();
	int err;

	if (!sk)
		return -ENOMEM;
	err = nl_errno(nl_connect(sk, NETLINK_ROUTE));
	if (err) {
		nl_socket_free(sk);
		return err;
	}
	*out = sk;
	return 0;
}

/*
 * A rtnetlink socket in pid's network namespace: this thread enters it
 * just long enough to create the socket (a socket stays in the namespace
 * it was made in).
 */
static int sock_open_in(int pid, struct nl_sock **out)
{
	int self, target, err;
	char path[64];

	self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return -errno;
	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	target = open(path, O_RDONLY | O_CLOEXEC);
	if (target < 0) {
		err = -errno;
		close(self);
		return err;
	}
	err = setns(target, CLONE_NEWNET) ? -errno : 0;
	if (!err) {
		err = sock_open(out);
		if (setns(self, CLONE_NEWNET)) {
			/* Cannot happen for root; never run on in the wrong namespace. */
			pr_warn("return to the node network namespace: %s", strerror(errno));
			abort();
		}
	}
	close(target);
	close(self);
	return err;
}

static struct nl_addr *addr4(uint32_t addr, unsigned int prefixlen)
{
	uint32_t be = htonl(addr);
	struct nl_addr *a = nl_addr_build(AF_INET, &be, sizeof(be));

	if (a)
		nl_addr_set_prefixlen(a, (int)prefixlen);
	return a;
}

static int link_up(struct nl_sock *sk, const char *name, int *ifindex)
{
	struct rtnl_link *link = NULL, *change = NULL;
	int err;

	err = nl_errno(rtnl_link_get_kernel(sk, 0, name, &link));
	if (err)
		return err;
	change = rtnl_link_alloc();
	if (!change) {
		err = -ENOMEM;
		goto out;
	}
	rtnl_link_set_flags(change, IFF_UP);
	err = nl_errno(rtnl_link_change(sk, link, change, 0));
	if (ifindex)
		*ifindex = rtnl_link_get_ifindex(link);
out:
	rtnl_link_put(change);
	rtnl_link_put(link);
	return err;
}

static int addr_add(struct nl_sock *sk, int ifindex, uint32_t addr)
{
	struct rtnl_addr *a = rtnl_addr_alloc();
	struct nl_addr *local = addr4(addr, 32);
	int err = -ENOMEM;

	if (a && local) {
		rtnl_addr_set_ifindex(a, ifindex);
		err = nl_errno(rtnl_addr_set_local(a, local));
		if (!err)
			err = nl_errno(rtnl_addr_add(sk, a, 0));
	}
	nl_addr_put(local);
	rtnl_addr_put(a);
	return err;
}

/*
 * Add or replace a main-table route to dst/prefixlen: with a gateway
 * (gw != 0) or on the link (scope link); ifindex 0 lets the kernel choose.
 */
static int route_add(struct nl_sock *sk, uint32_t dst, unsigned int prefixlen, uint32_t gw,
		     int ifindex, uint8_t proto)
{
	struct rtnl_route *r = rtnl_route_alloc();
	struct nl_addr *d = addr4(dst, prefixlen), *g = gw ? addr4(gw, 32) : NULL;
	struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
	int err = -ENOMEM;

	if (!r || !d || !nh || (gw && !g))
		goto out;
	rtnl_route_set_family(r, AF_INET);
	rtnl_route_set_table(r, RT_TABLE_MAIN);
	rtnl_route_set_protocol(r, proto);
	rtnl_route_set_scope(r, gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK);
	err = nl_errno(rtnl_route_set_dst(r, d));
	if (err)
		goto out;
	if (ifindex)
		rtnl_route_nh_set_ifindex(nh, ifindex);
	if (g)
		rtnl_route_nh_set_gateway(nh, g);
	rtnl_route_add_nexthop(r, nh);
	nh = NULL; /* the route owns it now */
	err = nl_errno(rtnl_route_add(sk, r, NLM_F_CREATE | NLM_F_REPLACE));
out:
	if (nh)
		rtnl_route_nh_free(nh);
	nl_addr_put(g);
	nl_addr_put(d);
	rtnl_route_put(r);
	return err;
}

/*
 * net.ipv4.ip_forward=1 in this thread's network namespace (the node's).
 * Returns 0 or -errno (logged).
 */
int rtn_forwarding(void)
{
	int fd, err = 0;

	fd = open("/proc/sys/net/ipv4/ip_forward", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "1\n", 2) != 2)
		err = -errno;
	if (fd >= 0)
		close(fd);
	if (err)
		pr_warn("set net.ipv4.ip_forward=1: %s", strerror(-err));
	return err;
}

/*
 * Create the veth pair host_ifname (node's namespace, down) / eth0 (in
 * peer_pid's network namespace). Returns 0 and the host side's *ifindex,
 * -EEXIST (host_ifname exists) or -errno (logged).
 */
int rtn_veth_create(const char *host_ifname, int peer_pid, int *ifindex)
{
	struct rtnl_link *link = NULL, *peer = NULL;
	struct nl_sock *sk = NULL;
	int err;

	err = sock_open(&sk);
	if (err)
		goto out;
	link = rtnl_link_veth_alloc();
	if (!link) {
		err = -ENOMEM;
		goto out;
	}
	rtnl_link_set_name(link, host_ifname);
	peer = rtnl_link_veth_get_peer(link);
	rtnl_link_set_name(peer, "eth0");
	rtnl_link_set_ns_pid(peer, peer_pid);
	err = nl_errno(rtnl_link_add(sk, link, NLM_F_CREATE | NLM_F_EXCL));
	if (!err) {
		*ifindex = (int)if_nametoindex(host_ifname);
		if (!*ifindex)
			err = -errno;
	}
out:
	if (err)
		pr_warn("create veth %s: %s", host_ifname, strerror(-err));
	rtnl_link_put(peer);
	rtnl_link_veth_release(link);
	nl_socket_free(sk);
	return err;
}

/*
 * Host side: up, the gateway address (/32, shared by every host-side
 * veth), and addr/32 routed on the link. Returns 0 or -errno (logged).
 */
int rtn_host_setup(int ifindex, uint32_t gw, uint32_t addr)
{
	char name[IF_NAMESIZE] = "?";
	struct nl_sock *sk = NULL;
	int err;

	if_indextoname((unsigned int)ifindex, name);
	err = sock_open(&sk);
	if (!err)
		err = link_up(sk, name, NULL);
	if (!err)
		err = addr_add(sk, ifindex, gw);
	if (!err)
		err = route_add(sk, addr, 32, 0, ifindex, RTPROT_STATIC);
	if (err)
		pr_warn("set up host veth %s: %s", name, strerror(-err));
	nl_socket_free(sk);
	return err;
}

/*
 * Inside pid's network namespace: lo and eth0 up, addr/32 on eth0, the
 * gateway on the link and the default route via it. Returns 0 or -errno.
 */
int rtn_inside_setup(int pid, uint32_t gw, uint32_t addr)
{
	struct nl_sock *sk = NULL;
	int err, ifindex = 0;

	err = sock_open_in(pid, &sk);
	if (!err)
		err = link_up(sk, "lo", NULL);
	if (!err)
		err = link_up(sk, "eth0", &ifindex);
	if (!err)
		err = addr_add(sk, ifindex, addr);
	if (!err)
		err = route_add(sk, gw, 32, 0, ifindex, RTPROT_STATIC);
	if (!err)
		err = route_add(sk, 0, 0, gw, ifindex, RTPROT_STATIC);
	if (err)
		pr_warn("set up eth0 in the namespace of pid %d: %s", pid, strerror(-err));
	nl_socket_free(sk);
	return err;
}

/*
 * Delete link ifname from the node's namespace (a veth takes its peer,
 * addresses and routes along). Returns 0 (also when it is gone) or -errno.
 */
int rtn_link_del(const char *ifname)
{
	struct rtnl_link *link = NULL;
	struct nl_sock *sk = NULL;
	int err;

	err = sock_open(&sk);
	if (err)
		return err;
	link = rtnl_link_alloc();
	if (!link) {
		nl_socket_free(sk);
		return -ENOMEM;
	}
	rtnl_link_set_name(link, ifname);
	err = nl_errno(rtnl_link_delete(sk, link));
	if (err == -ENODEV || err == -ENOENT)
		err = 0;
	if (err)
		pr_warn("delete link %s: %s", ifname, strerror(-err));
	rtnl_link_put(link);
	nl_socket_free(sk);
	return err;
}

struct want_route {
	uint32_t dst;
	uint32_t prefixlen;
	uint32_t via;
};

static int parse_route(const struct rt_route *r, struct want_route *w)
{
	char buf[32], *slash, *end;
	struct in_addr a;
	unsigned long n;

	if (!r->cidr || !r->via || strlen(r->cidr) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, r->cidr);
	slash = strchr(buf, '/');
	if (!slash)
		return -EINVAL;
	*slash = '\0';
	errno = 0;
	n = strtoul(slash + 1, &end, 10);
	if (errno || *end || end == slash + 1 || n < 1 || n > 32 ||
	    inet_pton(AF_INET, buf, &a) != 1)
		return -EINVAL;
	w->prefixlen = (uint32_t)n;
	w->dst = ntohl(a.s_addr) & (0xffffffffU << (32 - n));
	if (inet_pton(AF_INET, r->via, &a) != 1)
		return -EINVAL;
	w->via = ntohl(a.s_addr);
	return 0;
}

static uint32_t nl_addr4(struct nl_addr *a)
{
	uint32_t be = 0;

	if (a && nl_addr_get_family(a) == AF_INET && nl_addr_get_len(a) == sizeof(be))
		memcpy(&be, nl_addr_get_binary_addr(a), sizeof(be));
	return ntohl(be);
}

/* Is the kernel route r one of want[0..n)? */
static bool is_wanted(struct rtnl_route *r, const struct want_route *want, size_t n)
{
	struct nl_addr *dst = rtnl_route_get_dst(r);
	struct rtnl_nexthop *nh;
	uint32_t d, via = 0;
	size_t i;

	if (rtnl_route_get_nnexthops(r) != 1)
		return false;
	nh = rtnl_route_nexthop_n(r, 0);
	via = nl_addr4(rtnl_route_nh_get_gateway(nh));
	d = nl_addr4(dst);
	for (i = 0; i < n; i++)
		if (want[i].dst == d && want[i].via == via &&
		    want[i].prefixlen == (uint32_t)nl_addr_get_prefixlen(dst))
			return true;
	return false;
}

static int delete_stale(struct nl_sock *sk, const struct want_route *want, size_t n)
{
	struct nl_cache *cache = NULL;
	struct nl_object *o;
	struct rtnl_route *r;
	int err, first = 0;

	err = nl_errno(rtnl_route_alloc_cache(sk, AF_INET, 0, &cache));
	if (err)
		return err;
	for (o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		r = (struct rtnl_route *)o;
		if (rtnl_route_get_protocol(r) != RT_ROUTE_PROTO ||
		    rtnl_route_get_table(r) != RT_TABLE_MAIN || is_wanted(r, want, n))
			continue;
		err = nl_errno(rtnl_route_delete(sk, r, 0));
		if (err && err != -ENOENT) {
			pr_warn("delete stale peer route: %s", strerror(-err));
			first = first ? first : err;
		}
	}
	nl_cache_free(cache);
	return first;
}

/* See rt_routes_sync() in runtime.h. */
int rtn_routes_sync(const struct rt_route *routes, size_t n)
{
	char dst[INET_ADDRSTRLEN], via[INET_ADDRSTRLEN];
	struct want_route *want = NULL;
	struct nl_sock *sk = NULL;
	int err = 0, e;
	size_t i;

	want = calloc(n ? n : 1, sizeof(*want));
	if (!want)
		return -ENOMEM;
	for (i = 0; i < n && !err; i++) {
		err = parse_route(&routes[i], &want[i]);
		if (err)
			pr_warn("peer route %s via %s: invalid",
				routes[i].cidr ? routes[i].cidr : "?",
				routes[i].via ? routes[i].via : "?");
	}
	if (!err)
		err = sock_open(&sk);
	if (!err)
		err = delete_stale(sk, want, n);
	for (i = 0; sk && i < n; i++) {
		e = route_add(sk, want[i].dst, want[i].prefixlen, want[i].via, 0, RT_ROUTE_PROTO);
		if (!e)
			continue;
		rts_addr_str(want[i].dst, dst, sizeof(dst));
		rts_addr_str(want[i].via, via, sizeof(via));
		pr_warn("add route %s/%u via %s: %s", dst, want[i].prefixlen, via, strerror(-e));
		err = err ? err : e;
	}
	nl_socket_free(sk);
	free(want);
	return err;
}
