// SPDX-License-Identifier: GPL-2.0-only
/*
 * bpfmesh attach --cgroup PATH [--identity SPIFFE_ID] [--fastpath] [--identity-only]
 * bpfmesh detach --cgroup PATH
 *
 * With --identity, PATH is the cgroup of one workload: the Endpoint of the
 * stored policy with that identity gives its security identity and the
 * addresses through which each generation's ipcache resolves its class.
 * Without it, PATH is a subtree (the root of a cgroup2 mount: the whole
 * node) whose workloads are named with --identity-only on their own cgroups.
 *
 * The sk_msg fast path is opt-in (--fastpath): a blocking read() on a socket
 * in a sockhash can fail with EAGAIN after any wake-up that brought no
 * redirected data (kernel tcp_bpf_recvmsg), which programs doing blocking
 * I/O may take for an error. See docs/sockets.md.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_sock.h"
#include "ident_id.h"
#include "policy_model.h"
#include "policy_store.h"
#include "sock.h"

struct sock_args {
	const char *cg_path;
	const char *identity;
	bool is_fastpath;
	bool is_identity_only;
};

/* See cmd_sock.h. */
bool cmd_sock_wants(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--cgroup"))
			return true;
	}
	return false;
}

static int parse_args(int argc, char **argv, struct sock_args *a, bool is_attach)
{
	int i;

	memset(a, 0, sizeof(*a));
	for (i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(argv[i], "--cgroup") && v && !a->cg_path)
			a->cg_path = argv[++i];
		else if (is_attach && !strcmp(argv[i], "--identity") && v)
			a->identity = argv[++i];
		else if (is_attach && !strcmp(argv[i], "--fastpath"))
			a->is_fastpath = true;
		else if (is_attach && !strcmp(argv[i], "--identity-only"))
			a->is_identity_only = true;
		else
			return -EINVAL;
	}
	if (!a->cg_path || (a->is_identity_only && !a->identity))
		return -EINVAL;
	return 0;
}

static int load_model(const struct cli_globals *g, struct pm_model **out)
{
	struct policy_sources srcs = {0};
	struct pm_model *m = NULL;
	char *node = NULL;
	int err;

	err = policy_store_load(g->state_dir, &srcs, &node);
	if (err == -ENOENT)
		fprintf(stderr,
			"bpfmesh: no policy loaded under %s: load one that declares the "
			"workload's Endpoint first\n",
			g->state_dir);
	if (!err)
		err = policy_sources_model(&srcs, node, &m);
	policy_sources_free(&srcs);
	free(node);
	if (!err)
		*out = m;
	return err;
}

/* The first IPv4 and IPv6 address of endpoint e into w. */
static void endpoint_addrs(const struct pm_endpoint *e, struct bm_cgroup_ident *w)
{
	size_t i;

	for (i = 0; i < e->n_addrs; i++) {
		const struct pm_addr *a = &e->addrs[i];

		if (a->family == BM_FAMILY_IPV4 && !(w->flags & BM_CG_F_HAS_V4)) {
			memcpy(w->addr4, a->addr, 4);
			w->flags |= BM_CG_F_HAS_V4;
		} else if (a->family == BM_FAMILY_IPV6 && !(w->flags & BM_CG_F_HAS_V6)) {
			memcpy(w->addr6, a->addr, 16);
			w->flags |= BM_CG_F_HAS_V6;
		}
	}
}

/* The workload entry of SPIFFE ID uri from the stored policy's Endpoint. */
static int resolve_workload(const struct cli_globals *g, const char *uri, struct bm_cgroup_ident *w)
{
	struct pm_model *m = NULL;
	size_t i;
	int err;

	err = load_model(g, &m);
	if (err)
		return err;
	err = -ENOENT;
	for (i = 0; i < m->n_endpoints; i++) {
		const struct pm_endpoint *e = &m->endpoints[i];

		if (!e->identity_uri || strcmp(e->identity_uri, uri))
			continue;
		w->sec_id = e->sec_id;
		endpoint_addrs(e, w);
		err = 0;
		break;
	}
	pm_model_free(m);
	if (err == -ENOENT && !ident_numeric_id(uri, &w->sec_id)) {
		fprintf(stderr,
			"bpfmesh: warning: no Endpoint with identity %s in the stored "
			"policy: its connections are judged as an address-less workload\n",
			uri);
		err = 0;
	}
	return err;
}

/* See cmd_sock.h. */
int cmd_sock_attach(const struct cli_globals *g, int argc, char **argv)
{
	struct bm_cgroup_ident w = {0};
	struct sock_args a;
	uint64_t cg_id;
	int err;

	if (parse_args(argc, argv, &a, true)) {
		fprintf(stderr, "usage: bpfmesh attach --cgroup PATH [--identity SPIFFE_ID] "
				"[--fastpath] [--identity-only]\n");
		return CLI_EXIT_ERROR;
	}
	if (sock_cgroup_id(a.cg_path, &cg_id))
		return CLI_EXIT_ERROR;
	if (a.identity && resolve_workload(g, a.identity, &w))
		return CLI_EXIT_ERROR;
	if (a.is_fastpath)
		w.flags |= BM_CG_F_FASTPATH;
	if (a.is_identity_only)
		err = sock_set_workload(g->pin_dir, cg_id, &w);
	else
		err = sock_attach(g->pin_dir, a.cg_path, a.identity ? &w : NULL);
	if (err && err != -EEXIST) {
		fprintf(stderr, "bpfmesh: attach cgroup %s: %s\n", a.cg_path, strerror(-err));
		return CLI_EXIT_ERROR;
	}
	printf("%s cgroup %s (id %llu)%s%s%s\n",
	       a.is_identity_only ? "identified"
	       : err		  ? "already attached to"
				  : "attached to",
	       a.cg_path, (unsigned long long)cg_id, a.identity ? " as " : "",
	       a.identity ? a.identity : "", a.identity && a.is_fastpath ? ", fast path" : "");
	return CLI_EXIT_OK;
}

/* See cmd_sock.h. */
int cmd_sock_detach(const struct cli_globals *g, int argc, char **argv)
{
	struct sock_args a;
	uint64_t cg_id;
	int err;

	if (parse_args(argc, argv, &a, false)) {
		fprintf(stderr, "usage: bpfmesh detach --cgroup PATH\n");
		return CLI_EXIT_ERROR;
	}
	if (sock_cgroup_id(a.cg_path, &cg_id))
		return CLI_EXIT_ERROR;
	err = sock_detach(g->pin_dir, cg_id);
	if (err == -ENOENT) {
		fprintf(stderr, "bpfmesh: cgroup %s: bpfmesh is not attached there\n", a.cg_path);
		return CLI_EXIT_ERROR;
	}
	if (err) {
		fprintf(stderr, "bpfmesh: detach cgroup %s: %s\n", a.cg_path, strerror(-err));
		return CLI_EXIT_ERROR;
	}
	printf("detached from cgroup %s\n", a.cg_path);
	return CLI_EXIT_OK;
}
