// SPDX-License-Identifier: GPL-2.0-only
/*
 * Placed replicas on a rootless node (docs/rootless.md, "Scheduling"): the
 * agent's scheduler hands the replicas placed here to these functions
 * instead of the runtime (agent_rt.c). Each replica is a rootless workload
 * of its own (runtime_rootless.h: keeper in a user and network namespace,
 * slirp4netns, the forwarder), with an address from the pod range on every
 * namespace's lo; its containers run as one /bin/sh line. The forwarder
 * judges its traffic by the model the agent installs, which names it once
 * its endpoint, published like a rootful replica's, comes back from the bus.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <abi/abi.h>

#include "agent_ident.h"
#include "agent_priv.h"
#include "agent_rl_priv.h"
#include "agent_rootless.h"
#include "agent_sched_priv.h"
#include "log.h"
#include "runtime.h"
#include "runtime_priv.h"
#include "workload_model.h"

/* See agent_rl_priv.h. */
int agent_rl_fwd(struct agent_rl *rl)
{
	struct fwd_config fc = {.state_dir = rl->cfg->state_dir,
				.model = rl->model,
				.auth_ttl_ns = 300ULL * 1000000000ULL};

	if (rl->f)
		return 0;
	if (rl->o) {
		fc.auth_ttl_ns = (uint64_t)rl->o->ttl_s * 1000000000ULL;
		fc.udp_idle_ms = rl->o->udp_idle_s * 1000;
	}
	rl->f = fwd_new(&fc);
	if (!rl->f)
		return -errno;
	if (rl->o && rl->o->n_ports && !rl->is_fixed_up)
		fwd_intercept(rl->f, rl->o->ports, rl->o->n_ports);
	return 0;
}

/* See agent_rl_priv.h. */
int agent_rl_write_status(const struct agent_rl *rl)
{
	struct rlrt_wl *all = calloc(RL_MAX_WORKLOADS + RL_MAX_REPLICAS, sizeof(*all));
	size_t i, n = 0;
	int err;

	if (!all)
		return -ENOMEM;
	for (i = 0; rl->o && rl->is_fixed_up && i < rl->o->n; i++)
		all[n++] = rl->o->w[i];
	for (i = 0; i < rl->n_reps; i++)
		all[n++] = rl->reps[i]->w;
	err = rlrt_write_status(rl->rl_dir, all, n, &rl->probe);
	free(all);
	return err;
}

/* See agent_rootless.h. */
int agent_rl_rt_open(struct agent *a)
{
	const char *cidr = a->cfg->pod_cidr ? a->cfg->pod_cidr : RL_DEFAULT_POD_CIDR;
	struct agent_rl *rl = a->rl;
	int err;

	err = rts_parse_cidr(cidr, &rl->pod_net, &rl->pod_prefixlen);
	if (err) {
		pr_warn("agent: rootless: pod range %s: not an IPv4 CIDR /8../30", cidr);
		return err;
	}
	pr_info("agent: rootless: placed replicas run here, addresses from %s", cidr);
	return 0;
}

static struct agent_rl_replica *find(const struct agent_rl *rl, const char *key, size_t *idx)
{
	size_t i;

	for (i = 0; i < rl->n_reps; i++)
		if (!strcmp(rl->reps[i]->key, key)) {
			if (idx)
				*idx = i;
			return rl->reps[i];
		}
	return NULL;
}

/* The lowest free address of the pod range (not network, first or broadcast). */
static int alloc_addr(struct agent_rl *rl, struct pm_addr *out)
{
	struct pm_addr *used = calloc(RLRT_MAX_ADDRS, sizeof(*used));
	uint32_t size = 1U << (32 - rl->pod_prefixlen), k, ip;
	size_t i, n = 0;
	bool is_taken;

	if (!used)
		return -ENOMEM;
	if (rl->f)
		n = fwd_host_addrs(rl->f, used, RLRT_MAX_ADDRS);
	for (k = 2; k < size - 1; k++) {
		ip = htonl(rl->pod_net + k);
		is_taken = false;
		for (i = 0; i < n && !is_taken; i++)
			is_taken =
				used[i].family == BM_FAMILY_IPV4 && !memcmp(used[i].addr, &ip, 4);
		for (i = 0; i < rl->n_reps && !is_taken; i++)
			is_taken = !memcmp(rl->reps[i]->addr.addr, &ip, 4);
		if (is_taken)
			continue;
		memset(out, 0, sizeof(*out));
		out->family = BM_FAMILY_IPV4;
		out->prefixlen = 32;
		memcpy(out->addr, &ip, 4);
		free(used);
		return 0;
	}
	free(used);
	return -ENOSPC;
}

/* A growing shell line. */
struct line {
	char *p;
	size_t len, cap;
};

/* Append s as is (quote: as one single-quoted word after a space). 0 or -ENOMEM. */
static int put(struct line *l, const char *s, bool is_word)
{
	size_t need = l->len + strlen(s) * 4 + 4;
	char *grown;

	if (need > l->cap) {
		grown = realloc(l->p, need * 2);
		if (!grown)
			return -ENOMEM;
		l->p = grown;
		l->cap = need * 2;
	}
	if (is_word) {
		l->p[l->len++] = ' ';
		l->p[l->len++] = '\'';
	}
	for (; *s; s++) {
		if (is_word && *s == '\'') {
			memcpy(l->p + l->len, "'\\''", 4);
			l->len += 4;
		} else {
			l->p[l->len++] = *s;
		}
	}
	if (is_word)
		l->p[l->len++] = '\'';
	l->p[l->len] = '\0';
	return 0;
}

/* "env -i ENV... POD_IP=IP ARGV... &" of container c. 0 or -errno. */
static int put_container(struct line *l, const struct rt_replica_spec *spec,
			 const struct wl_container *c, const char *pod_ip)
{
	char **argv = NULL, **envp = NULL, ip[64];
	size_t i;
	int err;

	err = rtp_build_argv(c, &argv);
	if (!err)
		err = rtp_build_env(spec, c, &envp);
	if (!err)
		err = put(l, " env -i", false);
	for (i = 0; !err && envp[i]; i++)
		err = put(l, envp[i], true);
	snprintf(ip, sizeof(ip), "POD_IP=%s", pod_ip);
	if (!err)
		err = put(l, ip, true);
	for (i = 0; !err && argv[i]; i++)
		err = put(l, argv[i], true);
	if (!err)
		err = put(l, " &", false);
	rtp_free_strv(argv);
	rtp_free_strv(envp);
	return err;
}

/*
 * The replica's containers as one shell line, their output appended to
 * out: `exec >>OUT 2>&1 </dev/null; env -i ... CMD & ... wait`.
 */
static int build_command(const struct rt_replica_spec *spec, const char *pod_ip, const char *out,
			 char **cmd)
{
	struct line l = {0};
	size_t i;
	int err;

	err = put(&l, "exec >>", false);
	if (!err)
		err = put(&l, out, true);
	if (!err)
		err = put(&l, " 2>&1 </dev/null;", false);
	for (i = 0; !err && i < spec->pod->n_containers; i++)
		err = put_container(&l, spec, &spec->pod->containers[i], pod_ip);
	if (!err)
		err = put(&l, " wait", false);
	if (err) {
		free(l.p);
		return err;
	}
	*cmd = l.p;
	return 0;
}

static void replica_free(struct agent_rl_replica *p)
{
	if (!p)
		return;
	if (p->pidfd >= 0)
		close(p->pidfd);
	if (p->out[0])
		unlink(p->out);
	free(p->key);
	free(p->command);
	free(p);
}

/* A new replica record for r with its address and command. NULL with errno. */
static struct agent_rl_replica *replica_new(struct agent *a, const struct agent_replica *r)
{
	struct rt_replica_spec spec = {.key = r->key,
				       .ns = r->obj->ns,
				       .pod_name = r->pod,
				       .pod = &r->obj->pod,
				       .model = a->sched.model};
	struct agent_rl_replica *p = calloc(1, sizeof(*p));
	struct agent_rl *rl = a->rl;
	char ip[INET_ADDRSTRLEN];
	int err = -ENOMEM;

	if (!p)
		return NULL;
	p->pidfd = -1;
	p->w = (struct rlrt_wl){.slirp_exit_fd = -1, .ctrl_fd = -1};
	p->key = strdup(r->key);
	snprintf(p->name, sizeof(p->name), "%s/%s", r->obj->ns, r->pod);
	if (snprintf(p->out, sizeof(p->out), "%s/p%u.out", rl->rl_dir, rl->next_tag) >=
	    (int)sizeof(p->out))
		err = -ENAMETOOLONG;
	else if (p->key)
		err = alloc_addr(rl, &p->addr);
	inet_ntop(AF_INET, p->addr.addr, ip, sizeof(ip));
	if (!err)
		err = build_command(&spec, ip, p->out, &p->command);
	if (err) {
		p->out[0] = '\0';
		replica_free(p);
		errno = -err;
		return NULL;
	}
	p->w.name = p->name;
	p->w.command = p->command;
	return p;
}

/*
 * On an enrolled node the agent issues the replica a workload document
 * (agent_ident.h) before it starts: the forwarder authenticates on its
 * behalf with it, as for a --workload with --identity.
 */
static void take_identity(struct agent *a, const struct agent_replica *r,
			  struct agent_rl_replica *p)
{
	struct stat st;

	if (agent_ident_replica_started(a, r->key, r->obj->ns, r->pod,
					r->obj->pod.service_account) ||
	    agent_replica_identity_path(a, r->pod, p->doc, sizeof(p->doc)) || stat(p->doc, &st)) {
		p->doc[0] = '\0';
		return;
	}
	p->doc_mtime = st.st_mtim;
	p->w.doc = p->doc;
}

/* See agent_rootless.h. */
int agent_rl_rt_start(struct agent *a, const struct agent_replica *r, struct agent_local *l)
{
	struct agent_rl *rl = a->rl;
	struct rlrt_config rc = {.rl_dir = rl->rl_dir, .cidr = rl->o ? rl->o->cidr : NULL};
	struct agent_rl_replica *p = find(rl, r->key, NULL);
	char tag[32];
	pid_t wpid;
	int err;

	if (p) { /* already running (an adopted key started twice) */
		inet_ntop(AF_INET, p->addr.addr, l->address, sizeof(l->address));
		l->pid = p->pidfd >= 0 ? 1 : 0;
		return 0;
	}
	if (rl->n_reps >= RL_MAX_REPLICAS)
		return -E2BIG;
	err = agent_rl_fwd(rl);
	p = err ? NULL : replica_new(a, r);
	if (!p)
		return err ? err : -errno;
	snprintf(tag, sizeof(tag), "p%u", rl->next_tag++);
	take_identity(a, r, p);
	err = rlrt_add(&rc, &p->w, tag, &p->addr, 1, rl->f, &wpid);
	if (!err && wpid > 0)
		p->pidfd = (int)syscall(SYS_pidfd_open, wpid, 0);
	if (!err && p->pidfd < 0)
		err = -ESRCH;
	if (err) {
		pr_warn("sched: rootless: start %s (%s): %s", p->name, r->key, strerror(-err));
		rlrt_remove(&p->w, &p->addr, 1, rl->f);
		if (p->doc[0])
			agent_ident_replica_stopped(a, r->key);
		replica_free(p);
		return err;
	}
	rl->reps[rl->n_reps++] = p;
	agent_rl_write_status(rl);
	inet_ntop(AF_INET, p->addr.addr, l->address, sizeof(l->address));
	l->pid = (int)wpid;
	return 0;
}

static void remove_at(struct agent_rl *rl, size_t i)
{
	struct agent_rl_replica *p = rl->reps[i];

	rl->reps[i] = rl->reps[--rl->n_reps];
	rlrt_remove(&p->w, &p->addr, 1, rl->f);
	replica_free(p);
}

/* See agent_rootless.h. */
int agent_rl_rt_stop(struct agent *a, const char *key)
{
	size_t i;

	if (!find(a->rl, key, &i))
		return 0;
	if (a->rl->reps[i]->doc[0])
		agent_ident_replica_stopped(a, key);
	remove_at(a->rl, i);
	agent_rl_write_status(a->rl);
	return 0;
}

/* See agent_rootless.h. */
bool agent_rl_rt_is_running(struct agent *a, const char *key)
{
	struct agent_rl_replica *p = find(a->rl, key, NULL);
	struct pollfd pfd;

	if (!p || p->pidfd < 0)
		return false;
	pfd = (struct pollfd){.fd = p->pidfd, .events = POLLIN};
	return poll(&pfd, 1, 0) == 0;
}

/* See agent_rl_priv.h. */
void agent_rl_docs_tick(struct agent_rl *rl)
{
	uint64_t now = agent_now_ms();
	struct agent_rl_replica *p;
	const char *slash;
	struct stat st;
	char ns[64];
	size_t i;
	int err;

	if (!rl->f || now < rl->next_doc_check_ms)
		return;
	rl->next_doc_check_ms = now + 1000;
	for (i = 0; i < rl->n_reps; i++) {
		p = rl->reps[i];
		slash = strchr(p->name, '/');
		if (!p->doc[0] || stat(p->doc, &st) || !slash ||
		    (st.st_mtim.tv_sec == p->doc_mtime.tv_sec &&
		     st.st_mtim.tv_nsec == p->doc_mtime.tv_nsec))
			continue;
		p->doc_mtime = st.st_mtim;
		snprintf(ns, sizeof(ns), "%.*s", (int)(slash - p->name), p->name);
		err = fwd_set_identity(rl->f, ns, slash + 1, p->doc);
		if (err)
			pr_warn("sched: rootless: renewed identity of %s: %s", p->name,
				strerror(-err));
		else
			pr_info("sched: rootless: %s authenticates with its renewed identity",
				p->name);
	}
}

/* See agent_rl_priv.h. */
void agent_rl_replicas_close(struct agent_rl *rl)
{
	while (rl->n_reps)
		remove_at(rl, rl->n_reps - 1);
}

/* See agent_rootless.h. */
bool agent_rl_view_tolerates(const json_t *view)
{
	const json_t *e, *t;
	size_t i, j;
	bool has;

	if (!json_array_size(view))
		return false;
	json_array_foreach (view, i, e) {
		has = false;
		json_array_foreach (json_object_get(e, "taints"), j, t)
			has = has ||
			      (json_is_string(t) && !strcmp(json_string_value(t), AGENT_RL_TAINT));
		if (!has)
			return false;
	}
	return true;
}
